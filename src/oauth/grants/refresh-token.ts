import { sha256 } from '../../crypto/secrets.js';
import { OAuthError, B2C_CODES } from '../../model/errors.js';
import type { RefreshGrant } from '../grant.js';
import { parseScope } from '../scopes.js';
import { userTokenResponse, type TokenResponse } from '../token-response.js';
import type { RefreshTokenRef, Store } from '../../store/store.js';
import { checkRedemptionOrigin, checkSamePolicy, param, required, type TokenRequest } from './context.js';
import type { App } from '../../model/entities.js';
import { aRedirectUriOf, clientKindFor, type Platform } from '../../model/platforms.js';
import { asksConsent, unconsentedScopes } from '../../services/consent.js';
import { isGuest } from '../../services/enterprise-apps.js';

/**
 * Permissions are read again on every refresh: an API scope whose grant an operator revoked since
 * sign-in is left out of the new tokens (and of the rotated refresh token's grant).
 */
async function withCurrentGrants(store: Store, app: App, tenantId: string, grant: RefreshGrant): Promise<RefreshGrant> {
  const api = grant.scopes.api;
  // An app's own API needs no grant (scopes.ts): nothing to read again.
  if (!api || api.clientId === app.clientId) return grant;
  // A multi-tenant app's declared permissions count as grants (outside its home, the only ones).
  const declared = app.multiTenant ? (await store.listAppPermissions(app.clientId)).filter((p) => p.kind === 'scope' && p.api === api.identifierUri).map((p) => p.name) : [];
  const grants = isGuest(app, tenantId) ? [] : (await store.listGrants(app.clientId, api.clientId)).filter((g) => g.kind === 'scope').map((g) => g.name);
  const granted = new Set([...declared, ...grants]);
  const kept = api.scopes.filter((s) => granted.has(s));
  if (kept.length === api.scopes.length) return grant;
  const dropped = new Set(api.scopes.filter((s) => !granted.has(s)).map((s) => `${api.identifierUri}/${s}`));
  return { ...grant, scopes: { ...grant.scopes, api: { ...api, scopes: kept }, granted: grant.scopes.granted.filter((s) => !dropped.has(s)) } };
}

/**
 * A third-party app's refresh never carries a scope the user did not consent to: those are left out
 * (as revoked grants are); with no consent at all there is nothing to refresh. A multi-tenant app
 * outside its home counts an administrator's consent for the tenant too, and once it was removed from
 * the tenant it refreshes nothing (its refresh tokens there were revoked with it).
 */
async function withConsentedScopes(req: TokenRequest, app: App, userId: string, grant: RefreshGrant): Promise<RefreshGrant> {
  const { deps, tenant } = req;
  const enterprise = isGuest(app, tenant.id) ? await deps.store.findEnterpriseApp(tenant.id, app.clientId) : undefined;
  if (isGuest(app, tenant.id) && !enterprise) throw new OAuthError('invalid_grant', 'The application was removed from this tenant.', { b2cCode: B2C_CODES.grantRevoked });
  const given = await deps.store.findConsent(tenant.id, userId, app.clientId);
  if (!given && !enterprise?.adminConsent) throw new OAuthError('consent_required', 'The user has not consented to this application (or withdrew the consent); sign in again.');
  const missing = new Set(await unconsentedScopes(deps, tenant, app, userId, grant.scopes.granted.filter((s) => s.includes('/'))));
  if (missing.size === 0 || !grant.scopes.api) return grant;
  const api = grant.scopes.api;
  return {
    ...grant,
    scopes: { ...grant.scopes, api: { ...api, scopes: api.scopes.filter((s) => !missing.has(`${api.identifierUri}/${s}`)) }, granted: grant.scopes.granted.filter((s) => !missing.has(s)) },
  };
}

/**
 * The platform a refresh token's grant was made through. Tokens from before platforms say only whether
 * they were an SPA's; a native app's were a public client's, any other app's a web app's.
 */
export function refreshPlatform(grant: RefreshGrant, app: App): Platform {
  return grant.platform ?? (grant.spa ? 'spa' : app.type === 'native' ? 'publicClient' : 'web');
}

/** `{family}.{secret}` (issued now) or an opaque token from before; anything else is no token of ours. */
export function refreshTokenRef(token: string): RefreshTokenRef | undefined {
  const dot = token.indexOf('.');
  if (dot < 0) return token.length <= 256 ? { legacyHash: sha256(token) } : undefined;
  const familyId = token.slice(0, dot);
  const secret = token.slice(dot + 1);
  if (!/^[\w-]{1,64}$/.test(familyId) || secret.length === 0 || secret.length > 256) return undefined;
  return { familyId, secretHash: sha256(secret) };
}

