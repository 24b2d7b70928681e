import { mfaService, newTotpSecret, totpEnrolment } from '../../services/mfa.js';
import { parsePhoneNumber } from '../../model/phone.js';
import { checkCode, codeField, issueSmsCode, type PendingCode } from './one-time-code.js';
import { accountName } from '../../model/local-identities.js';
import type { User } from '../../model/entities.js';
import type { FormPageProps } from '../../ui/pages/form-page.js';
import { recoveryCodeList, totpSetup } from '../../ui/pages/mfa.js';
import type { StepContext } from '../journey.js';

/**
 * The parts of the enrolment pages that the second-factor step, profile edit's security settings and
 * the passkey offer after sign-up share: the authenticator app's setup and the recovery codes shown once.
 * A secret or codes kept in the journey between pages are sealed (the journey is in the database).
 */
type Content = Pick<FormPageProps, 'heading' | 'intro' | 'extra' | 'fields'>;

/** The authenticator app's setup: QR code and key for `sealed` (or a new secret), and the code field. */
export async function totpEnrolContent(ctx: StepContext, user: User, sealed: string | undefined, error?: string): Promise<{ content: Content; sealed: string }> {
  const m = ctx.messages;
  const secret = sealed ? ctx.deps.secrets.open(sealed) : newTotpSecret();
  const account = accountName(user);
  const { qrSvg } = await totpEnrolment(ctx.policy.ui.title ?? ctx.tenant.displayName, account, secret);
  return {
    content: {
      heading: m.t('mfa.totpEnrolHeading'),
      intro: m.t('mfa.totpEnrolIntro'),
      extra: totpSetup(qrSvg, secret, m),
      fields: [{ id: 'totpCode', name: 'code', label: m.t('label.totpCode'), type: 'code', error }],
    },
    sealed: ctx.deps.secrets.seal(secret),
  };
}

export function sealCodes(ctx: StepContext, codes: string[]): string {
  return ctx.deps.secrets.seal(JSON.stringify(codes));
}

/** The recovery codes, shown once. */
export function recoveryCodesContent(ctx: StepContext, sealed: string): Content {
  const m = ctx.messages;
  return { heading: m.t('mfa.codesHeading'), intro: m.t('mfa.codesIntro'), extra: recoveryCodeList(JSON.parse(ctx.deps.secrets.open(sealed)) as string[]), fields: [] };
}

/** A phone being enrolled for text-message codes: the number typed, then the code sent to it. */
export interface SmsEnrolment {
  /** E.164, once a code was sent to it. */
  number?: string;
  pending?: PendingCode;
}

/** The SMS enrolment page: the number field, or (a code sent) the number and the code field. */
export function smsEnrolContent(ctx: StepContext, e: SmsEnrolment, error?: string): { content: Content; phase: 'number' | 'code' } {
  const m = ctx.messages;
  if (e.number && e.pending) {
    return {
      content: { heading: m.t('mfa.smsEnrolHeading'), intro: m.t('mfa.smsIntro', { number: e.number }), fields: [codeField(ctx, error)] },
      phase: 'code',
    };
  }
  return {
    content: {
      heading: m.t('mfa.smsEnrolHeading'),
      intro: m.t('mfa.smsEnrolIntro'),
      fields: [{ id: 'phoneNumber', name: 'phoneNumber', label: m.t('label.phoneNumber'), type: 'tel', value: e.number ?? '', autocomplete: 'tel', autofocus: true, maxLength: 40, error }],
    },
    phase: 'number',
  };
}

export type SmsEnrolStep = { done: true } | { done: false; enrolment: SmsEnrolment; error?: string; notice?: string };

/**
 * A post of the SMS enrolment page: `send-sms` sends a code to the typed number (parsed to E.164; the
 * policy's countries and the limits apply), `resend` sends another, `change` goes back to the number,
 * and `verify` checks the code — right, the phone is the user's SMS factor (services/mfa.ts).
 */
export async function smsEnrolSubmit(ctx: StepContext, user: User, e: SmsEnrolment, action: string, form: Record<string, string>): Promise<SmsEnrolStep> {
  const m = ctx.messages;
  if (action === 'change') return { done: false, enrolment: { ...(e.number ? { number: e.number } : {}) } };
  if (action === 'send-sms') {
    const typed = (form.phoneNumber ?? '').trim();
    const only = ctx.policy.phone.allowedCountries?.length === 1 ? ctx.policy.phone.allowedCountries[0] : undefined;
    const parsed = typed === '' ? undefined : await parsePhoneNumber(typed, only);
    if (!parsed?.ok) return { done: false, enrolment: {}, error: m.t(typed === '' ? 'error.enterPhone' : 'error.invalidPhone') };
    const issued = await issueSmsCode(ctx, parsed.e164, e.pending ?? {}, 'enrolment', user.id);
    return issued.ok ? { done: false, enrolment: { number: parsed.e164, pending: issued.pending } } : { done: false, enrolment: {}, error: issued.error };
  }
  if (!e.number || !e.pending) return { done: false, enrolment: {} };
  if (action === 'resend') {
    const issued = await issueSmsCode(ctx, e.number, e.pending, 'enrolment', user.id);
    return issued.ok ? { done: false, enrolment: { number: e.number, pending: issued.pending }, notice: m.t('phone.codeResent') } : { done: false, enrolment: e, error: issued.error };
  }
  const check = checkCode(ctx, e.pending, form.code ?? '');
  if (!check.ok) return { done: false, enrolment: { number: e.number, pending: check.pending ?? e.pending }, error: check.error };
  await mfaService(ctx.deps, ctx.site).enrolSms(ctx.tenant, user, e.number, { ip: ctx.ip, clientId: ctx.request.clientId });
  return { done: true };
}
