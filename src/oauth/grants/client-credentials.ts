import { randomUUID } from 'node:crypto';
import { appAccessTokenClaims } from '../claims.js';
import { signJwt } from '../../tokens/sign.js';
import { OAuthError } from '../../model/errors.js';
import { parseScope, splitApiScope } from '../scopes.js';
import { issuerFor } from '../../model/issuer.js';
import type { TokenResponse } from '../token-response.js';
import { required, type TokenRequest } from './context.js';

/** Lifetime of daemon access tokens; no policy governs them, so B2C's default. */
const APP_TOKEN_SECONDS = 3600;

/**
 * RFC 6749 §4.4 for daemon apps: `scope={identifier-uri}/.default` yields an access token for that
 * API whose `roles` are the app roles granted to the daemon. No grant on the API → invalid_scope.
 */
export async function clientCredentialsGrant(req: TokenRequest): Promise<TokenResponse> {
  const { deps, tenant, params } = req;
  if (req.client.registration.type !== 'daemon') {
    throw new OAuthError('unauthorized_client', 'Only daemon applications may use the client credentials grant.');
  }
  const app = req.client.as('confidential');
  const scopes = parseScope(required(params, 'scope'));
  if (scopes.length !== 1) throw new OAuthError('invalid_scope', "Ask for exactly one scope of the form '{identifier-uri}/.default'.");
  const parts = splitApiScope(scopes[0]!);
  if (!parts || parts.name !== '.default') {
    throw new OAuthError('invalid_scope', "The client credentials grant takes one scope of the form '{identifier-uri}/.default'.");
  }
  const api = await deps.store.findAppByIdentifierUri(tenant.id, parts.identifierUri);
  if (!api) throw new OAuthError('invalid_scope', `No API has the identifier URI '${parts.identifierUri}'.`);
  const roles = (await deps.store.listGrants(app.clientId, api.clientId)).filter((g) => g.kind === 'role').map((g) => g.name);
  if (roles.length === 0) throw new OAuthError('invalid_scope', `The application has no role granted on '${parts.identifierUri}'.`);

  const keys = await deps.keys.forTenant(tenant.id);
  const iat = Math.floor(deps.clock.now() / 1000);
  const accessToken = await signJwt(
    keys,
    'at+jwt',
    appAccessTokenClaims(
      { iss: issuerFor(req.site.baseUrl, tenant, req.policy.id), aud: api.clientId, iat, exp: iat + APP_TOKEN_SECONDS },
      app.clientId,
      roles,
      scopes[0]!,
      randomUUID(),
    ),
  );
  return { token_type: 'Bearer', access_token: accessToken, expires_in: APP_TOKEN_SECONDS, not_before: iat, scope: scopes[0]! };
}
