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
