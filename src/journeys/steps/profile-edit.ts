import { listConsentViews, revokeConsent, type ConsentView } from '../../services/consent.js';
import { provisionDeps } from '../../services/deps.js';
import { updateProfile } from '../../services/users-update.js';
import { html } from '../../ui/html.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { attributeFields, currentValue, profileUpdate, readAttributes } from './attributes.js';
import { cancelButton, cancelled, emailFact, page } from './common.js';
import { SECURITY_STEP_UP, openSecuritySettings } from './security-settings.js';

const REVOKE = 'revoke-consent:';

/**
 * Shows the policy's attributes with their current values and saves the changes; lists the
 * third-party apps the user let in, each with a button that withdraws its access.
 */
export function profileEdit(id: string, security = false): Step {
  function render(ctx: StepContext, email: string | null, values: Record<string, string>, errors: Record<string, string>, consents: ConsentView[], notice?: string): StepResult {
    const m = ctx.messages;
    return page(ctx, {
      heading: m.t('profile.heading'),
      notice,
      facts: email ? [emailFact(ctx, email)] : [],
      fields: attributeFields(ctx.policy.signUp.attributes, values, errors),
      ...(consents.length > 0 ? { extra: html`<div class="connectedApps"><h2>${m.t('profile.apps')}</h2><ul id="connectedApps">${consents.map((c) => html`<li>${c.appName}</li>`)}</ul></div>` } : {}),
      buttons: [
        { action: 'save', id: 'continue', label: m.t('button.continue') },
        ...(security ? [{ action: 'security', id: 'securitySettings', label: m.t('button.security'), secondary: true, skipValidation: true }] : []),
        ...consents.map((c) => ({ action: `${REVOKE}${c.clientId}`, id: `revoke-${c.clientId}`, label: m.t('button.removeAccess', { app: c.appName }), secondary: true, skipValidation: true })),
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
      return render(ctx, user.email, values, {}, await listConsentViews(ctx.deps, ctx.tenant, user.id));
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      if (form.action === 'security' && security) return { type: 'goto', step: SECURITY_STEP_UP, state: openSecuritySettings(ctx.state) };
      const user = ctx.state.userId ? await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId) : undefined;
      if (!user) return cancelled();
      const values = Object.fromEntries(ctx.policy.signUp.attributes.map((a) => [a.claim, currentValue(user, a.claim)]));
      if (form.action?.startsWith(REVOKE)) {
        const clientId = form.action.slice(REVOKE.length);
        const app = (await listConsentViews(ctx.deps, ctx.tenant, user.id)).find((c) => c.clientId === clientId);
        if (app) await revokeConsent(ctx.deps, ctx.tenant, user.id, clientId, 'the user, in profile edit');
        const notice = app ? ctx.messages.t('profile.accessRemoved', { app: app.appName }) : undefined;
        return render(ctx, user.email, values, {}, await listConsentViews(ctx.deps, ctx.tenant, user.id), notice);
      }
      const attrs = ctx.policy.signUp.attributes;
      const read = readAttributes(attrs, form, ctx.messages);
      if (Object.keys(read.errors).length > 0) return render(ctx, user.email, read.values, read.errors, await listConsentViews(ctx.deps, ctx.tenant, user.id));
      await updateProfile(provisionDeps(ctx.deps), ctx.tenant, user, profileUpdate(attrs, read.values), { by: 'journey', clientId: ctx.request.clientId, ip: ctx.ip, policyId: ctx.policy.id });
      return { type: 'next', state: ctx.state };
    },
  };
}
