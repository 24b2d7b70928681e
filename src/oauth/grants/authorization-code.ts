import { sha256 } from '../../crypto/secrets.js';
import { OAuthError, B2C_CODES } from '../../model/errors.js';
import type { CodeGrant } from '../grant.js';
import { isValidVerifier, verifyS256 } from '../pkce.js';
import { newFamily, userTokenResponse, type TokenResponse } from '../token-response.js';
import { checkRedemptionOrigin, checkSamePolicy, param, required, type TokenRequest } from './context.js';
import { aRedirectUriOf, clientKindFor, platformOf, type Platform } from '../../model/platforms.js';
import type { App } from '../../model/entities.js';

/** RFC 6749 §4.1.3 with PKCE (RFC 7636 §4.6): single use, bound to client, redirect URI and verifier. */
export async function authorizationCodeGrant(req: TokenRequest): Promise<TokenResponse> {
  const { deps, tenant, params } = req;
  const code = required(params, 'code');
  const redirectUri = param(params, 'redirect_uri');
  const verifier = param(params, 'code_verifier');
  const now = deps.clock.now();
  const codeHash = sha256(code);

  const record = await deps.store.findAuthCode(codeHash);
  if (!record || record.tenantId !== tenant.id) throw new OAuthError('invalid_grant', 'The authorization code is invalid or has already been used.');
  const grant = record.data as CodeGrant;
  // The client proves itself as the code's client type before the code is looked at further (a replay
  // revokes tokens).
  const ours = record.clientId === req.client.clientId;
  const { app, platform } = codeClient(req, grant, ours);
  if (ours) checkRedemptionOrigin(req, platform, 'authorization code');
  if (record.consumedAt !== null) return replayed(req, codeHash, record.userId, record.issuedJti, record.createdAt, now);
  try {
    if (!ours) throw new OAuthError('invalid_grant', 'The authorization code was not issued to this client.');
    if (record.expiresAt <= now) throw new OAuthError('invalid_grant', 'The authorization code has expired.');
    checkSamePolicy(req, grant.policyId);
    if (redirectUri !== grant.redirectUri) {
      throw new OAuthError('invalid_grant', 'redirect_uri does not match the one of the authorization request.');
    }
    if (platformOf(app, grant.redirectUri) !== platform) {
      throw new OAuthError('invalid_grant', 'The redirect URI of this authorization code is no longer registered for the application under the platform it was issued through.');
    }
    if (grant.codeChallenge !== undefined) {
      if (verifier === undefined) throw new OAuthError('invalid_request', "The request is missing the 'code_verifier' parameter.", { b2cCode: B2C_CODES.invalidCodeChallengeOrVerifier });
      if (!isValidVerifier(verifier) || !verifyS256(verifier, grant.codeChallenge)) {
        throw new OAuthError('invalid_grant', 'The code verifier does not match the code challenge.', { b2cCode: B2C_CODES.codeVerifierMismatch });
      }
    } else if (verifier !== undefined) {
      // RFC 9700 §2.1.1: a verifier for a code issued without a challenge is a downgrade attempt.
      throw new OAuthError('invalid_grant', 'A code_verifier was sent but the authorization request had no code_challenge.');
    }
  } catch (err) {
    // A failed attempt spends the code too: a guessed verifier gets one try.
    await deps.store.redeemAuthCode(codeHash, now);
    throw err;
  }

  const user = await deps.store.findUser(tenant.id, record.userId);
  if (!user || user.disabled) {
    throw new OAuthError('invalid_grant', 'The account for this grant no longer exists or is disabled.', { b2cCode: B2C_CODES.accountGone });
  }
  const policy = deps.policies.get(tenant.slug, grant.policyId) ?? req.policy;
  const out = await userTokenResponse(deps, {
    tenant,
    policy,
    client: app,
    platform,
    user,
    grant,
    family: newFamily(policy, platform, now, codeHash),
    includeNonce: true,
    now,
    site: req.site,
    // MSAL asks for client_info on the authorize request, the token request, or both.
    clientInfo: grant.clientInfo || param(params, 'client_info') === '1',
  });
  // Consumed and recorded in one transaction: of requests racing with one code, one is answered.
  const redemption = await deps.store.redeemAuthCode(codeHash, now, { jti: out.accessTokenJti, ...(out.refreshRecord ? { refresh: out.refreshRecord } : {}) });
  if (!redemption.ok) {
    const code = redemption.code;
    if (code) return replayed(req, codeHash, code.userId, code.issuedJti, code.createdAt, now);
    throw new OAuthError('invalid_grant', 'The authorization code is invalid or has already been used.');
  }
  return out.body;
}

/**
 * The client a code is redeemed by, as the client type of the platform it was issued through (a code
 * from before platforms: the platform its redirect URI is registered under now). A code without PKCE
 * is redeemed with a secret only. A code of another client is answered after the client proved itself
 * as well as it can.
 */
function codeClient(req: TokenRequest, grant: CodeGrant, ours: boolean): { app: App; platform: Platform } {
  if (!ours) return { app: req.client.as('either'), platform: 'web' };
  const platform = grant.platform ?? platformOf(req.client.registration, grant.redirectUri) ?? 'web';
  if (grant.codeChallenge === undefined) return { app: req.client.as('confidential', 'the authorization request had no PKCE code challenge'), platform };
  return { app: req.client.as(clientKindFor(req.client.registration, platform), `the code was issued to ${aRedirectUriOf(platform)}`), platform };
}

/** RFC 6749 §4.1.2: a code used twice is refused, and what was issued from it is revoked. */
async function replayed(req: TokenRequest, codeHash: string, userId: string, issuedJti: string | null, createdAt: number, now: number): Promise<never> {
  const { deps, tenant } = req;
  await deps.store.revokeRefreshTokensFromCode(codeHash, now);
  if (issuedJti) await deps.store.revokeAccessToken(issuedJti, createdAt + 2 * 86_400_000);
  await deps.audit.record({ tenantId: tenant.id, event: 'code_replay', outcome: 'failure', subject: userId, clientId: req.client.clientId, ip: req.ip, detail: 'tokens from the code revoked' });
  throw new OAuthError('invalid_grant', 'The authorization code is invalid or has already been used.');
}
