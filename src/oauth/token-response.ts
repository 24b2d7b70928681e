import type { Deps } from '../services/deps.js';
import { randomToken, sha256 } from '../crypto/secrets.js';
import type { Policy } from '../model/policy.js';
import type { App, Tenant, User } from '../model/entities.js';
import type { RefreshGrant, UserGrant } from './grant.js';
import type { Platform } from '../model/platforms.js';
import { mintUserTokens } from './mint.js';
import type { Site } from '../model/site.js';

/** A token endpoint response with B2C's extra fields; numbers are JSON numbers. */
export interface TokenResponse {
  token_type: 'Bearer';
  access_token: string;
  expires_in: number;
  not_before?: number;
  id_token?: string;
  id_token_expires_in?: number;
  refresh_token?: string;
  refresh_token_expires_in?: number;
  scope: string;
  client_info?: string;
}

const DAY_MS = 86_400_000;
/** SPA refresh tokens live a fixed 24 hours, as B2C has them. */
export const SPA_REFRESH_MS = DAY_MS;

export interface RefreshFamily {
  familyId: string;
  /** When the sliding window (or the SPA's 24 h) ends; null = unbounded. */
  familyExpiresAt: number | null;
  originCodeHash: string | null;
}

/**
 * A family id starts with its creation time (milliseconds in base 36, fixed width, so ids sort as
 * text in time order) and ends with 96 random bits. New families then land at the end of the table's
 * primary-key index rather than on a random page of it: redeeming a code writes one page fewer. The id
 * is not a secret (the token's second part is) and tells its holder only when the sign-in happened.
 */
export function newFamilyId(now: number): string {
  return Math.floor(now).toString(36).padStart(9, '0') + randomToken(12);
}

/** Starts a new refresh-token family (code redemption): one through an SPA redirect URI lives 24 hours at most. */
export function newFamily(policy: Policy, platform: Platform, now: number, originCodeHash: string | null): RefreshFamily {
  const window = policy.tokens.refreshSlidingWindowDays;
  return {
    familyId: newFamilyId(now),
    familyExpiresAt: platform === 'spa' ? now + SPA_REFRESH_MS : window === null ? null : now + window * DAY_MS,
    originCodeHash,
  };
}

/**
 * MSAL's client_info: base64url JSON {uid: "{oid}-{policy}", utid: tenant UUID}, B2C's form; for a
 * multi-tenant app Azure AD's, {uid: oid, utid: tid}, so MSAL's account is `{oid}.{tid}` in any tenant.
 */
export function clientInfo(user: User, tenant: Tenant, policyId: string, organization = false): string {
  return Buffer.from(JSON.stringify({ uid: organization ? user.id : `${user.id}-${policyId.toLowerCase()}`, utid: tenant.id })).toString('base64url');
}

/**
 * Mints the token set of a user grant: access token always (RFC 6749 §5.1), id_token with `openid`,
 * and a new refresh token with `offline_access`, stored hashed in `family`.
 */
export async function userTokenResponse(
  deps: Deps,
  args: { tenant: Tenant; policy: Policy; client: App; platform: Platform; user: User; grant: UserGrant; family: RefreshFamily; includeNonce: boolean; now: number; clientInfo: boolean; site: Site },
): Promise<{ body: TokenResponse; accessTokenJti: string; accessTokenExp: number; refreshRecord?: Parameters<Deps['store']['createRefreshToken']>[0] }> {
  const { tenant, policy, client, user, grant, family } = args;
  const minted = await mintUserTokens(deps, {
    tenant,
    policy,
    client,
    user,
    grant,
    site: args.site,
    idToken: grant.scopes.oidc.includes('openid'),
    accessToken: true,
    includeNonce: args.includeNonce,
    atHash: false,
  });
  const body: TokenResponse = {
    token_type: 'Bearer',
    access_token: minted.accessToken!,
    expires_in: minted.accessTokenExpiresIn,
    not_before: minted.iat,
    scope: grant.scopes.granted.join(' '),
  };
  if (minted.idToken) {
    body.id_token = minted.idToken;
    body.id_token_expires_in = minted.idTokenExpiresIn;
  }
  let refreshRecord;
  if (grant.scopes.oidc.includes('offline_access')) {
    const now = args.now;
    // `{family}.{secret}`: the store keeps one row per family and only the secret's hash.
    const secret = randomToken();
    const token = `${family.familyId}.${secret}`;
    let expiresAt = now + policy.tokens.refreshTokenDays * DAY_MS;
    if (family.familyExpiresAt !== null) expiresAt = Math.min(expiresAt, family.familyExpiresAt);
    // The grant's fields one by one: a code's redirect URI, challenge and nonce stay behind, and the
    // object keeps one shape (a spread and `delete` made a slow one, serialized on every token).
    const data: RefreshGrant = {
      policyId: grant.policyId,
      scopes: grant.scopes,
      authTime: grant.authTime,
      idp: grant.idp,
      newUser: grant.newUser,
      clientInfo: grant.clientInfo,
      spa: args.platform === 'spa',
      platform: args.platform,
    };
    if (grant.sid !== undefined) data.sid = grant.sid;
    if (grant.amr !== undefined) data.amr = grant.amr;
    if (grant.idpAccessToken !== undefined) data.idpAccessToken = grant.idpAccessToken;
    if (grant.connectorClaims !== undefined) data.connectorClaims = grant.connectorClaims;
    refreshRecord = {
      tokenHash: sha256(secret),
      familyId: family.familyId,
      tenantId: tenant.id,
      clientId: client.clientId,
      userId: user.id,
      data,
      createdAt: now,
      expiresAt,
      familyExpiresAt: family.familyExpiresAt,
      consumedAt: null,
      revokedAt: null,
      originCodeHash: family.originCodeHash,
    };
    body.refresh_token = token;
    body.refresh_token_expires_in = Math.max(0, Math.floor((expiresAt - now) / 1000));
  }
  if (args.clientInfo) body.client_info = clientInfo(user, tenant, grant.policyId, client.multiTenant);
  return { body, accessTokenJti: minted.accessTokenJti!, accessTokenExp: minted.accessTokenExp!, ...(refreshRecord ? { refreshRecord } : {}) };
}
