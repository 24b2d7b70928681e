import { OAuthError, B2C_CODES } from '../../model/errors.js';
import { selfAssertedPage, type FormButton, type FormField, type FormPageProps } from '../../ui/pages/form-page.js';
import type { ApiPage } from '../../ui/pages/api-page.js';
import type { JourneyState, StepContext, StepResult } from '../journey.js';
import { passwordProblem } from '../../services/users-rules.js';

/** B2C's `#cancel`: leaves the journey with access_denied. */
export function cancelButton(ctx: StepContext): FormButton {
  return { action: 'cancel', id: 'cancel', label: ctx.messages.t('button.cancel'), secondary: true, skipValidation: true };
}

/** Cancel on any page: B2C's AADB2C90091 sent to the app as access_denied. */
export function cancelled(): StepResult {
  return { type: 'fail', error: new OAuthError('access_denied', 'User cancellation.', { b2cCode: B2C_CODES.userCancelled }) };
}

/** "Forgot your password?" in a policy that leaves password reset to the app (B2C's classic behaviour). */
export function forgotPassword(): StepResult {
  return {
    type: 'fail',
    error: new OAuthError('access_denied', 'The user has forgotten their password.', { b2cCode: B2C_CODES.forgotPassword }),
  };
}

/** The page title: the policy's `ui.title`, else the tenant's name (or, for sign-in, "Sign in to …"). */
export function pageTitle(ctx: StepContext, signIn = false): string {
  return ctx.policy.ui.title ?? (signIn ? ctx.messages.t('page.signInTitle', { tenant: ctx.tenant.displayName }) : ctx.tenant.displayName);
}

/** A self-asserted page of the journey, titled, posted back to it with its CSRF token. */
export function page(ctx: StepContext, props: Omit<FormPageProps, 'title' | 'action' | 'csrf' | 'selectPrompt'>): { type: 'page'; page: ApiPage } {
  return {
    type: 'page',
    page: selfAssertedPage({ ...props, title: pageTitle(ctx), action: ctx.action, csrf: ctx.csrf, selectPrompt: ctx.messages.t('label.selectOption') }),
  };
}

/** Step-private data, typed by the caller. */
export function stepData<T extends object>(state: JourneyState, key: string): Partial<T> {
  return (state.data[key] ?? {}) as Partial<T>;
}

export function withData(state: JourneyState, key: string, value: object): JourneyState {
  return { ...state, data: { ...state.data, [key]: value as Record<string, unknown> } };
}

/** The policy's password rules; messages in B2C's wording, in the page's language. */
export function checkNewPassword(ctx: StepContext, password: string, confirm: string): { password?: string; confirm?: string } {
  const rules = ctx.policy.localAccount.password;
  const m = ctx.messages;
  if (password === '') return { password: m.t('error.passwordMissing') };
  const problem = passwordProblem(password, rules);
  if (problem && 'tooShort' in problem) return { password: m.t('error.passwordTooShort', { min: problem.tooShort }) };
  if (problem && 'tooLong' in problem) return { password: m.t('error.passwordTooLong', { max: problem.tooLong }) };
  if (confirm !== password) return { confirm: m.t('error.passwordMismatch') };
  return {};
}

/** B2C's new-password fields (`#newPassword`, `#reenterPassword`), with their errors. */
export function newPasswordFields(ctx: StepContext, errors: { password?: string; confirm?: string }, autofocus = false): FormField[] {
  return [
    { id: 'newPassword', name: 'password', label: ctx.messages.t('label.newPassword'), type: 'password', required: true, autocomplete: 'new-password', maxLength: 256, autofocus, error: errors.password },
    { id: 'reenterPassword', name: 'confirm', label: ctx.messages.t('label.confirmPassword'), type: 'password', required: true, autocomplete: 'new-password', maxLength: 256, error: errors.confirm },
  ];
}

/** The address a page is about, shown read-only (B2C's `#email` in verification pages). */
export function emailFact(ctx: StepContext, address: string): { id: string; label: string; value: string } {
  return { id: 'email_ro', label: ctx.messages.t('label.email'), value: address };
}

/** The email a journey is working with (sign-up or password reset) and whether it was proven. */
export interface EmailClaim {
  address: string;
  verified: boolean;
}

export const EMAIL_KEY = 'email';

