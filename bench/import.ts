// `npm run bench:import`: 100,000 users in Microsoft Graph's shape (as `GET /v1.0/users` returns them
// from B2C: email and user-name identities side by side, federated identities with otherMails,
// extension attributes), imported by the built CLI into an empty database, as an operator moving off
// B2C runs it; then the same file again (the idempotent re-run). Into SQLite, then into PostgreSQL (a
// throwaway cluster, as the tests start one; BENCH_IMPORT_POSTGRES=off leaves it out). Prints the wall
// time of each and users per second.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDatabase, startPostgres } from '../test/helpers/postgres-cluster.js';

const USERS = Number(process.env.BENCH_IMPORT_USERS ?? 100_000);
const APP_ID = 'b9d9a3e7c2f14bd0a3cf0d5a1e6f4c21';
const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'latchkey.js');
const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-import-'));
const base = { PATH: process.env.PATH, LATCHKEY_POLICIES_DIR: join(dir, 'policies'), LATCHKEY_LOG_LEVEL: 'silent' };

/** A quarter each: an email account; an email and a user name; a Google account (address in otherMails); an email account with a Facebook identity. */
function user(i: number): string {
  const kind = i % 4;
  const identities: Record<string, string>[] = [{ signInType: 'userPrincipalName', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `u${i}@contoso.onmicrosoft.com` }];
  if (kind !== 2) identities.push({ signInType: 'emailAddress', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `user${i}@example.com` });
  if (kind === 1) identities.push({ signInType: 'userName', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `user${i}` });
  if (kind >= 2) identities.push({ signInType: 'federated', issuer: kind === 2 ? 'google.com' : 'facebook.com', issuerAssignedId: String(1e9 + i) });
  return JSON.stringify({
    id: randomUUID(),
    displayName: `User ${i}`,
    givenName: 'User',
    surname: String(i),
    mail: null,
    otherMails: kind === 2 ? [`user${i}@gmail.com`] : [],
    accountEnabled: true,
    createdDateTime: '2021-06-01T10:00:00Z',
    identities,
    country: 'NL',
    [`extension_${APP_ID}_loyaltyTier`]: 'gold',
    [`extension_${APP_ID}_memberNumber`]: i,
  });
}

function timed(env: NodeJS.ProcessEnv, args: string[]): { ms: number; out: Record<string, unknown> } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`latchkey ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, out: JSON.parse(r.stdout) as Record<string, unknown> };
}

const rate = (ms: number) => Math.round(USERS / (ms / 1000)).toLocaleString('en-US');

function bench(label: string, env: NodeJS.ProcessEnv, file: string): void {
  timed(env, ['tenant', 'create', 'contoso', '--json']);
  const first = timed(env, ['user', 'import', '--tenant', 'contoso', file, '--json']);
  const again = timed(env, ['user', 'import', '--tenant', 'contoso', file, '--json']);
  console.log(`${label}, import into an empty tenant: ${(first.ms / 1000).toFixed(1)} s (${rate(first.ms)} users/s) ${JSON.stringify(first.out)}`);
  console.log(`${label}, re-run of the same file:     ${(again.ms / 1000).toFixed(1)} s (${rate(again.ms)} users/s) ${JSON.stringify(again.out)}`);
}

try {
  const file = join(dir, 'users.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < USERS; i++) lines.push(user(i));
  writeFileSync(file, lines.join('\n') + '\n');
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, node ${process.version}`);
  console.log(`file: ${USERS.toLocaleString('en-US')} Graph users, ${(Buffer.byteLength(lines.join('\n')) / 1e6).toFixed(1)} MB of JSON Lines`);
  bench('SQLite', { ...base, LATCHKEY_DB: join(dir, 'latchkey.db') }, file);
  if (process.env.BENCH_IMPORT_POSTGRES !== 'off') {
    const cluster = await startPostgres();
    try {
      bench('PostgreSQL', { ...base, LATCHKEY_DATABASE_URL: await createDatabase(cluster.url, 'bench_import') }, file);
    } finally {
      await cluster.stop();
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
