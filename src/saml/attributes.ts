import type { Policy } from '../model/policy.js';
import type { UserGrant } from '../oauth/grant.js';
import type { User } from '../model/entities.js';
import { idTokenClaims } from '../oauth/claims.js';
import type { SamlAttribute } from './messages.js';

/**
 * A SAML assertion's attributes: the policy's output claims, as its id_tokens carry them, under their
 * claim names (`emails` becomes `email`, its first address, as B2C's SAML issuer sends it) and each
 * also under its WS-Federation claim URI where one exists (what ADFS-era service providers look for).
 */
const WS_FED = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/';
export const WS_FED_CLAIMS: Record<string, string> = {
  email: `${WS_FED}emailaddress`,
  given_name: `${WS_FED}givenname`,
  family_name: `${WS_FED}surname`,
  name: `${WS_FED}name`,
  oid: `${WS_FED}nameidentifier`,
  country: `${WS_FED}country`,
  city: `${WS_FED}locality`,
  state: `${WS_FED}stateorprovince`,
  postalCode: `${WS_FED}postalcode`,
  streetAddress: `${WS_FED}streetaddress`,
  mobile: `${WS_FED}mobilephone`,
  dateOfBirth: `${WS_FED}dateofbirth`,
  gender: `${WS_FED}gender`,
};

/** Claims that describe the token, not the user: never attributes. */
const NOT_ATTRIBUTES = new Set(['iss', 'sub', 'aud', 'exp', 'nbf', 'iat', 'auth_time', 'nonce', 'ver', 'sid', 'at_hash', 'c_hash', 'amr', 'acr', 'idp_access_token']);

function values(v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (Array.isArray(v)) return v.flatMap(values);
  if (typeof v === 'string') return v === '' ? [] : [v];
  if (typeof v === 'number' || typeof v === 'boolean') return [String(v)];
  return [JSON.stringify(v)];
}

export function samlAttributes(user: User, policy: Policy, grant: UserGrant): SamlAttribute[] {
  const claims = idTokenClaims({ iss: '', aud: '', iat: 0, exp: 0 }, user, policy, grant, {}) as Record<string, unknown>;
  const out: SamlAttribute[] = [];
  const add = (name: string, vs: string[]) => {
    if (vs.length === 0) return;
    out.push({ name, nameFormat: 'unspecified', values: vs });
    const uri = WS_FED_CLAIMS[name];
    if (uri) out.push({ name: uri, nameFormat: 'uri', values: vs });
  };
  for (const claim of policy.outputClaims) {
    if (NOT_ATTRIBUTES.has(claim)) continue;
    if (claim === 'emails') {
      add('email', values(claims.emails).slice(0, 1));
      continue;
    }
    add(claim, values(claims[claim]));
  }
  return out;
}
