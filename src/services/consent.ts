import type { Deps } from './deps.js';
import type { App, Consent, Tenant, User } from '../model/entities.js';

/**
 * Consent for third-party apps (Azure AD's consent framework): such an app gets tokens for a user only
 * for scopes the user agreed to, once, on a consent page; first-party apps are consented by being
 * registered. The scopes that need consent are what the request resolved to, less the app's own id
 * (a token for itself gives it nothing of the user's).
 */
export function scopesNeedingConsent(app: App, scopes: { granted: readonly string[] }): string[] {
  return scopes.granted.filter((s) => s !== app.clientId);
}

/** Whether the user must see the consent page for this request (always with prompt=consent). */
export async function consentDue(deps: Pick<Deps, 'store'>, tenant: Tenant, app: App, user: User, request: { prompt: readonly string[]; scopes: { granted: readonly string[] } }): Promise<boolean> {
  if (!app.thirdParty) return false;
  if (request.prompt.includes('consent')) return true;
  const given = await deps.store.findConsent(tenant.id, user.id, app.clientId);
  return !given || scopesNeedingConsent(app, request.scopes).some((s) => !given.scopes.includes(s));
}

/**
 * Of `scopes`, those a third-party app may not use for this user: not in the user's consent (all of
 * them without one). A first-party app is consented by registration: nothing is missing.
 */
export async function unconsentedScopes(deps: Pick<Deps, 'store'>, tenant: Tenant, app: App, userId: string, scopes: readonly string[]): Promise<string[]> {
  if (!app.thirdParty) return [];
  const given = await deps.store.findConsent(tenant.id, userId, app.clientId);
  return scopes.filter((s) => s !== app.clientId && !(given?.scopes.includes(s) ?? false));
}

export async function grantConsent(deps: Pick<Deps, 'store' | 'clock' | 'audit'>, tenant: Tenant, app: App, user: User, scopes: string[], ip: string): Promise<void> {
  const previous = await deps.store.findConsent(tenant.id, user.id, app.clientId);
  const all = [...new Set([...(previous?.scopes ?? []), ...scopes])];
  await deps.store.saveConsent({ tenantId: tenant.id, userId: user.id, clientId: app.clientId, scopes: all, grantedAt: deps.clock.now() });
  await deps.audit.record({ tenantId: tenant.id, event: 'consent_granted', outcome: 'success', subject: user.id, clientId: app.clientId, ip, detail: all.join(' ') });
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
  for (const c of await deps.store.listConsents(tenant.id, userId)) out.push(view(c, (await deps.store.findApp(tenant.id, c.clientId))?.name ?? c.clientId));
  return out;
}

function view(c: Consent, appName: string): ConsentView {
  return { clientId: c.clientId, appName, scopes: c.scopes, grantedAt: new Date(c.grantedAt).toISOString() };
}
