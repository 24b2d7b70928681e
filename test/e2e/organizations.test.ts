import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ConfidentialClientApplication, CryptoProvider, LogLevel } from '@azure/msal-node';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTokenVerifier } from '../../src/resource-server/index.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { createApp, defineOnApi } from '../../src/services/apps.js';
import { revokeConsent } from '../../src/services/consent.js';
import { addEmailDomain } from '../../src/services/email-domains.js';
import { declarePermission, listEnterpriseApps } from '../../src/services/enterprise-apps.js';
import { createTenant } from '../../src/services/tenants.js';
import { createLocalUser } from '../../src/services/users.js';
import { addDirectoryRole } from '../../src/services/users-roles.js';
import type { Tenant } from '../../src/model/entities.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { suiteCert } from '../helpers/tls.js';

/**
 * Organizations, as the Azure AD scenarios document tells them: a SaaS publisher registers a
 * multi-tenant web app, API and daemon once; people of two customer organizations sign in to the app
 * through /common (openid-client with Entra ID's `{tenantid}` issuer template, and msal-node with
 * `authority: https://<host>/common`), consenting once, which provisions the app into their tenant;
 * an administrator's consent lets the daemon into one customer tenant, until `app remove`. Over https
 * (MSAL requires it), in headless Chromium.
 */
let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let publisher: Tenant;
let contoso: Tenant;
let fabrikam: Tenant;
let web: { clientId: string; secret: string };
let daemon: { clientId: string; secret: string };
let apiClientId = '';
let single = '';
const API = 'https://saas.example/timesheets';
const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'latchkey.js');

beforeAll(async () => {
  s = await startServer({ tls: suiteCert(), host: 'localhost' });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  publisher = await createTenant(s.provision, 'saas', { displayName: 'SaaS Co' });
  contoso = await createTenant(s.provision, 'contoso', { displayName: 'Contoso' });
  fabrikam = await createTenant(s.provision, 'fabrikam', { displayName: 'Fabrikam' });
  await addEmailDomain(s.provision, contoso, 'contoso.example');
  await addEmailDomain(s.provision, fabrikam, 'fabrikam.example');
  const user = (t: Tenant, email: string, displayName: string) => createLocalUser(s.provision, t, { email, password: `${displayName}-password-1`, displayName }, { by: 'cli' });
  await user(contoso, 'ann@contoso.example', 'Ann');
  await user(contoso, 'dee@contoso.example', 'Dee');
  const cid = await user(contoso, 'cid@contoso.example', 'Cid');
  await addDirectoryRole(s.provision, contoso, cid, 'GlobalAdministrator', { by: 'cli' });
  await user(fabrikam, 'ben@fabrikam.example', 'Ben');

  const api = await createApp(s.provision, publisher, { name: 'Timesheets API', type: 'api', identifierUri: API, multiTenant: true });
  apiClientId = api.app.clientId;
  await defineOnApi(s.provision, api.app, 'scope', 'timesheets.read', 'Read your timesheets');
  await defineOnApi(s.provision, api.app, 'scope', 'timesheets.approve', "Approve everyone's timesheets", true);
  const w = await createApp(s.provision, publisher, { name: 'Timesheets', type: 'web', redirectUris: [`${rp.url}/cb`], postLogoutRedirectUris: [`${rp.url}/signed-out`], multiTenant: true });
  web = { clientId: w.app.clientId, secret: w.clientSecret! };
  await declarePermission(s.provision, publisher, w.app, API, 'scope', 'timesheets.read');
  await declarePermission(s.provision, publisher, w.app, API, 'scope', 'timesheets.approve');
  const d = await createApp(s.provision, publisher, { name: 'Payroll sync', type: 'daemon', redirectUris: [`${rp.url}/connected`], multiTenant: true });
  daemon = { clientId: d.app.clientId, secret: d.clientSecret! };
  await declarePermission(s.provision, publisher, d.app, ADMIN_API_URI, 'role', 'User.Read.All');
  single = (await createApp(s.provision, publisher, { name: 'Internal', type: 'web', redirectUris: [`${rp.url}/cb`] })).app.clientId;
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await s?.close();
});

/** A fresh browser profile that trusts the suite's certificate. */
async function newPage(b: Browser): Promise<{ context: import('playwright-core').BrowserContext; page: Page }> {
  const context = await b.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page };
}

