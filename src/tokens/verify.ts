import { compactVerify, type JWTPayload } from 'jose';
import type { TenantKeySet } from './keyring.js';

/**
 * Checks that a token was signed by one of the tenant's published keys and returns its claims,
 * ignoring expiry: an id_token_hint may be expired (OIDC Core §3.1.2.1, RP-Initiated Logout §2).
 */
export async function verifyOwnSignature(keys: TenantKeySet, token: string): Promise<JWTPayload | undefined> {
  try {
    const { payload } = await compactVerify(
      token,
      (header) => {
        const key = header.kid ? keys.verifyKeys.get(header.kid) : undefined;
        if (!key || header.alg !== 'RS256') throw new Error('unknown key');
        return key;
      },
      { algorithms: ['RS256'] },
    );
    const claims = JSON.parse(new TextDecoder().decode(payload)) as unknown;
    return claims && typeof claims === 'object' ? (claims as JWTPayload) : undefined;
  } catch {
    return undefined;
  }
}
