import { OAuthError } from '../../oauth/errors.js';
import { formPage, type FormPageProps } from '../../ui/pages/form-page.js';
import type { JourneyState, StepContext, StepResult } from '../journey.js';

export const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;
export const CANCEL_BUTTON = { action: 'cancel', label: 'Cancel', secondary: true, skipValidation: true } as const;

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

/** Renders a journey form page with the policy's title, locale and theme. */
export function page(ctx: StepContext, props: Omit<FormPageProps, 'title' | 'action' | 'csrf' | 'lang' | 'theme'>): StepResult {
  return {
    type: 'page',
    html: formPage({
      ...props,
      title: pageTitle(ctx.policy.ui.title, ctx.tenant.displayName),
      action: ctx.action,
      csrf: ctx.csrf,
      lang: ctx.policy.ui.locale,
      theme: ctx.policy.ui.theme,
    }),
  };
}

/** Step-private data, typed by the caller. */
export function stepData<T extends object>(state: JourneyState, key: string): Partial<T> {
  return (state.data[key] ?? {}) as Partial<T>;
}

export function withData(state: JourneyState, key: string, value: object): JourneyState {
  return { ...state, data: { ...state.data, [key]: value as Record<string, unknown> } };
}

/** The policy's password rules; messages in B2C's wording. */
export function checkNewPassword(ctx: StepContext, password: string, confirm: string): { password?: string; confirm?: string } {
  const rules = ctx.policy.localAccount.password;
  if (password === '') return { password: 'Please enter your new password.' };
  if (password.length < rules.minLength) return { password: `The password must be at least ${rules.minLength} characters long.` };
  if (password.length > rules.maxLength) return { password: `The password must be at most ${rules.maxLength} characters long.` };
  if (confirm !== password) {
    return { confirm: 'The password entry fields do not match. Please enter the same password in both fields and try again.' };
  }
  return {};
}

/** The email a journey is working with (sign-up or password reset) and whether it was proven. */
export interface EmailClaim {
  address: string;
  verified: boolean;
}

export const EMAIL_KEY = 'email';

