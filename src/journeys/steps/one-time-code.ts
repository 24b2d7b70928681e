import { randomInt } from 'node:crypto';
import { safeEqual, sha256 } from '../../crypto/secrets.js';
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

export const CODE_MESSAGES = {
  format: 'Please enter the 6-digit verification code.',
  tooManyAttempts: "You've made too many incorrect attempts. Please request a new code.",
  expired: 'That code has expired. Please request a new code.',
  wrong: 'The verification code you have entered does not match our records. Please try again, or request a new code.',
  tooManySends: 'You have asked for too many codes. Please start again later.',
} as const;

/** Issues a new code for `address` (mailing it when `deliver`); re-sends to the same address are counted. */
export async function issueCode(ctx: StepContext, address: string, previous: Partial<PendingCode>, deliver: boolean): Promise<PendingCode> {
  const { deps } = ctx;
  const sends = (previous.address === address ? (previous.sends ?? 0) : 0) + 1;
  const pending: PendingCode = { address, expiresAt: deps.clock.now() + CODE_TTL_MS, attempts: 0, sends };
  if (deliver) {
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    pending.codeHash = sha256(`${ctx.state.step}:${code}`);
    await deps.mailer.send({
      tenantId: ctx.tenant.id,
      to: address,
      subject: `${ctx.tenant.displayName} account email verification code`,
      text: `Thanks for verifying your ${address} account!\n\nYour code is: ${code}\n\nIt expires in ${CODE_TTL_MS / 60_000} minutes.\n`,
    });
  }
  return pending;
}

export type CodeCheck = { ok: true } | { ok: false; error: string; pending?: PendingCode };

/** Checks a typed code; a wrong one comes back with the attempt counted. */
export function checkCode(ctx: StepContext, pending: Partial<PendingCode>, typed: string): CodeCheck {
  const code = typed.trim();
  if (!/^\d{6}$/.test(code)) return { ok: false, error: CODE_MESSAGES.format };
  if ((pending.attempts ?? 0) >= MAX_ATTEMPTS) return { ok: false, error: CODE_MESSAGES.tooManyAttempts };
  if ((pending.expiresAt ?? 0) <= ctx.deps.clock.now()) return { ok: false, error: CODE_MESSAGES.expired };
  if (pending.codeHash !== undefined && safeEqual(sha256(`${ctx.state.step}:${code}`), pending.codeHash)) return { ok: true };
  return { ok: false, error: CODE_MESSAGES.wrong, pending: { ...(pending as PendingCode), attempts: (pending.attempts ?? 0) + 1 } };
}
