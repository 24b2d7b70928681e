import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../src/resource-server/index.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { createApp, defineOnApi } from '../../src/services/apps.js';
import { addEmailDomain, removeEmailDomain } from '../../src/services/email-domains.js';
import { declarePermission, grantAdminConsent, removeEnterpriseApp } from '../../src/services/enterprise-apps.js';
import { createLocalUser } from '../../src/services/users.js';
import { rotateKeys } from '../../src/services/keys.js';
import { createTenant } from '../../src/services/tenants.js';
import { COMMON_KEY_SET, type Tenant } from '../../src/model/entities.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The rules for bad input around organizations: what a publisher may declare, what /common and the
 * admin-consent endpoint refuse (on a page, or at the app's registered redirect URI), which grants
 * /common's token endpoint takes, and the resource-server helper's options.
 */
const CB = 'http://127.0.0.1:9/cb';
const API = 'https://saas.example/reports';
let s: TestServer;
let saas: Tenant;
let contoso: Tenant;
let web = '';
let daemon = '';
let single = '';

beforeAll(async () => {
  s = await startServer();
  saas = await createTenant(s.provision, 'saas');
  contoso = await createTenant(s.provision, 'contoso');
  await addEmailDomain(s.provision, contoso, 'contoso.example');
  const api = (await createApp(s.provision, saas, { name: 'Reports', type: 'api', identifierUri: API, multiTenant: true })).app;
  await defineOnApi(s.provision, api, 'scope', 'reports.read');
  const w = (await createApp(s.provision, saas, { name: 'Reports web', type: 'web', redirectUris: [CB], multiTenant: true })).app;
  web = w.clientId;
  await declarePermission(s.provision, saas, w, API, 'scope', 'reports.read');
  const d = (await createApp(s.provision, saas, { name: 'Reports sync', type: 'daemon', redirectUris: [CB], multiTenant: true })).app;
  daemon = d.clientId;
  await declarePermission(s.provision, saas, d, ADMIN_API_URI, 'role', 'User.Read.All');
  single = (await createApp(s.provision, saas, { name: 'Single', type: 'web', redirectUris: [CB] })).app.clientId;
});

afterAll(async () => {
  await s?.close();
});

const get = (path: string, params: Record<string, string>) => fetch(`${s.baseUrl}${path}?${new URLSearchParams(params)}`, { redirect: 'manual' });
const pkce = { code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' };

describe('what a publisher may declare', () => {
  it('refuses permissions of a single-tenant app, on a single-tenant API, of the wrong kind, or undefined; and keeps email domains to one tenant', async () => {
    const api2 = (await createApp(s.provision, saas, { name: 'Local API', type: 'api', identifierUri: 'https://saas.example/local' })).app;
    await defineOnApi(s.provision, api2, 'scope', 'x');
    const webApp = (await s.deps.store.findApp(saas.id, web))!;
    const singleApp = (await s.deps.store.findApp(saas.id, single))!;
    await expect(declarePermission(s.provision, saas, singleApp, API, 'scope', 'reports.read')).rejects.toThrow('is not multi-tenant: its permissions are grants');
    await expect(declarePermission(s.provision, saas, webApp, 'https://saas.example/local', 'scope', 'x')).rejects.toThrow("the API 'https://saas.example/local' is not multi-tenant");
    await expect(declarePermission(s.provision, saas, webApp, ADMIN_API_URI, 'role', 'User.Read.All')).rejects.toThrow('roles (application permissions) are for daemon apps');
    await expect(declarePermission(s.provision, saas, webApp, API, 'scope', 'reports.write')).rejects.toThrow("does not define the scope 'reports.write'");
    await expect(defineOnApi(s.provision, api2, 'role', 'R', undefined, true)).rejects.toThrow('--admin-consent is for scopes');
    await expect(addEmailDomain(s.provision, saas, 'contoso.example')).rejects.toThrow('belongs to another tenant');
    await expect(addEmailDomain(s.provision, saas, 'saas.onmicrosoft.com')).rejects.toThrow('names its tenant already');
    await expect(addEmailDomain(s.provision, saas, 'not a domain')).rejects.toThrow("invalid --domain 'not a domain'");
    await expect(removeEmailDomain(s.provision, saas, 'contoso.example')).rejects.toThrow("tenant 'saas' has no email domain contoso.example");
    await expect(removeEnterpriseApp(s.provision, saas, web)).rejects.toThrow('is registered in tenant \'saas\' (its home)');
    await expect(removeEnterpriseApp(s.provision, contoso, web)).rejects.toThrow(`no enterprise app '${web}' in tenant 'contoso'`);
  });
});

describe('/common: the refusals', () => {
  it('shows a page for an unknown app or redirect URI, and sends other errors to the registered redirect URI', async () => {
    const unknown = await get('/common/oauth2/v2.0/authorize', { client_id: '00000000-0000-4000-8000-000000000000', redirect_uri: CB, response_type: 'code', scope: 'openid', ...pkce });
    expect(unknown.status).toBe(400);
    expect(await unknown.text()).toContain('AADSTS700016');
    const wrongUri = await get('/common/oauth2/v2.0/authorize', { client_id: web, redirect_uri: `${CB}/x`, response_type: 'code', scope: 'openid', ...pkce });
    expect(wrongUri.status).toBe(400);
    expect(wrongUri.headers.get('location')).toBeNull();
    // A scope the app did not declare, at the app, before anyone is asked for an email address.
    const undeclared = await get('/organizations/oauth2/v2.0/authorize', { client_id: web, redirect_uri: CB, response_type: 'code', scope: `openid ${API}/reports.write`, state: 'st', ...pkce });
    expect(undeclared.status).toBe(302);
    const at = new URL(undeclared.headers.get('location')!);
    expect([at.searchParams.get('error'), at.searchParams.get('state')]).toEqual(['invalid_scope', 'st']);
    // A daemon signs no one in, though it has a redirect URI (for the admin-consent answer).
    const d = await get('/common/oauth2/v2.0/authorize', { client_id: daemon, redirect_uri: CB, response_type: 'code', scope: 'openid', ...pkce });
    expect(new URL(d.headers.get('location')!).searchParams.get('error')).toBe('unauthorized_client');
  });

  it('asks for the organization, or goes to it by login_hint or domain_hint ({slug}.onmicrosoft.com too)', async () => {
    const params = { client_id: web, redirect_uri: CB, response_type: 'code', scope: 'openid', ...pkce };
    const ask = await get('/common/oauth2/v2.0/authorize', params);
    expect(ask.status).toBe(200);
    const page = await ask.text();
    expect(page).toContain('<form id="localAccountForm" method="get" action="/common/oauth2/v2.0/authorize">');
    expect(page).toContain(`<input type="hidden" name="client_id" value="${web}">`);
    for (const hint of [{ login_hint: 'ann@Contoso.example' }, { domain_hint: 'contoso.example' }, { domain_hint: 'contoso.onmicrosoft.com' }] as Record<string, string>[]) {
      const res = await get('/common/oauth2/v2.0/authorize', { ...params, ...hint });
      expect(res.status, JSON.stringify(hint)).toBe(302);
      expect(res.headers.get('location'), JSON.stringify(hint)).toMatch(/^\/contoso\/b2c_1_signupsignin\/journey\//);
    }
    const unknown = await get('/common/oauth2/v2.0/authorize', { ...params, domain_hint: 'nowhere.example' });
    expect(await unknown.text()).toContain('find an organization for &#39;nowhere.example&#39;');
    // A silent request without a session or a hint has no page to ask on.
    const silent = await get('/common/oauth2/v2.0/authorize', { ...params, prompt: 'none', state: 'quiet' });
    const answer = new URL(silent.headers.get('location')!);
    expect([answer.searchParams.get('error'), answer.searchParams.get('state')]).toEqual(['login_required', 'quiet']);
  });

  it('redeems only codes and refresh tokens at /common; other grants need the tenant', async () => {
    const post = (body: Record<string, string>) => fetch(`${s.baseUrl}/common/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
    const cc = await post({ grant_type: 'client_credentials', client_id: daemon, client_secret: 'x', scope: `${ADMIN_API_URI}/.default` });
    expect(cc.status).toBe(400);
    expect(((await cc.json()) as { error_description: string }).error_description).toMatch(/^AADSTS90002: This grant type needs a tenant/);
    const code = await post({ grant_type: 'authorization_code', client_id: web, client_secret: 'x', code: 'nope', redirect_uri: CB });
    expect(((await code.json()) as { error: string }).error).toBe('invalid_grant');
  });

  it('takes admin consent only for a multi-tenant app outside its home, for permissions it declares', async () => {
    const base = { client_id: daemon, redirect_uri: CB, state: 'ac' };
    const home = await get('/saas/v2.0/adminconsent', base);
    const homeAnswer = new URL(home.headers.get('location')!);
    expect([homeAnswer.searchParams.get('error'), homeAnswer.searchParams.get('state')]).toEqual(['invalid_request', 'ac']);
    expect(homeAnswer.searchParams.get('error_description')).toContain('its permissions there are grants');
    const notDeclared = await get('/contoso/v2.0/adminconsent', { ...base, scope: `${ADMIN_API_URI}/Admin.ReadWrite.All` });
    expect(new URL(notDeclared.headers.get('location')!).searchParams.get('error')).toBe('invalid_scope');
    const singleApp = await get('/contoso/v2.0/adminconsent', { ...base, client_id: single });
    expect(new URL(singleApp.headers.get('location')!).searchParams.get('error_description')).toMatch(/^AADSTS50194: /);
    const ok = await get('/contoso/v2.0/adminconsent', { ...base, scope: `${ADMIN_API_URI}/.default` });
    expect([ok.status, ok.headers.get('location')]).toEqual([302, expect.stringMatching(/^\/contoso\/b2c_1_signupsignin\/journey\//)]);
  });
});

describe("a daemon of another organization", () => {
  it("gets tokens for the API its permission named in its home tenant, never for this tenant's own API of the same identifier URI", async () => {
    // Contoso's own, single-tenant API, and a publisher who registers a multi-tenant API under the same
    // identifier URI: Contoso's administrator consents to the publisher's API (its name is on the
    // consent page), so the daemon's token must be for that one, not for Contoso's own.
    const URI = 'https://orders.contoso.example';
    const own = (await createApp(s.provision, contoso, { name: 'Contoso orders', type: 'api', identifierUri: URI })).app;
    await defineOnApi(s.provision, own, 'role', 'Orders.ReadWrite.All');
    const evil = await createTenant(s.provision, 'lookalike');
    const decoy = (await createApp(s.provision, evil, { name: 'Harmless weather API', type: 'api', identifierUri: URI, multiTenant: true })).app;
    await defineOnApi(s.provision, decoy, 'role', 'Orders.ReadWrite.All');
    const d = await createApp(s.provision, evil, { name: 'Weather sync', type: 'daemon', multiTenant: true });
    await declarePermission(s.provision, evil, d.app, URI, 'role', 'Orders.ReadWrite.All');
    const admin = await createLocalUser(s.provision, contoso, { email: 'cid@contoso.example', password: 'Cid-password-1' }, { by: 'cli' });
    await grantAdminConsent(s.deps, contoso, d.app, { user: admin, isAdmin: true }, [{ api: URI, kind: 'role', name: 'Orders.ReadWrite.All' }], '127.0.0.1');
    const res = await fetch(`${s.baseUrl}/contoso/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${d.app.clientId}:${d.clientSecret!}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${URI}/.default` }),
    });
    expect(res.status).toBe(200);
    const claims = JSON.parse(Buffer.from(((await res.json()) as { access_token: string }).access_token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(claims.aud).toBe(decoy.clientId);
    expect(claims.aud).not.toBe(own.clientId);
  });
});

describe('keys', () => {
  it("rotates the instance's keys like a tenant's: prepared, then active; every tenant's JWKS follows", async () => {
    const jwks = async (path: string) => ((await (await fetch(`${s.baseUrl}${path}`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid);
    const before = await jwks('/common/discovery/v2.0/keys');
    const next = await rotateKeys(s.provision, COMMON_KEY_SET, { prepare: true });
    s.deps.keys.invalidate(COMMON_KEY_SET);
    expect(await jwks('/common/discovery/v2.0/keys')).toEqual([...before, next.kid]);
    expect(await jwks('/contoso/discovery/v2.0/keys')).toContain(next.kid);
    await rotateKeys(s.provision, COMMON_KEY_SET);
    s.deps.keys.invalidate(COMMON_KEY_SET);
    expect((await s.deps.keys.common()).active.kid).toBe(next.kid);
  });
});

describe('the resource-server helper', () => {
  it('takes an issuer template only with allowedTenants, and allowedTenants only with a template', () => {
    expect(() => createTokenVerifier({ issuer: `${s.baseUrl}/{tenantid}/v2.0/`, audience: 'a' })).toThrow('name them in allowedTenants');
    expect(() => createTokenVerifier({ issuer: `${s.baseUrl}/${contoso.id}/v2.0/`, audience: 'a', allowedTenants: [contoso.id] })).toThrow('allowedTenants goes with an issuer template');
    expect(() => createTokenVerifier({ issuer: `${s.baseUrl}/{tenantid}/v2.0/`, audience: 'a', allowedTenants: '*' })).not.toThrow();
  });
});
