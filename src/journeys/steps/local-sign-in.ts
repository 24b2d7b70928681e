import type { MessageKey } from '../../model/messages/messages.js';
import { signInPage } from '../../ui/pages/sign-in.js';
import type { FormInput, JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { authenticateLocal, signInTypesOf } from '../../services/local-auth.js';
import { cancelled, forgotPassword, stepData, withData } from './common.js';
import { EMAIL } from '../../model/patterns.js';
import { parsePasskey } from './mfa.js';
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { mfaService } from '../../services/mfa.js';
import type { SafeHtml } from '../../ui/html.js';
import { passkeyButton } from '../../ui/pages/mfa.js';

/** Where the sign-in page keeps the challenge of its passkey options. */
const PASSKEY_KEY = 'passkeySignIn';
import { FEDERATION_KEY, chooseProvider, hintedProvider, postedProvider, signInPageResult, takeFederationError } from './providers.js';

/**
 * Why a sign-in failed, as the page says it. One message for unknown account, wrong password and
 * disabled account (no user enumeration); B2C's smart-lockout wording for any locked sign-in name,
 * registered or not.
 */
const FAILURE_MESSAGES = {
  invalid: 'error.invalidCredentials',
  locked: 'error.locked',
  legacy_unavailable: 'error.legacyUnavailable',
  legacy_busy: 'error.legacyBusy',
} as const satisfies Record<string, MessageKey>;

export interface LocalSignInOptions {
  /** The id of the sign-up step that "Sign up now" leads to, when the kind offers sign-up. */
  signUpStep?: string;
  /** The id of the password-reset step for `forgotPassword: "inline"`. */
  passwordResetStep?: string;
}

/** Email + password sign-in against local accounts. */
export function localSignIn(opts: LocalSignInOptions = {}): Step {
  const id = 'localSignIn';

  async function render(ctx: StepContext, email: string, errors: { form?: string; email?: string; password?: string } = {}, state?: JourneyState): Promise<StepResult> {
    // With passkeys, the page offers sign-in with one (button and autofill); its challenge is remembered.
    let passkey: SafeHtml | undefined;
    if (ctx.policy.mfa.methods.includes('passkey')) {
      const options = await mfaService(ctx.deps, ctx.site).passkeyAuthenticationOptions(ctx.tenant);
      passkey = passkeyButton(ctx.messages, { mode: 'get', options, action: 'passkey', signIn: true });
      state = withData(state ?? ctx.state, PASSKEY_KEY, { challenge: options.challenge });
    }
    return signInPageResult(
      ctx,
      signInPage,
      {
        email,
        error: errors.form,
        fieldErrors: { email: errors.email, password: errors.password },
        signUpLink: opts.signUpStep !== undefined,
        keepMeSignedIn: ctx.policy.session.keepMeSignedInDays > 0,
        forgotPasswordLink: true,
        signInName: ctx.policy.localAccount.signInName,
        passkey,
      },
      state,
    );
  }

  /** A passkey instead of a password: the key and the user's verification on the device are both factors. */
  async function signInWithPasskey(ctx: StepContext, form: FormInput): Promise<StepResult> {
    const challenge = stepData<{ challenge: string }>(ctx.state, PASSKEY_KEY).challenge;
    const response = parsePasskey<AuthenticationResponseJSON>(form.passkey);
    const result = challenge && response ? await mfaService(ctx.deps, ctx.site).verifyPasskey(ctx.tenant, response, challenge, { ip: ctx.ip, clientId: ctx.request.clientId }) : undefined;
    ctx.deps.metrics.signIns.inc({ policy: ctx.policy.id, method: 'passkey', result: result?.ok ? 'success' : result?.reason === 'locked' ? 'locked' : 'failure' });
    if (!result?.ok) return render(ctx, '', { form: ctx.messages.t(result && !result.ok && result.reason === 'locked' ? 'mfa.locked' : 'mfa.passkeyFailed') });
    return {
      type: 'next',
      state: {
        ...withData(ctx.state, PASSKEY_KEY, {}),
        userId: result.user.id,
        idp: 'local',
        newUser: false,
        authTime: Math.floor(ctx.deps.clock.now() / 1000),
        interactive: true,
        amr: [result.amr],
        mfa: true,
      },
    };
  }

  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const hinted = hintedProvider(ctx);
      if (hinted && !stepData<{ provider: string }>(ctx.state, FEDERATION_KEY).provider) return chooseProvider(ctx.state, hinted);
      const { message, state } = takeFederationError(ctx);
      return render(ctx, ctx.request.loginHint ?? '', message ? { form: message } : {}, message ? state : undefined);
    },
    async submit(ctx, form: FormInput) {
      const action = form.action ?? 'signin';
      if (action === 'cancel') return cancelled();
      const provider = postedProvider(ctx, action);
      if (provider) return chooseProvider(ctx.state, provider);
      if (action === 'forgot') {
        if (ctx.policy.forgotPassword === 'inline' && opts.passwordResetStep) {
          return { type: 'goto', step: opts.passwordResetStep, state: ctx.state };
        }
        return forgotPassword();
      }
      if (action === 'signup' && opts.signUpStep) return { type: 'goto', step: opts.signUpStep, state: ctx.state };
      if (action === 'passkey' && ctx.policy.mfa.methods.includes('passkey')) return signInWithPasskey(ctx, form);

      const email = (form.email ?? '').trim();
      const password = form.password ?? '';
      const errors: { email?: string; password?: string } = {};
      const by = ctx.policy.localAccount.signInName;
      const m = ctx.messages;
      if (email === '') errors.email = m.t(by === 'username' ? 'error.enterUsername' : by === 'emailOrUsername' ? 'error.enterEmailOrUsername' : 'error.enterEmail');
      else if (email.length > 256 || (by === 'email' && !EMAIL.test(email))) errors.email = m.t('error.invalidEmail');
      if (password === '') errors.password = m.t('error.enterPassword');
      else if (password.length > 256) errors.password = m.t('error.invalidCredentials');
      if (errors.email || errors.password) return render(ctx, email.slice(0, 256), errors);

      const outcome = await authenticateLocal(ctx.deps, ctx.tenant, { signInName: email, password, clientId: ctx.request.clientId, ip: ctx.ip, via: ctx.policy.id, accepts: signInTypesOf(by) });
      if (!outcome.ok) return render(ctx, email, { form: ctx.messages.t(FAILURE_MESSAGES[outcome.reason]) });
      const { user } = outcome;
      return {
        type: 'next',
        state: {
          ...ctx.state,
          userId: user.id,
          idp: 'local',
          newUser: false,
          authTime: Math.floor(ctx.deps.clock.now() / 1000),
          interactive: true,
          amr: ['pwd'],
          kmsi: ctx.policy.session.keepMeSignedInDays > 0 && form.kmsi === 'true',
        },
      };
    },
  };
}
