import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { httpsOptions } from '../../src/http/certificates.js';
import { loadConfig } from '../../src/config.js';
import type { Deps } from '../../src/services/deps.js';
import type { Clock } from '../../src/model/clock.js';
import { type ProvisionDeps } from '../../src/services/deps.js';
import { createLocalUser } from '../../src/services/users.js';
import { createApp, type CreateAppInput } from '../../src/services/apps.js';
import { ensureDemo } from '../../src/services/tenants.js';
import { createDeps } from '../../src/runtime.js';
import type { CachedStore } from '../../src/store/cached-store.js';
import type { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import type { App, Tenant, User } from '../../src/model/entities.js';

/** A clock tests can move forward. */
export class TestClock implements Clock {
  offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  advance(ms: number): void {
    this.offset += ms;
  }
}

import { freePort } from './ports.js';

export { freePort };

export interface TestServer {
  baseUrl: string;
  dir: string;
  deps: Deps;
  /** The SQLite database under the store, for tests that look at rows directly. */
  db: SqliteStore['db'];
  app: FastifyInstance;
  clock: TestClock;
  tenant: Tenant;
  provision: ProvisionDeps;
  logs: Record<string, unknown>[];
  createUser(email: string, password: string, extra?: { givenName?: string; familyName?: string; displayName?: string }): Promise<User>;
  createApp(input: CreateAppInput): Promise<{ app: App; clientSecret?: string }>;
  /** An API with one app role, and a daemon app granted that role (the client_credentials setup). */
  createDaemonForApi(input: { api: string; identifierUri: string; role: string; daemon: string }): Promise<{ apiClientId: string; daemon: { clientId: string; secret: string } }>;
  close(): Promise<void>;
}

/**
 * Starts Latchkey on 127.0.0.1 with a fresh SQLite file and policies folder, over real HTTP, with a
 * low password-hash cost so tests stay fast.
 */
export async function startServer(opts: { env?: Record<string, string>; tls?: { cert: Buffer; key: Buffer }; host?: string } = {}): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-test-'));
  const port = await freePort();
  const scheme = opts.tls || opts.env?.LATCHKEY_TLS_DIR ? 'https' : 'http';
  const config = loadConfig({
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_BASE_URL: `${scheme}://${opts.host ?? '127.0.0.1'}:${port}`,
    LATCHKEY_DB: join(dir, 'latchkey.db'),
    LATCHKEY_POLICIES_DIR: join(dir, 'policies'),
    LATCHKEY_PASSWORD_COST: '12',
    ...opts.env,
  });
  const logs: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => logs.push(JSON.parse(line) as Record<string, unknown>) });
  const clock = new TestClock();
  const deps = await createDeps(config, { logger, clock });
  const provision: ProvisionDeps = { store: deps.store, secrets: deps.secrets, clock, policiesDir: config.policiesDir, passwordCost: config.passwordCost, audit: deps.audit };
  const tenant = (await ensureDemo(provision, config.baseUrl))!;
  // As main.ts does: load (and start watching) the tenant's policies at start.
  deps.policies.list(tenant.slug);
  // With LATCHKEY_TLS_DIR, as main.ts: a certificate per host by SNI (LATCHKEY_TLS_CERT/KEY the default).
  const app = await buildApp(deps, { https: config.tlsDir ? httpsOptions(config, logger) : opts.tls });
  await app.listen({ port, host: '127.0.0.1' });
  return {
    baseUrl: config.baseUrl,
    dir,
    deps,
    db: ((deps.store as CachedStore).engine as SqliteStore).db,
    app,
    clock,
    tenant,
    provision,
    logs,
    createUser: (email, password, extra = {}) => createLocalUser(provision, tenant, { email, password, ...extra }, { by: 'cli' }),
    createApp: (input) => createApp(provision, tenant, input),
    async createDaemonForApi({ api, identifierUri, role, daemon }) {
      const apiClientId = (await createApp(provision, tenant, { name: api, type: 'api', identifierUri })).app.clientId;
      await deps.store.addAppRole(apiClientId, role);
      const d = await createApp(provision, tenant, { name: daemon, type: 'daemon' });
      await deps.store.addGrant({ clientId: d.app.clientId, apiClientId, kind: 'role', name: role });
      return { apiClientId, daemon: { clientId: d.app.clientId, secret: d.clientSecret! } };
    },
    async close() {
      await app.close();
      await deps.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
