import type { Deps } from './deps.js';
import type { App, Consent, Tenant, User } from '../model/entities.js';
import { adminConsentedScopes, findClient, isGuest, provision } from './enterprise-apps.js';

/**
 * Consent (Azure AD's consent framework): a third-party app gets tokens for a user only for scopes the
 * user agreed to, once, on a consent page; first-party apps are consented by being registered. A
 * multi-tenant app outside its home tenant needs consent there too: the user's own, or an
 * administrator's for the whole tenant (enterprise-apps.ts); the first one provisions it. The scopes that
 * need consent are what the request resolved to, less the app's own id (a token for itself gives it
 * nothing of the user's).
 */
export function scopesNeedingConsent(app: App, scopes: { granted: readonly string[] }): string[] {
  return scopes.granted.filter((s) => s !== app.clientId);
}

/** Whether an app must ask this tenant's users: a third-party app, or a multi-tenant app outside its home. */
export function asksConsent(app: App, tenant: Tenant): boolean {
  return app.thirdParty || isGuest(app, tenant.id);
}

/** Whether the user must see the consent page for this request (always with prompt=consent, and for an admin-consent request). */
export async function consentDue(
  deps: Pick<Deps, 'store'>,
  tenant: Tenant,
  app: App,
  user: User,
  request: { prompt: readonly string[]; scopes: { granted: readonly string[] }; adminConsent?: unknown },
): Promise<boolean> {
  if (request.adminConsent !== undefined) return true;
  if (!asksConsent(app, tenant)) return false;
  if (request.prompt.includes('consent')) return true;
  return (await unconsentedScopes(deps, tenant, app, user.id, scopesNeedingConsent(app, request.scopes))).length > 0;
}

/**
 * Of `scopes`, those the app may not use for this user: not in the user's consent, nor (a multi-tenant
 * app outside its home) in an administrator's for the tenant; all of them where the app is not
 * provisioned. A first-party app in its own tenant is consented by registration: nothing is missing.
 */
export async function unconsentedScopes(deps: Pick<Deps, 'store'>, tenant: Tenant, app: App, userId: string, scopes: readonly string[]): Promise<string[]> {
  if (!asksConsent(app, tenant)) return [];
  let admin = new Set<string>();
  if (isGuest(app, tenant.id)) {
    const enterprise = await deps.store.findEnterpriseApp(tenant.id, app.clientId);
    if (!enterprise) return scopes.filter((s) => s !== app.clientId);
    admin = adminConsentedScopes(enterprise);
  }
  const given = await deps.store.findConsent(tenant.id, userId, app.clientId);
  return scopes.filter((s) => s !== app.clientId && !admin.has(s) && !(given?.scopes.includes(s) ?? false));
}

/**
 * A user's consent, kept per user and app (widened when given again). A multi-tenant app outside its
 * home is provisioned into the tenant by it (with the publisher's APIs it names), once.
 */
export async function grantConsent(deps: Pick<Deps, 'store' | 'clock' | 'audit'>, tenant: Tenant, app: App, user: User, scopes: string[], ip: string): Promise<void> {
  if (isGuest(app, tenant.id)) await provision(deps, tenant, app, { by: user.id, apis: apisOf(scopes) });
  const previous = await deps.store.findConsent(tenant.id, user.id, app.clientId);
  const all = [...new Set([...(previous?.scopes ?? []), ...scopes])];
  await deps.store.saveConsent({ tenantId: tenant.id, userId: user.id, clientId: app.clientId, scopes: all, grantedAt: deps.clock.now() });
  await deps.audit.record({ tenantId: tenant.id, event: 'consent_granted', outcome: 'success', subject: user.id, clientId: app.clientId, ip, detail: all.join(' ') });
}

/** The identifier URIs of API scopes (`{identifier-uri}/{name}`). */
function apisOf(scopes: string[]): string[] {
  return [...new Set(scopes.filter((s) => s.includes('/')).map((s) => s.slice(0, s.lastIndexOf('/'))))];
}

/** Withdraws a consent (the user in profile edit, or an operator): the app's refresh tokens for the user end too. */
export async function revokeConsent(deps: Pick<Deps, 'store' | 'clock' | 'audit'>, tenant: Tenant, userId: string, clientId: string, by: string): Promise<boolean> {
  const gone = await deps.store.removeConsent(tenant.id, userId, clientId, deps.clock.now());
  if (gone) await deps.audit.record({ tenantId: tenant.id, event: 'consent_revoked', outcome: 'success', subject: userId, clientId, detail: by });
  return gone;
}

export interface ConsentView {
  clientId: string;
  appName: string;
  scopes: string[];
  grantedAt: string;
}

export async function listConsentViews(deps: Pick<Deps, 'store'>, tenant: Tenant, userId: string): Promise<ConsentView[]> {
  const out: ConsentView[] = [];
  for (const c of await deps.store.listConsents(tenant.id, userId)) out.push(view(c, (await findClient(deps.store, tenant.id, c.clientId))?.name ?? c.clientId));
  return out;
}

function view(c: Consent, appName: string): ConsentView {
  return { clientId: c.clientId, appName, scopes: c.scopes, grantedAt: new Date(c.grantedAt).toISOString() };
}
