import type { Redis } from 'ioredis';
import type { Store } from '../store/store.js';

/**
 * Fixed-window counters behind every limit that must hold across requests: failed client
 * authentications, form posts and passwords per address, calls to an old identity provider. One
 * process keeps them in memory; several instances share them in the database (PostgreSQL) or Redis
 * (`LATCHKEY_REDIS_URL`), so a limit is one limit however many instances answer.
 */
export interface Counters {
  /** Counts one hit of `key` in its current window of `windowMs`; returns the count so far and when the window ends. */
  hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;
}

export class MemoryCounters implements Counters {
  private readonly windows = new Map<string, { count: number; resetAt: number }>();

  /** `maxKeys` bounds memory under a flood of distinct keys; the oldest entries go first. */
  constructor(private readonly maxKeys = 100_000) {}

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    let w = this.windows.get(key);
    if (!w || w.resetAt <= now) {
      if (w) this.windows.delete(key);
      if (this.windows.size >= this.maxKeys) {
        const oldest = this.windows.keys().next().value;
        if (oldest !== undefined) this.windows.delete(oldest);
      }
      w = { count: 0, resetAt: now + windowMs };
      this.windows.set(key, w);
    }
    w.count += 1;
    return { count: w.count, resetAt: w.resetAt };
  }
}

/** Counters in the store's `counters` table (one upsert per hit), shared by every instance on the database. */
export class StoreCounters implements Counters {
  constructor(private readonly store: Pick<Store, 'hitCounter'>) {}

  hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return this.store.hitCounter(key, windowMs, now);
  }
}

/** Counters in Redis: INCR, and the window's expiry set by the hit that opened it. */
export class RedisCounters implements Counters {
  constructor(
    private readonly redis: Redis,
    private readonly prefix = 'latchkey:counter:',
  ) {}

  async hit(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const k = this.prefix + key;
    const res = await this.redis.multi().incr(k).pexpire(k, windowMs, 'NX').pttl(k).exec();
    if (!res) throw new Error('redis: the counter transaction was aborted');
    const [incr, , ttl] = res;
    if (incr?.[0] || ttl?.[0]) throw (incr?.[0] ?? ttl?.[0]) as Error;
    const count = Number(incr![1]);
    const remaining = Number(ttl![1]);
    return { count, resetAt: now + (remaining > 0 ? remaining : windowMs) };
  }
}
