import type { Deps } from '../deps.js';
import type { Policy } from '../journeys/policy-schema.js';
import type { Tenant } from '../store/store.js';
import type { RawParams } from './authorize-request.js';
import { authenticateClient } from './client-auth.js';
import { OAuthError } from './errors.js';
import { authorizationCodeGrant } from './grants/authorization-code.js';
import { clientCredentialsGrant } from './grants/client-credentials.js';
import { param, type TokenRequest } from './grants/context.js';
import { JWT_BEARER, onBehalfOfGrant } from './grants/on-behalf-of.js';
import { refreshTokenGrant } from './grants/refresh-token.js';
import type { TokenResponse } from './token-response.js';

const grants = new Map<string, (req: TokenRequest) => Promise<TokenResponse>>([
  ['authorization_code', authorizationCodeGrant],
  ['refresh_token', refreshTokenGrant],
  ['client_credentials', clientCredentialsGrant],
  [JWT_BEARER, onBehalfOfGrant],
]);

export const supportedGrantTypes = [...grants.keys()];

/** The token endpoint: authenticate the client, then run the grant. */
export async function handleTokenRequest(
  deps: Deps,
  tenant: Tenant,
  policy: Policy,
  params: RawParams,
  authorization: string | undefined,
): Promise<TokenResponse> {
  const grantType = param(params, 'grant_type');
  if (!grantType) throw new OAuthError('invalid_request', "The request is missing the 'grant_type' parameter.", { b2cCode: 'AADB2C90083' });
  const run = grants.get(grantType);
  const client = await authenticateClient(deps.store, tenant.id, {
    authorization,
    clientId: param(params, 'client_id'),
    clientSecret: param(params, 'client_secret'),
  });
  if (!run) throw new OAuthError('unsupported_grant_type', `The grant type '${grantType}' is not supported.`, { b2cCode: 'AADB2C90086' });
  return run({ deps, tenant, policy, client, params });
}
