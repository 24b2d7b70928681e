// `npm run bench:postgres`: token grants of Latchkey on SQLite (one instance) and on PostgreSQL with one
// and with two instances, on this machine, taking turns round by round. One machine: the two-instance
// figure shows PostgreSQL's overhead and that a second process adds no contention, not scale.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { PostgresStore } from '../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';
import type { Store } from '../src/store/store.js';
import { createDatabase, startPostgres } from '../test/helpers/postgres-cluster.js';

import { API, CB, CONNECTIONS, cpuMs, DURATION, form, freePort, median, provisionBench, ROUNDS, WARMUP } from './common.js';

const root = join(import.meta.dirname, '..');
const POOL = Number(process.env.BENCH_POOL ?? 40_000);
// `BENCH_PG_SETTINGS=synchronous_commit=off,shared_buffers=256MB`: server settings for the cluster.
const PG_SETTINGS = Object.fromEntries(
  (process.env.BENCH_PG_SETTINGS ?? '')
    .split(',')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]),
);
const MASTER_KEY = 'bench-master-key-0123456789abcdefghijklmnop';

const hash = (v: string) => createHash('sha256').update(v).digest('base64url');

async function waitReady(url: string): Promise<void> {
  for (let i = 0; i < 600; i++) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not become ready`);
}

interface Setup {
  name: string;
  urls: string[];
  procs: ChildProcess[];
  bodies: { client_credentials: string; refresh_token: string[]; authorization_code: string[] };
  next: { refresh_token: number; authorization_code: number };
}

/** Latchkey instances on one database, with a daemon, a web app, a user and pre-issued single-use credentials. */
async function setUp(name: string, instances: number, dbEnv: Record<string, string>, openStore: () => Promise<Store>): Promise<Setup> {
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-pg-'));
  const ports = await Promise.all(Array.from({ length: instances }, () => freePort()));
  const procs = ports.map((port) =>
    spawn(process.execPath, [join(root, 'dist/main.js')], {
      env: { PATH: process.env.PATH!, PORT: String(port), HOST: '127.0.0.1', LATCHKEY_BASE_URL: `http://127.0.0.1:${ports[0]}`, LATCHKEY_POLICIES_DIR: join(dir, 'policies'), LATCHKEY_LOG_LEVEL: 'warn', LATCHKEY_MASTER_KEY: MASTER_KEY, LATCHKEY_FORM_RATE_LIMIT: '100000', ...dbEnv },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const urls = ports.map((p) => `http://127.0.0.1:${p}`);
  for (const u of urls) await waitReady(`${u}/readyz`);

  const store = await openStore();
  const { tenant, daemon, web, user } = await provisionBench(store, { masterKey: MASTER_KEY, policiesDir: join(dir, 'policies'), passwordCost: 12 });
  const now = Date.now();
  const grant = { policyId: 'B2C_1_signin', scopes: { oidc: ['openid', 'offline_access'], granted: ['openid', 'offline_access'] }, authTime: Math.floor(now / 1000), idp: 'local', newUser: false, clientInfo: false };
  const secret = { client_id: web.app.clientId, client_secret: web.clientSecret! };
  const refresh: string[] = [];
  const codes: string[] = [];
  for (let start = 0; start < POOL; start += 200) {
    const writes: Promise<void>[] = [];
    for (let i = start; i < Math.min(POOL, start + 200); i++) {
      const family = randomBytes(16).toString('base64url');
      const s = randomBytes(32).toString('base64url');
      const code = randomBytes(32).toString('base64url');
      refresh.push(form({ grant_type: 'refresh_token', refresh_token: `${family}.${s}`, ...secret }));
      codes.push(form({ grant_type: 'authorization_code', code, redirect_uri: CB, ...secret }));
      writes.push(store.createRefreshToken({ tokenHash: hash(s), familyId: family, tenantId: tenant.id, clientId: web.app.clientId, userId: user.id, data: { ...grant, spa: false }, createdAt: now, expiresAt: now + 86_400_000, familyExpiresAt: now + 90 * 86_400_000, consumedAt: null, revokedAt: null, originCodeHash: null }));
      writes.push(store.createAuthCode({ codeHash: hash(code), tenantId: tenant.id, clientId: web.app.clientId, userId: user.id, data: { ...grant, redirectUri: CB }, createdAt: now, expiresAt: now + 3_600_000, consumedAt: null, issuedJti: null }));
    }
    await Promise.all(writes);
  }
  await store.close();
  process.stdout.write(`${name}: ready, ${POOL.toLocaleString('en-US')} codes and refresh tokens issued in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
  return {
    name,
    urls,
    procs,
    bodies: { client_credentials: form({ grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.app.clientId, client_secret: daemon.clientSecret! }), refresh_token: refresh, authorization_code: codes },
    next: { refresh_token: 0, authorization_code: 0 },
  };
}

/** The CPU time of each PostgreSQL server process on the machine (the cluster is the bench's own), by pid. */
function postgresCpu(): Map<number, number> {
  const out = new Map<number, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') out.set(Number(entry), cpuMs(Number(entry)));
    } catch {
      // gone
    }
  }
  return out;
}

/** CPU spent between two snapshots by the processes alive at the second (one that ended is not counted). */
function postgresCpuSince(before: Map<number, number>): number {
  let total = 0;
  for (const [pid, ms] of postgresCpu()) total += ms - (before.get(pid) ?? 0);
  return total;
}

type Op = 'client_credentials' | 'refresh_token' | 'authorization_code';
interface Measure {
  rps: number;
  p99: number;
  errors: number;
  /** CPU ms per successful answer: Latchkey's processes, and PostgreSQL's server processes. */
  latchkeyCpu: number;
  pgCpu: number;
}

/** One run against a setup: its instances share the connections (two loads in parallel for two instances). */
async function run(s: Setup, op: Op, seconds: number): Promise<Measure> {
  const latchkeyBefore = s.procs.reduce((n, p) => n + cpuMs(p.pid!), 0);
  const pgBefore = postgresCpu();
  const results = await Promise.all(
    s.urls.map((u) =>
      autocannon({
        url: `${u}/demo/B2C_1_signin/oauth2/v2.0/token`,
        connections: Math.max(1, Math.round(CONNECTIONS / s.urls.length)),
        duration: seconds,
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        ...(op === 'client_credentials'
          ? { body: s.bodies.client_credentials }
          : { requests: [{ setupRequest: (req: Record<string, unknown>) => ((req.body = s.bodies[op][s.next[op]++ % POOL]), req) }] }),
      } as autocannon.Options),
    ),
  );
  const ok = results.reduce((n, r) => n + r['2xx'], 0);
  return {
    latchkeyCpu: (s.procs.reduce((n, p) => n + cpuMs(p.pid!), 0) - latchkeyBefore) / ok,
    pgCpu: postgresCpuSince(pgBefore) / ok,
    rps: results.reduce((n, r) => n + r['2xx'] / r.duration, 0),
    p99: Math.max(...results.map((r) => r.latency.p99)),
    errors: results.reduce((n, r) => n + r.errors + r.non2xx, 0),
  };
}

async function main(): Promise<void> {
  process.stdout.write(`machine: ${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}\n`);
  process.stdout.write(`connections ${CONNECTIONS} (split between instances), ${WARMUP}s warm-up, ${ROUNDS} × ${DURATION}s rounds taking turns (medians)\n\n`);
  process.stdout.write(`PostgreSQL settings: ${Object.keys(PG_SETTINGS).length ? Object.entries(PG_SETTINGS).map(([k, v]) => `${k}=${v}`).join(', ') : 'defaults'}\n\n`);
  const cluster = await startPostgres(PG_SETTINGS);
  const sqliteDir = mkdtempSync(join(tmpdir(), 'latchkey-bench-sqlite-'));
  const setups: Setup[] = [];
  try {
    const sqlitePath = join(sqliteDir, 'latchkey.db');
    setups.push(await setUp('SQLite, 1 instance', 1, { LATCHKEY_DB: sqlitePath }, async () => new SqliteStore(sqlitePath)));
    const one = await createDatabase(cluster.url, 'bench_one');
    setups.push(await setUp('PostgreSQL, 1 instance', 1, { LATCHKEY_DATABASE_URL: one }, () => PostgresStore.open(one)));
    const two = await createDatabase(cluster.url, 'bench_two');
    setups.push(await setUp('PostgreSQL, 2 instances', 2, { LATCHKEY_DATABASE_URL: two }, () => PostgresStore.open(two)));

    const table: Record<string, Record<string, { rps: number; p99: number; errors: number; latchkeyCpu: number; pgCpu: number }>> = {};
    // PostgreSQL (1 instance) over SQLite, round by round (they ran one after the other), then the median.
    const ratios: Record<string, number> = {};
    for (const op of ['client_credentials', 'refresh_token', 'authorization_code'] as Op[]) {
      for (const s of setups) await run(s, op, WARMUP);
      const rounds = setups.map(() => [] as Measure[]);
      for (let r = 0; r < ROUNDS; r++) for (const [i, s] of setups.entries()) rounds[i]!.push(await run(s, op, DURATION));
      ratios[op] = median(rounds[1]!.map((x, r) => x.rps / rounds[0]![r]!.rps));
      table[op] = Object.fromEntries(setups.map((s, i) => [s.name, { rps: Math.round(median(rounds[i]!.map((x) => x.rps))), p99: median(rounds[i]!.map((x) => x.p99)), errors: rounds[i]!.reduce((n, x) => n + x.errors, 0), latchkeyCpu: median(rounds[i]!.map((x) => x.latchkeyCpu)), pgCpu: median(rounds[i]!.map((x) => x.pgCpu)) }]));
    }
    const cols = setups.map((s) => s.name);
    process.stdout.write(`${'operation'.padEnd(20)}${cols.map((c) => c.padStart(26)).join('')}   PostgreSQL 1 / SQLite\n`);
    for (const [op, row] of Object.entries(table)) {
      const cells = cols.map((c) => `${row[c]!.rps}/s p99 ${row[c]!.p99} ms`.padStart(26));
      const ratio = Math.round(ratios[op]! * 100);
      process.stdout.write(`${op.padEnd(20)}${cells.join('')}   ${ratio}%\n`);
    }
    process.stdout.write(`\nCPU per answer (ms), Latchkey + PostgreSQL server:\n`);
    for (const [op, row] of Object.entries(table)) {
      process.stdout.write(`${op.padEnd(20)}${cols.map((c) => `${row[c]!.latchkeyCpu.toFixed(3)} + ${row[c]!.pgCpu.toFixed(3)}`.padStart(26)).join('')}\n`);
    }
    const errors = Object.entries(table).flatMap(([op, row]) => Object.entries(row).filter(([, m]) => m.errors > 0).map(([c, m]) => `${op} on ${c}: ${m.errors}`));
    process.stdout.write(`errors: ${errors.length === 0 ? 'none' : errors.join(', ')}\n`);
  } finally {
    for (const s of setups) for (const p of s.procs) p.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    await cluster.stop();
    rmSync(sqliteDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
