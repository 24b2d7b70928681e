import type { Step, StepContext, StepResult } from '../journey.js';
import { EMAIL_KEY, cancelButton, cancelled, emailFact, page, stepData, withData, type EmailClaim } from './common.js';
import { MAX_SENDS, checkCode, codeField, issueCode, type PendingCode } from './one-time-code.js';

/**
 * Proves the journey's email address with a 6-digit one-time code (expires, limited attempts,
 * limited re-sends). For password reset a code is only sent when the account exists, but the page
 * reads the same either way, so it tells nobody whether an address is registered.
 */
export function verifyEmail(id: string, opts: { purpose: 'signup' | 'reset'; emailStep: string }): Step {
  function codePage(ctx: StepContext, claim: EmailClaim, extra: { error?: string; notice?: string } = {}): StepResult {
    const m = ctx.messages;
    return page(ctx, {
      heading: m.t(opts.purpose === 'signup' ? 'code.headingSignUp' : 'code.headingReset'),
      notice: extra.notice ?? m.t('code.sent'),
      facts: [emailFact(ctx, claim.address)],
      fields: [codeField(ctx, extra.error)],
      buttons: [
        { action: 'verify', id: 'email_ver_but_verify', label: m.t('button.verifyCode') },
        { action: 'resend', id: 'email_ver_but_resend', label: m.t('button.resendCode'), secondary: true, skipValidation: true },
        { action: 'change', id: 'email_ver_but_edit', label: m.t('button.changeEmail'), secondary: true, skipValidation: true },
        cancelButton(ctx),
      ],
    });
  }

  async function send(ctx: StepContext, claim: EmailClaim, previous: Partial<PendingCode>): Promise<PendingCode> {
    // Password reset mails only an existing, enabled account; the page reads the same either way.
    const deliver = opts.purpose === 'signup' || (await ctx.deps.store.findUserBySignInName(ctx.tenant.id, claim.address))?.disabled === false;
    return issueCode(ctx, claim.address, previous, deliver);
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
        if ((pending.sends ?? 0) >= MAX_SENDS) return codePage(ctx, claim, { error: ctx.messages.t('code.tooManySends') });
        const fresh = await send(ctx, claim, pending);
        return { ...codePage(ctx, claim, { notice: ctx.messages.t('code.resent') }), state: withData(ctx.state, id, fresh) };
      }
      const check = checkCode(ctx, pending, form.code ?? '');
      if (!check.ok) {
        const shown = codePage(ctx, claim, { error: check.error });
        return check.pending ? { ...shown, state: withData(ctx.state, id, check.pending) } : shown;
      }
      return { type: 'next', state: withData(withData(ctx.state, EMAIL_KEY, { ...claim, verified: true }), id, {}) };
    },
  };
}
