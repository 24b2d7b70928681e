/**
 * Throttles failed client authentications at the token endpoint, per (tenant, client id, address).
 * Only failures count, so a correctly authenticated backend is never slowed however busy it is; a
 * guesser is refused (429) once it has failed `maxFailures` times within `windowMs`.
 */
export class ClientAuthLimiter {
  private readonly failures = new Map<string, { count: number; since: number }>();

  constructor(
    private readonly maxFailures = 10,
    private readonly windowMs = 5 * 60_000,
    /** Bounds memory under a flood of distinct keys; the oldest entries go first. */
    private readonly maxKeys = 50_000,
  ) {}

  /** Seconds to wait if `key` is blocked now, else 0. */
  blockedFor(key: string, now: number): number {
    const f = this.failures.get(key);
    if (!f) return 0;
    if (now - f.since >= this.windowMs) {
      this.failures.delete(key);
      return 0;
    }
    return f.count >= this.maxFailures ? Math.ceil((f.since + this.windowMs - now) / 1000) : 0;
  }

  fail(key: string, now: number): void {
    const f = this.failures.get(key);
    if (f && now - f.since < this.windowMs) {
      f.count += 1;
      return;
    }
    if (this.failures.size >= this.maxKeys) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
    this.failures.set(key, { count: 1, since: now });
  }
}
