import { jwtVerify, type JWTPayload } from 'jose';
import type { Deps } from '../services/deps.js';
import type { Tenant } from '../model/entities.js';
import { OAuthError } from '../model/errors.js';
import { isGuest } from '../services/enterprise-apps.js';
import { issuerPath, multiTenantIssuerPath } from '../model/issuer.js';

function invalidToken(description: string): OAuthError {
  return new OAuthError('invalid_token', description, {
    wwwAuthenticate: `Bearer realm="latchkey", error="invalid_token", error_description="${description.replace(/"/g, "'")}"`,
  });
}

/**
 * Whether `iss` is the tenant's issuer on one of its hosts: the shared one (LATCHKEY_BASE_URL) or a host
 * of its own (custom domain, host pattern), with whatever scheme and port the request that got the token
 * wrote. A token from either host of a tenant is accepted on both (the signature is the tenant's).
 * `path` is the issuer's path: the tenant's (issuerPath) or, for a token of organizations, Azure AD's form.
 */
async function issuedByTenant(deps: Pick<Deps, 'config' | 'tenants'>, tenant: Tenant, iss: string, path: string): Promise<boolean> {
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
  // A token a multi-tenant app or API is party to names the tenant in Azure AD's form, with `tid`.
  const organization = payload.tid !== undefined;
  const path = organization ? (payload.tid === tenant.id ? multiTenantIssuerPath(tenant) : undefined) : issuerPath(tenant, policyClaim);
  if (typeof payload.iss !== 'string' || path === undefined || !(await issuedByTenant(deps, tenant, payload.iss, path))) throw invalidToken('The access token was not issued by this tenant.');
  if (typeof payload.jti === 'string' && (await deps.store.isAccessTokenRevoked(payload.jti))) throw invalidToken('The access token has been revoked.');
  if (organization) await checkStillConsented(deps, tenant, payload);
  return payload;
}

/**
 * A multi-tenant app's token outside its home holds only while the app is provisioned in the tenant and,
 * for a user's token, while the user's or an administrator's consent stands: `app remove` and a consent
 * withdrawn end such tokens here (APIs that check tokens offline learn it by introspecting).
 */
async function checkStillConsented(deps: Deps, tenant: Tenant, payload: JWTPayload): Promise<void> {
  const clientId = typeof payload.client_id === 'string' ? payload.client_id : typeof payload.azp === 'string' ? payload.azp : undefined;
  const app = clientId === undefined ? undefined : await deps.store.findAppAnyTenant(clientId);
  if (!app || !isGuest(app, tenant.id)) return;
  const enterprise = await deps.store.findEnterpriseApp(tenant.id, app.clientId);
  if (!enterprise) throw invalidToken('The application was removed from this tenant.');
  if (typeof payload.oid === 'string' && !Array.isArray(payload.roles) && !enterprise.adminConsent && !(await deps.store.findConsent(tenant.id, payload.oid, app.clientId))) {
    throw invalidToken('The user withdrew the consent to this application.');
  }
}
