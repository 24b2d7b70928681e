import { AAD_CODES, OAuthError, B2C_CODES, ServiceError } from '../../model/errors.js';
import type { App, AppPermission, User } from '../../model/entities.js';
import { consentDue, grantConsent, scopesNeedingConsent } from '../../services/consent.js';
import { adminConsentedScopes, findClient, grantAdminConsent, isGuest, permissionName } from '../../services/enterprise-apps.js';
import { ADMIN_API_URI } from '../../services/admin-api.js';
import { html } from '../../ui/html.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { cancelButton, page, stepData, withData } from './common.js';

/**
 * The consent page of an app the user's tenant does not take as its own: a third-party app, or a
 * multi-tenant app of another tenant (whose first consent provisions it here). What it asks to do, in
 * plain words, with Accept or Cancel; shown once per user and app (again when it asks for more, or with
 * prompt=consent); first-party apps pass straight through. A scope only an administrator may consent to
 * shows "Need admin approval" to other users, who can only go back. At the admin-consent endpoint the
 * page asks a Global Administrator for the whole tenant, application permissions included; anyone else
 * gets a page saying so, and nothing is granted.
 */

/** The user's directory roles make them a Global Administrator of the tenant. */
async function isAdmin(ctx: StepContext, user: User): Promise<boolean> {
  return (await ctx.deps.store.listUserRoles(ctx.tenant.id, user.id)).includes('GlobalAdministrator');
}

/** A permission's API, for its display name and scope descriptions: this tenant's admin API, or one of the app's home tenant. */
async function apiNamed(ctx: StepContext, app: App, identifierUri: string): Promise<App | undefined> {
  if (identifierUri === ADMIN_API_URI) return ctx.deps.store.findAppByIdentifierUri(ctx.tenant.id, ADMIN_API_URI);
  return (await ctx.deps.store.findAppByIdentifierUri(app.tenantId, identifierUri)) ?? (await ctx.deps.store.findAppByIdentifierUri(ctx.tenant.id, identifierUri));
}

/** What a scope (or, at the admin-consent endpoint, an app role) lets the app do, in the page's language. */
async function words(ctx: StepContext, app: App, permissions: { kind: 'scope' | 'role'; full: string }[]): Promise<string[]> {
  const m = ctx.messages;
  const out: string[] = [];
  for (const p of permissions) {
    switch (p.full) {
      case 'openid':
        out.push(m.t('consent.openid'));
        continue;
      case 'profile':
        out.push(m.t('consent.profile'));
        continue;
      case 'email':
        out.push(m.t('consent.email'));
        continue;
      case 'offline_access':
        out.push(m.t('consent.offline'));
        continue;
    }
    const slash = p.full.lastIndexOf('/');
    const uri = p.full.slice(0, slash);
    const name = p.full.slice(slash + 1);
    const api = await apiNamed(ctx, app, uri);
    if (p.kind === 'role') {
      out.push(m.t('consent.role', { role: name, api: api?.name ?? uri }));
      continue;
    }
    const described = api ? await ctx.deps.store.scopeDescriptions(api.clientId) : {};
    out.push(described[name] ?? m.t('consent.api', { api: api?.name ?? uri, scope: name }));
  }
  return out;
}

/** Of the scopes asked for, those only an administrator may consent to and no administrator has here. */
async function needingAdmin(ctx: StepContext, app: App, scopes: string[]): Promise<Set<string>> {
  if (!isGuest(app, ctx.tenant.id)) return new Set();
  const consented = adminConsentedScopes(await ctx.deps.store.findEnterpriseApp(ctx.tenant.id, app.clientId));
  const out = new Set<string>();
  for (const s of scopes) {
    const slash = s.lastIndexOf('/');
    if (slash <= 0 || consented.has(s)) continue;
    const api = await apiNamed(ctx, app, s.slice(0, slash));
    if (api && (await ctx.deps.store.adminConsentScopes(api.clientId)).includes(s.slice(slash + 1))) out.add(s);
  }
  return out;
}

function declined(admin: boolean, guest: boolean): StepResult {
  return admin || guest
    ? { type: 'fail', error: new OAuthError('access_denied', 'The user declined to consent to access the app.', { b2cCode: AAD_CODES.adminConsentDeclined }) }
    : { type: 'fail', error: new OAuthError('access_denied', 'The user did not consent to the application.', { b2cCode: B2C_CODES.upstreamRefused }) };
}