/**
 * RFC 6749 §6 with rotation (RFC 9700 §4.14.2): every use returns a new refresh token; presenting
 * one that was already rotated revokes its whole family.
 */
export async function refreshTokenGrant(req: TokenRequest): Promise<TokenResponse> {
  const { deps, tenant, params } = req;
  const token = required(params, 'refresh_token');
  const now = deps.clock.now();
  const ref = refreshTokenRef(token);
  const old = ref ? await deps.store.findRefreshToken(ref) : undefined;
  if (!ref || !old || old.tenantId !== tenant.id) throw new OAuthError('invalid_grant', 'The refresh token is invalid.');
  if (old.clientId !== req.client.clientId) {
    req.client.as('either');
    throw new OAuthError('invalid_grant', 'The refresh token was not issued to this client.');
  }
  const grant = old.data as RefreshGrant;
  // The client type of the platform the grant was made through, proven before the token is used (a
  // reused one revokes its family).
  const platform = refreshPlatform(grant, req.client.registration);
  const app = req.client.as(clientKindFor(req.client.registration, platform), `the refresh token was issued through ${aRedirectUriOf(platform)}`);
  checkRedemptionOrigin(req, platform, 'refresh token');
  checkSamePolicy(req, grant.policyId);
  if (old.consumedAt !== null) {
    await deps.store.revokeRefreshFamily(old.familyId, now);
    await deps.audit.record({ tenantId: tenant.id, event: 'refresh_reuse', outcome: 'failure', subject: old.userId, clientId: app.clientId, ip: req.ip, detail: 'family revoked' });
    throw new OAuthError('invalid_grant', 'The refresh token has already been used; all tokens of this grant are revoked.');
  }
  if (old.revokedAt !== null) throw new OAuthError('invalid_grant', 'The refresh token has been revoked.', { b2cCode: B2C_CODES.grantRevoked });
  if (old.familyExpiresAt !== null && old.familyExpiresAt <= now) {
    throw new OAuthError('invalid_grant', 'The provided grant has expired. Please re-authenticate and try again. Grant sliding window expiration time has passed.', {
      b2cCode: B2C_CODES.grantExpired,
    });
  }
  if (old.consumedAt === null && old.expiresAt <= now) throw new OAuthError('invalid_grant', 'The refresh token has expired.', { b2cCode: B2C_CODES.grantExpired });

  // A narrower scope may be asked for (RFC 6749 §6); never a wider one. Repeating offline_access is fine.
  const requested = parseScope(param(params, 'scope'));
  const extra = requested.filter((s) => !grant.scopes.granted.includes(s) && s !== 'offline_access');
  if (extra.length > 0) throw new OAuthError('invalid_scope', `The scope '${extra[0]}' was not part of the original grant.`);

  const user = await deps.store.findUser(tenant.id, old.userId);
  if (!user || user.disabled) {
    throw new OAuthError('invalid_grant', 'The account for this grant no longer exists or is disabled.', { b2cCode: B2C_CODES.accountGone });
  }
  const policy = deps.policies.get(tenant.slug, grant.policyId) ?? req.policy;
  let current = await withCurrentGrants(deps.store, app, tenant.id, grant);
  if (asksConsent(app, tenant)) current = await withConsentedScopes(req, app, user.id, current);
  const out = await userTokenResponse(deps, {
    tenant,
    policy,
    client: app,
    platform,
    user,
    grant: current,
    family: { familyId: old.familyId, familyExpiresAt: old.familyExpiresAt, originCodeHash: old.originCodeHash },
    includeNonce: false,
    now,
    site: req.site,
    clientInfo: grant.clientInfo || param(params, 'client_info') === '1',
  });
  const next = out.refreshRecord;
  if (!next) throw new Error('a refresh grant always carries offline_access');
  const rotation = await deps.store.rotateRefreshToken(ref, now, next);
  if (!rotation.ok) {
    if (rotation.reason === 'reused') {
      await deps.audit.record({ tenantId: tenant.id, event: 'refresh_reuse', outcome: 'failure', subject: old.userId, clientId: app.clientId, ip: req.ip, detail: 'family revoked (concurrent use)' });
      throw new OAuthError('invalid_grant', 'The refresh token has already been used; all tokens of this grant are revoked.');
    }
    throw new OAuthError('invalid_grant', 'The refresh token has been revoked.', { b2cCode: B2C_CODES.grantRevoked });
  }
  return out.body;
}
