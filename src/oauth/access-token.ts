import { jwtVerify, type JWTPayload } from 'jose';
import type { Deps } from '../services/deps.js';
import type { Tenant } from '../model/entities.js';
import { OAuthError } from '../model/errors.js';
import { issuerPath } from '../model/issuer.js';

function invalidToken(description: string): OAuthError {
  return new OAuthError('invalid_token', description, {
    wwwAuthenticate: `Bearer realm="latchkey", error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
  });
}

/**
 * Whether `iss` is the tenant's issuer on one of its hosts: the shared one (LATCHKEY_BASE_URL) or a host
 * of its own (custom domain, host pattern), with whatever scheme and port the request that got the token
 * wrote. A token from either host of a tenant is accepted on both (the signature is the tenant's).
 */
async function issuedByTenant(deps: Pick<Deps, 'config' | 'tenants'>, tenant: Tenant, iss: string, policyId: string): Promise<boolean> {
  const path = issuerPath(tenant, policyId);
  if (iss === deps.config.baseUrl + path) return true;
  let url: URL;
  try {
    url = new URL(iss);
  } catch {
    return false;
  }
  if ((url.protocol !== 'https:' && url.protocol !== 'http:') || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') return false;
  if (url.pathname !== path) return false;
  return (await deps.tenants.hostsOf(tenant)).includes(url.hostname);
}

/** RFC 6750 §2.1: the bearer token from the Authorization header. */
export function bearerToken(authorization: string | undefined): string {
  const m = authorization ? /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization) : null;
  if (!m) {
    // RFC 6750 §3.1: no credentials at all → a challenge without an error code.
    throw new OAuthError('invalid_token', 'The request has no bearer access token.', { wwwAuthenticate: 'Bearer realm="latchkey"' });
  }
  return m[1]!;
}

/** Verifies one of this tenant's RFC 9068 access tokens: signature, type, issuer, lifetime, revocation. */
export async function verifyAccessToken(deps: Deps, tenant: Tenant, token: string): Promise<JWTPayload> {
  const keys = await deps.keys.forTenant(tenant.id);
  let payload: JWTPayload;
  try {
    ({ payload } = await jwtVerify(
      token,
      (header) => {
        const key = header.kid ? keys.verifyKeys.get(header.kid) : undefined;
        if (!key) throw new Error('unknown key');
        return key;
      },
      { algorithms: ['RS256'], typ: 'at+jwt', currentDate: new Date(deps.clock.now()), clockTolerance: 30 },
    ));
  } catch {
    throw invalidToken('The access token is invalid or has expired.');
  }
  const policyClaim = typeof payload.tfp === 'string' ? payload.tfp : typeof payload.acr === 'string' ? payload.acr : tenant.defaultPolicy;
  if (typeof payload.iss !== 'string' || !(await issuedByTenant(deps, tenant, payload.iss, policyClaim))) throw invalidToken('The access token was not issued by this tenant.');
  if (typeof payload.jti === 'string' && (await deps.store.isAccessTokenRevoked(payload.jti))) throw invalidToken('The access token has been revoked.');
  return payload;
}
