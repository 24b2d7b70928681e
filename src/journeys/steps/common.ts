import { OAuthError } from '../../oauth/errors.js';
import type { StepResult } from '../journey.js';

/** Cancel on any page: B2C's AADB2C90091 sent to the app as access_denied. */
export function cancelled(): StepResult {
  return { type: 'fail', error: new OAuthError('access_denied', 'User cancellation.', { b2cCode: 'AADB2C90091' }) };
}

/** "Forgot your password?" in a policy that leaves password reset to the app (B2C's classic behaviour). */
export function forgotPassword(): StepResult {
  return {
    type: 'fail',
    error: new OAuthError('access_denied', 'The user has forgotten their password.', { b2cCode: 'AADB2C90118' }),
  };
}

export function pageTitle(policyTitle: string | undefined, fallback: string): string {
  return policyTitle ?? fallback;
}
