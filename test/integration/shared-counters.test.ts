import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { createApp } from '../../src/services/apps.js';
import { ensureDemo } from '../../src/services/tenants.js';
import { createDeps } from '../../src/runtime.js';
import { MemoryCounters, RedisCounters, StoreCounters, type Counters } from '../../src/security/counters.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { createDatabase } from '../helpers/postgres-cluster.js';
import { startRedis } from '../helpers/redis-server.js';

/**
 * The counters behind every limit, in each place they can live (memory, SQLite, PostgreSQL, Redis),
 * and two app instances sharing one limit through Redis (LATCHKEY_REDIS_URL).
 */
const postgresUrl = inject('postgresUrl');
const redisOff = process.env.LATCHKEY_TEST_REDIS === 'off';
const dir = mkdtempSync(join(tmpdir(), 'latchkey-counters-'));
let redis: { url: string; stop(): Promise<void> } | undefined;
const closers: (() => Promise<unknown> | void)[] = [];

beforeAll(async () => {
  if (!redisOff) redis = await startRedis();
});

afterAll(async () => {
  for (const c of closers.reverse()) await c();
  await redis?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const kinds: [string, () => Promise<Counters>][] = [
  ['memory', async () => new MemoryCounters()],
  ['SQLite', async () => {
    const s = new SqliteStore(join(dir, 'c.db'));
    closers.push(() => s.close());
    return new StoreCounters(s);
  }],
];
if (postgresUrl !== '') {
  kinds.push(['PostgreSQL', async () => {
    const s = await PostgresStore.open(await createDatabase(postgresUrl, `counters_${Date.now()}`));
    closers.push(() => s.close());
    return new StoreCounters(s);
  }]);
}
if (!redisOff) {
  kinds.push(['Redis', async () => {
    const r = new Redis(redis!.url);
    closers.push(() => r.disconnect());
    return new RedisCounters(r, `test:${Date.now()}:`);
  }]);
}

describe.each(kinds)('counters in %s', (_name, make) => {
  it('count within a window and start again after it', async () => {
    const c = await make();
    const now = Date.now();
    expect((await c.hit('k', 60_000, now)).count).toBe(1);
    expect((await c.hit('k', 60_000, now + 10)).count).toBe(2);
    const third = await c.hit('k', 60_000, now + 20);
    expect(third.count).toBe(3);
    expect(third.resetAt).toBeGreaterThan(now + 59_000);
    expect(third.resetAt).toBeLessThanOrEqual(now + 60_020);
    expect((await c.hit('other', 60_000, now)).count).toBe(1);
  });

  it('forget a window once it ends', async () => {
    const c = await make();
    const now = Date.now();
    await c.hit('short', 100, now);
    await new Promise((r) => setTimeout(r, 150));
    expect((await c.hit('short', 100, Date.now())).count).toBe(1);
  });
});

describe.skipIf(redisOff)('two app instances sharing limits through Redis', () => {
  it('throttles a client whose secrets failed on the other instance', async () => {
    const env = { LATCHKEY_DB: join(dir, 'shared.db'), LATCHKEY_POLICIES_DIR: join(dir, 'policies'), LATCHKEY_REDIS_URL: redis!.url, LATCHKEY_BASE_URL: 'http://127.0.0.1:1', LATCHKEY_PASSWORD_COST: '12' };
    const config = loadConfig(env);
    const one = await createDeps(config, { logger: pino({ level: 'silent' }), watchPolicies: false });
    const two = await createDeps(config, { logger: pino({ level: 'silent' }), watchPolicies: false });
    closers.push(() => one.close(), () => two.close());
    const provision = { store: one.store, secrets: one.secrets, clock: one.clock, policiesDir: config.policiesDir, passwordCost: 12, audit: one.audit };
    const tenant = (await ensureDemo(provision, config.baseUrl))!;
    const daemon = (await createApp(provision, tenant, { name: 'd', type: 'daemon' })).app.clientId;
    const [appOne, appTwo] = [await buildApp(one), await buildApp(two)];
    closers.push(() => appOne.close(), () => appTwo.close());
    const attempt = (app: typeof appOne) =>
      app.inject({ method: 'POST', url: '/demo/B2C_1_signin/oauth2/v2.0/token', remoteAddress: '10.0.0.7', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `grant_type=client_credentials&scope=api%3A%2F%2Fx%2F.default&client_id=${daemon}&client_secret=wrong` });
    for (let i = 0; i < 10; i++) expect((await attempt(appOne)).statusCode).toBe(401);
    // The eleventh failure, on the other instance, meets the same limit.
    const eleventh = await attempt(appTwo);
    expect(eleventh.statusCode).toBe(429);
    expect(Number(eleventh.headers['retry-after'])).toBeGreaterThan(0);
  });
});
