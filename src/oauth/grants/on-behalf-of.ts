import { holdsCredentials } from '../../model/platforms.js';
import { verifyAccessToken } from '../access-token.js';
import { OAuthError, B2C_CODES } from '../../model/errors.js';
import type { UserGrant } from '../grant.js';
import { mintUserTokens } from '../mint.js';
import { unconsentedScopes } from '../../services/consent.js';
import { parseScope, resolveDelegatedScopes } from '../scopes.js';
import type { TokenResponse } from '../token-response.js';
import { param, required, type TokenRequest } from './context.js';

export const JWT_BEARER = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/**
 * On-behalf-of (the jwt-bearer grant with `requested_token_use=on_behalf_of`): an API that received
 * a user's access token trades it for a token to a downstream API. The new token keeps the user
 * (`sub`, `oid`) and carries the downstream scopes granted to the calling API; `azp` is the caller.
 */
export async function onBehalfOfGrant(req: TokenRequest): Promise<TokenResponse> {
  const { deps, tenant, params } = req;
  if (param(params, 'requested_token_use') !== 'on_behalf_of') {
    throw new OAuthError('invalid_request', "The jwt-bearer grant needs requested_token_use=on_behalf_of.");
  }
  if (!holdsCredentials(req.client.registration) || req.client.registration.type === 'daemon') {
    throw new OAuthError('unauthorized_client', 'Only web APIs and web apps (confidential clients acting for a user) may use on-behalf-of.');
  }
  const caller = req.client.as('confidential');
  const assertion = required(params, 'assertion');
  let claims;
  try {
    claims = await verifyAccessToken(deps, tenant, assertion);
  } catch {
    throw new OAuthError('invalid_grant', 'The assertion is not a valid, unexpired access token of this tenant.');
  }
  if (claims.aud !== caller.clientId) {
    throw new OAuthError('invalid_grant', 'The assertion was not issued for the calling application (its audience differs).');
  }
  if (typeof claims.oid !== 'string') throw new OAuthError('invalid_grant', 'The assertion does not represent a user.');

  const scopes = await resolveDelegatedScopes(deps.store, caller, parseScope(required(params, 'scope')), tenant.id);
  if (!scopes.api) throw new OAuthError('invalid_scope', 'On-behalf-of needs a scope of the downstream API.');
  const user = await deps.store.findUser(tenant.id, claims.oid);
  if (!user || user.disabled) throw new OAuthError('invalid_grant', 'The user of the assertion no longer exists or is disabled.', { b2cCode: B2C_CODES.accountGone });

  // A third-party app acts for the user only within what the user agreed to (its consent page).
  const missing = await unconsentedScopes(deps, tenant, caller, user.id, scopes.granted.filter((s) => s.includes('/')));
  if (missing.length > 0) {
    await deps.audit.record({ tenantId: tenant.id, event: 'consent_missing', outcome: 'failure', subject: user.id, clientId: caller.clientId, ip: req.ip, detail: `on-behalf-of ${missing.join(' ')}` });
    throw new OAuthError('consent_required', `The user has not consented to let the application use '${missing[0]}'; ask for it in a sign-in (the consent page) first.`);
  }

  const policyId = typeof claims.tfp === 'string' ? claims.tfp : typeof claims.acr === 'string' ? claims.acr : req.policy.id;
  const policy = deps.policies.get(tenant.slug, policyId) ?? req.policy;
  const grant: UserGrant = {
    policyId: policy.id,
    scopes: { ...scopes, oidc: [], granted: scopes.granted.filter((s) => s.includes('/')) },
    authTime: typeof claims.auth_time === 'number' ? claims.auth_time : Math.floor(deps.clock.now() / 1000),
    idp: 'local',
    newUser: false,
    clientInfo: false,
  };
  const minted = await mintUserTokens(deps, { tenant, policy, client: caller, user, grant, site: req.site, idToken: false, accessToken: true, includeNonce: false, atHash: false });
  return {
    token_type: 'Bearer',
    access_token: minted.accessToken!,
    expires_in: minted.accessTokenExpiresIn,
    not_before: minted.iat,
    scope: grant.scopes.granted.join(' '),
  };
}
