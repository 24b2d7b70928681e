import { randomUUID } from 'node:crypto';
import type { Deps } from '../deps.js';
import { StoreConflictError } from '../store/store.js';
import { type App, type Tenant } from '../model/entities.js';
import type { JWTPayload } from 'jose';
import { verifyAccessToken } from '../oauth/access-token.js';
import { OAuthError } from '../oauth/errors.js';

/**
 * Latchkey's own API in every tenant: the users API (Graph-compatible) and the operators' APIs take
 * access tokens for it. It is an ordinary `api` app with a fixed identifier URI and four app roles, so
 * a daemon is granted roles on it as on any API (`app grant --api urn:latchkey:admin --role …`) and asks
 * for `scope=urn:latchkey:admin/.default` with the client credentials grant.
 */
export const ADMIN_API_URI = 'urn:latchkey:admin';
export const ADMIN_API_NAME = 'Latchkey admin API';
export const ADMIN_ROLES = ['Admin.ReadWrite.All', 'Admin.Read.All', 'User.ReadWrite.All', 'User.Read.All'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** The tenant's built-in admin API, created (with its roles) if it is not there yet. */
export async function ensureAdminApi(d: Pick<Deps, 'store' | 'clock'>, tenant: Tenant): Promise<App> {
  let api = await d.store.findAppByIdentifierUri(tenant.id, ADMIN_API_URI);
  if (!api) {
    const app: App = {
      clientId: randomUUID(),
      tenantId: tenant.id,
      name: ADMIN_API_NAME,
      type: 'api',
      secrets: [],
      redirectUris: [],
      postLogoutRedirectUris: [],
      identifierUri: ADMIN_API_URI,
      allowImplicit: false,
      allowRopc: false,
      logoutUrl: null,
      thirdParty: false,
      createdAt: d.clock.now(),
    };
    try {
      await d.store.createApp(app);
    } catch (err) {
      // Two instances starting together: the other one made it.
      if (!(err instanceof StoreConflictError)) throw err;
    }
    api = (await d.store.findAppByIdentifierUri(tenant.id, ADMIN_API_URI))!;
  }
  const roles = await d.store.listAppRoles(api.clientId);
  for (const role of ADMIN_ROLES) if (!roles.includes(role)) await d.store.addAppRole(api.clientId, role);
  return api;
}

export type AdminCaller = { ok: true; clientId: string; roles: AdminRole[] } | { ok: false; status: 401 | 403; reason: 'missing' | 'invalid' | 'forbidden'; message: string };

/**
 * Who is calling Latchkey's APIs: a Latchkey access token of this tenant (its keys and issuer, its
 * admin API as audience, not expired, not revoked), and whether its roles allow `need` (a `…ReadWrite.All` role
 * includes reading). Another tenant's token fails the signature or the audience.
 */
export async function adminCaller(deps: Deps, tenant: Tenant, authorization: string | undefined, need: { read: AdminRole; write: AdminRole; writing: boolean }): Promise<AdminCaller> {
  const m = /^Bearer ([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+)$/i.exec(authorization?.trim() ?? '');
  if (!m) return { ok: false, status: 401, reason: 'missing', message: 'Access token is empty.' };
  // The tenant's own access-token check (signature, at+jwt, issuer, lifetime, revocation), then the audience.
  let claims: JWTPayload;
  try {
    claims = await verifyAccessToken(deps, tenant, m[1]!);
  } catch (err) {
    return { ok: false, status: 401, reason: 'invalid', message: err instanceof OAuthError ? err.message : 'The access token is invalid.' };
  }
  const api = await deps.store.findAppByIdentifierUri(tenant.id, ADMIN_API_URI);
  if (!api || claims.aud !== api.clientId) return { ok: false, status: 401, reason: 'invalid', message: "The access token is not for this tenant's urn:latchkey:admin API." };
  const roles = (Array.isArray(claims.roles) ? claims.roles : []).filter((r): r is AdminRole => (ADMIN_ROLES as readonly unknown[]).includes(r));
  const allowed = roles.includes(need.write) || (!need.writing && roles.includes(need.read));
  if (!allowed) return { ok: false, status: 403, reason: 'forbidden', message: 'Insufficient privileges to complete the operation.' };
  return { ok: true, clientId: String(claims.client_id ?? claims.azp ?? claims.sub), roles };
}
