// `npm run bench:import`: 100,000 users in Microsoft Graph's shape (as `GET /v1.0/users` returns them
// from B2C: email, user-name and federated identities, extension attributes), imported by the built
// CLI into an empty database, as an operator moving off B2C runs it; then the same file again (the
// idempotent re-run). Prints the wall time of each and users per second.
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';

const USERS = Number(process.env.BENCH_IMPORT_USERS ?? 100_000);
const APP_ID = 'b9d9a3e7c2f14bd0a3cf0d5a1e6f4c21';
const root = join(import.meta.dirname, '..');
const cli = join(root, 'dist', 'cli', 'latchkey.js');
const dir = mkdtempSync(join(tmpdir(), 'latchkey-bench-import-'));
const env = { PATH: process.env.PATH, LATCHKEY_DB: join(dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(dir, 'policies'), LATCHKEY_LOG_LEVEL: 'silent' };

function user(i: number): string {
  const kind = i % 4;
  const identities: Record<string, string>[] = [{ signInType: 'userPrincipalName', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `u${i}@contoso.onmicrosoft.com` }];
  if (kind !== 1 && kind !== 2) identities.push({ signInType: 'emailAddress', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `user${i}@example.com` });
  if (kind === 1) identities.push({ signInType: 'userName', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `user${i}` });
  if (kind >= 2) identities.push({ signInType: 'federated', issuer: kind === 2 ? 'google.com' : 'facebook.com', issuerAssignedId: String(1e9 + i) });
  return JSON.stringify({
    id: randomUUID(),
    displayName: `User ${i}`,
    givenName: 'User',
    surname: String(i),
    accountEnabled: true,
    createdDateTime: '2021-06-01T10:00:00Z',
    identities,
    country: 'NL',
    [`extension_${APP_ID}_loyaltyTier`]: 'gold',
    [`extension_${APP_ID}_memberNumber`]: i,
  });
}

function timed(args: string[]): { ms: number; out: Record<string, unknown> } {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  const ms = performance.now() - t0;
  if (r.status !== 0) throw new Error(`latchkey ${args.join(' ')} failed: ${r.stderr}`);
  return { ms, out: JSON.parse(r.stdout) as Record<string, unknown> };
}

try {
  const file = join(dir, 'users.jsonl');
  const lines: string[] = [];
  for (let i = 0; i < USERS; i++) lines.push(user(i));
  writeFileSync(file, lines.join('\n') + '\n');
  timed(['tenant', 'create', 'contoso', '--json']);
  const first = timed(['user', 'import', '--tenant', 'contoso', file, '--json']);
  const again = timed(['user', 'import', '--tenant', 'contoso', file, '--json']);
  const rate = (ms: number) => Math.round(USERS / (ms / 1000)).toLocaleString('en-US');
  console.log(`machine: ${cpus()[0]?.model ?? 'unknown'} × ${cpus().length}, node ${process.version}`);
  console.log(`file: ${USERS.toLocaleString('en-US')} Graph users, ${(Buffer.byteLength(lines.join('\n')) / 1e6).toFixed(1)} MB of JSON Lines`);
  console.log(`import into an empty tenant: ${(first.ms / 1000).toFixed(1)} s (${rate(first.ms)} users/s) ${JSON.stringify(first.out)}`);
  console.log(`re-run of the same file:     ${(again.ms / 1000).toFixed(1)} s (${rate(again.ms)} users/s) ${JSON.stringify(again.out)}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
