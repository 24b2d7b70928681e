import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Client secrets rotated without downtime through the built CLI, against a running server: a second
 * secret works next to the first; the first keeps working through its overlap and stops after.
 */
const root = join(import.meta.dirname, '..', '..');
let s: TestServer;
let daemon = '';
let first = '';

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies') };
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'latchkey.js'), ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function tokenStatus(secret: string): Promise<number> {
  const res = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${daemon}:${secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: 'urn:latchkey:admin/.default' }),
  });
  return res.status;
}

/** The server caches apps for a moment; a change made by another process shows within a second or two. */
async function eventually(secret: string, status: number): Promise<void> {
  for (let i = 0; i < 40; i++) {
    if ((await tokenStatus(secret)) === status) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  expect(await tokenStatus(secret)).toBe(status);
}

beforeAll(async () => {
  s = await startServer();
  const created = JSON.parse(cli(['app', 'create', '--tenant', 'demo', '--name', 'back-office', '--type', 'daemon', '--json']).stdout) as { client_id: string; client_secret: string };
  daemon = created.client_id;
  first = created.client_secret;
  expect(cli(['app', 'grant', '--tenant', 'demo', '--app', daemon, '--api', 'urn:latchkey:admin', '--role', 'User.Read.All']).code).toBe(0);
});

afterAll(async () => {
  await s?.close();
});

describe('app secret add|list|revoke', () => {
  it('rotates a secret without downtime', async () => {
    expect(await tokenStatus(first)).toBe(200);
    const added = JSON.parse(cli(['app', 'secret', 'add', '--tenant', 'demo', '--app', daemon, '--description', 'rotation 2026', '--json']).stdout) as { id: string; client_secret: string };
    await eventually(added.client_secret, 200);
    expect(await tokenStatus(first)).toBe(200);

    const list = JSON.parse(cli(['app', 'secret', 'list', '--tenant', 'demo', '--app', daemon, '--json']).stdout) as { id: string; description: string; live: boolean }[];
    expect(list.map((x) => [x.description, x.live])).toEqual([['first secret', true], ['rotation 2026', true]]);
    expect(JSON.stringify(list)).not.toContain(added.client_secret);
    const firstId = list[0]!.id;

    // An overlap: the old secret keeps working until it ends.
    const overlap = JSON.parse(cli(['app', 'secret', 'revoke', '--tenant', 'demo', '--app', daemon, '--secret-id', firstId, '--overlap-hours', '1', '--json']).stdout) as { expiresAt: string; live: boolean };
    expect(overlap.live).toBe(true);
    expect(Date.parse(overlap.expiresAt) - Date.now()).toBeGreaterThan(3_500_000);
    expect(await tokenStatus(first)).toBe(200);
    s.clock.advance(3_601_000);
    expect(await tokenStatus(first)).toBe(401);
    expect(await tokenStatus(added.client_secret)).toBe(200);
    s.clock.advance(-3_601_000);

    // Revoked at once: refused within the server's cache time.
    expect(cli(['app', 'secret', 'revoke', '--tenant', 'demo', '--app', daemon, '--secret-id', firstId]).stdout).toContain(`secret ${firstId} revoked`);
    await eventually(first, 401);
    expect(await tokenStatus(added.client_secret)).toBe(200);
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(audit.filter((e) => e.event === 'app_secret_added' || e.event === 'app_secret_revoked').length).toBe(3);
  });

  it('refuses what makes no sense, in one line', () => {
    const app = JSON.parse(cli(['app', 'create', '--tenant', 'demo', '--name', 'spa', '--type', 'spa', '--redirect-uri', 'http://localhost:3000/', '--json']).stdout) as { client_id: string };
    const r = cli(['app', 'secret', 'add', '--tenant', 'demo', '--app', app.client_id]);
    expect([r.code, r.stderr.trim()]).toEqual([1, `latchkey: app '${app.client_id}' is a public client (spa): it has no secrets (give it a web redirect URI first if a server of it signs users in)`]);
    expect(cli(['app', 'secret', 'revoke', '--tenant', 'demo', '--app', daemon, '--secret-id', 'nope']).stderr.trim()).toBe(`latchkey: app '${daemon}' has no secret 'nope'`);
    expect(cli(['app', 'secret', 'add', '--tenant', 'demo', '--app', daemon, '--expires-in-days', 'soon']).stderr.trim()).toBe('latchkey: invalid --expires-in-days: a number');
  });
});
