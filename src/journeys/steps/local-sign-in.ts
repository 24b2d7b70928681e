import { signInPage } from '../../ui/pages/sign-in.js';
import type { FormInput, JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { authenticateLocal } from '../../services/local-auth.js';
import { EMAIL, cancelled, forgotPassword, pageTitle, stepData } from './common.js';
import { FEDERATION_KEY, chooseProvider, hintedProvider, offeredProviders, postedProvider, takeFederationError } from './providers.js';

/** One message for unknown account, wrong password and disabled account: no user enumeration. */
const INVALID_CREDENTIALS = 'Invalid username or password.';
/** B2C's smart-lockout wording; shown for any locked sign-in name, registered or not. */
export const LOCKED = 'Your account is temporarily locked to prevent unauthorized use. Try again later.';
const FAILURE_MESSAGES = {
  invalid: INVALID_CREDENTIALS,
  locked: LOCKED,
  legacy_unavailable: "We can't check your password right now. Please try again in a few minutes.",
  legacy_busy: 'Too many people are signing in right now. Please try again in a moment.',
} as const;

export interface LocalSignInOptions {
  /** The id of the sign-up step that "Sign up now" leads to, when the kind offers sign-up. */
  signUpStep?: string;
  /** The id of the password-reset step for `forgotPassword: "inline"`. */
  passwordResetStep?: string;
}

/** Email + password sign-in against local accounts. */
export function localSignIn(opts: LocalSignInOptions = {}): Step {
  const id = 'localSignIn';

  function render(ctx: StepContext, email: string, errors: { form?: string; email?: string; password?: string } = {}, state?: JourneyState): StepResult {
    return {
      type: 'page',
      ...(state ? { state } : {}),
      html: signInPage({
        title: pageTitle(ctx.policy.ui.title, `Sign in to ${ctx.tenant.displayName}`),
        action: ctx.action,
        csrf: ctx.csrf,
        email,
        ...(errors.form ? { error: errors.form } : {}),
        fieldErrors: { ...(errors.email ? { email: errors.email } : {}), ...(errors.password ? { password: errors.password } : {}) },
        signUpLink: opts.signUpStep !== undefined,
        keepMeSignedIn: ctx.policy.session.keepMeSignedInDays > 0,
        forgotPasswordLink: true,
        signInLabel: ctx.policy.localAccount.signInName === 'username' ? 'Username' : 'Email Address',
        providers: offeredProviders(ctx).map((p) => ({ id: p.id, displayName: p.displayName })),
        lang: ctx.policy.ui.locale,
        theme: ctx.policy.ui.theme,
      }),
    };
  }

  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const hinted = hintedProvider(ctx);
      if (hinted && !stepData<{ provider: string }>(ctx.state, FEDERATION_KEY).provider) return chooseProvider(ctx.state, hinted);
      const { message, state } = takeFederationError(ctx.state);
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

      const email = (form.email ?? '').trim();
      const password = form.password ?? '';
      const errors: { email?: string; password?: string } = {};
      const byUsername = ctx.policy.localAccount.signInName === 'username';
      if (email === '') errors.email = byUsername ? 'Please enter your Username.' : 'Please enter your Email Address.';
      else if (email.length > 256 || (!byUsername && !EMAIL.test(email))) errors.email = 'Please enter a valid email address.';
      if (password === '') errors.password = 'Please enter your password.';
      else if (password.length > 256) errors.password = INVALID_CREDENTIALS;
      if (errors.email || errors.password) return render(ctx, email.slice(0, 256), errors);

      const outcome = await authenticateLocal(ctx.deps, ctx.tenant, { signInName: email, password, clientId: ctx.request.clientId, ip: ctx.ip, via: ctx.policy.id });
      if (!outcome.ok) return render(ctx, email, { form: FAILURE_MESSAGES[outcome.reason] });
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
          kmsi: ctx.policy.session.keepMeSignedInDays > 0 && form.kmsi === 'true',
        },
      };
    },
  };
}
