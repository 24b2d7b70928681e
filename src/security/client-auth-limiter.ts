import type { Counters } from './counters.js';

/**
 * Throttling of failed client authentications at the token endpoint, per (tenant, client id, address).
 *
 * A correct authentication is never throttled: the token endpoint checks the credentials first (one
 * hash) and consults the throttle only when they are wrong. So a flood of wrong secrets aimed at a
 * client id (which is public) cannot lock the real backend out, even behind a shared address; the
 * flood itself gets cheap 429 answers once a key has failed too often. The counts live in the app
 * instance's `Counters`: in memory for one process, in the database or Redis for several.
 */
export class ClientAuthThrottle {
  constructor(
    private readonly counters: Counters,
    private readonly maxFailures = 10,
    private readonly windowMs = 5 * 60_000,
  ) {}

  /**
   * Counts one failed authentication of `key` and returns how many seconds the caller should wait
   * (answered 429 with Retry-After), or 0 while the key is under the limit (answered 401).
   */
  async fail(key: string, now: number): Promise<number> {
    const { count, resetAt } = await this.counters.hit(`client-auth|${key}`, this.windowMs, now);
    return count > this.maxFailures ? Math.max(1, Math.ceil((resetAt - now) / 1000)) : 0;
  }
}
