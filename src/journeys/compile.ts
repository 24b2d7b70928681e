import type { Journey, Step } from './journey.js';
import type { Policy } from './policy-schema.js';
import { localSignIn } from './steps/local-sign-in.js';
import { resetEmail, resetPassword } from './steps/password-reset.js';
import { profileEdit } from './steps/profile-edit.js';
import { signUpDetails, signUpEmail } from './steps/sign-up.js';
import { verifyEmail } from './steps/verify-email.js';

function signUpSteps(): Step[] {
  return [signUpEmail('signUpEmail'), verifyEmail('signUpVerify', { purpose: 'signup', emailStep: 'signUpEmail' }), signUpDetails('signUpDetails')];
}

function resetSteps(): Step[] {
  return [resetEmail('resetEmail'), verifyEmail('resetVerify', { purpose: 'reset', emailStep: 'resetEmail' }), resetPassword('resetPassword', 'resetEmail')];
}

/**
 * Kinds are presets: each expands to an ordered list of steps. Steps that authenticate skip
 * themselves once the journey knows its user, so "Sign up now" and an inline password reset are
 * side paths (`goto`) that rejoin the end of the list.
 */
export function compileJourney(policy: Policy): Journey {
  const inlineReset = policy.forgotPassword === 'inline';
  let steps: Step[];
  switch (policy.kind) {
    case 'signIn':
      steps = [localSignIn(inlineReset ? { passwordResetStep: 'resetEmail' } : {}), ...(inlineReset ? resetSteps() : [])];
      break;
    case 'signUpOrSignIn':
      steps = [
        localSignIn({ signUpStep: 'signUpEmail', ...(inlineReset ? { passwordResetStep: 'resetEmail' } : {}) }),
        ...signUpSteps(),
        ...(inlineReset ? resetSteps() : []),
      ];
      break;
    case 'signUp':
      steps = signUpSteps();
      break;
    case 'profileEdit':
      steps = [localSignIn(inlineReset ? { passwordResetStep: 'resetEmail' } : {}), ...(inlineReset ? resetSteps() : []), profileEdit('profileEdit')];
      break;
    case 'passwordReset':
      steps = resetSteps();
      break;
  }
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
