import type { JWTPayload } from 'jose';
import type { Policy } from '../journeys/policy-schema.js';
import type { UserGrant } from '../oauth/grant.js';
import type { User } from '../store/store.js';

/** Claims every id_token has, whatever the policy's output claims. */
export interface BaseClaims {
  iss: string;
  aud: string;
  iat: number;
  exp: number;
}

/** The registered claims every token has; `nbf` is `iat`, as B2C issues them. */
function registered(base: BaseClaims, sub: string): JWTPayload {
  return { iss: base.iss, sub, aud: base.aud, exp: base.exp, nbf: base.iat, iat: base.iat };
}

function policyClaim(policy: Policy, grant: UserGrant): Record<string, string> {
  return { [policy.tokens.policyClaim]: grant.policyId };
}

/** The user-describing claims a policy outputs (its `outputClaims`), as B2C names them. */
export function userClaims(user: User, policy: Policy, grant: UserGrant): Record<string, unknown> {
  const wanted = new Set(policy.outputClaims);
  const out: Record<string, unknown> = {};
  if (wanted.has('oid')) out.oid = user.id;
  if (wanted.has('emails')) out.emails = [user.email];
  if (wanted.has('name') && user.displayName) out.name = user.displayName;
  if (wanted.has('given_name') && user.givenName) out.given_name = user.givenName;
  if (wanted.has('family_name') && user.familyName) out.family_name = user.familyName;
  if (wanted.has('idp')) out.idp = grant.idp;
  if (wanted.has('newUser') && grant.newUser) out.newUser = true;
  for (const claim of wanted) {
    if (!(claim in out) && claim in user.attributes) out[claim] = user.attributes[claim];
  }
  if (grant.scopes.oidc.includes('email')) {
    out.email = user.email;
    out.email_verified = user.emailVerified;
  }
  return out;
}

export function idTokenClaims(
  base: BaseClaims,
  user: User,
  policy: Policy,
  grant: UserGrant,
  extra: { nonce?: string; atHash?: string; cHash?: string },
): JWTPayload {
  return {
    ...registered(base, user.id),
    auth_time: grant.authTime,
    ...(extra.nonce !== undefined ? { nonce: extra.nonce } : {}),
    ver: '1.0',
    ...userClaims(user, policy, grant),
    ...policyClaim(policy, grant),
    ...(extra.atHash ? { at_hash: extra.atHash } : {}),
    ...(extra.cHash ? { c_hash: extra.cHash } : {}),
  };
}

/** RFC 9068 access token for a user, with B2C's claims (`scp` short names, `azp`, `oid`, `ver`, `tfp`). */
export function userAccessTokenClaims(
  base: BaseClaims,
  user: User,
  policy: Policy,
  grant: UserGrant,
  clientId: string,
  jti: string,
): JWTPayload {
  const scp = grant.scopes.api?.scopes ?? [];
  return {
    ...registered(base, user.id),
    jti,
    client_id: clientId,
    azp: clientId,
    auth_time: grant.authTime,
    ...(scp.length > 0 ? { scp: scp.join(' ') } : {}),
    scope: grant.scopes.granted.filter((s) => s !== 'offline_access').join(' '),
    oid: user.id,
    ...(user.displayName && policy.outputClaims.includes('name') ? { name: user.displayName } : {}),
    ver: '1.0',
    ...policyClaim(policy, grant),
  };
}

/** RFC 9068 access token for a daemon (no user): `sub` is the client, `roles` the granted app roles. */
export function appAccessTokenClaims(base: BaseClaims, clientId: string, roles: string[], scope: string, jti: string): JWTPayload {
  return {
    ...registered(base, clientId),
    jti,
    client_id: clientId,
    azp: clientId,
    roles,
    scope,
    ver: '1.0',
  };
}
