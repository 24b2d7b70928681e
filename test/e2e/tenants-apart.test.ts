import { spawnSync } from 'node:child_process';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { provisionDeps } from '../../src/services/deps.js';
import { ensureDemo } from '../../src/services/tenants.js';
import { createDeps } from '../../src/runtime.js';
import { createDatabase } from '../helpers/postgres-cluster.js';
import { createApp, requireApp } from '../../src/services/apps.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { Agent, pkce, signInViaPages } from '../helpers/browserless.js';
import { waitForPolicy } from '../helpers/policies.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * A tenant's administrator reaches its own tenant and nothing more. Each test is written as the attack
 * it stops, with an Admin.ReadWrite.All daemon of the tenant and a listener that records what reaches
 * it (the attacker's server).
 */
const MASTER_KEY = 'tenants-apart-master-key-0123456789abcdef';
let s: TestServer;
let admin = '';
let native = '';
let listener: Server;
let listenerUrl = '';
const received: { path: string; headers: IncomingHttpHeaders; body: string }[] = [];
const CB = 'http://127.0.0.1:9/cb';

async function adminToken(server: TestServer, role: string): Promise<string> {
  const { app, clientSecret } = await createApp(server.provision, server.tenant, { name: `ops-${role}`, type: 'daemon' });
  await server.deps.store.addGrant({ clientId: app.clientId, apiClientId: (await requireApp(server.provision, server.tenant, ADMIN_API_URI)).clientId, kind: 'role', name: role });
  const res = await fetch(`${server.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${clientSecret!}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${ADMIN_API_URI}/.default` }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

function adminCall(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${s.baseUrl}/admin/v1/tenants/demo${path}`, {
    method,
    headers: { authorization: `Bearer ${admin}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
}

/** A signIn policy whose before-token connector calls the attacker's listener with `auth`. */
function connectorPolicy(id: string, auth: Record<string, unknown>): Record<string, unknown> {
  return { id, kind: 'signIn', apiConnectors: { preTokenIssuance: { url: `${listenerUrl}/steal`, auth, timeoutSeconds: 5 } } };
}

/** Signs Ann in through a policy (no browser needed) and returns where the browser ended up. */
async function signInThrough(policy: string): Promise<URL> {
  const { challenge } = pkce();
  const url = `${s.baseUrl}/demo/${policy}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`;
  return signInViaPages(new Agent(), s.baseUrl, url, 'ann@example.com', 'ann-password-1');
}

beforeAll(async () => {
  listener = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      // A connector's Continue, and (for the old provider's token endpoint) an access token: both say yes.
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ version: '1.0.0', action: 'Continue', access_token: 'old-token' }));
    });
  });
  await new Promise<void>((r) => listener.listen(0, '127.0.0.1', r));
  listenerUrl = `http://127.0.0.1:${(listener.address() as { port: number }).port}`;
  s = await startServer({ env: { LATCHKEY_MASTER_KEY: MASTER_KEY, LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1' } });
  admin = await adminToken(s, 'Admin.ReadWrite.All');
  native = (await s.createApp({ name: 'native', type: 'native', redirectUris: [CB] })).app.clientId;
  await s.createUser('ann@example.com', 'ann-password-1');
});

afterAll(async () => {
  await s?.close();
  await new Promise((r) => listener?.close(r));
});

describe('server secrets stay the operator\'s', () => {
  it('refuses a policy written through the admin API that names an environment variable, and never sends the master key anywhere', async () => {
    for (const env of ['LATCHKEY_MASTER_KEY', 'HOME']) {
      const res = await adminCall('PUT', '/policies/B2C_1_steal', connectorPolicy('B2C_1_steal', { type: 'bearer', token: { env } }));
      expect(res.status).toBe(400);
      const body = (await res.json()) as { problems: { path: string; message: string }[] };
      expect(body.problems[0]).toMatchObject({ path: '$.apiConnectors.preTokenIssuance.auth.token' });
      expect(body.problems[0]!.message).toContain('tenant secret');
    }
    // The operator cannot name Latchkey's own settings either: such a file never loads.
    writeFileSync(join(s.dir, 'policies', 'demo', 'B2C_1_opsteal.json'), JSON.stringify(connectorPolicy('B2C_1_opsteal', { type: 'bearer', token: { env: 'LATCHKEY_MASTER_KEY' } })));
    await expect.poll(() => s.logs.some((l) => String(l.msg).includes('B2C_1_opsteal') && String(l.reason).includes('LATCHKEY_*'))).toBe(true);
    expect((await fetch(`${s.baseUrl}/demo/B2C_1_opsteal/v2.0/.well-known/openid-configuration`)).status).toBe(404);
    expect((await fetch(`${s.baseUrl}/demo/B2C_1_steal/v2.0/.well-known/openid-configuration`)).status).toBe(404);
    // Signing in through the policies that exist sends nothing to the listener, and nothing anywhere holds the key.
    await signInThrough('B2C_1_signin');
    expect(received.filter((r) => JSON.stringify(r).includes(MASTER_KEY))).toEqual([]);
  });

  it('lets the administrator configure a connector with a tenant secret, which is written but never read back', async () => {
    expect((await adminCall('PUT', '/policies/B2C_1_tsecret', connectorPolicy('B2C_1_tsecret', { type: 'bearer', token: { secret: 'loyalty-api' } }))).status).toBe(400);
    let res = await adminCall('PUT', '/secrets/loyalty-api', { value: 'tok-7f3a9' });
    expect(res.status).toBe(200);
    expect(JSON.stringify(await res.json())).not.toContain('tok-7f3a9');
    res = await adminCall('GET', '/secrets');
    const listed = (await res.json()) as { secrets: { name: string }[] };
    expect(listed.secrets.map((x) => x.name)).toEqual(['loyalty-api']);
    expect(JSON.stringify(listed)).not.toContain('tok-7f3a9');
    // Sealed at rest under the master key.
    expect(JSON.stringify(s.db.prepare('SELECT * FROM tenant_secrets').all())).not.toContain('tok-7f3a9');

    expect((await adminCall('PUT', '/policies/B2C_1_tsecret', connectorPolicy('B2C_1_tsecret', { type: 'bearer', token: { secret: 'loyalty-api' } }))).status).toBe(200);
    await waitForPolicy(s, 'B2C_1_tsecret');
    const before = received.length;
    const back = await signInThrough('B2C_1_tsecret');
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(received.slice(before).map((r) => r.headers.authorization)).toEqual(['Bearer tok-7f3a9']);

    expect((await adminCall('DELETE', '/secrets/loyalty-api')).status).toBe(200);
    expect((await adminCall('DELETE', '/secrets/loyalty-api')).status).toBe(404);
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(audit.filter((e) => e.event.startsWith('tenant_secret_')).map((e) => e.event)).toEqual(['tenant_secret_removed', 'tenant_secret_set']);
  });
});

describe('tenant secrets from the CLI', () => {
  const cli = (args: string[], input?: string) =>
    spawnSync(process.execPath, [join(import.meta.dirname, '..', '..', 'dist', 'cli', 'latchkey.js'), ...args], {
      env: { ...process.env, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies'), LATCHKEY_MASTER_KEY: MASTER_KEY },
      input,
      encoding: 'utf8',
    });

  it('sets a secret from standard input, lists names only, and policy validate checks what policies name', async () => {
    const file = join(s.dir, 'policies', 'demo', 'B2C_1_cliconn.json');
    writeFileSync(file, JSON.stringify(connectorPolicy('B2C_1_cliconn', { type: 'basic', username: 'latchkey', password: { secret: 'crm-password' } })));
    let r = cli(['policy', 'validate', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain("$.apiConnectors.preTokenIssuance.auth.password: the tenant has no secret 'crm-password'");
    r = cli(['tenant', 'secret', 'set', '--tenant', 'demo', '--name', 'crm-password', '--value-stdin'], 'pa55-from-stdin\n');
    expect(r.status, r.stderr).toBe(0);
    r = cli(['tenant', 'secret', 'list', '--tenant', 'demo', '--json']);
    expect((JSON.parse(r.stdout) as { name: string }[]).map((x) => x.name)).toContain('crm-password');
    expect(r.stdout).not.toContain('pa55');
    expect(cli(['policy', 'validate', file]).status).toBe(0);
    // The operator's files may not name Latchkey's own settings either.
    writeFileSync(file, JSON.stringify(connectorPolicy('B2C_1_cliconn', { type: 'bearer', token: { env: 'LATCHKEY_MASTER_KEY' } })));
    r = cli(['policy', 'validate', file]);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('LATCHKEY_*');
    expect(cli(['tenant', 'secret', 'remove', '--tenant', 'demo', '--name', 'crm-password']).status).toBe(0);
    r = cli(['tenant', 'secret', 'remove', '--tenant', 'demo', '--name', 'crm-password']);
    expect(r.status).toBe(1);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await s.deps.store.findTenantSecret(s.tenant.id, 'crm-password'))).toBeUndefined();
  });
});

describe('just-in-time migration', () => {
  it('asks the old identity provider about the stored sign-in name, not what was typed', async () => {
    const user = await s.createUser('Dana.Old@Example.com', 'placeholder-password-1');
    s.db.prepare('UPDATE users SET password_hash = NULL, password_at_legacy = 1 WHERE id = ?').run(user.id);
    await s.deps.store.updateTenantSettings(s.tenant.id, { legacyRopc: { tokenUrl: `${listenerUrl}/old/B2C_1_ROPC/oauth2/v2.0/token`, clientId: 'old-app', scope: 'openid old-app' } });
    const before = received.length;
    const { challenge } = pkce();
    const url = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    // The listener answers every POST with a token-like body: the old provider says yes.
    await signInViaPages(new Agent(), s.baseUrl, url, '  DANA.OLD@example.COM ', 'the-old-password');
    const asked = received.slice(before).filter((r) => r.path.endsWith('/token'));
    expect(asked).toHaveLength(1);
    expect(new URLSearchParams(asked[0]!.body).get('username')).toBe('Dana.Old@Example.com');
    await s.deps.store.updateTenantSettings(s.tenant.id, { legacyRopc: null });
  });
});

describe('the tenant directory', () => {
  it('answers a PATCH with the new value at once, on the instance that made it', async () => {
    const appId = randomUUID();
    const patched = await adminCall('PATCH', '', { extensionsAppId: appId });
    expect(patched.status).toBe(200);
    const read = (await (await adminCall('GET', '')).json()) as { extensionsAppId: string };
    expect(read.extensionsAppId).toBe(appId.replace(/-/g, ''));
    expect((await s.deps.tenants.find('demo'))?.extensionsAppId).toBe(appId.replace(/-/g, ''));
  });

  const postgresUrl = inject('postgresUrl');
  it.skipIf(postgresUrl === '')('shows a PATCH through one PostgreSQL instance on the other', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-directory-'));
    const url = await createDatabase(postgresUrl, `directory_${randomUUID().replace(/-/g, '')}`);
    const config = loadConfig({ LATCHKEY_DATABASE_URL: url, LATCHKEY_POLICIES_DIR: join(dir, 'policies'), LATCHKEY_BASE_URL: 'http://127.0.0.1:1', LATCHKEY_PASSWORD_COST: '12' });
    const [one, two] = [await createDeps(config, { logger: pino({ level: 'silent' }), watchPolicies: false }), await createDeps(config, { logger: pino({ level: 'silent' }), watchPolicies: false })];
    const [appOne, appTwo] = [await buildApp(one), await buildApp(two)];
    try {
      for (const d of [one, two]) d.store.startBackgroundWork(() => undefined);
      const tenant = (await ensureDemo(provisionDeps(one), config.baseUrl))!;
      const { app: daemon, clientSecret } = await createApp(provisionDeps(one), tenant, { name: 'ops', type: 'daemon' });
      await one.store.addGrant({ clientId: daemon.clientId, apiClientId: (await requireApp(provisionDeps(one), tenant, ADMIN_API_URI)).clientId, kind: 'role', name: 'Admin.ReadWrite.All' });
      const tokenRes = await appOne.inject({ method: 'POST', url: '/demo/B2C_1_signin/oauth2/v2.0/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'client_credentials', scope: `${ADMIN_API_URI}/.default`, client_id: daemon.clientId, client_secret: clientSecret! }).toString() });
      const auth = { authorization: `Bearer ${(tokenRes.json() as { access_token: string }).access_token}` };
      // Instance two has the tenant cached (it answered a request about it) before instance one changes it.
      expect((await appTwo.inject({ method: 'GET', url: '/admin/v1/tenants/demo', headers: auth })).json()).toMatchObject({ extensionsAppId: null });
      expect((await two.tenants.find('demo'))?.extensionsAppId).toBeNull();
      const appId = randomUUID().replace(/-/g, '');
      expect((await appOne.inject({ method: 'PATCH', url: '/admin/v1/tenants/demo', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ extensionsAppId: appId }) })).statusCode).toBe(200);
      expect((await appTwo.inject({ method: 'GET', url: '/admin/v1/tenants/demo', headers: auth })).json()).toMatchObject({ extensionsAppId: appId });
      // Requests on instance two use the new settings too, once its notice arrived (well within the cache's second).
      await expect.poll(async () => (await two.tenants.find('demo'))?.extensionsAppId).toBe(appId);
    } finally {
      await appOne.close();
      await appTwo.close();
      await one.close();
      await two.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
