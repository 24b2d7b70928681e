import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/model/entities.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { createApp } from '../../src/services/apps.js';
import { LAYOUT_SCRIPT_REFUSED } from '../../src/services/policies.js';
import { addTenantDomain, removeTenantDomain } from '../../src/services/tenant-domains.js';
import { createTenant } from '../../src/services/tenants.js';
import { signJwt } from '../../src/tokens/sign.js';
import { Agent, csrfOf, pkce, signInViaPages } from '../helpers/browserless.js';
import { hostFetch } from '../helpers/hosts.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * A tenant's own host over plain HTTP (the TLS side is in test/e2e/custom-domains.test.ts): which host
 * a request came to, and what that changes. Host names under `.test` reach 127.0.0.1 through the
 * client's own DNS lookup (an undici Agent), so the Host header is the name as a browser would send it.
 */
let s: TestServer;
let port: number;
let own: string;
const send = hostFetch((name) => name.endsWith('.test'), []);
const CB = 'http://127.0.0.1:9/cb';

const json = async (url: string, init?: RequestInit) => {
  const res = await send(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};

async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const rules = () => ({ baseUrl: s.baseUrl, tenantHostPattern: undefined });

async function daemonToken(at: string, tenant: Tenant, roles: string[]): Promise<{ token: string; clientId: string; secret: string }> {
  const api = (await s.deps.store.findAppByIdentifierUri(tenant.id, ADMIN_API_URI))!;
  const daemon = await createApp(s.provision, tenant, { name: `daemon-${randomUUID().slice(0, 6)}`, type: 'daemon' });
  for (const role of roles) await s.deps.store.addGrant({ clientId: daemon.app.clientId, apiClientId: api.clientId, kind: 'role', name: role });
  const res = await json(`${at}/${tenant.slug}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'client_credentials', client_id: daemon.app.clientId, client_secret: daemon.clientSecret!, scope: `${ADMIN_API_URI}/.default` }).toString(),
  });
  return { token: res.body.access_token as string, clientId: daemon.app.clientId, secret: daemon.clientSecret! };
}

beforeAll(async () => {
  s = await startServer({ env: { LATCHKEY_FORM_RATE_LIMIT: '1000' } });
  port = Number(new URL(s.baseUrl).port);
  own = `http://login.demo.test:${port}`;
  await addTenantDomain(s.provision, rules(), s.tenant, 'login.demo.test', 'test');
  await s.createUser('dee@example.com', 'dee-password-1');
  await s.createUser('eve@example.com', 'eve-password-1');
});

afterAll(async () => {
  await s?.close();
});

describe("a tenant's own host", () => {
  it('writes the issuer and endpoints with the host the request came to; any other host gets LATCHKEY_BASE_URL', async () => {
    await until('the domain', async () => (await json(`${own}/demo/v2.0/.well-known/openid-configuration`)).body.issuer === `${own}/${s.tenant.id}/v2.0/`);
    const doc = (await json(`${own}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`)).body;
    expect(doc.token_endpoint).toBe(`${own}/demo/b2c_1_signin/oauth2/v2.0/token`);
    expect(doc.end_session_endpoint).toBe(`${own}/demo/b2c_1_signin/oauth2/v2.0/logout`);
    // The shared host, and a host nobody registered, are answered with LATCHKEY_BASE_URL.
    expect((await json(`${s.baseUrl}/demo/v2.0/.well-known/openid-configuration`)).body.issuer).toBe(`${s.baseUrl}/${s.tenant.id}/v2.0/`);
    expect((await json(`http://somebody-else.test:${port}/demo/v2.0/.well-known/openid-configuration`)).body.issuer).toBe(`${s.baseUrl}/${s.tenant.id}/v2.0/`);
    // A domain matches whatever the case the client wrote.
    expect((await json(`http://LOGIN.Demo.test:${port}/demo/v2.0/.well-known/openid-configuration`)).body.issuer).toBe(`${own}/${s.tenant.id}/v2.0/`);
  });

  it('believes X-Forwarded-Host (and -Proto) only from a proxy LATCHKEY_TRUST_PROXY names, and keeps the port it wrote', async () => {
    const forwarded = { 'x-forwarded-host': 'login.demo.test:8443', 'x-forwarded-proto': 'https' };
    expect((await json(`${s.baseUrl}/demo/v2.0/.well-known/openid-configuration`, { headers: forwarded })).body.issuer).toBe(`${s.baseUrl}/${s.tenant.id}/v2.0/`);
    const behindProxy = await startServer({ env: { LATCHKEY_TRUST_PROXY: '127.0.0.1' } });
    try {
      await addTenantDomain(behindProxy.provision, { baseUrl: behindProxy.baseUrl, tenantHostPattern: undefined }, behindProxy.tenant, 'login.demo.test', 'test');
      await until('the proxied host', async () => (await json(`${behindProxy.baseUrl}/demo/v2.0/.well-known/openid-configuration`, { headers: forwarded })).body.issuer === `https://login.demo.test:8443/${behindProxy.tenant.id}/v2.0/`);
      const doc = (await json(`${behindProxy.baseUrl}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`, { headers: { 'x-forwarded-host': 'login.demo.test', 'x-forwarded-proto': 'https' } })).body;
      expect(doc.issuer).toBe(`https://login.demo.test/${behindProxy.tenant.id}/v2.0/`);
      expect(doc.authorization_endpoint).toBe('https://login.demo.test/demo/b2c_1_signin/oauth2/v2.0/authorize');
    } finally {
      await behindProxy.close();
    }
  });

  it("accepts the tenant's access tokens from either host at its APIs, introspection and revocation, and no other host's", async () => {
    const fromOwn = await daemonToken(own, s.tenant, ['User.Read.All']);
    const fromShared = await daemonToken(s.baseUrl, s.tenant, ['User.Read.All']);
    const claims = JSON.parse(Buffer.from(fromOwn.token.split('.')[1]!, 'base64url').toString('utf8')) as { iss: string };
    expect(claims.iss).toBe(`${own}/${s.tenant.id}/v2.0/`);
    const users = (at: string, token: string, query = '') => send(`${at}/demo/graph/v1.0/users${query}`, { headers: { authorization: `Bearer ${token}` } });
    expect((await users(s.baseUrl, fromOwn.token)).status).toBe(200);
    expect((await users(own, fromShared.token)).status).toBe(200);
    // Graph's next page is on the host the request came to.
    const page = (await (await users(own, fromOwn.token, '?$top=1')).json()) as Record<string, string>;
    expect(page['@odata.nextLink']!.startsWith(`${own}/demo/graph/v1.0/users?`)).toBe(true);
    expect(page['@odata.context']!.startsWith(`${own}/demo/graph/v1.0/`)).toBe(true);

    // Signed with the tenant's key but naming a host that is not the tenant's: refused.
    const keys = await s.deps.keys.forTenant(s.tenant.id);
    const now = Math.floor(Date.now() / 1000);
    const forged = await signJwt(keys, 'at+jwt', { ...JSON.parse(Buffer.from(fromOwn.token.split('.')[1]!, 'base64url').toString('utf8')), iss: `http://elsewhere.test:${port}/${s.tenant.id}/v2.0/`, iat: now, exp: now + 600, jti: randomUUID() });
    expect((await users(s.baseUrl, forged)).status).toBe(401);

    // Introspection on the shared host of the token issued on the tenant's host, then revocation on its host.
    const form = (extra: Record<string, string>) => ({ method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ client_id: fromOwn.clientId, client_secret: fromOwn.secret, token: fromOwn.token, ...extra }).toString() });
    expect((await json(`${s.baseUrl}/demo/oauth2/v2.0/introspect`, form({}))).body).toMatchObject({ active: true, iss: `${own}/${s.tenant.id}/v2.0/` });
    expect((await send(`${own}/demo/oauth2/v2.0/revoke`, form({}))).status).toBe(200);
    expect((await json(`${s.baseUrl}/demo/oauth2/v2.0/introspect`, form({}))).body).toEqual({ active: false });
    expect((await users(s.baseUrl, fromOwn.token)).status).toBe(401);
  });

  it('signs apps out with the issuer of the host, sets host-only cookies, and posts form_post answers from that host', async () => {
    const app = (await s.createApp({ name: 'fc', type: 'native', redirectUris: [CB], logoutUrl: 'http://127.0.0.1:9/logout' })).app.clientId;
    const agent = new Agent(send);
    const { challenge } = pkce();
    const authorize = (extra: Record<string, string> = {}) => `${own}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: app, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', ...extra })}`;
    const first = await agent.fetch(authorize());
    expect(first.headers.getSetCookie().every((c) => !/;\s*domain=/i.test(c))).toBe(true);
    const back = await signInViaPages(agent, own, authorize(), 'dee@example.com', 'dee-password-1');
    expect(back.searchParams.get('code')).toBeTruthy();

    const formPost = await agent.fetch(authorize({ prompt: 'none', response_mode: 'form_post' }));
    const html = await formPost.text();
    expect(html).toContain(`action="${CB}"`);
    expect(html).not.toContain(s.baseUrl);

    const signedOut = await (await agent.fetch(`${own}/demo/B2C_1_signin/oauth2/v2.0/logout`)).text();
    const frame = /<iframe[^>]+src="([^"]+)"/.exec(signedOut)?.[1]?.replace(/&amp;/g, '&');
    expect(new URL(frame!).searchParams.get('iss')).toBe(`${own}/${s.tenant.id}/v2.0/`);
  });

  it('allows layout JavaScript once a tenant has a host of its own, and runs it on that host only', async () => {
    const acme = await createTenant(s.provision, 'acme');
    const folder = join(s.dir, 'policies', 'acme');
    mkdirSync(join(folder, 'layouts'), { recursive: true });
    writeFileSync(join(folder, 'layouts', 'scripted.html'), '<!doctype html><html><head><title>Acme</title><script>window.acmeLayout = true;</script></head><body><div id="api"></div></body></html>');
    await createApp(s.provision, acme, { name: 'web', type: 'native', redirectUris: [CB] });
    const appId = (await s.deps.store.listApps(acme.id)).find((a) => a.name === 'web')!.clientId;
    s.deps.policies.list('acme');
    writeFileSync(join(folder, 'B2C_1_js.json'), JSON.stringify({ id: 'B2C_1_js', kind: 'signIn', ui: { pageLayouts: { unifiedssp: { template: 'layouts/scripted.html', javaScript: true } } } }));
    // On the shared host alone, refused at validation, and said why.
    await until('the refusal', async () => s.logs.some((l) => String(l.msg).includes('B2C_1_js.json') && String(l.msg).includes(LAYOUT_SCRIPT_REFUSED)));
    expect(s.deps.policies.get('acme', 'B2C_1_js')).toBeUndefined();

    await addTenantDomain(s.provision, rules(), acme, 'login.acme.test', 'test');
    const acmeHost = `http://login.acme.test:${port}`;
    await until('B2C_1_js on the new host', async () => (await send(`${acmeHost}/acme/B2C_1_js/v2.0/.well-known/openid-configuration`)).status === 200);

    const pageAt = async (base: string) => {
      const agent = new Agent(send);
      const { challenge } = pkce();
      const res = await agent.fetch(`${base}/acme/B2C_1_js/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: appId, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`);
      const journey = await agent.fetch(new URL(res.headers.get('location')!, base).toString());
      return { html: await journey.text(), csp: journey.headers.get('content-security-policy') ?? '' };
    };
    const onOwn = await pageAt(acmeHost);
    expect(onOwn.html).toContain('<script>window.acmeLayout = true;</script>');
    expect(onOwn.csp).toMatch(/script-src 'self' 'sha256-/);
    csrfOf(onOwn.html);
    const onShared = await pageAt(s.baseUrl);
    expect(onShared.html).not.toContain('acmeLayout');
    expect(onShared.csp).not.toContain("'sha256-");

    // Without a host of its own again: the shared host still never runs it.
    await removeTenantDomain(s.provision, acme, 'login.acme.test', 'test');
    expect((await pageAt(s.baseUrl)).html).not.toContain('acmeLayout');
  });

  it('lets the admin API add, list and remove domains, refusing what is not a host of the tenant to take', async () => {
    const { token } = await daemonToken(s.baseUrl, s.tenant, ['Admin.ReadWrite.All']);
    const call = (method: string, path: string, body?: unknown) =>
      json(`${s.baseUrl}/admin/v1/tenants/demo/domains${path}`, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const added = await call('POST', '', { host: 'id.demo.test' });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ host: 'id.demo.test', source: 'domain', issuer: `http://id.demo.test/${s.tenant.id}/v2.0/` });
    for (const host of ['https://id2.demo.test', 'id2.demo.test:443', '10.0.0.1', 'localhost', 'bad_name.test']) {
      const refused = await call('POST', '', { host });
      expect(refused.status, host).toBe(400);
      expect(String((refused.body.error as { message: string }).message), host).toMatch(/^invalid --host/);
    }
    expect((await call('GET', '')).body.domains).toEqual([expect.objectContaining({ host: 'id.demo.test' }), expect.objectContaining({ host: 'login.demo.test' })]);
    expect((await call('DELETE', '/id.demo.test')).body).toEqual({ removed: true });
    expect((await call('DELETE', '/id.demo.test')).status).toBe(404);
    // A read role may list, not add.
    const reader = await daemonToken(s.baseUrl, s.tenant, ['Admin.Read.All']);
    expect((await json(`${s.baseUrl}/admin/v1/tenants/demo/domains`, { method: 'POST', headers: { authorization: `Bearer ${reader.token}`, 'content-type': 'application/json' }, body: JSON.stringify({ host: 'x.demo.test' }) })).status).toBe(403);
  });
});
