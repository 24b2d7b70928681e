import { provisionDeps } from '../../services/deps.js';
import { resetPassword as resetUserPassword } from '../../services/users.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { EMAIL_KEY, cancelButton, cancelled, checkNewPassword, newPasswordFields, page, stepData, type EmailClaim } from './common.js';
import { emailEntry } from './email-entry.js';

/** Password reset, first page: which account (the code goes to it only if it exists). */
export function resetEmail(id: string): Step {
  return emailEntry(id, (ctx) => ({
    heading: ctx.messages.t('reset.heading'),
    intro: ctx.messages.t('reset.intro'),
    button: ctx.messages.t('button.sendCode'),
    verified: false,
  }));
}

/** Password reset, last page: the new password; other refresh tokens of the account are revoked. */
export function resetPassword(id: string, emailStep: string): Step {
  function render(ctx: StepContext, errors: { password?: string; confirm?: string }): StepResult {
    return page(ctx, {
      heading: ctx.messages.t('reset.newPasswordHeading'),
      fields: newPasswordFields(ctx, errors, true),
      buttons: [{ action: 'continue', id: 'continue', label: ctx.messages.t('button.continue') }, cancelButton(ctx)],
    });
  }
  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const claim = stepData<EmailClaim>(ctx.state, EMAIL_KEY);
      if (!claim.verified) return { type: 'goto', step: emailStep, state: ctx.state };
      return render(ctx, {});
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      const claim = stepData<EmailClaim>(ctx.state, EMAIL_KEY);
      if (!claim.verified || !claim.address) return { type: 'goto', step: emailStep, state: ctx.state };
      const errors = checkNewPassword(ctx, form.password ?? '', form.confirm ?? '');
      if (errors.password || errors.confirm) return render(ctx, errors);
      const user = await ctx.deps.store.findUserBySignInName(ctx.tenant.id, claim.address);
      // A code is only sent to existing accounts, so a verified address without one cannot happen.
      if (!user || user.disabled) return cancelled();
      await resetUserPassword(provisionDeps(ctx.deps), ctx.tenant, user, form.password!, ctx.policy.localAccount.password, { by: 'journey', clientId: ctx.request.clientId, ip: ctx.ip, policyId: ctx.policy.id });
      const now = ctx.deps.clock.now();
      return {
        type: 'next',
        // The mailbox was proven; the new password proves nothing more (whoever holds the mailbox chose it).
        state: { ...ctx.state, userId: user.id, idp: 'local', newUser: false, authTime: Math.floor(now / 1000), interactive: true, amr: ['otp'] },
      };
    },
  };
}
