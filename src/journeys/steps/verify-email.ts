import { randomInt } from 'node:crypto';
import { safeEqual, sha256 } from '../../crypto/secrets.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { CANCEL_BUTTON, EMAIL_KEY, cancelled, page, stepData, withData, type EmailClaim } from './common.js';

export const CODE_TTL_MS = 10 * 60_000;
export const MAX_ATTEMPTS = 5;
export const MAX_SENDS = 5;

interface PendingCode {
  address: string;
  codeHash?: string;
  expiresAt: number;
  attempts: number;
  sends: number;
}

/**
 * Proves the journey's email address with a 6-digit one-time code (expires, limited attempts,
 * limited re-sends). For password reset a code is only sent when the account exists, but the page
 * reads the same either way, so it tells nobody whether an address is registered.
 */
export function verifyEmail(id: string, opts: { purpose: 'signup' | 'reset'; emailStep: string }): Step {
  function codePage(ctx: StepContext, claim: EmailClaim, extra: { error?: string; notice?: string } = {}): StepResult {
    return page(ctx, {
      heading: opts.purpose === 'signup' ? 'Verify your email address' : 'Verify your email address to reset your password',
      notice: extra.notice ?? 'Verification code has been sent to your inbox. Please copy it to the input box below.',
      facts: [{ label: 'Email Address', value: claim.address }],
      fields: [{ name: 'code', label: 'Verification code', type: 'code', autofocus: true, ...(extra.error ? { error: extra.error } : {}) }],
      buttons: [
        { action: 'verify', label: 'Verify code' },
        { action: 'resend', label: 'Send new code', secondary: true, skipValidation: true },
        { action: 'change', label: 'Change e-mail', secondary: true, skipValidation: true },
        CANCEL_BUTTON,
      ],
    });
  }

  async function send(ctx: StepContext, claim: EmailClaim, previous: Partial<PendingCode>): Promise<PendingCode> {
    const { deps } = ctx;
    const sends = (previous.address === claim.address ? (previous.sends ?? 0) : 0) + 1;
    const pending: PendingCode = { address: claim.address, expiresAt: deps.clock.now() + CODE_TTL_MS, attempts: 0, sends };
    const exists = opts.purpose === 'signup' || (await deps.store.findUserBySignInName(ctx.tenant.id, claim.address))?.disabled === false;
    if (exists) {
      const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
      pending.codeHash = sha256(`${ctx.state.step}:${code}`);
      await deps.mailer.send({
        tenantId: ctx.tenant.id,
        to: claim.address,
        subject: `${ctx.tenant.displayName} account email verification code`,
        text: `Thanks for verifying your ${claim.address} account!\n\nYour code is: ${code}\n\nIt expires in ${CODE_TTL_MS / 60_000} minutes.\n`,
      });
    }
    return pending;
  }

  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const claim = stepData<EmailClaim>(ctx.state, EMAIL_KEY) as EmailClaim;
      if (!claim.address) return { type: 'goto', step: opts.emailStep, state: ctx.state };
      if (claim.verified) return { type: 'next', state: ctx.state };
      const pending = stepData<PendingCode>(ctx.state, id);
      if (pending.address === claim.address && pending.expiresAt !== undefined) return codePage(ctx, claim);
      const fresh = await send(ctx, claim, pending);
      return { ...codePage(ctx, claim), state: withData(ctx.state, id, fresh) };
    },
    async submit(ctx, form) {
      const claim = stepData<EmailClaim>(ctx.state, EMAIL_KEY) as EmailClaim;
      const pending = stepData<PendingCode>(ctx.state, id) as PendingCode;
      const action = form.action ?? 'verify';
      if (action === 'cancel') return cancelled();
      if (action === 'change') return { type: 'goto', step: opts.emailStep, state: withData(ctx.state, id, {}) };
      if (action === 'resend') {
        if ((pending.sends ?? 0) >= MAX_SENDS) return codePage(ctx, claim, { error: 'You have asked for too many codes. Please start again later.' });
        const fresh = await send(ctx, claim, pending);
        return { ...codePage(ctx, claim, { notice: 'A new verification code has been sent to your inbox.' }), state: withData(ctx.state, id, fresh) };
      }
      const code = (form.code ?? '').trim();
      if (!/^\d{6}$/.test(code)) return codePage(ctx, claim, { error: 'Please enter the 6-digit verification code.' });
      if (pending.attempts >= MAX_ATTEMPTS) {
        return codePage(ctx, claim, { error: "You've made too many incorrect attempts. Please request a new code." });
      }
      if (pending.expiresAt <= ctx.deps.clock.now()) return codePage(ctx, claim, { error: 'That code has expired. Please request a new code.' });
      const ok = pending.codeHash !== undefined && safeEqual(sha256(`${ctx.state.step}:${code}`), pending.codeHash);
      if (!ok) {
        return {
          ...codePage(ctx, claim, { error: 'The verification code you have entered does not match our records. Please try again, or request a new code.' }),
          state: withData(ctx.state, id, { ...pending, attempts: pending.attempts + 1 }),
        };
      }
      return { type: 'next', state: withData(withData(ctx.state, EMAIL_KEY, { ...claim, verified: true }), id, {}) };
    },
  };
}
