import { OAuthError, B2C_CODES } from '../../model/errors.js';
import { consentDue, grantConsent, scopesNeedingConsent } from '../../services/consent.js';
import { html } from '../../ui/html.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { cancelButton, page, stepData, withData } from './common.js';

/**
 * The consent page of a third-party app: what it asks to do, in plain words, with Accept or Cancel.
 * Shown once per user and app (again when the app asks for more, or with prompt=consent); first-party
 * apps pass straight through.
 */
export function consent(id = 'consent'): Step {
  async function words(ctx: StepContext, scopes: string[]): Promise<string[]> {
    const m = ctx.messages;
    const api = ctx.request.scopes.api;
    const apiApp = api ? await ctx.deps.store.findApp(ctx.tenant.id, api.clientId) : undefined;
    const described = api ? await ctx.deps.store.scopeDescriptions(api.clientId) : {};
    return scopes.map((s) => {
      switch (s) {
        case 'openid':
          return m.t('consent.openid');
        case 'profile':
          return m.t('consent.profile');
        case 'email':
          return m.t('consent.email');
        case 'offline_access':
          return m.t('consent.offline');
        default: {
          const name = api && s.startsWith(`${api.identifierUri}/`) ? s.slice(api.identifierUri.length + 1) : s;
          return described[name] ?? m.t('consent.api', { api: apiApp?.name ?? api?.identifierUri ?? '', scope: name });
        }
      }
    });
  }

  async function passes(ctx: StepContext): Promise<boolean> {
    if (!ctx.state.userId || stepData<{ given: boolean }>(ctx.state, id).given) return true;
    const app = await ctx.deps.store.findApp(ctx.tenant.id, ctx.request.clientId);
    const user = await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId);
    return !app || !user || !(await consentDue(ctx.deps, ctx.tenant, app, user, ctx.request));
  }

  return {
    id,
    passes,
    async enter(ctx) {
      if (await passes(ctx)) return { type: 'next', state: ctx.state };
      const app = (await ctx.deps.store.findApp(ctx.tenant.id, ctx.request.clientId))!;
      const m = ctx.messages;
      const items = await words(ctx, scopesNeedingConsent(app, ctx.request.scopes));
      return page(ctx, {
        heading: m.t('consent.heading', { app: app.name }),
        intro: m.t('consent.intro', { app: app.name, tenant: ctx.tenant.displayName }),
        extra: html`<ul id="consentScopes" class="consentScopes">${items.map((w) => html`<li>${w}</li>`)}</ul>
<p class="consentNote">${m.t('consent.note')}</p>`,
        fields: [],
        buttons: [{ action: 'accept', id: 'accept', label: m.t('button.accept') }, cancelButton(ctx)],
      });
    },
    async submit(ctx, form): Promise<StepResult> {
      if (form.action === 'cancel' || form.action !== 'accept') {
        return { type: 'fail', error: new OAuthError('access_denied', 'The user did not consent to the application.', { b2cCode: B2C_CODES.upstreamRefused }) };
      }
      const app = await ctx.deps.store.findApp(ctx.tenant.id, ctx.request.clientId);
      const user = ctx.state.userId ? await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId) : undefined;
      if (!app || !user) return { type: 'fail', error: new OAuthError('access_denied', 'The application or account is no longer available.') };
      await grantConsent(ctx.deps, ctx.tenant, app, user, scopesNeedingConsent(app, ctx.request.scopes), ctx.ip);
      return { type: 'next', state: withData(ctx.state, id, { given: true }) };
    },
  };
}