const claimsOf = (jwt: string) => JSON.parse(Buffer.from(jwt.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
const issuerOf = (t: Tenant) => `${s.baseUrl}/${t.id}/v2.0/`;

/**
 * openid-client recognises Entra ID's `{tenantid}` issuer template for Microsoft's own host only: the
 * app discovers through that address, and its requests go to Latchkey (customFetch), as an app written
 * for Azure AD's multi-tenant endpoint would be pointed at Latchkey.
 */
async function entraConfig(clientId: string, secret: string): Promise<client.Configuration> {
  return client.discovery(new URL('https://login.microsoftonline.com/common/v2.0'), clientId, secret, undefined, {
    [client.customFetch]: (url: string, options: client.CustomFetchOptions) => fetch(url.replace('https://login.microsoftonline.com', s.baseUrl), options as RequestInit),
  });
}

/** /common's sign-in: the organization (by email), then the tenant's sign-in page. */
async function signInThroughCommon(page: Page, url: string, email: string, password: string, opts: { askedForEmail?: boolean } = {}): Promise<void> {
  await page.goto(url);
  if (opts.askedForEmail !== false) {
    await expect(page.locator('h1').textContent()).resolves.toBe('Sign in');
    await page.getByLabel('Email Address').fill(email);
    await page.getByRole('button', { name: 'Next' }).click();
  }
  // The organization's own sign-in page, the address carried over.
  await expect(page.getByLabel('Email Address').inputValue()).resolves.toBe(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function clientCredentials(tenant: string, scope = `${ADMIN_API_URI}/.default`): Promise<{ status: number; body: Record<string, string> }> {
  const res = await fetch(`${s.baseUrl}/${tenant}/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${daemon.clientId}:${daemon.secret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

describe('/common and /organizations', () => {
  it("publish Azure AD's issuer template and the instance's keys, which every tenant's JWKS carries too", async () => {
    for (const segment of ['common', 'organizations']) {
      const doc = (await (await fetch(`${s.baseUrl}/${segment}/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
      expect(doc.issuer).toBe(`${s.baseUrl}/{tenantid}/v2.0/`);
      expect(doc.authorization_endpoint).toBe(`${s.baseUrl}/${segment}/oauth2/v2.0/authorize`);
      expect(doc.token_endpoint).toBe(`${s.baseUrl}/${segment}/oauth2/v2.0/token`);
      expect(doc.jwks_uri).toBe(`${s.baseUrl}/${segment}/discovery/v2.0/keys`);
    }
    const common = (await (await fetch(`${s.baseUrl}/common/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
    expect(common.keys.length).toBeGreaterThan(0);
    const tenantKeys = (await (await fetch(`${s.baseUrl}/contoso/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
    for (const k of common.keys) expect(tenantKeys.keys.map((x) => x.kid)).toContain(k.kid);
  });

  it('signs Ann of Contoso in to the publisher\'s app with openid-client: consent provisions the app once, tokens carry her tenant', async () => {
    const config = await entraConfig(web.clientId, web.secret);
    expect(config.serverMetadata().issuer).toBe(`${s.baseUrl}/{tenantid}/v2.0/`);
    const scope = `openid profile offline_access ${API}/timesheets.read`;
    const run = async (page: Page, consent: boolean) => {
      const verifier = client.randomPKCECodeVerifier();
      const state = client.randomState();
      const nonce = client.randomNonce();
      const url = client.buildAuthorizationUrl(config, { redirect_uri: `${rp.url}/cb`, scope, state, nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
      expect(url.origin + url.pathname).toBe(`${s.baseUrl}/common/oauth2/v2.0/authorize`);
      await signInThroughCommon(page, url.toString(), 'ann@contoso.example', 'Ann-password-1');
      if (consent) {
        await expect(page.locator('h1').textContent()).resolves.toBe('Allow Timesheets to access your account?');
        await expect(page.locator('#consentScopes li').allTextContents()).resolves.toEqual(['Sign you in', 'See your name', 'Keep the access you give it when you are not using it', 'Read your timesheets']);
        await page.locator('#accept').click();
      }
      await page.waitForURL(`${rp.url}/**`);
      // openid-client checks the id_token's issuer against the template with the token's tid.
      return client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    };

    const first = await newPage(browser);
    const tokens = await run(first.page, true);
    // The same browser has Contoso's session: a silent request at /common needs no hint and shows nothing.
    const silentState = client.randomState();
    const silent = client.buildAuthorizationUrl(config, { redirect_uri: `${rp.url}/cb`, scope, state: silentState, prompt: 'none', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    await first.page.goto(silent.toString());
    await first.page.waitForURL(`${rp.url}/**`);
    expect([new URL(first.page.url()).searchParams.get('state'), new URL(first.page.url()).searchParams.has('code')]).toEqual([silentState, true]);
    await first.context.close();
    const id = tokens.claims()!;
    expect(id).toMatchObject({ iss: issuerOf(contoso), tid: contoso.id, aud: web.clientId, preferred_username: 'ann@contoso.example', name: 'Ann' });
    expect(id.oid).toBe(id.sub);
    const at = claimsOf(tokens.access_token);
    expect(at).toMatchObject({ iss: issuerOf(contoso), tid: contoso.id, aud: apiClientId, scp: 'timesheets.read', azp: web.clientId });

    // The app (and the API it names) is in Contoso now, registered at the publisher.
    const listed = await listEnterpriseApps(s.provision, contoso);
    expect(listed.map((e) => `${e.name} (home: ${e.home_tenant})`).sort()).toEqual(['Timesheets (home: saas)', 'Timesheets API (home: saas)']);

    // A second sign-in (a new browser) asks for no consent and provisions nothing more.
    const second = await newPage(browser);
    const again = await run(second.page, false);
    await second.context.close();
    expect(again.claims()?.tid).toBe(contoso.id);
    expect(await listEnterpriseApps(s.provision, contoso)).toHaveLength(2);
    const created = (await s.deps.store.listAuditEvents({ tenantId: contoso.id, event: 'enterprise_app_created' })).filter((e) => e.clientId === web.clientId);
    expect(created).toHaveLength(1);

    // The refresh token works at /common's token endpoint; the resource-server helper takes Contoso's token and not another tenant's.
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(claimsOf(refreshed.access_token).tid).toBe(contoso.id);
    const verifier = createTokenVerifier({ issuer: `${s.baseUrl}/{tenantid}/v2.0/`, audience: apiClientId, allowedTenants: [contoso.id] });
    const ok = await verifier.verify(`Bearer ${refreshed.access_token}`, { scopes: ['timesheets.read'] });
    expect(ok.tenantId).toBe(contoso.id);
    const onlyFabrikam = createTokenVerifier({ issuer: `${s.baseUrl}/{tenantid}/v2.0/`, audience: apiClientId, allowedTenants: [fabrikam.id] });
    await expect(onlyFabrikam.verify(`Bearer ${refreshed.access_token}`)).rejects.toThrow('a tenant this API does not serve');

    // Ann withdraws her consent: her tokens for the app end (refresh refused; userinfo refuses the access token).
    const annId = String(id.oid);
    expect((await fetch(`${s.baseUrl}/contoso/openid/v2.0/userinfo`, { headers: { authorization: `Bearer ${again.access_token}` } })).status).toBe(200);
    expect(await revokeConsent(s.deps, contoso, annId, web.clientId, 'profile edit')).toBe(true);
    await expect(client.refreshTokenGrant(config, refreshed.refresh_token!)).rejects.toThrow();
    const userinfo = await fetch(`${s.baseUrl}/contoso/openid/v2.0/userinfo`, { headers: { authorization: `Bearer ${again.access_token}` } });
    expect(userinfo.status).toBe(401);
  });

  it('signs Ben of Fabrikam in with msal-node at authority https://<host>/common; his tokens name Fabrikam', async () => {
    const host = new URL(s.baseUrl).host;
    const logs: string[] = [];
    const cca = new ConfidentialClientApplication({
      auth: { clientId: web.clientId, clientSecret: web.secret, authority: `${s.baseUrl}/common`, knownAuthorities: [host] },
      system: { loggerOptions: { logLevel: LogLevel.Warning, loggerCallback: (_l, m) => logs.push(m), piiLoggingEnabled: false } },
    });
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const redirectUri = `${rp.url}/cb`;
    const scopes = [`${API}/timesheets.read`];
    const url = await cca.getAuthCodeUrl({ scopes, redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', state: 'msal-state', loginHint: 'ben@fabrikam.example' });
    expect(url.startsWith(`${s.baseUrl}/common/oauth2/v2.0/authorize?`)).toBe(true);
    const { context, page } = await newPage(browser);
    // login_hint names the organization: no question about it.
    await signInThroughCommon(page, url, 'ben@fabrikam.example', 'Ben-password-1', { askedForEmail: false });
    await expect(page.locator('h1').textContent()).resolves.toBe('Allow Timesheets to access your account?');
    await page.locator('#accept').click();
    await page.waitForURL(`${rp.url}/**`);
    const back = new URL(page.url());
    await context.close();
    expect(back.searchParams.get('state')).toBe('msal-state');

    const result = await cca.acquireTokenByCode({ code: back.searchParams.get('code')!, redirectUri, scopes, codeVerifier: verifier });
    expect(result.idTokenClaims).toMatchObject({ iss: issuerOf(fabrikam), tid: fabrikam.id, preferred_username: 'ben@fabrikam.example' });
    expect(result.tenantId).toBe(fabrikam.id);
    expect(claimsOf(result.accessToken)).toMatchObject({ iss: issuerOf(fabrikam), tid: fabrikam.id, aud: apiClientId });
    const silent = await cca.acquireTokenSilent({ account: result.account!, scopes, forceRefresh: true });
    expect(silent.fromCache).toBe(false);
    expect(claimsOf(silent.accessToken).tid).toBe(fabrikam.id);
    expect(logs.filter((m) => /error/i.test(m))).toEqual([]);
    expect((await listEnterpriseApps(s.provision, fabrikam)).map((e) => e.home_tenant)).toEqual(['saas', 'saas']);
  });

  it('shows "Need admin approval" to a user for a permission only an administrator may consent to, and grants nothing', async () => {
    const config = await entraConfig(web.clientId, web.secret);
    const url = client.buildAuthorizationUrl(config, { redirect_uri: `${rp.url}/cb`, scope: `openid ${API}/timesheets.approve`, state: 'approve', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256', login_hint: 'dee@contoso.example' });
    const { context, page } = await newPage(browser);
    await signInThroughCommon(page, url.toString(), 'dee@contoso.example', 'Dee-password-1', { askedForEmail: false });
    await expect(page.locator('h1').textContent()).resolves.toBe('Need admin approval');
    await expect(page.locator('#consentScopes li').allTextContents()).resolves.toEqual(['Sign you in', "Approve everyone's timesheets (needs an administrator's approval)"]);
    await expect(page.locator('#accept').count()).resolves.toBe(0);
    await page.getByRole('button', { name: 'Return to the application' }).click();
    await page.waitForURL(`${rp.url}/**`);
    const back = new URL(page.url());
    await context.close();
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/^AADSTS65004: /);
  });

  it("lets the daemon into Contoso once its Global Administrator consented — not before, not for another user, not after app remove", async () => {
    const refused = await clientCredentials('contoso');
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('unauthorized_client');
    expect(refused.body.error_description).toMatch(/^AADSTS7000229: /);

    const consentUrl = `${s.baseUrl}/common/v2.0/adminconsent?${new URLSearchParams({ client_id: daemon.clientId, redirect_uri: `${rp.url}/connected`, state: 'connect-1' })}`;
    // A user who is no administrator gets a page saying so; nothing is granted.
    const dee = await newPage(browser);
    await signInThroughCommon(dee.page, consentUrl, 'dee@contoso.example', 'Dee-password-1');
    await expect(dee.page.locator('.error.pageLevel').textContent()).resolves.toContain('Only a Global Administrator of Contoso can grant these permissions to Payroll sync.');
    await dee.context.close();
    expect((await clientCredentials('contoso')).status).toBe(400);

    const cid = await newPage(browser);
    await signInThroughCommon(cid.page, consentUrl, 'cid@contoso.example', 'Cid-password-1');
    await expect(cid.page.locator('h1').textContent()).resolves.toBe('Permissions requested for Contoso');
    await expect(cid.page.locator('#consentScopes li').allTextContents()).resolves.toEqual(['Sign you in', 'See your name', 'User.Read.All on Latchkey admin API, as the app itself, with no user signed in']);
    await cid.page.locator('#accept').click();
    await cid.page.waitForURL(`${rp.url}/**`);
    const answer = new URL(cid.page.url());
    await cid.context.close();
    expect(answer.pathname).toBe('/connected');
    expect([...answer.searchParams.entries()]).toEqual([['admin_consent', 'True'], ['tenant', contoso.id], ['state', 'connect-1'], ['scope', `${ADMIN_API_URI}/User.Read.All`]]);

    const granted = await clientCredentials('contoso');
    expect(granted.status).toBe(200);
    const at = claimsOf(granted.body.access_token!);
    expect(at).toMatchObject({ iss: issuerOf(contoso), tid: contoso.id, roles: ['User.Read.All'], azp: daemon.clientId });
    const users = await fetch(`${s.baseUrl}/contoso/graph/v1.0/users`, { headers: { authorization: `Bearer ${granted.body.access_token}` } });
    expect(users.status).toBe(200);
    expect(((await users.json()) as { value: { displayName: string }[] }).value.map((u) => u.displayName).sort()).toEqual(['Ann', 'Cid', 'Dee']);
    // Fabrikam consented to nothing.
    expect((await clientCredentials('fabrikam')).body.error_description).toMatch(/^AADSTS7000229: /);

    // Contoso's operator lists the enterprise apps with their home tenant, then removes the daemon: its tokens end.
    const env = { PATH: process.env.PATH, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies') };
    const list = spawnSync(process.execPath, [cli, 'app', 'list', '--tenant', 'contoso', '--json'], { env, encoding: 'utf8' });
    expect(list.status, list.stderr).toBe(0);
    expect((JSON.parse(list.stdout) as { name: string; home_tenant: string }[]).filter((a) => a.home_tenant === 'saas').map((a) => a.name).sort()).toEqual(['Payroll sync', 'Timesheets', 'Timesheets API']);
    const removed = spawnSync(process.execPath, [cli, 'app', 'remove', '--tenant', 'contoso', '--app', daemon.clientId], { env, encoding: 'utf8' });
    expect(removed.status, removed.stderr).toBe(0);
    await expect.poll(async () => (await fetch(`${s.baseUrl}/contoso/graph/v1.0/users`, { headers: { authorization: `Bearer ${granted.body.access_token}` } })).status).toBe(401);
    expect((await clientCredentials('contoso')).body.error_description).toMatch(/^AADSTS7000229: /);
  });

  it('gives an administrator wids (Global Administrator) in the id token', async () => {
    const config = await entraConfig(web.clientId, web.secret);
    const verifier = client.randomPKCECodeVerifier();
    const nonce = client.randomNonce();
    const url = client.buildAuthorizationUrl(config, { redirect_uri: `${rp.url}/cb`, scope: 'openid profile', nonce, state: 'wids', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', login_hint: 'cid@contoso.example' });
    const { context, page } = await newPage(browser);
    await signInThroughCommon(page, url.toString(), 'cid@contoso.example', 'Cid-password-1', { askedForEmail: false });
    await page.locator('#accept').click();
    await page.waitForURL(`${rp.url}/**`);
    const code = new URL(page.url()).searchParams.get('code')!;
    await context.close();
    // A code from /common is redeemed at the person's tenant's own token endpoint as well.
    const res = await fetch(`${s.baseUrl}/contoso/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', code, redirect_uri: `${rp.url}/cb`, code_verifier: verifier, client_id: web.clientId, client_secret: web.secret }),
    });
    expect(res.status).toBe(200);
    const id = claimsOf(((await res.json()) as { id_token: string }).id_token);
    expect(id).toMatchObject({ iss: issuerOf(contoso), tid: contoso.id, nonce, wids: ['62e90394-69f5-4237-9190-012177145e10'] });
  });

  it('refuses a single-tenant app at /common (AADSTS50194), and says so when an email domain belongs to no organization', async () => {
    const res = await fetch(`${s.baseUrl}/common/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: single, redirect_uri: `${rp.url}/cb`, response_type: 'code', scope: 'openid', state: 's1', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    expect(res.status).toBe(302);
    const back = new URL(res.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/^AADSTS50194: Application '[0-9a-f-]+'\(Internal\) is not configured as a multi-tenant application/);
    expect(back.searchParams.get('state')).toBe('s1');
    const token = await fetch(`${s.baseUrl}/common/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'authorization_code', code: 'x', client_id: single, client_secret: 'y' }) });
    expect(token.status).toBe(400);
    expect(((await token.json()) as { error_description: string }).error_description).toMatch(/^AADSTS50194: /);

    const config = await entraConfig(web.clientId, web.secret);
    const url = client.buildAuthorizationUrl(config, { redirect_uri: `${rp.url}/cb`, scope: 'openid', state: 'nowhere', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
    const { context, page } = await newPage(browser);
    await page.goto(url.toString());
    await page.getByLabel('Email Address').fill('eve@nowhere.example');
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.locator('.error.pageLevel').textContent()).resolves.toContain("We couldn't find an organization for 'nowhere.example'.");
    await expect(page.getByLabel('Email Address').inputValue()).resolves.toBe('eve@nowhere.example');
    await context.close();
  });

  it('is run from the CLI: email domains, directory roles, a multi-tenant app with its permissions, an admin-consent scope, the instance keys; one-line errors', () => {
    const env = { PATH: process.env.PATH, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies'), LATCHKEY_LOG_LEVEL: 'silent' };
    const latchkey = (...args: string[]) => spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8' });
    const json = (...args: string[]) => {
      const r = latchkey(...args, '--json');
      expect(r.status, `${args.join(' ')}: ${r.stderr}`).toBe(0);
      return JSON.parse(r.stdout) as Record<string, unknown>;
    };
    expect(json('tenant', 'email-domain', 'add', '--tenant', 'fabrikam', '--domain', 'Fabrikam.Example.Org')).toEqual({ tenant: 'fabrikam', email_domains: ['fabrikam.example', 'fabrikam.example.org'] });
    expect(json('tenant', 'email-domain', 'list', '--tenant', 'fabrikam')).toEqual([{ domain: 'fabrikam.example', created_at: expect.any(String) }, { domain: 'fabrikam.example.org', created_at: expect.any(String) }]);
    expect(json('tenant', 'email-domain', 'remove', '--tenant', 'fabrikam', '--domain', 'fabrikam.example.org').email_domains).toEqual(['fabrikam.example']);
    expect(latchkey('tenant', 'email-domain', 'add', '--tenant', 'fabrikam', '--domain', 'contoso.example').stderr).toBe('latchkey: the email domain contoso.example belongs to another tenant\n');

    expect(json('user', 'role', 'add', '--tenant', 'fabrikam', '--user', 'ben@fabrikam.example', '--role', 'GlobalReader')).toMatchObject({ directory_roles: ['GlobalReader'] });
    expect(json('user', 'show', '--tenant', 'fabrikam', '--user', 'ben@fabrikam.example').directory_roles).toEqual(['GlobalReader']);
    expect(json('user', 'role', 'remove', '--tenant', 'fabrikam', '--user', 'ben@fabrikam.example', '--role', 'GlobalReader')).toMatchObject({ directory_roles: [] });
    const badRole = latchkey('user', 'role', 'add', '--tenant', 'fabrikam', '--user', 'ben@fabrikam.example', '--role', 'Owner');
    expect([badRole.status, badRole.stderr]).toEqual([2, "latchkey: invalid --role 'Owner': one of GlobalAdministrator, GlobalReader\n"]);

    const made = json('app', 'create', '--tenant', 'saas', '--name', 'Expenses', '--type', 'native', '--redirect-uri', 'http://127.0.0.1/expenses', '--multi-tenant');
    expect(made).toMatchObject({ multi_tenant: true });
    expect(json('app', 'scope', 'add', '--tenant', 'saas', '--app', apiClientId, '--scope', 'timesheets.export', '--admin-consent').scopes).toContain('timesheets.export');
    expect(json('app', 'permission', 'add', '--tenant', 'saas', '--app', String(made.client_id), '--api', API, '--scope', 'timesheets.export').permissions).toEqual([{ api: API, kind: 'scope', name: 'timesheets.export' }]);
    expect(json('app', 'permission', 'list', '--tenant', 'saas', '--app', String(made.client_id)).permissions).toHaveLength(1);
    const notMulti = latchkey('app', 'permission', 'add', '--tenant', 'saas', '--app', single, '--api', API, '--scope', 'timesheets.read');
    expect([notMulti.status, notMulti.stderr]).toEqual([1, `latchkey: app '${single}' is not multi-tenant: its permissions are grants (latchkey app grant)\n`]);
    const homeRemove = latchkey('app', 'remove', '--tenant', 'saas', '--app', web.clientId);
    expect(homeRemove.stderr).toMatch(/^latchkey: app '[0-9a-f-]+' is registered in tenant 'saas' \(its home\)/);

    const keys = json('keys', 'list', '--common') as unknown as { status: string; published: boolean }[];
    expect(keys.filter((k) => k.status === 'active' && k.published)).toHaveLength(1);
    const both = latchkey('keys', 'list', '--common', '--tenant', 'saas');
    expect([both.status, both.stderr]).toEqual([2, 'latchkey: give exactly one of --tenant <tenant> or --common\n']);
  });
});
