import type { JWTPayload } from 'jose';
import type { Deps } from '../services/deps.js';
import type { RefreshTokenRecord, Tenant } from '../model/entities.js';
import { holdsCredentials } from '../model/platforms.js';
import type { AuthenticatedClient } from './client-auth.js';
import { verifyAccessToken } from './access-token.js';
import { OAuthError } from '../model/errors.js';
import type { RefreshGrant } from './grant.js';
import { refreshTokenRef } from './grants/refresh-token.js';

/**
 * RFC 7662 token introspection and RFC 7009 revocation. A client learns about tokens issued to it and,
 * for an API, about access tokens whose audience it is; any other token, and any token that is
 * expired, revoked, spent or not ours, is `{"active": false}` alike, so the answer tells nothing more.
 */

type Params = Record<string, string>;
const INACTIVE = { active: false } as const;

function tokenParam(params: Params): string {
  const token = params.token;
  if (!token) throw new OAuthError('invalid_request', "The request is missing the 'token' parameter.");
  return token;
}

/** A JWT (three dot-separated parts) is one of our access tokens if anything; otherwise a refresh token. */
const looksLikeJwt = (token: string) => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);

async function accessTokenClaims(deps: Deps, tenant: Tenant, token: string): Promise<JWTPayload | undefined> {
  try {
    return await verifyAccessToken(deps, tenant, token);
  } catch {
    return undefined;
  }
}

/** The refresh token's current record, if it is live: not spent, revoked or expired. */
async function liveRefreshToken(deps: Deps, token: string): Promise<RefreshTokenRecord | undefined> {
  const ref = refreshTokenRef(token);
  const record = ref && (await deps.store.findRefreshToken(ref));
  const now = deps.clock.now();
  if (!record || record.consumedAt !== null || record.revokedAt !== null || record.expiresAt <= now) return undefined;
  if (record.familyExpiresAt !== null && record.familyExpiresAt <= now) return undefined;
  return record;
}

export async function introspect(deps: Deps, tenant: Tenant, client: AuthenticatedClient, params: Params): Promise<Record<string, unknown>> {
  // Only confidential clients (web apps, daemons, APIs: apps with a secret) may ask, with their secret: a public client proves nothing.
  if (!holdsCredentials(client.registration)) throw new OAuthError('unauthorized_client', 'Only confidential clients (web, daemon, api) may introspect tokens.');
  const me = client.as('confidential').clientId;
  const token = tokenParam(params);
  if (looksLikeJwt(token)) {
    const claims = await accessTokenClaims(deps, tenant, token);
    if (!claims) return INACTIVE;
    const issuedTo = typeof claims.client_id === 'string' ? claims.client_id : claims.azp;
    if (issuedTo !== me && claims.aud !== me) return INACTIVE;
    return {
      active: true,
      token_type: 'Bearer',
      client_id: issuedTo,
      sub: claims.sub,
      aud: claims.aud,
      iss: claims.iss,
      exp: claims.exp,
      iat: claims.iat,
      nbf: claims.nbf,
      jti: claims.jti,
      ...(typeof claims.scope === 'string' ? { scope: claims.scope } : {}),
      ...(typeof claims.scp === 'string' ? { scp: claims.scp } : {}),
      ...(Array.isArray(claims.roles) ? { roles: claims.roles } : {}),
      ...(typeof claims.oid === 'string' ? { oid: claims.oid } : {}),
    };
  }
  const record = await liveRefreshToken(deps, token);
  if (!record || record.clientId !== me || record.tenantId !== tenant.id) return INACTIVE;
  const grant = record.data as RefreshGrant;
  return {
    active: true,
    token_type: 'refresh_token',
    client_id: record.clientId,
    sub: record.userId,
    scope: grant.scopes.granted.join(' '),
    iat: Math.floor(record.createdAt / 1000),
    exp: Math.floor(Math.min(record.expiresAt, record.familyExpiresAt ?? Infinity) / 1000),
  };
}

/**
 * Revokes a token the client holds: a refresh token ends its whole family (every rotation of it); an
 * access token is refused from now on by userinfo, introspection and Latchkey's own APIs. Unknown
 * tokens, and other clients' tokens, are answered the same (RFC 7009 §2.2) and left alone.
 */
export async function revoke(deps: Deps, tenant: Tenant, client: AuthenticatedClient, params: Params): Promise<void> {
  // A public client revokes its own tokens without a secret (RFC 7009 §2.1); an app with none of those must send it.
  const me = client.as('either').clientId;
  const token = tokenParam(params);
  const now = deps.clock.now();
  if (looksLikeJwt(token)) {
    const claims = await accessTokenClaims(deps, tenant, token);
    const issuedTo = claims && (typeof claims.client_id === 'string' ? claims.client_id : claims.azp);
    if (claims && issuedTo === me && typeof claims.jti === 'string' && typeof claims.exp === 'number') {
      await deps.store.revokeAccessToken(claims.jti, claims.exp * 1000);
      await deps.audit.record({ tenantId: tenant.id, event: 'token_revoked', outcome: 'success', clientId: me, subject: String(claims.sub ?? ''), detail: 'access token' });
    }
    return;
  }
  const record = await liveRefreshToken(deps, token);
  if (record && record.clientId === me && record.tenantId === tenant.id) {
    await deps.store.revokeRefreshFamily(record.familyId, now);
    await deps.audit.record({ tenantId: tenant.id, event: 'token_revoked', outcome: 'success', clientId: me, subject: record.userId, detail: 'refresh token family' });
  }
}
