import { randomInt } from 'node:crypto';
import { safeEqual, sha256 } from '../../crypto/secrets.js';
import type { MessageKey } from '../../model/messages/messages.js';
import type { FormField } from '../../ui/pages/form-page.js';
import type { StepContext } from '../journey.js';
import { sendSmsCode, type SmsRefusal } from '../../services/sms-codes.js';

/**
 * Six-digit codes mailed to prove an address (sign-up, password reset, linking an identity), or sent by
 * text message to prove a phone number (phone sign-in, the SMS second factor): they
 * expire, allow a few wrong tries and a few re-sends. Only the code's hash is kept in the journey,
 * bound to the step that sent it, so a code from one step is worth nothing in another.
 */
export const CODE_TTL_MS = 10 * 60_000;
export const MAX_ATTEMPTS = 5;
export const MAX_SENDS = 5;

export interface PendingCode {
  address: string;
  /** Absent when nothing was sent (password reset for an unknown address reads the same). */
  codeHash?: string;
  expiresAt: number;
  attempts: number;
  sends: number;
}

/** B2C's code input (`#email_ver_input`). */
export function codeField(ctx: StepContext, error?: string): FormField {
  return { id: 'email_ver_input', name: 'code', label: ctx.messages.t('label.code'), type: 'code', autofocus: true, error };
}

/** Issues a new code for `address` (mailing it when `deliver`); re-sends to the same address are counted. */
export async function issueCode(
  ctx: StepContext,
  address: string,
  previous: Partial<PendingCode>,
  deliver: boolean,
  mail: { subject: MessageKey; body: MessageKey } = { subject: 'mail.codeSubject', body: 'mail.codeBody' },
): Promise<PendingCode> {
  const { deps } = ctx;
  const sends = (previous.address === address ? (previous.sends ?? 0) : 0) + 1;
  const pending: PendingCode = { address, expiresAt: deps.clock.now() + CODE_TTL_MS, attempts: 0, sends };
  if (deliver) {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    pending.codeHash = sha256(`${ctx.state.step}:${code}`);
    await deps.mailer.send({
      tenantId: ctx.tenant.id,
      to: address,
      subject: ctx.messages.t(mail.subject, { tenant: ctx.tenant.displayName }),
      text: ctx.messages.t(mail.body, { address, code, minutes: CODE_TTL_MS / 60_000 }),
    });
  }
  return pending;
}

export type CodeCheck = { ok: true } | { ok: false; error: string; pending?: PendingCode };

/** Checks a typed code; a wrong one comes back with the attempt counted. */
export function checkCode(ctx: StepContext, pending: Partial<PendingCode>, typed: string): CodeCheck {
  const code = typed.trim();
  const m = ctx.messages;
  if (!/^\d{6}$/.test(code)) return { ok: false, error: m.t('code.format') };
  if ((pending.attempts ?? 0) >= MAX_ATTEMPTS) return { ok: false, error: m.t('code.tooManyAttempts') };
  if ((pending.expiresAt ?? 0) <= ctx.deps.clock.now()) return { ok: false, error: m.t('code.expired') };
  if (pending.codeHash !== undefined && safeEqual(sha256(`${ctx.state.step}:${code}`), pending.codeHash)) return { ok: true };
  return { ok: false, error: m.t('code.wrong'), pending: { ...(pending as PendingCode), attempts: (pending.attempts ?? 0) + 1 } };
}

/** What a page says when a text message was refused (nothing was sent). */
const SMS_REFUSALS: Record<SmsRefusal, MessageKey> = {
  country: 'error.phoneCountry',
  number_limit: 'error.smsTooMany',
  address_limit: 'error.smsTooMany',
  tenant_limit: 'error.smsBusy',
  failed: 'error.serviceUnavailable',
};

export type SmsIssue = { ok: true; pending: PendingCode } | { ok: false; error: string };

/**
 * Issues a new code for the phone number `to` (E.164) and sends it by text message, within the policy's
 * countries and the hourly limits (services/sms-codes.ts); a refusal comes back as the page's message.
 * Re-sends to the same number are counted as for mail, and bounded by MAX_SENDS as well.
 */
export async function issueSmsCode(ctx: StepContext, to: string, previous: Partial<PendingCode>, purpose: string, userId: string | null): Promise<SmsIssue> {
  const sends = (previous.address === to ? (previous.sends ?? 0) : 0) + 1;
  if (sends > MAX_SENDS) return { ok: false, error: ctx.messages.t('code.tooManySends') };
  const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
  const minutes = CODE_TTL_MS / 60_000;
  const sent = await sendSmsCode(ctx.deps, {
    tenant: ctx.tenant,
    policy: ctx.policy,
    to,
    text: ctx.messages.t('sms.codeText', { code, tenant: ctx.policy.ui.title ?? ctx.tenant.displayName, minutes }),
    locale: ctx.messages.locale,
    ip: ctx.ip,
    clientId: ctx.request.clientId,
    userId,
    purpose,
  });
  if (!sent.ok) return { ok: false, error: ctx.messages.t(SMS_REFUSALS[sent.reason]) };
  return { ok: true, pending: { address: to, codeHash: sha256(`${ctx.state.step}:${code}`), expiresAt: ctx.deps.clock.now() + CODE_TTL_MS, attempts: 0, sends } };
}
