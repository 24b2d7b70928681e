import type { Counters } from '../security/counters.js';
import type { LegacyRopc } from '../model/entities.js';

/**
 * Just-in-time password migration (Microsoft's "seamless migration" pattern): a user imported without
 * a password hash types the old password here, and Latchkey asks the old identity provider's ROPC
 * endpoint whether it is right. B2C never exports hashes, so this is how passwords move.
 */
export type LegacyCheck = { result: 'valid' } | { result: 'invalid' } | { result: 'unavailable'; reason: string };

/** How long the old provider may take; past it the user is told to try again, and nothing changes. */
export const LEGACY_TIMEOUT_MS = 10_000;

export async function checkLegacyPassword(legacy: LegacyRopc, username: string, password: string, timeoutMs = LEGACY_TIMEOUT_MS): Promise<LegacyCheck> {
  let res: Response;
  try {
    res = await fetch(legacy.tokenUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      // B2C's ROPC request: scope openid + the app's own id, and response_type 'token id_token'.
      body: new URLSearchParams({ grant_type: 'password', client_id: legacy.clientId, username, password, scope: legacy.scope, response_type: 'token id_token' }),
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
  } catch (err) {
    const name = err instanceof Error ? err.name : '';
    return { result: 'unavailable', reason: name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : 'cannot be reached' };
  }
  let body: Record<string, unknown> = {};
  try {
    body = (await res.json()) as Record<string, unknown>;
  } catch {
    // not JSON: judged by the status alone
  }
  if (res.ok && typeof body.access_token === 'string') return { result: 'valid' };
  // RFC 6749 §5.2: a wrong password is invalid_grant (B2C: AADB2C90225).
  if (res.status === 400 && body.error === 'invalid_grant') return { result: 'invalid' };
  return { result: 'unavailable', reason: `answered ${res.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}` };
}

/**
 * Calls out to the old provider are limited per tenant (B2C treats a flood from one address as an
 * attack and would lock the users out there): `perWindow` calls every `windowMs`, counted in the app
 * instance's `Counters` (shared by all instances on PostgreSQL or Redis).
 */
export class LegacyCallLimiter {
  constructor(
    private readonly counters: Counters,
    private readonly perWindow = 20,
    private readonly windowMs = 10_000,
  ) {}

  async take(tenantId: string, now: number): Promise<boolean> {
    return (await this.counters.hit(`legacy-ropc|${tenantId}`, this.windowMs, now)).count <= this.perWindow;
  }
}
