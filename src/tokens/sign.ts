import { createHash } from 'node:crypto';
import { SignJWT, type JWTPayload } from 'jose';
import { SIGNING_ALG, type TenantKeySet } from './keyring.js';

/** Signs claims with the tenant's active key; `typ` is `JWT` for id_tokens, `at+jwt` for access tokens (RFC 9068). */
export function signJwt(keys: TenantKeySet, typ: 'JWT' | 'at+jwt', claims: JWTPayload): Promise<string> {
  return new SignJWT(claims).setProtectedHeader({ alg: SIGNING_ALG, kid: keys.active.kid, typ }).sign(keys.active.key);
}

/** OIDC Core §3.1.3.6 / §3.3.2.11: left half of the SHA-256 of the ASCII value, base64url. */
export function halfHash(value: string): string {
  const digest = createHash('sha256').update(value, 'ascii').digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
