// What the benchmarks share: the load knobs, and small measuring helpers.
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import pino from 'pino';
import { SecretBox } from '../src/crypto/secrets.js';
import { type ProvisionDeps } from '../src/services/deps.js';
import { createLocalUser } from '../src/services/users.js';
import { createApp } from '../src/services/apps.js';
import { requireTenant } from '../src/services/tenants.js';
import { Audit } from '../src/security/audit.js';
import type { Store } from '../src/store/store.js';

export const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
export const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
export const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
export const WARMUP = Number(process.env.BENCH_WARMUP ?? 2);
export const CB = 'http://127.0.0.1:9/cb';
export const API = 'https://bench.example/api';

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
export const form = (o: Record<string, string>) => new URLSearchParams(o).toString();

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/**
 * User + system CPU time of a process and all its threads so far (or of one thread), in ms
 * (/proc/PID/stat, clock ticks of 10 ms); 0 for a process that has ended.
 */
export function cpuMs(pid: number, tid?: number): number {
  try {
    const fields = readFileSync(tid ? `/proc/${pid}/task/${tid}/stat` : `/proc/${pid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return 0;
  }
}

/**
 * What both benchmarks register in the demo tenant: an API with a role, a daemon granted it, a web app
 * and a user (through the same provisioning the CLI uses).
 */
export async function provisionBench(store: Store, opts: { masterKey: string | undefined; policiesDir: string; passwordCost: number; displayName?: string }) {
  const clock = { now: () => Date.now() };
  const d: ProvisionDeps = { store, secrets: new SecretBox(opts.masterKey), clock, policiesDir: opts.policiesDir, passwordCost: opts.passwordCost, audit: new Audit(store, clock, pino({ level: 'silent' })) };
  const tenant = await requireTenant(d, 'demo');
  const api = await createApp(d, tenant, { name: 'api', type: 'api', identifierUri: API });
  await store.addAppRole(api.app.clientId, 'Bench.Run');
  const daemon = await createApp(d, tenant, { name: 'daemon', type: 'daemon' });
  await store.addGrant({ clientId: daemon.app.clientId, apiClientId: api.app.clientId, kind: 'role', name: 'Bench.Run' });
  const web = await createApp(d, tenant, { name: 'web', type: 'web', redirectUris: [CB] });
  const user = await createLocalUser(d, tenant, { email: 'bench@example.com', password: 'bench-password-1', ...(opts.displayName ? { displayName: opts.displayName } : {}) }, { by: 'cli' });
  return { d, tenant, api, daemon, web, user };
}
