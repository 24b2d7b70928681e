import { dummyHashFor, verifyPassword } from '../../crypto/password.js';
import { signInPage } from '../../ui/pages/sign-in.js';
import type { FormInput, Step, StepContext, StepResult } from '../journey.js';
import { EMAIL, cancelled, forgotPassword, pageTitle } from './common.js';

/** One message for unknown account, wrong password and disabled account: no user enumeration. */
const INVALID_CREDENTIALS = 'Invalid username or password.';

let dummyHash: { cost: number; hash: Promise<string> } | undefined;
function dummy(cost: number): Promise<string> {
  if (!dummyHash || dummyHash.cost !== cost) dummyHash = { cost, hash: dummyHashFor(cost) };
  return dummyHash.hash;
}

export interface LocalSignInOptions {
  /** The id of the sign-up step that "Sign up now" leads to, when the kind offers sign-up. */
  signUpStep?: string;
  /** The id of the password-reset step for `forgotPassword: "inline"`. */
  passwordResetStep?: string;
}

/** Email + password sign-in against local accounts. */
export function localSignIn(opts: LocalSignInOptions = {}): Step {
  const id = 'localSignIn';

  function render(ctx: StepContext, email: string, errors: { form?: string; email?: string; password?: string } = {}): StepResult {
    return {
      type: 'page',
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
        lang: ctx.policy.ui.locale,
        theme: ctx.policy.ui.theme,
      }),
    };
  }

  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      return render(ctx, ctx.request.loginHint ?? '');
    },
    async submit(ctx, form: FormInput) {
      const action = form.action ?? 'signin';
      if (action === 'cancel') return cancelled();
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
      if (email === '') errors.email = 'Please enter your Email Address.';
      else if (email.length > 256 || !EMAIL.test(email)) errors.email = 'Please enter a valid email address.';
      if (password === '') errors.password = 'Please enter your password.';
      else if (password.length > 256) errors.password = INVALID_CREDENTIALS;
      if (errors.email || errors.password) return render(ctx, email.slice(0, 256), errors);

      const { store, config, clock, logger } = ctx.deps;
      const user = await store.findUserByEmail(ctx.tenant.id, email);
      const ok = await verifyPassword(password, user?.passwordHash ?? (await dummy(config.passwordCost)));
      if (!user || !ok || user.disabled || !user.passwordHash) {
        logger.info({ tenant: ctx.tenant.slug, policy: ctx.policy.id, ip: ctx.ip, outcome: 'failure' }, 'local sign-in failed');
        return render(ctx, email, { form: INVALID_CREDENTIALS });
      }
      logger.info({ tenant: ctx.tenant.slug, policy: ctx.policy.id, sub: user.id, ip: ctx.ip, outcome: 'success' }, 'local sign-in');
      return {
        type: 'next',
        state: {
          ...ctx.state,
          userId: user.id,
          idp: 'local',
          newUser: false,
          authTime: Math.floor(clock.now() / 1000),
          interactive: true,
          kmsi: ctx.policy.session.keepMeSignedInDays > 0 && form.kmsi === 'true',
        },
      };
    },
  };
}
