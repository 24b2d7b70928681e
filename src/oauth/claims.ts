import { attributeOfClaim, PROTECTED_TOKEN_CLAIMS } from '../model/token-claims.js';
import { emailsOf, passwordIdentities } from '../model/local-identities.js';
import type { JWTPayload } from 'jose';
import type { Policy } from '../model/policy.js';
import type { UserGrant } from './grant.js';
import type { User } from '../model/entities.js';
import { acrOf } from '../tokens/amr.js';

/** Claims every id_token has, whatever the policy's output claims. */
export interface BaseClaims {
  iss: string;
  aud: string;
  iat: number;
  exp: number;
}

/*
 * Claims objects are built by assignment in a fixed order rather than with spreads: V8 then reuses
 * the same object shapes on every token, where spreads and computed keys in a literal made it build
 * new ones per call (it showed as a tenth of the event loop's time on the token endpoint).
 */

/** The registered claims every token has; `nbf` is `iat`, as B2C issues them. */
function registered(base: BaseClaims, sub: string): JWTPayload {
  return { iss: base.iss, sub, aud: base.aud, exp: base.exp, nbf: base.iat, iat: base.iat };
}

/** Adds the user-describing claims a policy outputs (its `outputClaims`), as B2C names them. */
function addUserClaims(out: Record<string, unknown>, user: User, policy: Policy, grant: UserGrant): void {
  const wanted = policy.outputClaims;
  if (wanted.includes('oid')) out.oid = user.id;
  if (wanted.includes('emails')) {
    // B2C's emails: the address, then the user's other addresses (a social account's are there).
    const emails = emailsOf(user);
    if (emails.length > 0) out.emails = emails;
  }
  if (wanted.includes('name') && user.displayName) out.name = user.displayName;
  if (wanted.includes('given_name') && user.givenName) out.given_name = user.givenName;
  if (wanted.includes('family_name') && user.familyName) out.family_name = user.familyName;
  if (wanted.includes('idp')) out.idp = grant.idp;
  if (wanted.includes('newUser') && grant.newUser) out.newUser = true;
  for (const claim of wanted) {
    if (Object.hasOwn(out, claim) || PROTECTED_TOKEN_CLAIMS.has(claim)) continue;
    // A custom attribute under its own name, or as B2C's user flows name it (extension_loyaltyNumber).
    const attribute = Object.hasOwn(user.attributes, claim) ? claim : attributeOfClaim(claim);
    if (Object.hasOwn(user.attributes, attribute)) out[claim] = user.attributes[attribute];
  }
  // An API connector's claims before token issuance win over stored attributes of the same name.
  copyConnectorClaims(out, grant);
  if (grant.scopes.oidc.includes('email') && user.email !== null) {
    out.email = user.email;
    out.email_verified = user.emailVerified;
  }
}

/**
 * `amr` (RFC 8176) and `acr` (`mfa` or `sfa`) say how the user authenticated. A policy that keeps B2C's
 * `acr` for its own name (tokens.policyClaim) keeps it: `amr` still tells.
 */
function addAuthenticationClaims(out: Record<string, unknown>, policy: Policy, grant: UserGrant): void {
  if (grant.amr === undefined) return;
  out.amr = grant.amr;
  if (policy.tokens.policyClaim !== 'acr') out.acr = acrOf(grant.amr);
}

/**
 * What a token a multi-tenant app is party to says besides B2C's claims, as Azure AD's do: the user's
 * tenant (`tid`, also in the issuer), `oid`, the sign-in name as `preferred_username`, `name`, and
 * version 2.0.
 */
export interface OrganizationClaims {
  tid: string;
}

function addOrganizationClaims(out: Record<string, unknown>, user: User, org: OrganizationClaims, idToken: boolean): void {
  out.tid = org.tid;
  out.oid = user.id;
  if (idToken) {
    const username = passwordIdentities(user)[0]?.issuerAssignedId ?? user.email;
    if (username !== null) out.preferred_username = username;
    if (user.displayName) out.name = user.displayName;
  }
  out.ver = '2.0';
}

export function idTokenClaims(
  base: BaseClaims,
  user: User,
  policy: Policy,
  grant: UserGrant,
  extra: { nonce?: string; atHash?: string; cHash?: string; idpAccessToken?: string; org?: OrganizationClaims; wids?: string[] },
): JWTPayload {
  const out = registered(base, user.id);
  out.auth_time = grant.authTime;
  if (extra.nonce !== undefined) out.nonce = extra.nonce;
  out.ver = '1.0';
  addUserClaims(out, user, policy, grant);
  if (extra.org) addOrganizationClaims(out, user, extra.org, true);
  // Azure's directory roles, by role template id (GlobalAdministrator, GlobalReader).
  if (extra.wids && extra.wids.length > 0) out.wids = extra.wids;
  addAuthenticationClaims(out, policy, grant);
  out[policy.tokens.policyClaim] = grant.policyId;
  // OIDC Front-Channel Logout §3: the session an app's logout request names.
  if (grant.sid !== undefined) out.sid = grant.sid;
  // B2C's pass-through of the upstream provider's access token (only when the policy outputs it).
  if (extra.idpAccessToken !== undefined) out.idp_access_token = extra.idpAccessToken;
  if (extra.atHash) out.at_hash = extra.atHash;
  if (extra.cHash) out.c_hash = extra.cHash;
  return out;
}

/**
 * An API connector's claims, never one Latchkey sets itself: they were filtered when the connector
 * answered, and are again here, since a refresh grant stored before a claim was protected carries them.
 */
function copyConnectorClaims(out: JWTPayload, grant: UserGrant): void {
  if (grant.connectorClaims === undefined) return;
  for (const [k, v] of Object.entries(grant.connectorClaims)) if (!PROTECTED_TOKEN_CLAIMS.has(k)) out[k] = v;
}

/** RFC 9068 access token for a user, with B2C's claims (`scp` short names, `azp`, `oid`, `ver`, `tfp`). */
export function userAccessTokenClaims(
  base: BaseClaims,
  user: User,
  policy: Policy,
  grant: UserGrant,
  clientId: string,
  jti: string,
  org?: OrganizationClaims,
): JWTPayload {
  const scp = grant.scopes.api?.scopes ?? [];
  const out = registered(base, user.id);
  out.jti = jti;
  out.client_id = clientId;
  out.azp = clientId;
  out.auth_time = grant.authTime;
  if (scp.length > 0) out.scp = scp.join(' ');
  out.scope = grant.scopes.granted.filter((s) => s !== 'offline_access').join(' ');
  out.oid = user.id;
  if (user.displayName && policy.outputClaims.includes('name')) out.name = user.displayName;
  copyConnectorClaims(out, grant);
  addAuthenticationClaims(out, policy, grant);
  out.ver = '1.0';
  if (org) addOrganizationClaims(out, user, org, false);
  out[policy.tokens.policyClaim] = grant.policyId;
  return out;
}

/** RFC 9068 access token for a daemon (no user): `sub` is the client, `roles` the granted app roles. */
export function appAccessTokenClaims(base: BaseClaims, clientId: string, roles: string[], scope: string, jti: string, org?: OrganizationClaims): JWTPayload {
  const out = registered(base, clientId);
  out.jti = jti;
  out.client_id = clientId;
  out.azp = clientId;
  out.roles = roles;
  out.scope = scope;
  out.ver = '1.0';
  if (org) {
    out.tid = org.tid;
    out.ver = '2.0';
  }
  return out;
}
