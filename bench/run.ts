// `npm run bench`: Latchkey against node-oidc-provider and the machine's ceilings, on loopback, in one run.
// Prints a table and writes bench/results.json. See bench/README.md for how to read it.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes, scrypt } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import autocannon from 'autocannon';
import { SqliteStore } from '../src/store/sqlite/sqlite-store.js';

import { API, CB, CONNECTIONS, cpuMs, DURATION, form, freePort, median, provisionBench, ROUNDS, WARMUP } from './common.js';

const root = join(import.meta.dirname, '..');
const PASSWORD_COST = Number(process.env.LATCHKEY_PASSWORD_COST ?? 17);

interface Measure {
  rps: number;
  p99: number;
  errors: number;
  /** CPU time (user + system, all threads) the server process spent per successful answer, in ms. */
  cpuMs?: number;
  /** The same for the load generator (this process), in ms. */
  loadCpuMs?: number;
  /** The server's main thread (its event loop) alone, in ms. */
  loopCpuMs?: number;
  /** req/s of each round, in order. */
  perRound?: number[];
}

/** BENCH_ONLY=refresh_token,jwks runs just those Latchkey operations (for profiling). */
const ONLY = process.env.BENCH_ONLY?.split(',');
const SKIPPED: Measure = { rps: NaN, p99: NaN, errors: 0 };

