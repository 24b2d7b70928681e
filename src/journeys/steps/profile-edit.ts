import type { Step, StepContext, StepResult } from '../journey.js';
import { attributeFields, currentValue, profileUpdate, readAttributes } from './attributes.js';
import { cancelButton, cancelled, emailFact, page } from './common.js';
import { SECURITY_STEP, openSecuritySettings } from './security-settings.js';

/** Shows the policy's attributes with their current values and saves the changes. */
export function profileEdit(id: string, security = false): Step {
  function render(ctx: StepContext, email: string | null, values: Record<string, string>, errors: Record<string, string>): StepResult {
    return page(ctx, {
      heading: ctx.messages.t('profile.heading'),
      facts: email ? [emailFact(ctx, email)] : [],
      fields: attributeFields(ctx.policy.signUp.attributes, values, errors),
      buttons: [
        { action: 'save', id: 'continue', label: ctx.messages.t('button.continue') },
        ...(security ? [{ action: 'security', id: 'securitySettings', label: ctx.messages.t('button.security'), secondary: true, skipValidation: true }] : []),
        cancelButton(ctx),
      ],
    });
  }
  return {
    id,
    async enter(ctx) {
      const user = ctx.state.userId ? await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId) : undefined;
      if (!user) return cancelled();
      const values = Object.fromEntries(ctx.policy.signUp.attributes.map((a) => [a.claim, currentValue(user, a.claim)]));
      return render(ctx, user.email, values, {});
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      if (form.action === 'security' && security) return { type: 'goto', step: SECURITY_STEP, state: openSecuritySettings(ctx.state) };
      const user = ctx.state.userId ? await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId) : undefined;
      if (!user) return cancelled();
      const attrs = ctx.policy.signUp.attributes;
      const { values, errors } = readAttributes(attrs, form, ctx.messages);
      if (Object.keys(errors).length > 0) return render(ctx, user.email, values, errors);
      await ctx.deps.store.updateUserProfile(ctx.tenant.id, user.id, profileUpdate(attrs, values, user.attributes), ctx.deps.clock.now());
      await ctx.deps.audit.record({ tenantId: ctx.tenant.id, event: 'profile_update', outcome: 'success', subject: user.id, clientId: ctx.request.clientId, ip: ctx.ip });
      return { type: 'next', state: ctx.state };
    },
  };
}