export function consent(id = 'consent'): Step {
  async function parties(ctx: StepContext): Promise<{ app: App; user: User } | undefined> {
    const app = await findClient(ctx.deps.store, ctx.tenant.id, ctx.request.clientId);
    const user = ctx.state.userId ? await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId) : undefined;
    return app && user ? { app, user } : undefined;
  }

  async function passes(ctx: StepContext): Promise<boolean> {
    if (!ctx.state.userId || stepData<{ given: boolean }>(ctx.state, id).given) return true;
    const p = await parties(ctx);
    return !p || !(await consentDue(ctx.deps, ctx.tenant, p.app, p.user, ctx.request));
  }

  /** The admin-consent endpoint's page: every permission asked for, for the whole tenant. */
  async function adminPage(ctx: StepContext, app: App, user: User, permissions: Omit<AppPermission, 'clientId'>[]): Promise<StepResult> {
    const m = ctx.messages;
    if (!(await isAdmin(ctx, user))) return { type: 'block', message: m.t('adminConsent.notAdmin', { tenant: ctx.tenant.displayName, app: app.name }) };
    const items = await words(ctx, app, [{ kind: 'scope', full: 'openid' }, { kind: 'scope', full: 'profile' }, ...permissions.map((p) => ({ kind: p.kind, full: permissionName(p) }))]);
    return page(ctx, {
      heading: m.t('adminConsent.heading', { tenant: ctx.tenant.displayName }),
      intro: m.t('adminConsent.intro', { app: app.name, tenant: ctx.tenant.displayName }),
      extra: html`<ul id="consentScopes" class="consentScopes">${items.map((w) => html`<li>${w}</li>`)}</ul>
<p class="consentNote">${m.t('adminConsent.note', { app: app.name, tenant: ctx.tenant.displayName })}</p>`,
      fields: [],
      buttons: [{ action: 'accept', id: 'accept', label: m.t('button.accept') }, cancelButton(ctx)],
    });
  }

  return {
    id,
    passes,
    async enter(ctx) {
      if (await passes(ctx)) return { type: 'next', state: ctx.state };
      const { app, user } = (await parties(ctx))!;
      if (ctx.request.adminConsent) return adminPage(ctx, app, user, ctx.request.adminConsent.permissions);
      const m = ctx.messages;
      const scopes = scopesNeedingConsent(app, ctx.request.scopes);
      const admin = await needingAdmin(ctx, app, scopes);
      const described = await words(ctx, app, scopes.map((s) => ({ kind: 'scope' as const, full: s })));
      const items = described.map((w, i) => (admin.has(scopes[i]!) ? m.t('consent.needsAdmin', { permission: w }) : w));
      const list = html`<ul id="consentScopes" class="consentScopes">${items.map((w) => html`<li>${w}</li>`)}</ul>`;
      if (admin.size > 0 && !(await isAdmin(ctx, user))) {
        // Azure's "Need admin approval": nothing this user may accept; back to the app without consent.
        return page(ctx, {
          heading: m.t('consent.needAdminHeading'),
          intro: m.t('consent.needAdminIntro', { app: app.name, tenant: ctx.tenant.displayName }),
          extra: list,
          fields: [],
          buttons: [{ action: 'cancel', id: 'cancel', label: m.t('button.backToApp'), secondary: true, skipValidation: true }],
        });
      }
      return page(ctx, {
        heading: m.t('consent.heading', { app: app.name }),
        intro: m.t('consent.intro', { app: app.name, tenant: ctx.tenant.displayName }),
        extra: html`${list}
<p class="consentNote">${m.t('consent.note')}</p>`,
        fields: [],
        buttons: [{ action: 'accept', id: 'accept', label: m.t('button.accept') }, cancelButton(ctx)],
      });
    },
    async submit(ctx, form): Promise<StepResult> {
      const p = await parties(ctx);
      const guest = p !== undefined && isGuest(p.app, ctx.tenant.id);
      if (form.action === 'cancel' || form.action !== 'accept') return declined(ctx.request.adminConsent !== undefined, guest);
      if (!p) return { type: 'fail', error: new OAuthError('access_denied', 'The application or account is no longer available.') };
      const { app, user } = p;
      if (ctx.request.adminConsent) {
        try {
          await grantAdminConsent(ctx.deps, ctx.tenant, app, { user, isAdmin: await isAdmin(ctx, user) }, ctx.request.adminConsent.permissions, ctx.ip);
        } catch (err) {
          if (err instanceof ServiceError && err.kind === 'forbidden') return { type: 'block', message: ctx.messages.t('adminConsent.notAdmin', { tenant: ctx.tenant.displayName, app: app.name }) };
          throw err;
        }
        return { type: 'next', state: withData(ctx.state, id, { given: true }) };
      }
      const scopes = scopesNeedingConsent(app, ctx.request.scopes);
      // A form posted past the "Need admin approval" page (it has no Accept) grants nothing.
      if ((await needingAdmin(ctx, app, scopes)).size > 0 && !(await isAdmin(ctx, user))) return declined(false, guest);
      await grantConsent(ctx.deps, ctx.tenant, app, user, scopes, ctx.ip);
      return { type: 'next', state: withData(ctx.state, id, { given: true }) };
    },
  };
}
