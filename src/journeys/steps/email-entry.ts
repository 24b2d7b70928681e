import type { Step, StepContext } from '../journey.js';
import { EMAIL } from '../../model/patterns.js';
import { EMAIL_KEY, cancelButton, cancelled, page, stepData, withData, type EmailClaim } from './common.js';

/** How one email-entry page reads, and whether the address it takes counts as proven already. */
export interface EmailEntryText {
  heading: string;
  intro?: string;
  button: string;
  /** True when no verification step follows (sign-up without `verifyEmail`). */
  verified: boolean;
}

/** The first page of sign-up and of password reset: an email address for the journey to work with. */
export function emailEntry(id: string, text: (ctx: StepContext) => EmailEntryText): Step {
  function render(ctx: StepContext, email: string, error?: string) {
    const t = text(ctx);
    return page(ctx, {
      heading: t.heading,
      ...(t.intro ? { intro: t.intro } : {}),
      fields: [{ id: 'email', name: 'email', label: ctx.messages.t('label.email'), type: 'email', value: email, required: true, autocomplete: 'email', autofocus: true, maxLength: 256, error }],
      buttons: [{ action: 'send', id: t.verified ? 'continue' : 'email_ver_but_send', label: t.button }, cancelButton(ctx)],
    });
  }
  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      return render(ctx, stepData<EmailClaim>(ctx.state, EMAIL_KEY).address ?? ctx.request.loginHint ?? '');
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      const email = (form.email ?? '').trim();
      if (email === '') return render(ctx, email, ctx.messages.t('error.enterEmail'));
      if (email.length > 256 || !EMAIL.test(email)) return render(ctx, email.slice(0, 256), ctx.messages.t('error.invalidEmail'));
      const claim: EmailClaim = { address: email, verified: text(ctx).verified };
      return { type: 'next', state: withData(ctx.state, EMAIL_KEY, claim) };
    },
  };
}
