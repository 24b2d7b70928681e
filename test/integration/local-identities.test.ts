import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUsers } from '../../src/services/user-import.js';
import { createUser } from '../../src/services/users.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * A user with several local identities (an email address and a user name, a phone number) at the
 * token endpoint's password grant, under policies that take emails, user names or either; and the
 * shapes of files `user import` reads besides the common ones (PowerShell's single object, UTF-16,
 * pages in an array).
 */
let s: TestServer;
let app: string;
let jo: { id: string };

async function ropc(policy: string, username: string, password: string) {
  const res = await fetch(`${s.baseUrl}/demo/${policy}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'password', client_id: app, username, password, scope: `openid ${app}`, response_type: 'token id_token' }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const sub = (r: { body: Record<string, unknown> }) => JSON.parse(Buffer.from(String(r.body.id_token).split('.')[1]!, 'base64url').toString('utf8')).sub as string;

beforeAll(async () => {
  s = await startServer();
  for (const [id, signInName] of [['B2C_1_ROPC_email', 'email'], ['B2C_1_ROPC_name', 'username'], ['B2C_1_ROPC_either', 'emailOrUsername']]) {
    writeFileSync(join(s.dir, 'policies', 'demo', `${id}.json`), JSON.stringify({ id, kind: 'ropc', localAccount: { signInName } }));
  }
  app = (await s.createApp({ name: 'mobile', type: 'native', redirectUris: ['http://127.0.0.1:9/cb'], allowRopc: true })).app.clientId;
  jo = await createUser(s.provision, s.tenant, {
    localIdentities: [{ signInType: 'emailAddress', issuerAssignedId: 'Jo.Doe@example.com' }, { signInType: 'userName', issuerAssignedId: 'jdoe' }, { signInType: 'phoneNumber', issuerAssignedId: '+31 6 5555 0000' }],
    password: 'jo-password-1',
    displayName: 'Jo',
  }, { by: 'cli' });
  for (const id of ['B2C_1_ROPC_email', 'B2C_1_ROPC_name', 'B2C_1_ROPC_either']) {
    for (let i = 0; i < 100 && s.deps.policies.get('demo', id) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
  }
});

afterAll(async () => {
  await s?.close();
});

describe('several local identities', () => {
  it('signs in with each name where the policy takes its kind, as the same user', async () => {
    expect(sub(await ropc('B2C_1_ROPC_email', 'jo.doe@example.com', 'jo-password-1'))).toBe(jo.id);
    expect((await ropc('B2C_1_ROPC_email', 'jdoe', 'jo-password-1')).body.error).toBe('invalid_grant');
    expect(sub(await ropc('B2C_1_ROPC_name', 'JDOE', 'jo-password-1'))).toBe(jo.id);
    expect((await ropc('B2C_1_ROPC_name', 'jo.doe@example.com', 'jo-password-1')).body.error).toBe('invalid_grant');
    expect(sub(await ropc('B2C_1_ROPC_either', 'jdoe', 'jo-password-1'))).toBe(jo.id);
    expect(sub(await ropc('B2C_1_ROPC_either', 'Jo.Doe@example.com', 'jo-password-1'))).toBe(jo.id);
    // A phone number signs in with a one-time code, never a password.
    expect((await ropc('B2C_1_ROPC_either', '+31655550000', 'jo-password-1')).body.error).toBe('invalid_grant');
  });

  it('counts wrong passwords per account, whichever of its names was typed', async () => {
    for (let i = 0; i < 5; i++) expect((await ropc('B2C_1_ROPC_either', 'jdoe', 'wrong-password')).status).toBe(400);
    for (let i = 0; i < 5; i++) await ropc('B2C_1_ROPC_either', 'jo.doe@example.com', 'wrong-password');
    for (const name of ['jdoe', 'jo.doe@example.com']) {
      const r = await ropc('B2C_1_ROPC_either', name, 'jo-password-1');
      expect(r.body.error_description, name).toMatch(/temporarily locked/);
    }
    // Counted under the account's first name: the lock is the account's.
    expect((await s.deps.store.getLoginThrottle(s.tenant.id, 'jo.doe@example.com')).lockouts).toBe(1);
    expect((await s.deps.store.getLoginThrottle(s.tenant.id, 'jdoe')).lockouts).toBe(0);
    s.clock.advance(2 * 60_000);
    expect(sub(await ropc('B2C_1_ROPC_either', 'jdoe', 'jo-password-1'))).toBe(jo.id);
  });

  it('refuses the password grant to a user who must choose a new password first (no page to choose it on)', async () => {
    const fred = await createUser(s.provision, s.tenant, { localIdentities: [{ signInType: 'userName', issuerAssignedId: 'fred' }], password: 'fred-password-1', mustChangePassword: true, displayName: 'Fred' }, { by: 'cli' });
    const r = await ropc('B2C_1_ROPC_name', 'fred', 'fred-password-1');
    expect([r.status, r.body.error]).toEqual([400, 'invalid_grant']);
    expect(r.body.error_description).toMatch(/must be changed/);
    expect((await s.deps.store.findUser(s.tenant.id, fred.id))?.mustChangePassword).toBe(true);
  });

  it('refuses a name another user has, of whatever kind', async () => {
    await expect(createUser(s.provision, s.tenant, { localIdentities: [{ signInType: 'userName', issuerAssignedId: 'JDoe' }], password: 'other-password-1', displayName: 'X' }, { by: 'cli' })).rejects.toThrow("a user with user name 'JDoe' already exists");
    await expect(createUser(s.provision, s.tenant, { localIdentities: [{ signInType: 'phoneNumber', issuerAssignedId: '+31655550000' }], displayName: 'Y' }, { by: 'cli' })).rejects.toThrow("a user with phone number '+31655550000' already exists");
  });
});

describe('user import reads what PowerShell and paging scripts write', () => {
  const user = (id: string, name: string) => ({
    Id: id,
    DisplayName: name,
    AccountEnabled: true,
    CreatedDateTime: '/Date(1614852672000)/',
    Identities: [{ SignInType: 'userName', Issuer: 'demo.onmicrosoft.com', IssuerAssignedId: name, AdditionalProperties: {} }],
    OtherMails: [`${name}@example.net`],
    AdditionalProperties: { [`extension_${'ab'.repeat(16)}_tier`]: 'gold' },
  });
  const file = (name: string, content: string | Buffer) => {
    const path = join(s.dir, name);
    writeFileSync(path, content);
    return path;
  };
  const run = (path: string) => importUsers(s.provision, s.tenant, path, { reportPath: `${path}.failed.jsonl` });

  it("takes one user as PowerShell writes it alone (an object, not an array), in UTF-8 or in Windows PowerShell's UTF-16", async () => {
    const one = user('7a1b0c3d-0000-4000-8000-000000000001', 'psone');
    expect(await run(file('one.json', `\ufeff${JSON.stringify(one, null, 4)}`))).toEqual({ imported: 1, updated: 0, skipped: 0, failed: 0 });
    const two = user('7a1b0c3d-0000-4000-8000-000000000002', 'pstwo');
    const utf16 = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(two, null, 4).replace(/\n/g, '\r\n'), 'utf16le')]);
    expect(await run(file('two.json', utf16))).toEqual({ imported: 1, updated: 0, skipped: 0, failed: 0 });
    const stored = (await s.deps.store.findUserBySignInName(s.tenant.id, 'pstwo'))!;
    expect(stored).toMatchObject({ id: two.Id, otherMails: ['pstwo@example.net'], attributes: { tier: 'gold' }, createdAt: 1614852672000 });
  });

  it('takes an array of Graph pages, and reports what no row may be, with its place', async () => {
    const page = (ids: string[]) => ({ '@odata.context': 'https://graph.microsoft.com/v1.0/$metadata#users', value: ids.map((id, i) => ({ id, displayName: `p${i}`, identities: [{ signInType: 'federated', issuer: 'github.com', issuerAssignedId: id }] })) });
    const pages = [page(['7a1b0c3d-0000-4000-8000-000000000010', '7a1b0c3d-0000-4000-8000-000000000011']), page(['7a1b0c3d-0000-4000-8000-000000000012'])];
    expect(await run(file('pages.json', JSON.stringify(pages)))).toMatchObject({ imported: 3, failed: 0 });

    const cut = { ...user('7a1b0c3d-0000-4000-8000-000000000020', 'shallow'), Identities: ['Microsoft.Graph.PowerShell.Models.MicrosoftGraphObjectIdentity'] };
    const foreign = { id: '7a1b0c3d-0000-4000-8000-000000000021', identities: [{ signInType: 'emailAddress', issuer: 'contosob2c.onmicrosoft.com', issuerAssignedId: 'f@example.com' }] };
    const lines = [JSON.stringify(cut), JSON.stringify([foreign]), JSON.stringify({ value: [foreign] })].join('\n');
    const summary = await run(file('lines.jsonl', lines));
    expect(summary).toMatchObject({ imported: 0, failed: 3 });
    const { readFileSync } = await import('node:fs');
    const report = readFileSync(summary.report!, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { line: number; index?: number; reason: string });
    expect(report.map((r) => [r.line, r.index, r.reason])).toEqual([
      [1, undefined, "identities[0] is 'Microsoft.Graph.PowerShell.Models.MicrosoftGraphObjectIdentity', not an identity: ConvertTo-Json cut it off at its default depth; export again with ConvertTo-Json -Depth 5"],
      [2, undefined, 'a JSON array on one line: give one user or one Graph page per line'],
      [3, 0, "identities[0]: a local identity issued by 'contosob2c.onmicrosoft.com', but this tenant's local identities are issued by 'demo.onmicrosoft.com' (give the tenant its B2C name: latchkey tenant set --tenant demo --b2c-name contosob2c)"],
    ]);
  });
});
