import { randomUUID } from 'node:crypto';
import { appAccessTokenClaims } from '../claims.js';
import { signJwt } from '../../tokens/sign.js';
import { AAD_CODES, OAuthError } from '../../model/errors.js';
import type { App } from '../../model/entities.js';
import { ADMIN_API_URI } from '../../services/admin-api.js';
import { consentedRoles, isGuest } from '../../services/enterprise-apps.js';
import { parseScope, splitApiScope } from '../scopes.js';
import { signingFor } from '../mint.js';
import type { TokenResponse } from '../token-response.js';
import { required, type TokenRequest } from './context.js';

/** Lifetime of daemon access tokens; no policy governs them, so B2C's default. */
const APP_TOKEN_SECONDS = 3600;

/**
 * RFC 6749 §4.4 for daemon apps: `scope={identifier-uri}/.default` yields an access token for that
 * API whose `roles` are the app roles granted to the daemon. No grant on the API → invalid_scope.
 * A multi-tenant daemon gets tokens in another tenant only once an administrator of that tenant
 * consented (its enterprise app there): `roles` are what was consented, on that tenant's
 * `urn:latchkey:admin` or a multi-tenant API of the daemon's home tenant.
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
  const guest = isGuest(app, tenant.id);
  const enterprise = guest ? await deps.store.findEnterpriseApp(tenant.id, app.clientId) : undefined;
  if (guest && !enterprise) {
    throw new OAuthError('unauthorized_client', `The client application ${app.clientId} is missing service principal in the tenant ${tenant.id}: an administrator of the tenant has not consented to it (or removed it).`, {
      b2cCode: AAD_CODES.noServicePrincipal,
    });
  }
  const api = await apiNamed(req, app, parts.identifierUri);
  if (!api) throw new OAuthError('invalid_scope', `No API has the identifier URI '${parts.identifierUri}'.`);
  const roles = guest
    ? await consentedRoles(deps.store, app, enterprise, parts.identifierUri)
    : (await deps.store.listGrants(app.clientId, api.clientId)).filter((g) => g.kind === 'role').map((g) => g.name);
  if (roles.length === 0) {
    throw new OAuthError('invalid_scope', guest ? `No administrator of this tenant consented to a role on '${parts.identifierUri}' for the application.` : `The application has no role granted on '${parts.identifierUri}'.`);
  }

  const { keys, iss, org } = await signingFor(deps, tenant, app, req.policy.id, req.site, api.clientId);
  const iat = Math.floor(deps.clock.now() / 1000);
  const accessToken = await signJwt(keys, 'at+jwt', appAccessTokenClaims({ iss, aud: api.clientId, iat, exp: iat + APP_TOKEN_SECONDS }, app.clientId, roles, scopes[0]!, randomUUID(), org));
  return { token_type: 'Bearer', access_token: accessToken, expires_in: APP_TOKEN_SECONDS, not_before: iat, scope: scopes[0]! };
}

/**
 * The API an identifier URI names: in the daemon's home tenant, that tenant's own; for a daemon of
 * another tenant, this tenant's `urn:latchkey:admin` or a multi-tenant API of the daemon's home tenant,
 * as its permissions name them (what the administrator consented to) — never an API of this tenant that
 * merely has the same identifier URI, which nobody consented to.
 */
async function apiNamed(req: TokenRequest, app: App, identifierUri: string): Promise<App | undefined> {
  if (!isGuest(app, req.tenant.id) || identifierUri === ADMIN_API_URI) return req.deps.store.findAppByIdentifierUri(req.tenant.id, identifierUri);
  const published = await req.deps.store.findAppByIdentifierUri(app.tenantId, identifierUri);
  return published?.multiTenant ? published : undefined;
}
