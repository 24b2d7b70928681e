import type { JWTPayload } from 'jose';
import type { Tenant } from '../model/entities.js';
import { OAuthError } from '../model/errors.js';
import { verifyAccessToken } from '../oauth/access-token.js';
import { ADMIN_API_URI, ADMIN_ROLES, type AdminRole } from '../services/admin-api.js';
import type { Deps } from '../services/deps.js';

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
