import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from '@fastify/rate-limit';
import type { Counters } from './counters.js';

/**
 * A store for @fastify/rate-limit that counts in the app instance's `Counters`, so the per-address
 * limit of form posts holds across instances (PostgreSQL or Redis) as the other limits do. The plugin
 * takes a class, made once per route (`child`) with that route's window; this makes one bound to the
 * counters.
 */
export function countersRateLimitStore(counters: Counters): FastifyRateLimitStoreCtor {
  class CountersRateLimitStore {
    private readonly timeWindow: number;

    constructor(options: { timeWindow?: unknown }) {
      this.timeWindow = typeof options.timeWindow === 'number' ? options.timeWindow : 60_000;
    }

    incr(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void): void {
      const now = Date.now();
      counters.hit(key, this.timeWindow, now).then(
        (r) => callback(null, { current: r.count, ttl: Math.max(0, r.resetAt - now) }),
        (err: unknown) => callback(err instanceof Error ? err : new Error(String(err))),
      );
    }

    // The plugin passes the route's merged limit options (its types name only the route's).
    child(routeOptions: Parameters<FastifyRateLimitStore['child']>[0]): FastifyRateLimitStore {
      return new CountersRateLimitStore(routeOptions as unknown as { timeWindow?: unknown }) as unknown as FastifyRateLimitStore;
    }
  }
  return CountersRateLimitStore as unknown as FastifyRateLimitStoreCtor;
}
