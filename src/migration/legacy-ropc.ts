import { OutboundError, type OutboundClient, type OutboundResponse } from '../outbound/outbound-client.js';
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

export async function checkLegacyPassword(outbound: OutboundClient, legacy: LegacyRopc, username: string, password: string, timeoutMs = LEGACY_TIMEOUT_MS): Promise<LegacyCheck> {
  let res: OutboundResponse;
  try {
    res = await outbound.request(legacy.tokenUrl, {
      purpose: 'legacy ROPC',
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      // B2C's ROPC request: scope openid + the app's own id, and response_type 'token id_token'.
      body: new URLSearchParams({ grant_type: 'password', client_id: legacy.clientId, username, password, scope: legacy.scope, response_type: 'token id_token' }).toString(),
      timeoutMs,
      // A password is never sent on to wherever a redirect points.
      redirect: 'error',
    });
  } catch (err) {
    if (!(err instanceof OutboundError)) throw err;
    // Refused by the address policy or unreachable: the same to the user (the log says which).
    return { result: 'unavailable', reason: err.kind === 'timeout' ? `no answer within ${timeoutMs / 1000} s` : 'cannot be reached' };
  }
  let body: Record<string, unknown> = {};
  try {
    const parsed = JSON.parse(res.body.toString('utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object' && !Array.isArray(parsed)) body = parsed as Record<string, unknown>;
  } catch {
    // not JSON: judged by the status alone
  }
  if (res.status >= 200 && res.status < 300 && typeof body.access_token === 'string') return { result: 'valid' };
  // RFC 6749 §5.2: a wrong password is invalid_grant (B2C: AADB2C90225).
  if (res.status === 400 && body.error === 'invalid_grant') return { result: 'invalid' };
  return { result: 'unavailable', reason: `answered ${res.status}${typeof body.error === 'string' ? ` ${body.error}` : ''}` };
}

/** Calls per second to the old provider when the tenant sets none (`tenant set --legacy-rate`). */
export const DEFAULT_LEGACY_RATE = 20;

/**
 * Calls out to the old provider are limited per tenant (B2C treats a flood from one address as an
 * attack and would lock the users out there): the tenant's calls per second (`tenant set --legacy-rate`,
 * default 20), counted in one-second windows in the app instance's `Counters` (shared by all instances
 * on PostgreSQL or Redis).
 */
export class LegacyCallLimiter {
  constructor(
    private readonly counters: Counters,
    private readonly defaultPerSecond = DEFAULT_LEGACY_RATE,
  ) {}

  async take(tenantId: string, now: number, perSecond = this.defaultPerSecond): Promise<boolean> {
    return (await this.counters.hit(`legacy-ropc|${tenantId}`, 1000, now)).count <= perSecond;
  }
}
