import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { Agent, absolute, csrfOf, pkce } from '../helpers/browserless.js';
import { freePort } from '../helpers/server.js';

/**
 * Crashes lose nothing acknowledged: sign-ups and refreshes run under load, the server is killed
 * with SIGKILL, and after a restart every answered sign-up exists, every refresh token handed out
 * (and not yet spent) works once, and SQLite's integrity check passes. SIGTERM drains and closes.
 */
const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'dist', 'main.js');
const cli = join(root, 'dist', 'cli', 'latchkey.js');
const CB = 'http://127.0.0.1:9/cb';
const dirs: string[] = [];

afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

interface Instance {
  env: NodeJS.ProcessEnv;
  base: string;
  dir: string;
}

async function prepare(passwordCost: string): Promise<Instance> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-crash-'));
  dirs.push(dir);
  const policies = join(dir, 'policies', 'demo');
  mkdirSync(policies, { recursive: true });
  cpSync(join(root, 'policies', 'demo'), policies, { recursive: true });
  const signup = JSON.parse(readFileSync(join(policies, 'B2C_1_signup.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(policies, 'B2C_1_quick.json'), JSON.stringify({ ...signup, id: 'B2C_1_quick', signUp: { attributes: [], verifyEmail: false } }));
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const env = {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_BASE_URL: base,
    LATCHKEY_DB: join(dir, 'latchkey.db'),
    LATCHKEY_POLICIES_DIR: join(dir, 'policies'),
    LATCHKEY_PASSWORD_COST: passwordCost,
    LATCHKEY_FORM_RATE_LIMIT: '100000',
    LATCHKEY_LOG_LEVEL: 'error',
  };
  return { env, base, dir };
}

async function start(i: Instance): Promise<ChildProcess> {
  const child = spawn(process.execPath, [main], { env: i.env, stdio: 'ignore' });
  for (let n = 0; ; n++) {
    try {
      if ((await fetch(`${i.base}/health`)).ok) return child;
    } catch {
      if (n > 400) throw new Error('server did not start');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}

function cliJson<T>(i: Instance, args: string[]): T {
  const r = spawnSync(process.execPath, [cli, ...args, '--json'], { env: i.env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as T;
}

async function signUp(i: Instance, clientId: string, email: string): Promise<{ acknowledged: boolean; refreshToken?: string }> {
  return (await startSignUp(i, clientId, email))();
}

/** Walks a sign-up to its last page; the returned function submits it and redeems the code. */
async function startSignUp(i: Instance, clientId: string, email: string): Promise<() => Promise<{ acknowledged: boolean; refreshToken?: string }>> {
  const agent = new Agent();
  const { verifier, challenge } = pkce();
  const res = await agent.fetch(`${i.base}/demo/B2C_1_quick/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: CB, response_type: 'code', scope: 'openid offline_access', code_challenge: challenge, code_challenge_method: 'S256' })}`);
  const journey = absolute(i.base, res.headers.get('location')!);
  const first = await (await agent.fetch(journey)).text();
  const next = await agent.post(journey, { csrf: csrfOf(first), email, action: 'send' });
  const details = await (await agent.fetch(absolute(i.base, next.headers.get('location')!))).text();
  return async () => {
  const created = await agent.post(journey, { csrf: csrfOf(details), password: 'crash-password-1', confirm: 'crash-password-1', action: 'create' });
  if (created.status !== 302) return { acknowledged: false };
  const code = new URL(created.headers.get('location')!).searchParams.get('code')!;
  // The sign-up is acknowledged now; the refresh token only once the token response arrives.
  try {
    const tok = await fetch(`${i.base}/demo/B2C_1_quick/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: CB, code_verifier: verifier }),
    });
    return { acknowledged: true, refreshToken: ((await tok.json()) as { refresh_token: string }).refresh_token };
  } catch {
    return { acknowledged: true };
  }
  };
}

function refresh(i: Instance, clientId: string, token: string): Promise<Response> {
  return fetch(`${i.base}/demo/B2C_1_quick/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'refresh_token', client_id: clientId, refresh_token: token }),
  });
}

describe('crash safety', () => {
  it('loses no acknowledged sign-up or refresh token to SIGKILL', { timeout: 120_000 }, async () => {
    const inst = await prepare('12');
    let server = await start(inst);
    const clientId = cliJson<{ client_id: string }>(inst, ['app', 'create', '--tenant', 'demo', '--name', 'load', '--type', 'native', '--redirect-uri', CB]).client_id;

    const acknowledged = new Set<string>();
    /** Refresh tokens handed out and not yet sent anywhere. */
    const unspent = new Set<string>();
    let stop = false;
    let n = 0;
    const signUps = async (w: number) => {
      while (!stop) {
        const email = `load-${w}-${n++}@example.com`;
        try {
          const r = await signUp(inst, clientId, email);
          if (r.acknowledged) acknowledged.add(email);
          if (r.refreshToken) unspent.add(r.refreshToken);
        } catch {
          // killed mid-journey: not acknowledged
        }
      }
    };
    const refreshes = async () => {
      while (!stop) {
        const token = [...unspent][0];
        if (!token) {
          await new Promise((r) => setTimeout(r, 5));
          continue;
        }
        unspent.delete(token); // sent: no longer "unspent", whatever happens next
        try {
          const res = await refresh(inst, clientId, token);
          if (res.ok) unspent.add(((await res.json()) as { refresh_token: string }).refresh_token);
        } catch {
          // killed in flight
        }
      }
    };
    const load = [0, 1, 2, 3].map(signUps).concat([refreshes(), refreshes()]);
    await new Promise((r) => setTimeout(r, 2500));
    server.kill('SIGKILL');
    await new Promise((r) => server.once('exit', r));
    stop = true;
    await Promise.all(load);
    expect(acknowledged.size).toBeGreaterThan(5);

    const db = new Database(join(inst.dir, 'latchkey.db'));
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();

    server = await start(inst);
    try {
      const users = new Set(cliJson<{ email: string }[]>(inst, ['user', 'list', '--tenant', 'demo']).map((u) => u.email));
      for (const email of acknowledged) expect(users.has(email), email).toBe(true);
      expect(unspent.size).toBeGreaterThan(0);
      for (const token of unspent) {
        const res = await refresh(inst, clientId, token);
        expect(res.status).toBe(200);
      }
    } finally {
      server.kill('SIGTERM');
      await new Promise((r) => server.once('exit', r));
    }
  });

  it('drains in-flight requests on SIGTERM and closes the database cleanly', { timeout: 60_000 }, async () => {
    const inst = await prepare('16');
    const server = await start(inst);
    const clientId = cliJson<{ client_id: string }>(inst, ['app', 'create', '--tenant', 'demo', '--name', 'drain', '--type', 'native', '--redirect-uri', CB]).client_id;
    // A sign-up hashes a password at a high cost: slow enough to be in flight when SIGTERM comes.
    const submit = await startSignUp(inst, clientId, 'drain@example.com');
    const pending = submit();
    await new Promise((r) => setTimeout(r, 30));
    const exited = new Promise<number | null>((r) => server.once('exit', (code) => r(code)));
    server.kill('SIGTERM');
    const result = await pending;
    expect(await exited).toBe(0);
    // The sign-up was answered; the code exchange after it found the server gone.
    expect(result.acknowledged).toBe(true);
    // A clean close checkpoints the WAL and removes it.
    expect(existsSync(join(inst.dir, 'latchkey.db-wal'))).toBe(false);
  });
});
