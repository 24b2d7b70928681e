import { Validator } from '@seriousme/openapi-schema-validator';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, requireApp } from '../../src/services/apps.js';
import { createTenant } from '../../src/services/tenants.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { provision } from '../../src/services/enterprise-apps.js';
import { consoleClientId } from '../../src/services/console-app.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createSamlApp } from '../../src/services/saml-apps.js';
import { launchBrowser } from '../helpers/browser.js';
import { newPage } from '../helpers/browser-flow.js';
import { latchkeyIdpMetadata, startSamlSp } from '../helpers/saml-sp.js';

/**
 * The admin API over real HTTP with client-credentials tokens: every resource, the roles it takes,
 * tenants kept apart, and the OpenAPI document checked by a validator and against the routes.
 */
let s: TestServer;
let rw = '';
let ro = '';
let usersOnly = '';
let foreign = '';
const base = () => `${s.baseUrl}/admin/v1/tenants/demo`;

async function tokenFor(tenantSlug: string, role: string): Promise<string> {
  const tenant = (await s.deps.store.findTenant(tenantSlug))!;
  const { app, clientSecret } = await createApp(s.provision, tenant, { name: `admin-${role}`, type: 'daemon' });
  const api = await requireApp(s.provision, tenant, ADMIN_API_URI);
  await s.deps.store.addGrant({ clientId: app.clientId, apiClientId: api.clientId, kind: 'role', name: role });
  const res = await fetch(`${s.baseUrl}/${tenantSlug}/B2C_1_signin/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${ADMIN_API_URI}/.default` }),
  });
  return ((await res.json()) as { access_token: string }).access_token;
}

