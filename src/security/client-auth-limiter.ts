/**
 * Throttling of failed client authentications at the token endpoint, per (tenant, client id, address).
 *
 * A correct authentication is never throttled: the token endpoint checks the credentials first (one
 * hash) and consults the throttle only when they are wrong. So a flood of wrong secrets aimed at a
 * client id (which is public) cannot lock the real backend out, even behind a shared address; the
 * flood itself gets cheap 429 answers once a key has failed too often.
 *
 * The interface is async so that several instances can share one implementation in the database or
 * Redis (scale-out); `MemoryClientAuthThrottle` is one instance's own, created by `createDeps`.
 */
export interface ClientAuthThrottle {
  /**
   * Counts one failed authentication of `key` and returns how many seconds the caller should wait
   * (answered 429 with Retry-After), or 0 while the key is under the limit (answered 401).
   */
  fail(key: string, now: number): Promise<number>;
}

export class MemoryClientAuthThrottle implements ClientAuthThrottle {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 5 * 60_000,
    /** Bounds memory under a flood of distinct keys; the oldest entries go first. */
    private readonly maxKeys = 50_000,
  ) {}

  async fail(key: string, now: number): Promise<number> {
    let f = this.failures.get(key);
    if (!f || now - f.since >= this.windowMs) {
      if (f) this.failures.delete(key);
      if (this.failures.size >= this.maxKeys) {
        const oldest = this.failures.keys().next().value;
        if (oldest !== undefined) this.failures.delete(oldest);
      }
      f = { count: 0, since: now };
      this.failures.set(key, f);
    }
    f.count += 1;
    return f.count > this.maxFailures ? Math.max(1, Math.ceil((f.since + this.windowMs - now) / 1000)) : 0;
  }
}
