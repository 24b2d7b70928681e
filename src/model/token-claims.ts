/**
 * Claims that only Latchkey sets: they identify the user, the issuer, the token, the app it was issued
 * to, what it may do and how the user signed in. An API connector (preTokenIssuance) or a stored
 * attribute of the same name never changes them, whatever a policy's outputClaims lists.
 */
export const PROTECTED_TOKEN_CLAIMS: ReadonlySet<string> = new Set([
  'sub', 'oid', 'iss', 'aud', 'exp', 'nbf', 'iat', 'jti', 'typ', 'ver', 'auth_time', 'nonce', 'sid',
  'email', 'emails', 'email_verified', 'idp', 'idp_access_token', 'tid', 'tfp', 'acr', 'amr',
  'azp', 'client_id', 'appid', 'scope', 'scp', 'roles', 'wids', 'groups', 'at_hash', 'c_hash', 'cnf', 'act', 'may_act',
]);

/** `extension_<name>` (or `extension_<app id>_<name>`): how B2C's user flows name a custom attribute in claims. */
const EXTENSION_CLAIM = /^extension_(?:[0-9a-f]{32}_)?([A-Za-z][A-Za-z0-9_]*)$/i;

/**
 * The attribute a token claim carries: `loyaltyNumber` for `extension_loyaltyNumber` (as B2C user flows
 * name a custom attribute in `outputClaims` and in tokens), the claim's own name otherwise.
 */
export function attributeOfClaim(claim: string): string {
  return EXTENSION_CLAIM.exec(claim)?.[1] ?? claim;
}

/** The name a policy's outputClaims give an attribute in tokens: itself, or `extension_<name>`; undefined when it is not output. */
export function tokenClaimOf(outputClaims: readonly string[], attribute: string): string | undefined {
  if (outputClaims.includes(attribute)) return attribute;
  return outputClaims.find((c) => c !== attribute && attributeOfClaim(c) === attribute);
}
