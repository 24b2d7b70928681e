import { authenticateLocal, signInTypesOf } from '../../services/local-auth.js';
import { OAuthError, B2C_CODES } from '../../model/errors.js';
import type { UserGrant } from '../grant.js';
import { parseScope, resolveDelegatedScopes } from '../scopes.js';
import { newFamily, userTokenResponse, type TokenResponse } from '../token-response.js';
import { param, required, type TokenRequest } from './context.js';

const RESPONSE_TYPES = new Set(['token', 'id_token token', 'token id_token']);

/**
 * Resource owner password credentials (RFC 6749 §4.3) as B2C's ROPC user flow has it: only at a policy
 * of kind `ropc`, only for public apps an operator enabled it for (`--allow-ropc`), local accounts only,
 * with the sign-in page's lockout and throttling, and B2C's token response. RFC 9700 §2.4 advises
 * against this grant; it exists for apps that B2C let use it, and for another Latchkey's (or B2C's)
 * just-in-time password migration.
 */
export async function passwordGrant(req: TokenRequest): Promise<TokenResponse> {
  const { deps, tenant, policy, params } = req;
  if (!req.client.registration.allowRopc) {
    throw new OAuthError('unauthorized_client', 'The resource owner password credentials flow is not enabled for this application.', { b2cCode: B2C_CODES.ropcNotEnabled });
  }
  // B2C's ROPC is a public client's flow ("allow public client flows"): no secret.
  const app = req.client.as('public', 'the password grant is a public client flow');
  if (policy.kind !== 'ropc') {
    throw new OAuthError('unauthorized_client', `The policy '${policy.id}' is not a resource owner password credentials policy.`, { b2cCode: B2C_CODES.ropcNotEnabled });
  }
  // Passwords sent here are limited per address like the sign-in form's posts (in the shared counters).
  const now0 = deps.clock.now();
  const hits = await deps.counters.hit(`form|${req.ip}`, 60_000, now0);
  if (hits.count > deps.config.formRateLimit) {
    const wait = Math.max(1, Math.ceil((hits.resetAt - now0) / 1000));
    throw new OAuthError('temporarily_unavailable', `Too many attempts from your address; try again in ${wait} seconds.`, { status: 429, retryAfter: wait });
  }
  const username = required(params, 'username');
  const password = required(params, 'password');
  if (username.length > 256 || password.length > 256) throw new OAuthError('invalid_grant', 'The username or password provided in the request are invalid.', { b2cCode: B2C_CODES.invalidCredentials });

  const requested = parseScope(param(params, 'scope') ?? `openid ${app.clientId}`);
  const scopes = await resolveDelegatedScopes(deps.store, app, requested);
  if (!scopes.oidc.includes('openid')) throw new OAuthError('invalid_scope', "The password grant needs the 'openid' scope.", { b2cCode: B2C_CODES.openidScopeMissing });
  const responseType = param(params, 'response_type');
  if (responseType !== undefined && !RESPONSE_TYPES.has(responseType.trim())) {
    throw new OAuthError('unsupported_response_type', `The response type '${responseType}' is not supported with the password grant; use 'token id_token'.`, { b2cCode: B2C_CODES.unsupportedResponseType });
  }

  const outcome = await authenticateLocal(deps, tenant, { signInName: username, password, clientId: app.clientId, ip: req.ip, via: `${policy.id} (password grant)`, accepts: signInTypesOf(policy.localAccount.signInName) });
  if (!outcome.ok) {
    switch (outcome.reason) {
      case 'locked':
        throw new OAuthError('invalid_grant', 'Your account is temporarily locked to prevent unauthorized use. Try again later.', { b2cCode: B2C_CODES.accountLocked });
      case 'legacy_unavailable':
        throw new OAuthError('temporarily_unavailable', "The password can't be checked right now; try again in a few minutes.", { status: 503 });
      case 'legacy_busy':
        throw new OAuthError('temporarily_unavailable', 'Too many sign-ins right now; try again in a moment.', { status: 503, retryAfter: 10 });
      case 'invalid':
        throw new OAuthError('invalid_grant', 'The username or password provided in the request are invalid.', { b2cCode: B2C_CODES.invalidCredentials });
    }
  }
  // No page here to choose a new password on: the user signs in through one first (a sign-in policy).
  if (outcome.user.mustChangePassword) throw new OAuthError('invalid_grant', 'The password must be changed before the account is used: sign in through a sign-in page once to choose a new one.');
  const now = deps.clock.now();
  const grant: UserGrant = { policyId: policy.id, scopes, authTime: Math.floor(now / 1000), idp: 'local', newUser: false, clientInfo: param(params, 'client_info') === '1' };
  const out = await userTokenResponse(deps, { tenant, policy, client: app, platform: 'publicClient', user: outcome.user, grant, family: newFamily(policy, 'publicClient', now, null), includeNonce: false, now, clientInfo: grant.clientInfo, site: req.site });
  if (out.refreshRecord) await deps.store.createRefreshToken(out.refreshRecord);
  return out.body;
}
