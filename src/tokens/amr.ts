/**
 * How a user authenticated, as tokens say it: `amr` (RFC 8176) and Latchkey's `acr`.
 */

/** RFC 8176 values: password, federated sign-in (Entra's `fed`), one-time code, a code by text message, hardware / software key. */
export type AmrValue = 'pwd' | 'fed' | 'otp' | 'sms' | 'hwk' | 'swk' | 'mfa';

/**
 * Multi-factor: a passkey (possession of the key, and the user verified by PIN or biometrics on the
 * device), or a first factor (password, upstream provider) followed by a one-time code (an app's, an
 * e-mailed one, or one sent by text message). A phone sign-in's code alone (`sms`) is one factor.
 */
export function isMultiFactor(amr: readonly string[]): boolean {
  if (amr.includes('mfa') || amr.includes('hwk') || amr.includes('swk')) return true;
  return (amr.includes('pwd') || amr.includes('fed')) && (amr.includes('otp') || amr.includes('sms'));
}

/** The `amr` claim: what was done, in the order done, with `mfa` when it adds up to more than one factor. */
export function finalAmr(amr: readonly string[], mfa = false): string[] {
  const out = [...new Set(amr.filter((v) => v !== 'mfa'))];
  if (mfa || isMultiFactor(amr)) out.push('mfa');
  return out;
}

/** The `acr` claim when the policy does not use `acr` for its name: `mfa` or `sfa` (single factor). */
export const ACR_VALUES = ['sfa', 'mfa'] as const;
export function acrOf(amr: readonly string[]): (typeof ACR_VALUES)[number] {
  return isMultiFactor(amr) ? 'mfa' : 'sfa';
}