async function call(method: string, path: string, token: string | undefined, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${base()}${path}`, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  const text = await res.text();
  return { status: res.status, body: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
}

beforeAll(async () => {
  s = await startServer();
  rw = await tokenFor('demo', 'Admin.ReadWrite.All');
  ro = await tokenFor('demo', 'Admin.Read.All');
  usersOnly = await tokenFor('demo', 'User.ReadWrite.All');
  await createTenant(s.provision, 'fabrikam');
  foreign = await tokenFor('fabrikam', 'Admin.ReadWrite.All');
});

afterAll(async () => {
  await s?.close();
});

describe('admin API', () => {
  it('reads and changes the tenant', async () => {
    const t = await call('GET', '', ro);
    expect(t.status).toBe(200);
    expect(t.body).toMatchObject({ id: s.tenant.id, slug: 'demo', issuer: `${s.baseUrl}/${s.tenant.id}/v2.0/`, extensionsAppId: null });
    const patched = await call('PATCH', '', rw, { extensionsAppId: 'B1C2D3E4-0000-4000-8000-00000000000A' });
    expect(patched.body.extensionsAppId).toBe('b1c2d3e400004000800000000000000a');
    expect((await call('PATCH', '', rw, { extensionsAppId: 'nope' })).body).toEqual({ error: { code: 'invalid_request', message: "invalid --extensions-app-id 'nope': the b2c-extensions-app's application id (a GUID)" } });
  });

  it('registers apps and APIs, defines scopes, grants and revokes them, and rotates client secrets', async () => {
    const web = await call('POST', '/apps', rw, { name: 'portal', type: 'web', redirectUris: ['https://portal.example/cb'] });
    expect(web.status).toBe(201);
    expect(web.body.client_secret).toMatch(/^[\w-]{43}$/);
    const webId = web.body.client_id as string;
    const api = await call('POST', '/apps', rw, { name: 'orders', type: 'api', identifierUri: 'https://orders.example' });
    const apiId = api.body.client_id as string;
    expect((await call('POST', `/apps/${apiId}/scopes`, rw, { name: 'orders.read' })).body).toEqual({ names: ['orders.read'] });
    expect((await call('GET', `/apps/${encodeURIComponent('https://orders.example')}/scopes`, ro)).body).toEqual({ names: ['orders.read'] });
    expect((await call('POST', `/apps/${webId}/grants`, rw, { api: apiId, kind: 'scope', name: 'orders.read' })).body).toEqual({ grants: [{ api: apiId, kind: 'scope', name: 'orders.read' }] });
    expect((await call('GET', `/apps/${webId}/grants`, ro)).body.grants).toHaveLength(1);
    expect((await call('DELETE', `/apps/${webId}/grants/${apiId}/scope/orders.read`, rw)).body).toEqual({ grants: [] });
    const undefinedScope = await call('POST', `/apps/${webId}/grants`, rw, { api: apiId, kind: 'scope', name: 'orders.write' });
    expect([undefinedScope.status, (undefinedScope.body.error as { message: string }).message]).toEqual([400, expect.stringContaining("does not define the scope 'orders.write'")]);
    const list = await call('GET', '/apps', ro);
    expect((list.body.apps as { client_id: string }[]).map((a) => a.client_id)).toEqual(expect.arrayContaining([webId, apiId]));
    expect((await call('GET', `/apps/${webId}`, ro)).body).toMatchObject({ client_id: webId, name: 'portal', type: 'web' });
    expect((await call('GET', '/apps/00000000-0000-4000-8000-000000000000', ro)).status).toBe(404);

    const added = await call('POST', `/apps/${webId}/secrets`, rw, { description: 'rotation', expiresInDays: 90 });
    expect(added.status).toBe(201);
    expect(added.body).toMatchObject({ description: 'rotation', live: true, client_secret: expect.stringMatching(/^[\w-]{43}$/) });
    const secrets = (await call('GET', `/apps/${webId}/secrets`, ro)).body.secrets as { id: string; client_secret?: string }[];
    expect(secrets).toHaveLength(2);
    expect(secrets.every((x) => x.client_secret === undefined)).toBe(true);
    const revoked = await call('DELETE', `/apps/${webId}/secrets/${secrets[0]!.id}?overlapHours=2`, rw);
    expect(revoked.body).toMatchObject({ id: secrets[0]!.id, live: true });
  });

  it("lists the tenant's enterprise apps with their home tenant and removes one; another tenant's are not its to remove", async () => {
    const fabrikam = (await s.deps.store.findTenant('fabrikam'))!;
    const multi = (await createApp(s.provision, fabrikam, { name: 'Fabrikam Sync', type: 'daemon', multiTenant: true })).app;
    await provision(s.deps, s.tenant, multi, { by: 'test' });
    expect((await call('GET', '/enterprise-apps', ro)).body).toEqual({
      enterpriseApps: [{ client_id: multi.clientId, name: 'Fabrikam Sync', type: 'daemon', home_tenant: 'fabrikam', enterprise_app: true, admin_consent: null, created_at: expect.any(String) }],
    });
    expect((await call('DELETE', `/enterprise-apps/${multi.clientId}`, ro)).status).toBe(403);
    const foreignDelete = await fetch(`${s.baseUrl}/admin/v1/tenants/demo/enterprise-apps/${multi.clientId}`, { method: 'DELETE', headers: { authorization: `Bearer ${foreign}` } });
    expect(foreignDelete.status).toBe(401);
    expect((await call('DELETE', `/enterprise-apps/${multi.clientId}`, rw)).body).toEqual({ removed: true });
    expect((await call('GET', '/enterprise-apps', ro)).body).toEqual({ enterpriseApps: [] });
    expect((await call('DELETE', `/enterprise-apps/${multi.clientId}`, rw)).status).toBe(404);
  });

  it('registers SAML apps by entity id and ACS URL and by metadata, lists, reads and removes them; the registered SPs are signed in, a removed one is refused', async () => {
    const [sp, signer, browser] = await Promise.all([startSamlSp(), startSamlSp(), launchBrowser()]);
    try {
      const byHand = await call('POST', '/saml-apps', rw, { name: 'Wiki', entityId: sp.entityId, acsUrls: [sp.acsUrl], sloUrl: sp.sloUrl, nameId: 'email' });
      expect(byHand.status, JSON.stringify(byHand.body)).toBe(201);
      const idpMetadataUrl = `${s.baseUrl}/demo/b2c_1_signupsignin/samlp/metadata`;
      expect(byHand.body).toEqual({
        client_id: expect.stringMatching(/^[0-9a-f-]{36}$/), name: 'Wiki', type: 'saml', entity_id: sp.entityId, acs_urls: [sp.acsUrl], slo_url: sp.sloUrl,
        name_id: 'email', require_signed_requests: false, signing_certificates: 0, idp_metadata_url: idpMetadataUrl, created_at: expect.any(String),
      });
      // From the SP's own metadata document: its ACS URL and signing certificate, and signed requests required (AuthnRequestsSigned).
      const fromMetadata = await call('POST', '/saml-apps', rw, { name: 'Portal', metadataXml: signer.metadata({ signing: true }) });
      expect(fromMetadata.status, JSON.stringify(fromMetadata.body)).toBe(201);
      expect(fromMetadata.body).toMatchObject({ type: 'saml', entity_id: signer.entityId, acs_urls: [signer.acsUrl], name_id: 'persistent', require_signed_requests: true, signing_certificates: 1, idp_metadata_url: idpMetadataUrl });
      const wikiId = byHand.body.client_id as string;
      const portalId = fromMetadata.body.client_id as string;

      const listed = await call('GET', '/saml-apps', ro);
      expect(listed.status).toBe(200);
      expect((listed.body.samlApps as { client_id: string }[]).map((a) => a.client_id)).toEqual(expect.arrayContaining([wikiId, portalId]));
      expect((await call('GET', `/saml-apps/${wikiId}`, ro)).body).toEqual(byHand.body);
      // SAML apps are not OAuth apps: the OpenID app routes do not know them.
      expect((await call('GET', `/apps/${wikiId}`, ro)).status).toBe(404);

      // Both SPs get a signed Response at their ACS, with the IdP metadata URL of the answer: the one by
      // hand IdP-initiated (its registered NameID format, email), the one from metadata SP-initiated with
      // a signed request, from the SSO session.
      await s.createUser('saml-admin@example.com', 'saml-admin-pass-1', { givenName: 'Sam', familyName: 'Lee', displayName: 'Sam Lee' });
      const idp = await latchkeyIdpMetadata(idpMetadataUrl);
      sp.configure(idp, { unsolicited: true });
      signer.configure(idp, { binding: 'HTTP-POST', sign: true });
      const { context, page } = await newPage(browser);
      await page.goto(`${s.baseUrl}/demo/B2C_1_signupsignin/generic/login?EntityId=${encodeURIComponent(sp.entityId)}&RelayState=wiki`);
      await page.getByLabel('Email Address').fill('saml-admin@example.com');
      await page.getByLabel('Password').fill('saml-admin-pass-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${sp.url}/acs`);
      expect(sp.results.at(-1)).toMatchObject({ relayState: 'wiki', profile: { nameID: 'saml-admin@example.com', issuer: idp.entityId } });
      expect(sp.results.at(-1)!.error).toBeUndefined();
      await page.goto(`${signer.url}/login?relay=portal`);
      await page.waitForURL(`${signer.url}/acs`);
      expect(signer.results.at(-1)!.error).toBeUndefined();
      expect(signer.results.at(-1)!.relayState).toBe('portal');
      await context.close();

      // Writes need Admin.ReadWrite.All; another tenant's SAML app is not found from here, nor removed.
      expect((await call('POST', '/saml-apps', ro, { name: 'Read only', entityId: 'https://ro.example/sp', acsUrls: ['https://ro.example/acs'] })).status).toBe(403);
      expect((await call('DELETE', `/saml-apps/${wikiId}`, ro)).status).toBe(403);
      const fabrikam = (await s.deps.store.findTenant('fabrikam'))!;
      const theirs = await createSamlApp({ store: s.deps.store, audit: s.deps.audit, clock: s.clock, fetch: (u, i) => fetch(u, i) }, fabrikam, { name: 'Theirs', entityId: 'https://theirs.example/sp', acsUrls: ['https://theirs.example/acs'] });
      for (const method of ['GET', 'DELETE']) {
        const r = await call(method, `/saml-apps/${theirs.clientId}`, rw);
        expect([r.status, (r.body.error as { code: string }).code], method).toEqual([404, 'not_found']);
      }
      expect(await s.deps.store.findSamlApp(fabrikam.id, theirs.clientId)).toBeDefined();
      expect((await call('GET', '/saml-apps/not-an-id', ro)).status).toBe(404);

      // Removed: gone from the list, audited with the calling client, and the SSO endpoint refuses its entity id.
      expect((await call('DELETE', `/saml-apps/${wikiId}`, rw)).body).toEqual({ removed: true });
      expect((await call('GET', `/saml-apps/${wikiId}`, ro)).status).toBe(404);
      expect((await call('DELETE', `/saml-apps/${wikiId}`, rw)).status).toBe(404);
      expect(((await call('GET', '/saml-apps', ro)).body.samlApps as { client_id: string }[]).map((a) => a.client_id)).not.toContain(wikiId);
      const caller = (JSON.parse(Buffer.from(rw.split('.')[1]!, 'base64url').toString('utf8')) as { client_id: string }).client_id;
      const events = (await call('GET', '/audit-events?limit=1000', ro)).body.events as { event: string; clientId: string; detail: string }[];
      expect(events.find((e) => e.event === 'app_removed' && e.clientId === wikiId)?.detail).toBe(`saml Wiki (${sp.entityId}) by admin API (${caller})`);
      expect(events.find((e) => e.event === 'app_created' && e.clientId === portalId)?.detail).toBe(`saml Portal (${signer.entityId}) by admin API (${caller})`);
      sp.configure(idp);
      const login = await fetch(`${sp.url}/login`, { redirect: 'manual' });
      const refused = await fetch(login.headers.get('location')!, { headers: { accept: 'text/html' }, redirect: 'manual' });
      const html = await refused.text();
      expect(refused.status).toBe(400);
      expect(html).toContain('is not registered in this tenant');
      expect(html).not.toContain('SAMLResponse');
      const idpInitiated = await fetch(`${s.baseUrl}/demo/B2C_1_signupsignin/generic/login?EntityId=${encodeURIComponent(sp.entityId)}`, { headers: { accept: 'text/html' }, redirect: 'manual' });
      expect(idpInitiated.status).toBe(400);
    } finally {
      await browser.close();
      await Promise.all([sp.close(), signer.close()]);
    }
  });

  it('refuses a SAML app it cannot register with a 400 in the admin error shape, as the CLI refuses it', async () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ name: 'Plain', entityId: 'https://plain.example/sp', acsUrls: ['http://plain.example/acs'] }, 'use https'],
      [{ name: 'No ACS', entityId: 'https://noacs.example/sp' }, 'needs at least one --acs-url'],
      [{ name: 'Empty ACS', entityId: 'https://noacs.example/sp', acsUrls: [] }, 'needs at least one --acs-url'],
      [{ name: 'Relative', entityId: 'https://rel.example/sp', acsUrls: ['/acs'] }, 'an absolute URL'],
      [{ name: 'Nothing' }, 'exactly one of'],
      [{ name: 'Both', entityId: 'https://both.example/sp', acsUrls: ['https://both.example/acs'], metadataXml: '<x/>' }, 'exactly one of'],
      [{ name: 'Not metadata', metadataXml: '<html>no</html>' }, "the service provider's metadata cannot be used"],
      [{ name: 'Unsigned', entityId: 'https://unsigned.example/sp', acsUrls: ['https://unsigned.example/acs'], requireSignedRequests: true }, 'signing certificate'],
      // Fetched through the outbound client, which refuses private addresses (LATCHKEY_OUTBOUND_ALLOW is not set here).
      [{ name: 'Private', metadataUrl: `${s.baseUrl}/demo/B2C_1_signin/samlp/metadata` }, 'cannot be fetched'],
      [{ name: 'Format', entityId: 'https://fmt.example/sp', acsUrls: ['https://fmt.example/acs'], nameId: 'x509' }, 'nameId'],
      [{ name: 'Extra', entityId: 'https://extra.example/sp', acsUrls: ['https://extra.example/acs'], colour: 'blue' }, 'colour'],
    ];
    for (const [body, text] of cases) {
      const r = await call('POST', '/saml-apps', rw, body);
      expect([r.status, Object.keys(r.body), (r.body.error as { code: string }).code], String(body.name)).toEqual([400, ['error'], 'invalid_request']);
      expect((r.body.error as { message: string }).message, String(body.name)).toContain(text);
    }
    const first = await call('POST', '/saml-apps', rw, { name: 'Once', entityId: 'https://once.example/sp', acsUrls: ['https://once.example/acs'] });
    expect(first.status).toBe(201);
    const twice = await call('POST', '/saml-apps', rw, { name: 'Twice', entityId: 'https://once.example/sp', acsUrls: ['https://once.example/acs'] });
    expect([twice.status, (twice.body.error as { message: string }).message]).toEqual([400, expect.stringContaining('already exists')]);
    const malformed = await fetch(`${base()}/saml-apps`, { method: 'POST', headers: { authorization: `Bearer ${rw}`, 'content-type': 'application/json' }, body: '{"name":' });
    expect(malformed.status).toBe(400);
  });

  it("keeps another tenant's console app id: an app registered with it is refused, and that tenant's console still signs in", async () => {
    const other = await createTenant(s.provision, 'northwind');
    s.deps.policies.list('northwind');
    const taken = await call('POST', '/apps', rw, { name: 'Lookalike', type: 'spa', clientId: consoleClientId(other.id), redirectUris: [`${s.baseUrl}/console/northwind/callback`], multiTenant: true });
    expect(taken.status).toBe(409);
    expect(taken.body.error).toMatchObject({ code: 'conflict', message: expect.stringContaining("reserved for a tenant's web console app") });
    const signIn = await fetch(`${s.baseUrl}/console/northwind/signin`, { redirect: 'manual' });
    expect(signIn.status).toBe(303);
    expect(new URL(signIn.headers.get('location')!, s.baseUrl).searchParams.get('client_id')).toBe(consoleClientId(other.id));
  });

  it('changes an app registration (PATCH): platforms side by side, an exposed API, each list replaced', async () => {
    const created = await call('POST', '/apps', rw, { name: 'shop', type: 'spa', redirectUris: ['https://shop.example/'], webRedirectUris: ['https://shop.example/signin-oidc'] });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ type: 'spa', platforms: { spa: { redirect_uris: ['https://shop.example/'] }, web: { redirect_uris: ['https://shop.example/signin-oidc'] } } });
    const id = created.body.client_id as string;
    const patched = await call('PATCH', `/apps/${id}`, rw, { spaRedirectUris: ['https://shop.example/', 'http://localhost:5173/'], publicClientRedirectUris: ['msauth.com.shop://auth'], identifierUri: 'api://shop', name: 'Shop' });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect(patched.body).toMatchObject({
      name: 'Shop',
      redirect_uris: ['https://shop.example/signin-oidc', 'https://shop.example/', 'http://localhost:5173/', 'msauth.com.shop://auth'],
      platforms: {
        web: { redirect_uris: ['https://shop.example/signin-oidc'] },
        spa: { redirect_uris: ['https://shop.example/', 'http://localhost:5173/'] },
        public_client: { redirect_uris: ['msauth.com.shop://auth'] },
      },
      identifier_uri: 'api://shop',
      scopes: [],
      roles: [],
    });
    // The app's own API takes scopes now; the registration reads back as written.
    expect((await call('POST', `/apps/${id}/scopes`, rw, { name: 'cart.read' })).body).toEqual({ names: ['cart.read'] });
    expect((await call('GET', `/apps/${id}`, ro)).body).toMatchObject({ ...patched.body, scopes: ['cart.read'] });
    // An empty list removes a platform.
    expect((await call('PATCH', `/apps/${id}`, rw, { publicClientRedirectUris: [] })).body.platforms).not.toHaveProperty('public_client');

    const twice = await call('PATCH', `/apps/${id}`, rw, { webRedirectUris: ['https://shop.example/signin-oidc', 'http://localhost:5173/'] });
    expect([twice.status, (twice.body.error as { message: string }).message]).toEqual([400, expect.stringContaining("is registered as an SPA redirect URI already")]);
    expect((await call('PATCH', `/apps/${id}`, rw, { identifierUri: 'https://orders.example' })).status).toBe(409);
    expect((await call('PATCH', `/apps/${id}`, rw, { colour: 'blue' })).status).toBe(400);
    expect((await call('PATCH', `/apps/${id}`, ro, { name: 'Read only' })).status).toBe(403);
    const admin = (await call('GET', `/apps/${encodeURIComponent(ADMIN_API_URI)}`, ro)).body.client_id as string;
    expect((await call('PATCH', `/apps/${admin}`, rw, { name: 'Mine now' })).status).toBe(400);
  });

  it('rotates and retires signing keys', async () => {
    const before = (await call('GET', '/keys', ro)).body.keys as { kid: string; status: string }[];
    expect(before.filter((k) => k.status === 'active')).toHaveLength(1);
    const after = (await call('POST', '/keys/rotate', rw, { graceHours: 1 })).body.keys as { kid: string; status: string }[];
    expect(after.find((k) => k.status === 'active')!.kid).not.toBe(before.find((k) => k.status === 'active')!.kid);
    const old = after.find((k) => k.status === 'grace')!.kid;
    // The replaced key still verifies what it signed; new tokens are signed with the new key at once.
    const previous = ro;
    expect((await call('GET', '/keys', previous)).status).toBe(200);
    rw = await tokenFor('demo', 'Admin.ReadWrite.All');
    ro = await tokenFor('demo', 'Admin.Read.All');
    usersOnly = await tokenFor('demo', 'User.ReadWrite.All');
    expect((await call('DELETE', `/keys/${old}`, rw)).body).toEqual({ retired: [old] });
    const active = after.find((k) => k.status === 'active')!.kid;
    expect((await call('DELETE', `/keys/${active}`, rw)).status).toBe(400);
    // Once retired, what the old key signed no longer verifies.
    expect((await call('GET', '/keys', previous)).status).toBe(401);
    expect((await call('GET', '/keys', ro)).status).toBe(200);
    // Two steps: a prepared key is published and listed as next, signs nothing, and the next rotation makes it active.
    const prepared = (await call('POST', '/keys/rotate', rw, { prepare: true })).body.keys as { kid: string; status: string }[];
    const next = prepared.find((k) => k.status === 'next')!.kid;
    expect(prepared.find((k) => k.status === 'active')!.kid).toBe(active);
    expect((await call('DELETE', `/keys/${next}`, rw)).status).toBe(400);
    expect((await call('POST', '/keys/rotate', rw, { prepare: true })).status).toBe(409);
    const promoted = (await call('POST', '/keys/rotate', rw, {})).body.keys as { kid: string; status: string }[];
    expect(promoted.find((k) => k.status === 'active')!.kid).toBe(next);
    expect(promoted.find((k) => k.kid === active)!.status).toBe('grace');
  });

  it('reads, validates and writes policies with the file watcher\'s checks', async () => {
    const policies = (await call('GET', '/policies', ro)).body.policies as { id: string }[];
    expect(policies.map((p) => p.id)).toContain('B2C_1_signin');
    const signin = (await call('GET', '/policies/B2C_1_signin', ro)).body;
    expect(signin.kind).toBe('signIn');
    const bad = await call('POST', '/policies/B2C_1_api_made/validate', ro, { ...signin, id: 'B2C_1_api_made', tokens: { idTokenMinutes: 2 } });
    expect(bad.body).toMatchObject({ valid: false, problems: [{ path: '$.tokens.idTokenMinutes' }] });
    const refused = await call('PUT', '/policies/B2C_1_api_made', rw, { ...signin, id: 'B2C_1_other_name' });
    expect(refused.status).toBe(400);
    expect(refused.body.problems).toEqual([{ path: '$.id', message: 'must match the file name (B2C_1_api_made)' }]);
    const written = await call('PUT', '/policies/B2C_1_api_made', rw, { ...signin, id: 'B2C_1_api_made', ui: { title: 'Made by the API' } });
    expect(written.body).toEqual({ valid: true, problems: [] });
    for (let i = 0; i < 100; i++) {
      if ((await fetch(`${s.baseUrl}/demo/B2C_1_api_made/v2.0/.well-known/openid-configuration`)).status === 200) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    expect((await fetch(`${s.baseUrl}/demo/B2C_1_api_made/v2.0/.well-known/openid-configuration`)).status).toBe(200);
  });

  it('pages through audit events, filtered by event', async () => {
    const first = await call('GET', '/audit-events?limit=2', ro);
    const events = first.body.events as { id: number }[];
    expect(events).toHaveLength(2);
    expect(events[0]!.id).toBeGreaterThan(events[1]!.id);
    const second = await call('GET', `/audit-events?limit=2&before=${String(first.body.nextBefore)}`, ro);
    expect((second.body.events as { id: number }[])[0]!.id).toBeLessThan(events[1]!.id);
    const grants = (await call('GET', '/audit-events?event=app_grant', ro)).body.events as { event: string; clientId: string }[];
    expect(grants.length).toBeGreaterThan(0);
    expect(grants.every((e) => e.event === 'app_grant')).toBe(true);
    expect((await call('GET', '/audit-events?limit=0', ro)).status).toBe(400);
  });

  it('needs a token (401), the right role (403), and the token\'s own tenant', async () => {
    const none = await call('GET', '/apps', undefined);
    expect([none.status, (none.body.error as { code: string }).code]).toEqual([401, 'invalid_token']);
    const roPost = await call('POST', '/apps', ro, { name: 'x', type: 'daemon' });
    expect(roPost.status, JSON.stringify(roPost.body)).toBe(403);
    expect((await call('GET', '/apps', usersOnly)).status).toBe(403);
    expect((await call('GET', '/apps', foreign)).status).toBe(401);
    const own = await fetch(`${s.baseUrl}/admin/v1/tenants/fabrikam/apps`, { headers: { authorization: `Bearer ${foreign}` } });
    expect(own.status).toBe(200);
    const demoApps = ((await call('GET', '/apps', ro)).body.apps as { client_id: string }[]).map((a) => a.client_id);
    const fabrikamApps = ((await own.json()) as { apps: { client_id: string }[] }).apps.map((a) => a.client_id);
    expect(fabrikamApps.some((id) => demoApps.includes(id))).toBe(false);
    const malformed = await fetch(`${base()}/apps`, { method: 'POST', headers: { authorization: `Bearer ${rw}`, 'content-type': 'application/json' }, body: '{"name":' });
    expect([malformed.status, ((await malformed.json()) as { error: { code: string } }).error.code]).toEqual([400, 'invalid_request']);
    const unknownField = await call('POST', '/apps', rw, { name: 'x', type: 'daemon', colour: 'blue' });
    expect([unknownField.status, (unknownField.body.error as { message: string }).message]).toEqual([400, expect.stringContaining('colour')]);
  });

  it('is described by a valid OpenAPI 3.1 document listing every route', async () => {
    const doc = (await (await fetch(`${s.baseUrl}/admin/openapi.json`)).json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.1.0');
    const result = await new Validator().validate(doc as unknown as Parameters<Validator['validate']>[0]);
    expect(result.errors ?? []).toEqual([]);
    expect(result.valid).toBe(true);
    const documented = Object.entries(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).sort();
    const routes = s.app.adminRoutes.map((r) => `${r.method} ${r.url.replace(/:(\w+)/g, '{$1}')}`).sort();
    expect(documented).toEqual(routes);
    expect(routes.length).toBeGreaterThanOrEqual(20);
  });
});
