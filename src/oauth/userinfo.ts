import type { Deps } from '../services/deps.js';
import type { Tenant } from '../model/entities.js';
import { verifyAccessToken } from './access-token.js';
import { OAuthError } from '../model/errors.js';

/** OIDC Core §5.3: the user's claims for the scopes the access token was granted. */
export async function userinfo(deps: Deps, tenant: Tenant, token: string): Promise<Record<string, unknown>> {
  const payload = await verifyAccessToken(deps, tenant, token);
  const scopes = new Set(typeof payload.scope === 'string' ? payload.scope.split(' ') : []);
  if (typeof payload.oid !== 'string') {
    throw new OAuthError('invalid_token', 'The access token does not belong to a user.', {
      wwwAuthenticate: 'Bearer realm="latchkey", error="invalid_token"',
    });
  }
  if (!scopes.has('openid')) {
    throw new OAuthError('insufficient_scope', "The access token was not granted the 'openid' scope.", {
      wwwAuthenticate: 'Bearer realm="latchkey", error="insufficient_scope", scope="openid"',
    });
  }
  const user = await deps.store.findUser(tenant.id, payload.oid);
  if (!user || user.disabled) {
    throw new OAuthError('invalid_token', 'The user of this access token no longer exists.', {
      wwwAuthenticate: 'Bearer realm="latchkey", error="invalid_token"',
    });
  }
  const claims: Record<string, unknown> = { sub: user.id, oid: user.id, emails: user.email === null ? [] : [user.email] };
  if (scopes.has('profile')) {
    if (user.displayName) claims.name = user.displayName;
    if (user.givenName) claims.given_name = user.givenName;
    if (user.familyName) claims.family_name = user.familyName;
  }
  if (scopes.has('email') && user.email !== null) {
    claims.email = user.email;
    claims.email_verified = user.emailVerified;
  }
  if (typeof payload.tfp === 'string') claims.tfp = payload.tfp;
  return claims;
}
