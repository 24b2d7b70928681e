import type { User } from '../../model/entities.js';
import { provisionDeps } from '../../services/deps.js';
import { changeRequiredPassword } from '../../services/users.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { cancelButton, cancelled, checkNewPassword, newPasswordFields, page } from './common.js';

/**
 * A new password before any token, when an operator required one (Graph's or an import's
 * `passwordProfile.forceChangePasswordNextSignIn`): after the user signed in with their password
 * (and a second factor, when the policy asks for one). Users signed in otherwise (an upstream provider,
 * a passkey, the SSO session) pass: the next password sign-in asks.
 */
export function requiredPasswordChange(id: string): Step {
  function render(ctx: StepContext, errors: { password?: string; confirm?: string }): StepResult {
    return page(ctx, {
      heading: ctx.messages.t('changePassword.heading'),
      intro: ctx.messages.t('changePassword.intro'),
      fields: newPasswordFields(ctx, errors, true),
      buttons: [{ action: 'continue', id: 'continue', label: ctx.messages.t('button.continue') }, cancelButton(ctx)],
    });
  }
  /** The user, when this sign-in must choose a new password. */
  async function due(ctx: StepContext): Promise<User | undefined> {
    if (!ctx.state.userId || ctx.state.idp !== 'local' || !ctx.state.amr?.includes('pwd')) return undefined;
    const user = await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId);
    return user?.mustChangePassword ? user : undefined;
  }
  return {
    id,
    // Passed without a page (and without the browser's extra round trip) when no change is due.
    passes: async (ctx) => (await due(ctx)) === undefined,
    async enter(ctx) {
      return (await due(ctx)) ? render(ctx, {}) : { type: 'next', state: ctx.state };
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      const user = await due(ctx);
      if (!user) return { type: 'next', state: ctx.state };
      const errors = checkNewPassword(ctx, form.password ?? '', form.confirm ?? '');
      if (errors.password || errors.confirm) return render(ctx, errors);
      await changeRequiredPassword(provisionDeps(ctx.deps), ctx.tenant, user, form.password!, ctx.policy.localAccount.password, { by: 'journey', clientId: ctx.request.clientId, ip: ctx.ip, policyId: ctx.policy.id });
      return { type: 'next', state: ctx.state };
    },
  };
}