async function waitReady(url: string, t0: number): Promise<number> {
  for (;;) {
    try {
      const r = await fetch(url);
      if (r.status < 500) return performance.now() - t0;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}

interface LoadSpec {
  name: string;
  url: string;
  /** The server process, for its CPU time. */
  pid?: number;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  /** A fixed body, or one per request (single-use credentials), built before the run. */
  body?: string | (() => string);
  sample?: () => void;
  rate?: number;
}

function autocannonRun(spec: LoadSpec, duration: number): Promise<autocannon.Result> {
  return autocannon({
    url: spec.url,
    connections: spec.rate ? 8 : CONNECTIONS,
    ...(spec.rate ? { overallRate: spec.rate } : {}),
    duration,
    method: spec.method ?? 'GET',
    headers: spec.headers ?? {},
    ...(typeof spec.body === 'string' ? { body: spec.body } : {}),
    ...(typeof spec.body === 'function' ? { requests: [{ setupRequest: (req: Record<string, unknown>) => ((req.body = (spec.body as () => string)()), req) }] } : {}),
  } as autocannon.Options);
}

/**
 * Warm-up of each, then ROUNDS rounds in which the specs take turns (A B C, A B C, …), so a change in
 * the machine's speed during the run (a shared host) reaches every column alike; medians of req/s and
 * p99 (ms), and each spec's req/s per round for ratios taken round by round.
 */
async function measure(specs: LoadSpec[]): Promise<Measure[]> {
  const active = specs.map((s) => !ONLY || ONLY.includes(s.name));
  for (const [i, spec] of specs.entries()) if (active[i]) await autocannonRun(spec, WARMUP);
  const rounds = specs.map(() => [] as autocannon.Result[]);
  const cpu = specs.map(() => [] as number[]);
  const loopCpu = specs.map(() => [] as number[]);
  const loadCpu = specs.map(() => [] as number[]);
  for (let round = 0; round < ROUNDS; round++) {
    for (const [i, spec] of specs.entries()) {
      if (!active[i]) continue;
      const timer = spec.sample ? setInterval(spec.sample, 500) : undefined;
      const before = spec.pid ? cpuMs(spec.pid) : 0;
      const loopBefore = spec.pid ? cpuMs(spec.pid, spec.pid) : 0;
      const ownBefore = process.cpuUsage();
      const r = await autocannonRun(spec, DURATION);
      if (timer) clearInterval(timer);
      const ok = Math.max(1, r['2xx']);
      const own = process.cpuUsage(ownBefore);
      rounds[i]!.push(r);
      loadCpu[i]!.push((own.user + own.system) / 1000 / ok);
      if (spec.pid) {
        cpu[i]!.push((cpuMs(spec.pid) - before) / ok);
        loopCpu[i]!.push((cpuMs(spec.pid, spec.pid) - loopBefore) / ok);
      }
    }
  }
  const ms = (xs: number[]) => Math.round(median(xs) * 1000) / 1000;
  return specs.map((_, i) => {
    if (!active[i]) return SKIPPED;
    const rs = rounds[i]!;
    return {
      ...(cpu[i]!.length > 0 ? { cpuMs: ms(cpu[i]!), loopCpuMs: ms(loopCpu[i]!) } : {}),
      loadCpuMs: ms(loadCpu[i]!),
      // Successful answers only: an error answered fast must not count as throughput.
      perRound: rs.map((r) => r['2xx'] / r.duration),
      rps: Math.round(median(rs.map((r) => r['2xx'] / r.duration))),
      p99: median(rs.map((r) => r.latency.p99)),
      errors: rs.reduce((n, r) => n + r.errors + r.non2xx, 0),
    };
  });
}

async function load(spec: LoadSpec): Promise<Measure> {
  return (await measure([spec]))[0]!;
}

/** RSA-2048 RS256 signatures per second with node's crypto on every core. */
async function signingLimit(): Promise<number> {
  const code = `
    const { parentPort } = require('node:worker_threads');
    const { generateKeyPairSync, sign } = require('node:crypto');
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const data = Buffer.alloc(300, 1);
    const end = Date.now() + ${DURATION * 1000};
    let n = 0;
    while (Date.now() < end) { sign('sha256', data, privateKey); n++; }
    parentPort.postMessage(n);`;
  const workers = Array.from({ length: availableParallelism() }, () => new Promise<number>((resolve) => new Worker(code, { eval: true }).once('message', resolve)));
  return Math.round((await Promise.all(workers)).reduce((a, b) => a + b, 0) / DURATION);
}

/** scrypt hashes per second at the configured cost on libuv's pool (what sign-ins are bound by). */
async function hashLimit(): Promise<number> {
  const N = 2 ** PASSWORD_COST;
  const one = () => new Promise<void>((r) => scrypt('password', 'salt-salt-salt', 32, { N, r: 8, p: 1, maxmem: 256 * N * 8 }, () => r()));
  const end = Date.now() + DURATION * 1000;
  let n = 0;
  await Promise.all(Array.from({ length: Math.max(4, availableParallelism()) }, async () => {
    while (Date.now() < end) {
      await one();
      n++;
    }
  }));
  return Math.round((n / DURATION) * 10) / 10;
}

function startProcess(cmd: string[], env: Record<string, string>): ChildProcess {
  return spawn(cmd[0]!, cmd.slice(1), { env: { PATH: process.env.PATH!, ...env }, stdio: ['ignore', 'ignore', 'inherit'] });
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null) return;
  p.kill('SIGTERM');
  await new Promise((r) => p.once('exit', r));
}

const FORM = { 'content-type': 'application/x-www-form-urlencoded' };

async function main(): Promise<void> {
  const results: Record<string, unknown> = {};
  const machine = `${cpus()[0]?.model ?? 'cpu'} × ${availableParallelism()}, ${Math.round(totalmem() / 2 ** 30)} GiB, node ${process.version}`;
  process.stdout.write(`machine: ${machine}\nconnections ${CONNECTIONS}, ${WARMUP}s warm-up, ${ROUNDS} × ${DURATION}s rounds (medians)\n\n`);

  // Ceilings.
  const sigLimit = ONLY ? NaN : await signingLimit();
  const hashes = ONLY ? NaN : await hashLimit();
  const barePort = await freePort();
  const bare = startProcess([process.execPath, '--import', 'tsx', join(root, 'bench/servers/bare.ts')], { PORT: String(barePort) });
  await waitReady(`http://127.0.0.1:${barePort}/static`, performance.now());
  const bareUrl = `http://127.0.0.1:${barePort}`;

  // Latchkey, on a temporary database, with the password cost it ships with.
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-'));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_BASE_URL: base,
    LATCHKEY_DB: join(dir, 'latchkey.db'),
    LATCHKEY_POLICIES_DIR: join(dir, 'policies'),
    LATCHKEY_LOG_LEVEL: 'warn',
    LATCHKEY_PASSWORD_COST: String(PASSWORD_COST),
    LATCHKEY_FORM_RATE_LIMIT: '100000',
    ...(process.env.UV_THREADPOOL_SIZE ? { UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE } : {}),
  };
  const t0 = performance.now();
  const nodeArgs = (process.env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean);
  const lk = startProcess([process.execPath, ...nodeArgs, join(root, 'dist/main.js')], env);
  const startupMs = await waitReady(`${base}/health`, t0);
  await new Promise((r) => setTimeout(r, 1000));
  const idleRss = rssMb(lk.pid!);

  const store = new SqliteStore(env.LATCHKEY_DB);
  const { tenant, daemon, web, user } = await provisionBench(store, { masterKey: undefined, policiesDir: env.LATCHKEY_POLICIES_DIR!, passwordCost: PASSWORD_COST, displayName: 'Bench' });

  // Pre-issued, single-use credentials: enough for every round at the fastest plausible rate.
  const poolSize = Number(process.env.BENCH_POOL ?? 120_000);
  const now = Date.now();
  const grant = { policyId: 'B2C_1_signin', scopes: { oidc: ['openid', 'offline_access'], granted: ['openid', 'offline_access'] }, authTime: Math.floor(now / 1000), idp: 'local', newUser: false, clientInfo: false };
  const refreshTokens: string[] = [];
  const codes: string[] = [];
  const writes: Promise<void>[] = [];
  for (let i = 0; i < poolSize; i++) {
    // `{family}.{secret}`, as Latchkey issues them; the store keeps the secret's hash.
    const family = randomBytes(16).toString('base64url');
    const secret = randomBytes(32).toString('base64url');
    const rt = `${family}.${secret}`;
    const code = randomBytes(32).toString('base64url');
    refreshTokens.push(rt);
    codes.push(code);
    writes.push(store.createRefreshToken({ tokenHash: hash(secret), familyId: family, tenantId: tenant.id, clientId: web.app.clientId, userId: user.id, data: { ...grant, spa: false }, createdAt: now, expiresAt: now + 86_400_000, familyExpiresAt: now + 90 * 86_400_000, consumedAt: null, revokedAt: null, originCodeHash: null }));
    writes.push(store.createAuthCode({ codeHash: hash(code), tenantId: tenant.id, clientId: web.app.clientId, userId: user.id, data: { ...grant, redirectUri: CB }, createdAt: now, expiresAt: now + 600_000, consumedAt: null, issuedJti: null }));
  }
  await Promise.all(writes);
  await store.close();

  const token = `${base}/demo/B2C_1_signin/oauth2/v2.0/token`;
  const secretForm = { client_id: web.app.clientId, client_secret: web.clientSecret! };
  let rtI = 0;
  let codeI = 0;
  let loadRss = 0;
  // The peer: node-oidc-provider, same machine, same requests.
  const peerPort = await freePort();
  const poolFile = join(tmpdir(), `peer-pool-${process.pid}.json`);
  const peerPool = Number(process.env.BENCH_PEER_POOL ?? 50_000);
  const peer = startProcess([process.execPath, '--import', 'tsx', join(root, 'bench/servers/peer.ts')], { PORT: String(peerPort), POOL: String(peerPool), POOL_FILE: poolFile, NODE_ENV: 'production' });
  await waitReady(`http://127.0.0.1:${peerPort}/.well-known/openid-configuration`, performance.now());
  const pool = JSON.parse(readFileSync(poolFile, 'utf8')) as { codes: string[]; refreshTokens: string[] };
  rmSync(poolFile);
  const pBasic = (id: string, s: string) => ({ ...FORM, authorization: `Basic ${Buffer.from(`${id}:${s}`).toString('base64')}` });
  let pr = 0;
  let pc = 0;
  // Request bodies are built before the run: the load generator's work is not the server's.
  const peerRefreshBodies = pool.refreshTokens.map((rt) => form({ grant_type: 'refresh_token', refresh_token: rt }));
  const peerCodeBodies = pool.codes.map((code) => form({ grant_type: 'authorization_code', code, redirect_uri: CB }));
  const refreshBodies = refreshTokens.map((rt) => form({ grant_type: 'refresh_token', refresh_token: rt, ...secretForm }));
  const codeBodies = codes.map((code) => form({ grant_type: 'authorization_code', code, redirect_uri: CB, ...secretForm }));
  const peerUrl = `http://127.0.0.1:${peerPort}`;

  // Each operation: the ceiling for its work, Latchkey and the peer, taking turns round by round.
  const ops = {
    discovery: await measure([
      { name: 'bare', pid: bare.pid!, url: `${bareUrl}/static` },
      { name: 'discovery', pid: lk.pid!, url: `${base}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration` },
      { name: 'peer', pid: peer.pid!, url: `${peerUrl}/.well-known/openid-configuration` },
    ]),
    jwks: await measure([
      { name: 'bare', pid: bare.pid!, url: `${bareUrl}/static` },
      { name: 'jwks', pid: lk.pid!, url: `${base}/demo/B2C_1_signin/discovery/v2.0/keys` },
      { name: 'peer', pid: peer.pid!, url: `${peerUrl}/jwks` },
    ]),
    client_credentials: await measure([
      { name: 'bare', pid: bare.pid!, url: `${bareUrl}/sign1`, method: 'POST' },
      {
        name: 'client_credentials',
        pid: lk.pid!,
        url: token, method: 'POST', headers: FORM,
        body: form({ grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.app.clientId, client_secret: daemon.clientSecret! }),
        sample: () => (loadRss = Math.max(loadRss, rssMb(lk.pid!))),
      },
      { name: 'peer', pid: peer.pid!, url: `${peerUrl}/token`, method: 'POST', headers: pBasic('daemon', 'daemon-secret'), body: form({ grant_type: 'client_credentials', scope: 'api' }) },
    ]),
    refresh_token: await measure([
      { name: 'bare', pid: bare.pid!, url: `${bareUrl}/sign2`, method: 'POST' },
      { name: 'refresh_token', pid: lk.pid!, url: token, method: 'POST', headers: FORM, body: () => refreshBodies[rtI++ % poolSize]! },
      { name: 'peer', pid: peer.pid!, url: `${peerUrl}/token`, method: 'POST', headers: pBasic('web', 'web-secret'), body: () => peerRefreshBodies[pr++ % peerPool]! },
    ]),
    authorization_code: await measure([
      { name: 'bare', pid: bare.pid!, url: `${bareUrl}/sign2`, method: 'POST' },
      { name: 'authorization_code', pid: lk.pid!, url: token, method: 'POST', headers: FORM, body: () => codeBodies[codeI++ % poolSize]! },
      { name: 'peer', pid: peer.pid!, url: `${peerUrl}/token`, method: 'POST', headers: pBasic('web', 'web-secret'), body: () => peerCodeBodies[pc++ % peerPool]! },
    ]),
  };
  await stop(bare);
  await stop(peer);
  const lkResults = Object.fromEntries(Object.entries(ops).map(([op, [, l]]) => [op, l!])) as Record<keyof typeof ops, Measure>;
  const bareStatic = ops.discovery[0]!;
  const bareSign1 = ops.client_credentials[0]!;
  const bareSign2 = ops.refresh_token[0]!;

  const journeys = ONLY && !ONLY.includes('journeys') ? { perSecond: NaN, p99: NaN } : await signInJourneys(base, web.app.clientId, web.clientSecret!);

  // Does one sign-in in progress (a memory-hard hash) delay token requests? client_credentials at a
  // fixed, moderate rate, alone and then with one sign-in journey running the whole time.
  const RATE = Number(process.env.BENCH_DELAY_RATE ?? 1000);
  const ccBody = form({ grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.app.clientId, client_secret: daemon.clientSecret! });
  const quiet = await load({ name: 'delay', url: token, method: 'POST', headers: FORM, body: ccBody, rate: RATE });
  let busy: Measure = SKIPPED;
  if (!ONLY || ONLY.includes('delay')) {
    let signingIn = true;
    const background = signInJourneys(base, web.app.clientId, web.clientSecret!, { concurrency: 1, until: () => signingIn });
    busy = await load({ name: 'delay', url: token, method: 'POST', headers: FORM, body: ccBody, rate: RATE });
    signingIn = false;
    await background;
  }
  const delay = { rate: RATE, quietP99: quiet.p99, busyP99: busy.p99, addedP99: busy.p99 - quiet.p99 };

  // The same token operations with 100,000 users and 1,000,000 refresh tokens in the database.
  let large: { client_credentials: Measure; refresh_token: Measure; authorization_code: Measure } | undefined;
  if (process.env.BENCH_LARGE !== '0' && (!ONLY || ONLY.includes('large'))) {
    const big = new SqliteStore(env.LATCHKEY_DB);
    const insertUser = big.db.prepare(`INSERT INTO users (id, tenant_id, email, email_normalized, email_verified, password_hash, given_name, family_name, display_name, attributes, disabled, created_at, updated_at)
      VALUES (?, ?, ?, ?, 1, ?, NULL, NULL, NULL, '{}', 0, ?, ?)`);
    // One row per live refresh token (its family), as Latchkey stores them.
    const insertRt = big.db.prepare(`INSERT INTO refresh_families (secret_hash, family_id, tenant_id, client_id, user_id, data, created_at, expires_at, family_expires_at, rotated_at, revoked_at, generation, origin_code_hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, 0, NULL)`);
    const stored = (await big.findUser(tenant.id, user.id))!.passwordHash!;
    const ids: string[] = [];
    big.db.transaction(() => {
      for (let i = 0; i < 100_000; i++) {
        const id = crypto.randomUUID();
        ids.push(id);
        insertUser.run(id, tenant.id, `filler-${i}@example.com`, `filler-${i}@example.com`, stored, now, now);
      }
    })();
    const data = JSON.stringify({ ...grant, spa: false });
    for (let batch = 0; batch < 10; batch++) {
      big.db.transaction(() => {
        for (let i = 0; i < 100_000; i++) {
          insertRt.run(randomBytes(32).toString('base64url'), randomBytes(16).toString('base64url'), tenant.id, web.app.clientId, ids[(batch * 100_000 + i) % ids.length]!, data, now, now + 86_400_000, now + 90 * 86_400_000);
        }
      })();
    }
    await big.close();
    large = {
      client_credentials: await load({ name: 'large', pid: lk.pid!, url: token, method: 'POST', headers: FORM, body: ccBody }),
      refresh_token: await load({ name: 'large', pid: lk.pid!, url: token, method: 'POST', headers: FORM, body: () => refreshBodies[rtI++ % poolSize]! }),
      authorization_code: await load({ name: 'large', pid: lk.pid!, url: token, method: 'POST', headers: FORM, body: () => codeBodies[codeI++ % poolSize]! }),
    };
  }
  await stop(lk);
  rmSync(dir, { recursive: true, force: true });


  const rows = (Object.keys(ops) as (keyof typeof ops)[]).map((op) => {
    const [c, l, p] = ops[op] as [Measure, Measure, Measure];
    // Latchkey against its ceiling round by round (they ran back to back), then the median.
    const ofCeiling = l.perRound && c.perRound ? median(l.perRound.map((x, i) => x / c.perRound![i]!)) : l.rps / c.rps;
    return { op, latchkey: l.rps, p99: l.p99, cpuMs: l.cpuMs, loopCpuMs: l.loopCpuMs, loadCpuMs: l.loadCpuMs, ceilingCpuMs: c.cpuMs, ceilingLoadCpuMs: c.loadCpuMs, peerCpuMs: p.cpuMs, peerLoadCpuMs: p.loadCpuMs, errors: l.errors, peer: p.rps, peerErrors: p.errors, ratio: +(l.rps / p.rps).toFixed(2), ceiling: c.rps, ofCeiling: Math.round(ofCeiling * 100) };
  });
  const line = (cells: (string | number)[]) => cells.map((c, i) => String(c).padStart(i === 0 ? 0 : 10).padEnd(i === 0 ? 20 : 0)).join(' ');
  process.stdout.write(`${line(['operation', 'Latchkey/s', 'p99 ms', 'peer/s', 'ratio', 'ceiling/s', '% ceiling'])}\n`);
  for (const r of rows) process.stdout.write(`${line([r.op, r.latchkey, r.p99, r.peer, r.ratio, r.ceiling, `${r.ofCeiling}%`])}\n`);
  process.stdout.write(`${line(['sign-in journeys', journeys.perSecond, journeys.p99, '-', '-', hashes, `${Math.round((journeys.perSecond / hashes) * 100)}%`])}\n`);
  process.stdout.write(`CPU per answer, server + load generator (ms): ${rows.map((r) => `${r.op} ${r.cpuMs} (event loop ${r.loopCpuMs})+${r.loadCpuMs} (ceiling ${r.ceilingCpuMs}+${r.ceilingLoadCpuMs}, peer ${r.peerCpuMs}+${r.peerLoadCpuMs})`).join('; ')}\n\n`);
  process.stdout.write(`ceilings: RS256 signatures/s on all cores ${sigLimit}; bare Fastify ${bareStatic.rps}/s; + 1 signature ${bareSign1.rps}/s; + 2 signatures ${bareSign2.rps}/s; scrypt 2^${PASSWORD_COST} hashes/s ${hashes}\n`);
  process.stdout.write(`Latchkey: first answer ${Math.round(startupMs)} ms after start; RSS idle ${idleRss} MB, under load ${loadRss} MB; errors: ${rows.map((r) => `${r.op} ${r.errors}`).join(', ')}; peer errors: ${rows.map((r) => `${r.op} ${r.peerErrors}`).join(', ')}\n`);
  process.stdout.write(`one sign-in in progress: client_credentials at ${delay.rate}/s, p99 ${delay.quietP99} ms alone, ${delay.busyP99} ms with a sign-in running (+${delay.addedP99} ms)\n`);
  if (large) {
    const loss = (op: 'client_credentials' | 'refresh_token' | 'authorization_code') => Math.round((1 - large![op].rps / lkResults[op].rps) * 100);
    process.stdout.write(`100,000 users and 1,000,000 refresh tokens: client_credentials ${large.client_credentials.rps}/s (${loss('client_credentials')}% loss), refresh_token ${large.refresh_token.rps}/s (${loss('refresh_token')}% loss), authorization_code ${large.authorization_code.rps}/s (${loss('authorization_code')}% loss)\n`);
  }
  Object.assign(results, { delay, large, machine, connections: CONNECTIONS, seconds: DURATION, rounds: ROUNDS, rows, journeys, ceilings: { signaturesPerSecond: sigLimit, bareStatic, bareSign1, bareSign2, hashesPerSecond: hashes }, startupMs: Math.round(startupMs), idleRss, loadRss, at: new Date().toISOString() });
  writeFileSync(join(root, 'bench', 'results.json'), JSON.stringify(results, null, 2) + '\n');
}

