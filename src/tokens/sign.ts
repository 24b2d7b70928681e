import { hash, sign as cryptoSign, type KeyObject } from 'node:crypto';
import type { JWTPayload } from 'jose';
import { SIGNING_ALG, type TenantKeySet } from './keyring.js';

/**
 * Signs claims with the tenant's active key; `typ` is `JWT` for id_tokens, `at+jwt` for access tokens
 * (RFC 9068). RS256 (RSASSA-PKCS1-v1_5 + SHA-256, RFC 7518 §3.3) is node's `crypto.sign` with a
 * callback, so the RSA work runs on libuv's thread pool, one signature per thread, on every core; the
 * event loop only assembles the JWS. (jose's signer goes through WebCrypto, whose per-call overhead on
 * the event loop showed in profiles of the token endpoint; jose still verifies.)
 */
export function signJwt(keys: TenantKeySet, typ: 'JWT' | 'at+jwt', claims: JWTPayload): Promise<string> {
  const header = encodedHeader(keys.active.kid, typ);
  const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
  const input = `${header}.${payload}`;
  return signRs256(keys.active.key, input).then((sig) => `${input}.${sig.toString('base64url')}`);
}

/** The protected header depends only on the key and the type, so it is encoded once per pair. */
const headers = new Map<string, string>();
function encodedHeader(kid: string, typ: string): string {
  const id = `${kid} ${typ}`;
  let h = headers.get(id);
  if (h === undefined) {
    h = Buffer.from(JSON.stringify({ alg: SIGNING_ALG, kid, typ })).toString('base64url');
    if (headers.size > 1000) headers.clear();
    headers.set(id, h);
  }
  return h;
}

function signRs256(key: KeyObject, input: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    cryptoSign('sha256', Buffer.from(input, 'ascii'), key, (err, sig) => (err ? reject(err) : resolve(sig)));
  });
}

/** OIDC Core §3.1.3.6 / §3.3.2.11: left half of the SHA-256 of the ASCII value, base64url. */
export function halfHash(value: string): string {
  const digest = hash('sha256', Buffer.from(value, 'ascii'), 'buffer');
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
