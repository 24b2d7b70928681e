import type { Journey, Step } from './journey.js';
import type { Policy } from '../model/policy.js';
import { federatedSignIn } from './steps/federated-sign-in.js';
import { federatedSignUp } from './steps/federated-sign-up.js';
import { linkIdentity } from './steps/link-identity.js';
import { localSignIn, type LocalSignInOptions } from './steps/local-sign-in.js';
import { multiFactor } from './steps/mfa.js';
import { consent } from './steps/consent.js';
import { passkeyOffer } from './steps/passkey-offer.js';
import { SECURITY_STEP_UP, securitySettings, securitySettingsOpen } from './steps/security-settings.js';
import { resetEmail, resetPassword } from './steps/password-reset.js';
import { profileEdit } from './steps/profile-edit.js';
import { requiredPasswordChange } from './steps/required-password-change.js';
import { providerSelection } from './steps/provider-selection.js';
import { signUpDetails, signUpEmail } from './steps/sign-up.js';
import { verifyEmail } from './steps/verify-email.js';

function signUpSteps(): Step[] {
  return [signUpEmail('signUpEmail'), verifyEmail('signUpVerify', { purpose: 'signup', emailStep: 'signUpEmail' }), signUpDetails('signUpDetails')];
}

function resetSteps(): Step[] {
  return [resetEmail('resetEmail'), verifyEmail('resetVerify', { purpose: 'reset', emailStep: 'resetEmail' }), resetPassword('resetPassword', 'resetEmail')];
}

/**
 * The first page of a signing-in kind: the local-account page (with the policy's identity providers
 * as buttons), or, without local accounts, the choice of provider; and after it the upstream steps
 * (sign-in at the provider, linking to an existing account, first-time sign-up) when the policy names
 * providers.
 */
function signInSteps(policy: Policy, opts: LocalSignInOptions & { allowSignUp: boolean }): { first: Step; upstream: Step[] } {
  const local = policy.identityProviders.includes('local');
  const first = local ? localSignIn(opts) : providerSelection('providerSelection');
  const federates = policy.identityProviders.some((id) => id !== 'local');
  const upstream = federates
    ? [federatedSignIn({ choiceStep: first.id, allowSignUp: opts.allowSignUp }), linkIdentity(), ...(opts.allowSignUp ? [federatedSignUp()] : [])]
    : [];
  return { first, upstream };
}

/**
 * Kinds are presets: each expands to an ordered list of steps. Steps that authenticate skip
 * themselves once the journey knows its user, so "Sign up now", an inline password reset and an
 * upstream sign-in are side paths (`goto`) that rejoin the end of the list.
 */
/** The second-factor step, when the policy may ask for one (it passes through when not due). */
function mfaSteps(policy: Policy): Step[] {
  return policy.mfa.mode === 'off' ? [] : [multiFactor('mfa')];
}

/** After a password sign-in (and its second factor): a new password, when an operator required one. */
function passwordChangeSteps(policy: Policy): Step[] {
  return policy.identityProviders.includes('local') ? [requiredPasswordChange('requiredPasswordChange')] : [];
}

/** After a sign-up, the offer to create a passkey (policies that offer passkeys). */
function passkeyOfferSteps(policy: Policy): Step[] {
  return policy.mfa.methods.includes('passkey') ? [passkeyOffer('passkeyOffer')] : [];
}

/** Whether profile edit offers security settings: second factors to manage, or passkeys to register. */
export function offersSecuritySettings(policy: Policy): boolean {
  return policy.mfa.mode !== 'off' || policy.mfa.methods.includes('passkey');
}

export function compileJourney(policy: Policy): Journey {
  const inlineReset = policy.forgotPassword === 'inline';
  const reset = inlineReset ? { passwordResetStep: 'resetEmail' } : {};
  let steps: Step[];
  switch (policy.kind) {
    case 'signIn': {
      const { first, upstream } = signInSteps(policy, { ...reset, allowSignUp: false });
      steps = [first, ...(inlineReset ? resetSteps() : []), ...upstream, ...mfaSteps(policy), ...passwordChangeSteps(policy)];
      break;
    }
    case 'signUpOrSignIn': {
      const { first, upstream } = signInSteps(policy, { signUpStep: 'signUpEmail', ...reset, allowSignUp: true });
      steps = [first, ...signUpSteps(), ...(inlineReset ? resetSteps() : []), ...upstream, ...mfaSteps(policy), ...passwordChangeSteps(policy), ...passkeyOfferSteps(policy)];
      break;
    }
    case 'signUp':
      steps = [...signUpSteps(), ...mfaSteps(policy), ...passkeyOfferSteps(policy)];
      break;
    case 'profileEdit': {
      const { first, upstream } = signInSteps(policy, { ...reset, allowSignUp: false });
      // Security settings behind a step-up check of any factor the user has (whatever this policy's mfa).
      const security = offersSecuritySettings(policy) ? [multiFactor(SECURITY_STEP_UP, { stepUpWhen: securitySettingsOpen }), securitySettings('profileEdit')] : [];
      steps = [first, ...(inlineReset ? resetSteps() : []), ...upstream, ...mfaSteps(policy), ...passwordChangeSteps(policy), ...security, profileEdit('profileEdit', security.length > 0)];
      break;
    }
    case 'passwordReset':
      steps = [...resetSteps(), ...mfaSteps(policy)];
      break;
    case 'ropc':
      // No pages: the password grant at the token endpoint is the whole flow (authorize refuses it).
      steps = [];
      break;
  }
  // Last, before any token: a third-party app's consent page (passes through for first-party apps).
  if (steps.length > 0) steps.push(consent('consent'));
  return { policy, steps };
}

const compiled = new WeakMap<Policy, Journey>();

/** Compiled once per loaded policy object; a reloaded policy is a new object and compiles anew. */
export function journeyFor(policy: Policy): Journey {
  let j = compiled.get(policy);
  if (!j) {
    j = compileJourney(policy);
    compiled.set(policy, j);
  }
  return j;
}