function hash(v: string): string {
  return createHash('sha256').update(v).digest('base64url');
}

/** Complete sign-ins over HTTP (authorize → sign-in page → form post → code → token), concurrently. */
async function signInJourneys(base: string, clientId: string, secret: string, opts: { concurrency?: number; until?: () => boolean } = {}): Promise<{ perSecond: number; p99: number }> {
  const concurrency = opts.concurrency ?? Math.max(2, availableParallelism() * 2);
  const end = Date.now() + DURATION * 2 * 1000;
  const going = opts.until ?? (() => Date.now() < end);
  const times: number[] = [];
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (going()) {
      const t = performance.now();
      const cookie: string[] = [];
      const go = async (url: string, init: RequestInit = {}) => {
        const r = await fetch(url, { ...init, redirect: 'manual', headers: { ...(init.headers as Record<string, string>), cookie: cookie.join('; ') } });
        for (const c of r.headers.getSetCookie()) cookie.push(c.split(';')[0]!);
        return r;
      };
      const a = await go(`${base}/demo/B2C_1_signin/oauth2/v2.0/authorize?${form({ client_id: clientId, redirect_uri: CB, response_type: 'code', scope: 'openid' })}`);
      const journey = new URL(a.headers.get('location')!, base).toString();
      const page = await (await go(journey)).text();
      const csrf = /name="csrf" value="([^"]+)"/.exec(page)![1]!;
      const done = await go(journey, { method: 'POST', headers: FORM, body: form({ csrf, email: 'bench@example.com', password: 'bench-password-1', action: 'signin' }) });
      const code = new URL(done.headers.get('location')!).searchParams.get('code');
      if (!code) throw new Error('journey did not return a code');
      const tok = await fetch(`${base}/demo/B2C_1_signin/oauth2/v2.0/token`, { method: 'POST', headers: FORM, body: form({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: clientId, client_secret: secret }) });
      if (tok.status !== 200) throw new Error(`token answered ${tok.status}`);
      times.push(performance.now() - t);
    }
  }));
  return { perSecond: Math.round((times.length / (DURATION * 2)) * 10) / 10, p99: Math.round(times.sort((x, y) => x - y)[Math.floor(times.length * 0.99)] ?? 0) };
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`bench: ${err instanceof Error ? err.stack : String(err)}\n`);
    process.exit(1);
  },
);
