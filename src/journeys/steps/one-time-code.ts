import { randomInt } from 'node:crypto';
import { safeEqual, sha256 } from '../../crypto/secrets.js';
import type { MessageKey } from '../../model/messages/messages.js';
import type { FormField } from '../../ui/pages/form-page.js';
import type { StepContext } from '../journey.js';

/**
 * Six-digit codes mailed to prove an address (sign-up, password reset, linking an identity): they
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
