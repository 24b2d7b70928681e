import type { Policy } from '../model/policy.js';
import type { Tenant } from '../model/entities.js';
import { TOKEN_ENDPOINT_AUTH_METHODS } from './client-auth.js';
import { supportedGrantTypes } from './token.js';
import { endpointUrl, type UrlForm } from './tenant-context.js';
import { commonEndpointUrl, commonIssuerTemplate, issuerFor, type CommonSegment } from '../model/issuer.js';

export const RESPONSE_TYPES_SUPPORTED = ['code', 'code id_token', 'code token', 'code id_token token', 'id_token', 'id_token token', 'token'];

/** What a tenant's policy metadata and `/common`'s say alike: response modes, scopes, keys, client authentication. */
const SHARED_METADATA = {
  response_modes_supported: ['query', 'fragment', 'form_post'],
  response_types_supported: RESPONSE_TYPES_SUPPORTED,
  scopes_supported: ['openid', 'offline_access', 'profile', 'email'],
  subject_types_supported: ['public'],
  id_token_signing_alg_values_supported: ['RS256'],
  // No private_key_jwt or client_secret_jwt: client assertions are refused at the token endpoint.
  token_endpoint_auth_methods_supported: TOKEN_ENDPOINT_AUTH_METHODS,
};

/** How requests are made, alike for both: PKCE with S256, no request objects, front-channel logout. */
const REQUEST_METADATA = {
  code_challenge_methods_supported: ['S256'],
  prompt_values_supported: ['none', 'login', 'consent', 'select_account'],
  request_parameter_supported: false,
  request_uri_parameter_supported: false,
  claims_parameter_supported: false,
  // Apps registered with a logout URL are signed out in iframes, with `iss` and `sid`.
  frontchannel_logout_supported: true,
  frontchannel_logout_session_supported: true,
};

/**
 * The OpenID Provider Metadata of one policy, with endpoint URLs written the way the client
 * addressed us (tenant and policy literally in them, so MSAL can rewrite them to switch policy).
 */
export function discoveryDocument(
  baseUrl: string,
  tenant: Pick<Tenant, 'id' | 'issuerPattern'>,
  policy: Policy,
  ctx: { tenantSegment: string; form: UrlForm },
): Record<string, unknown> {
  const at = (suffix: string) => endpointUrl(baseUrl, ctx, policy.id, suffix);
  const claims = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'auth_time', 'nonce', 'ver', 'at_hash', 'c_hash', 'sid', 'email', 'email_verified', policy.tokens.policyClaim]);
  for (const c of policy.outputClaims) claims.add(c);
  // How the user authenticated (RFC 8176); `acr` is the policy's name where the policy says so.
  claims.add('amr');
  claims.add('acr');
  return {
    issuer: issuerFor(baseUrl, tenant, policy.id),
    authorization_endpoint: at('oauth2/v2.0/authorize'),
    token_endpoint: at('oauth2/v2.0/token'),
    end_session_endpoint: at('oauth2/v2.0/logout'),
    jwks_uri: at('discovery/v2.0/keys'),
    userinfo_endpoint: at('openid/v2.0/userinfo'),
    introspection_endpoint: at('oauth2/v2.0/introspect'),
    revocation_endpoint: at('oauth2/v2.0/revoke'),
    introspection_endpoint_auth_methods_supported: TOKEN_ENDPOINT_AUTH_METHODS.filter((m) => m !== 'none'),
    revocation_endpoint_auth_methods_supported: TOKEN_ENDPOINT_AUTH_METHODS,
    ...SHARED_METADATA,
    // The password grant is offered by ropc policies alone, which offer nothing else but refreshing.
    grant_types_supported: policy.kind === 'ropc' ? ['password', 'refresh_token'] : supportedGrantTypes.filter((g) => g !== 'password'),
    claims_supported: [...claims],
    ...REQUEST_METADATA,
  };
}

/**
 * The metadata of `/common` and `/organizations`, as Azure AD's: the issuer is a template with
 * `{tenantid}` literally in it (each token names its tenant in `iss` and `tid`; a client checks the
 * issuer by putting the token's `tid` in), the endpoints are tenant-independent, and the keys are the
 * instance's (every multi-tenant app's tokens are signed with them).
 */
export function commonDiscoveryDocument(baseUrl: string, segment: CommonSegment): Record<string, unknown> {
  const at = (suffix: string) => commonEndpointUrl(baseUrl, segment, suffix);
  return {
    issuer: commonIssuerTemplate(baseUrl),
    authorization_endpoint: at('oauth2/v2.0/authorize'),
    token_endpoint: at('oauth2/v2.0/token'),
    end_session_endpoint: at('oauth2/v2.0/logout'),
    jwks_uri: at('discovery/v2.0/keys'),
    ...SHARED_METADATA,
    // Codes and refresh tokens name their tenant; the other grants need the tenant's own endpoint.
    grant_types_supported: ['authorization_code', 'refresh_token'],
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'auth_time', 'nonce', 'ver', 'at_hash', 'c_hash', 'sid', 'tid', 'oid', 'preferred_username', 'name', 'email', 'email_verified', 'wids', 'amr', 'acr'],
    ...REQUEST_METADATA,
  };
}
