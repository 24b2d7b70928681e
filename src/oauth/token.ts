import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import type { Tenant } from '../model/entities.js';
import type { RawParams } from './authorize-request.js';
import { authenticateClient, type AuthenticatedClient } from './client-auth.js';
import { OAuthError, B2C_CODES } from '../model/errors.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import { param, type TokenRequest } from './grants/context.js';
import { JWT_BEARER, onBehalfOfGrant } from './grants/on-behalf-of.js';
import { passwordGrant } from './grants/password.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import type { TokenResponse } from './token-response.js';
import type { Site } from '../model/site.js';

const grants = new Map<string, (req: TokenRequest) => Promise<TokenResponse>>([
  ['authorization_code', authorizationCodeGrant],
  ['refresh_token', refreshTokenGrant],
  ['client_credentials', clientCredentialsGrant],
  [JWT_BEARER, onBehalfOfGrant],
  ['password', passwordGrant],
]);

export const supportedGrantTypes = [...grants.keys()];

/** The client id a request claims (Basic header or body), for throttling failed authentications. */
function claimedClientId(authorization: string | undefined, params: RawParams): string {
  if (authorization?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    return decoded.slice(0, Math.max(0, decoded.indexOf(':'))).slice(0, 100);
  }
  return typeof params.client_id === 'string' ? params.client_id.slice(0, 100) : '';
}

/**
 * The token endpoint: authenticate the client, then run the grant. `origin` is the request's Origin
 * header: a browser's request (codes and refresh tokens of SPA redirect URIs must come as one, others
 * must not).
 */
export async function handleTokenRequest(
  deps: Deps,
  tenant: Tenant,
  policy: Policy,
  params: RawParams,
  authorization: string | undefined,
  ip: string,
  /** Where the request came in (the tokens' issuer is written with its host). */
  site: Site,
  origin?: string,
): Promise<TokenResponse> {
  // RFC 6749 §3.2: parameters must not be included more than once.
  for (const [name, value] of Object.entries(params)) {
    if (typeof value !== 'string') throw new OAuthError('invalid_request', `The parameter '${name.slice(0, 40)}' was sent more than once.`);
  }
  const grantType = param(params, 'grant_type');
  if (!grantType) throw new OAuthError('invalid_request', "The request is missing the 'grant_type' parameter.", { b2cCode: B2C_CODES.missingParameter });
  const run = grants.get(grantType);
  const client = await authenticateEndpointClient(deps, tenant, params as Record<string, string>, authorization, ip);
  if (!run) throw new OAuthError('unsupported_grant_type', `The grant type '${grantType}' is not supported.`, { b2cCode: B2C_CODES.unsupportedGrantType });
  let response: TokenResponse;
  try {
    response = await run({ deps, tenant, policy, client, params, ip, site, ...(origin !== undefined ? { origin } : {}) });
  } catch (err) {
    // A grant that found the client of the wrong type (a secret missing, or sent by a public client) fails as authentication does.
    await clientAuthFailed(deps, tenant, err, authorization, params, ip);
    throw err;
  }
  deps.metrics.tokens.inc({ grant_type: grantType });
  return response;
}

/**
 * Client authentication at the token, introspection and revocation endpoints: a failure is audited
 * and counted per (client, address); past the limit the answer is 429 (a correct secret is never throttled).
 */
export async function authenticateEndpointClient(deps: Deps, tenant: Tenant, params: Record<string, string>, authorization: string | undefined, ip: string): Promise<AuthenticatedClient> {
  try {
    return await authenticateClient(deps.store, tenant.id, {
      authorization,
      clientId: param(params, 'client_id'),
      clientSecret: param(params, 'client_secret'),
      clientAssertion: param(params, 'client_assertion'),
      clientAssertionType: param(params, 'client_assertion_type'),
    }, deps.clock.now());
  } catch (err) {
    await clientAuthFailed(deps, tenant, err, authorization, params, ip);
    throw err;
  }
}

/** An invalid_client answer is audited and counted; past the limit it becomes a 429 (thrown here). */
export async function clientAuthFailed(deps: Deps, tenant: Tenant, err: unknown, authorization: string | undefined, params: RawParams, ip: string): Promise<void> {
  if (!(err instanceof OAuthError) || err.code !== 'invalid_client' || err.status === 429) return;
  // Only a failed authentication meets the throttle, so a correct one always gets through.
  const claimed = claimedClientId(authorization, params);
  const wait = await deps.clientAuthThrottle.fail(`${tenant.id}|${claimed}|${ip}`, deps.clock.now());
  if (wait > 0) {
    // A flood past the limit is answered cheaply: no audit row per request (the log has them).
    throw new OAuthError('invalid_client', 'Too many failed client authentications; try again later.', { status: 429, retryAfter: wait });
  }
  await deps.audit.record({ tenantId: tenant.id, event: 'client_auth', outcome: 'failure', clientId: claimed || null, ip, detail: err.message });
}
