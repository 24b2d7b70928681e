import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `latchkey user import` and `user export` as an operator moving off B2C runs them: the built CLI, a
 * Graph-shaped file of 10,000 users as `GET /v1.0/users?$select=…` returns them.
 */
const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli', 'latchkey.js');
const APP_ID = 'b9d9a3e7c2f14bd0a3cf0d5a1e6f4c21';
let dir: string;
let env: NodeJS.ProcessEnv;
let file: string;
const rows: Record<string, unknown>[] = [];

function run(args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', cwd: dir, maxBuffer: 64 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function graphUser(i: number): Record<string, unknown> {
  const id = randomUUID();
  const identities: Record<string, string>[] = [{ signInType: 'userPrincipalName', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `${id}@contoso.onmicrosoft.com` }];
  const kind = i % 4;
  if (kind === 0 || kind === 3) identities.push({ signInType: 'emailAddress', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `user${i}@example.com` });
  if (kind === 1) identities.push({ signInType: 'userName', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: `user${i}` });
  if (kind === 2 || kind === 3) identities.push({ signInType: 'federated', issuer: kind === 2 ? 'google.com' : 'facebook.com', issuerAssignedId: String(100_000_000 + i) });
  return {
    id,
    displayName: `User ${i}`,
    givenName: 'User',
    surname: String(i),
    mail: kind === 2 ? `social${i}@example.com` : null,
    accountEnabled: i % 50 !== 0,
    createdDateTime: '2021-06-01T10:00:00Z',
    identities,
    country: i % 2 === 0 ? 'NL' : 'NZ',
    [`extension_${APP_ID}_loyaltyTier`]: ['gold', 'silver', 'bronze'][i % 3],
    [`extension_${APP_ID}_memberNumber`]: 5000 + i,
  };
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-import-'));
  env = { PATH: process.env.PATH, LATCHKEY_DB: join(dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(dir, 'policies'), LATCHKEY_LOG_LEVEL: 'silent' };
  expect(run(['tenant', 'create', 'contoso', '--json']).code).toBe(0);
  for (let i = 0; i < 10_000; i++) rows.push(graphUser(i));
  const lines = rows.map((r) => JSON.stringify(r));
  // A line that is not JSON, and a user whose id is not an object id: reported, the rest imported.
  lines.splice(1234, 0, '{"id": "broken",');
  lines.splice(5678, 0, JSON.stringify({ ...graphUser(99_999), id: 'not-a-guid' }));
  file = join(dir, 'users.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function exported(extra: string[] = []): Map<string, Record<string, unknown>> {
  const r = run(['user', 'export', '--tenant', 'contoso', ...extra]);
  expect(r.code).toBe(0);
  return new Map(r.stdout.trim().split('\n').map((l) => {
    const u = JSON.parse(l) as Record<string, unknown>;
    return [u.id as string, u];
  }));
}

describe('user import from a Graph-shaped file', () => {
  it('imports 10,000 users keeping ids, identities and extension attributes, and reports the bad rows', () => {
    const r = run(['user', 'import', '--tenant', 'contoso', file, '--json']);
    // Some rows failed, most went in: the counts are printed and the run succeeded (only a run that imports nothing fails).
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout) as { imported: number; updated: number; skipped: number; failed: number; report: string };
    expect(summary).toMatchObject({ imported: 10_000, updated: 0, skipped: 0, failed: 2 });
    // The report lands beside the input, wherever the command ran.
    expect(summary.report).toBe(`${file}.failed.jsonl`);
    // Progress went to standard error, as plain lines off a terminal.
    expect(r.stderr).toContain('importing users [##############################] 100% 10,002/10,002');
    const report = readFileSync(summary.report, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; reason: string });
    expect(report.map((x) => [x.line, x.reason])).toEqual([
      [1235, 'not valid JSON'],
      [5679, "id must be the user's object id (a GUID)"],
    ]);

    const users = exported();
    expect(users.size).toBe(10_000);
    for (const i of [0, 1, 2, 3, 50, 9_999]) {
      const source = rows[i]!;
      const u = users.get(source.id as string)!;
      expect(u, `user ${i}`).toBeTruthy();
      expect(u.displayName).toBe(source.displayName);
      expect(u.accountEnabled).toBe(source.accountEnabled);
      expect(u.createdDateTime).toBe('2021-06-01T10:00:00.000Z');
      expect(u.country).toBe(source.country);
      // Extension attributes keep B2C's names: the tenant learned the extensions app's id.
      expect(u[`extension_${APP_ID}_loyaltyTier`]).toBe(source[`extension_${APP_ID}_loyaltyTier`]);
      expect(u[`extension_${APP_ID}_memberNumber`]).toBe(source[`extension_${APP_ID}_memberNumber`]);
      const wanted = (source.identities as { signInType: string; issuer: string; issuerAssignedId: string }[])
        .filter((x) => x.signInType !== 'userPrincipalName')
        .map((x) => (x.signInType === 'federated' ? x : { ...x, issuer: 'contoso.onmicrosoft.com' }));
      expect(u.identities).toEqual(wanted);
      expect(u.passwordHash).toBeUndefined();
    }
    expect(JSON.parse(run(['tenant', 'list', '--json']).stdout)[0].extensions_app_id).toBe(APP_ID);
  });

  it('is idempotent: a re-run changes nothing, and an edited row is updated', () => {
    const again = JSON.parse(run(['user', 'import', '--tenant', 'contoso', file, '--json']).stdout) as Record<string, unknown>;
    expect(again).toMatchObject({ imported: 0, updated: 0, skipped: 10_000, failed: 2 });
    const edited = join(dir, 'edited.jsonl');
    writeFileSync(edited, [JSON.stringify({ ...rows[7]!, displayName: 'Renamed' }), JSON.stringify(rows[8])].join('\n'));
    const r = run(['user', 'import', '--tenant', 'contoso', edited, '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ imported: 0, updated: 1, skipped: 1, failed: 0 });
    expect(exported().get(rows[7]!.id as string)!.displayName).toBe('Renamed');
    expect(existsSync(join(dir, 'edited.jsonl.failed.jsonl'))).toBe(false);
  });

  it('reads a JSON array and a Graph list response too', () => {
    const array = join(dir, 'array.json');
    writeFileSync(array, JSON.stringify([graphUser(20_001), graphUser(20_002)]));
    expect(JSON.parse(run(['user', 'import', '--tenant', 'contoso', array, '--json']).stdout)).toMatchObject({ imported: 2, failed: 0 });
    const list = join(dir, 'list.json');
    writeFileSync(list, JSON.stringify({ '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users', value: [graphUser(20_003)] }));
    expect(JSON.parse(run(['user', 'import', '--tenant', 'contoso', list, '--json']).stdout)).toMatchObject({ imported: 1, failed: 0 });
  });

  it('fails only when nothing was imported, and writes the report beside the input, not in the working directory', () => {
    const sub = join(dir, 'exports');
    mkdirSync(sub);
    const bad = join(sub, 'bad.jsonl');
    writeFileSync(bad, ['{"id": "nope"}', 'not json'].join('\n'));
    const r = run(['user', 'import', '--tenant', 'contoso', bad, '--json']);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({ imported: 0, updated: 0, skipped: 0, failed: 2, report: `${bad}.failed.jsonl` });
    expect(existsSync(join(dir, 'bad.jsonl.failed.jsonl'))).toBe(false);
    expect(readFileSync(`${bad}.failed.jsonl`, 'utf8').trim().split('\n')).toHaveLength(2);
    // --report puts it where the operator says.
    const chosen = join(dir, 'chosen-report.jsonl');
    expect(JSON.parse(run(['user', 'import', '--tenant', 'contoso', bad, '--report', chosen, '--json']).stdout).report).toBe(chosen);
  });
});

describe('user export', () => {
  it('writes password hashes only when asked, and its output imports into another tenant unchanged', () => {
    const created = JSON.parse(run(['user', 'create', '--tenant', 'contoso', '--email', 'hash@example.com', '--password', 'hash-password-1', '--json']).stdout) as { id: string };
    expect(exported().get(created.id)!.passwordHash).toBeUndefined();
    const withHashes = exported(['--with-password-hashes']);
    expect(withHashes.get(created.id)!.passwordHash).toMatch(/^scrypt\$/);

    const out = join(dir, 'export.jsonl');
    expect(run(['user', 'export', '--tenant', 'contoso', '--with-password-hashes', '--output', out]).code).toBe(0);
    expect(run(['tenant', 'create', 'fabrikam', '--json']).code).toBe(0);
    // Same ids in two tenants are refused (an oid is unique); the reverse move goes to another database.
    const other = { ...env, LATCHKEY_DB: join(dir, 'other.db'), LATCHKEY_POLICIES_DIR: join(dir, 'other-policies') };
    expect(spawnSync(process.execPath, [cli, 'tenant', 'create', 'contoso'], { env: other, encoding: 'utf8' }).status).toBe(0);
    const moved = spawnSync(process.execPath, [cli, 'user', 'import', '--tenant', 'contoso', out, '--json'], { env: other, encoding: 'utf8', cwd: dir });
    expect(JSON.parse(moved.stdout)).toMatchObject({ imported: 10_004, failed: 0 });
    const dup = run(['user', 'import', '--tenant', 'fabrikam', out, '--json']);
    expect(JSON.parse(dup.stdout)).toMatchObject({ imported: 0, failed: 10_004 });
    // Three exports and two imports of 10,004 users by the CLI: minutes on a loaded machine, not seconds.
  }, 240_000);
});
