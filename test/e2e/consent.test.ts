import * as client from 'openid-client';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp, requireApp } from '../../src/services/apps.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { finishFlow, newPage, startFlow, type Flow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Consent for third-party apps in headless Chromium: the page on first use with the scopes in plain
 * words, remembered per user and app, asked again with prompt=consent, withdrawn in profile edit and
 * through the admin API; first-party apps never see it.
 */
const PHOTOS = 'https://photos.example';
let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let thirdParty = '';
let otherThirdParty = '';
let firstParty = '';
let adminToken = '';

const SCOPE = `openid offline_access profile ${PHOTOS}/photos.read`;
const flow = (clientId: string, extra?: Record<string, string>, policy = 'B2C_1_signin'): Promise<Flow> =>
  startFlow({ baseUrl: s.baseUrl, policy, clientId, redirectUri: `${rp.url}/cb`, scope: SCOPE, ...(extra ? { extra } : {}) });

async function signIn(page: import('playwright-core').Page, f: Flow): Promise<void> {
  await page.goto(f.url.toString());
  await page.locator('#signInName').fill('cora@example.com');
  await page.locator('#password').fill('cora-password-1');
  await page.locator('#next').click();
}

beforeAll(async () => {
  s = await startServer();
  rp = await startRelyingParty();
  browser = await launchBrowser();
  await s.createUser('cora@example.com', 'cora-password-1', { displayName: 'Cora' });
  const api = (await s.createApp({ name: 'Photos', type: 'api', identifierUri: PHOTOS })).app.clientId;
  await s.deps.store.addAppScope(api, 'photos.read', 'See your photos');
  const make = async (name: string, thirdPartyApp: boolean) => {
    const id = (await s.createApp({ name, type: 'native', redirectUris: [`${rp.url}/cb`], thirdParty: thirdPartyApp })).app.clientId;
    await s.deps.store.addGrant({ clientId: id, apiClientId: api, kind: 'scope', name: 'photos.read' });
    return id;
  };
  thirdParty = await make('Snapshot', true);
  otherThirdParty = await make('Collage', true);
  firstParty = await make('Contoso Photos', false);
  const { app, clientSecret } = await createApp(s.provision, s.tenant, { name: 'ops', type: 'daemon' });
  await s.deps.store.addGrant({ clientId: app.clientId, apiClientId: (await requireApp(s.provision, s.tenant, ADMIN_API_URI)).clientId, kind: 'role', name: 'Admin.ReadWrite.All' });
  const res = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${clientSecret}`).toString('base64')}` },
    body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${ADMIN_API_URI}/.default` }),
  });
  adminToken = ((await res.json()) as { access_token: string }).access_token;
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await s?.close();
});

describe('consent for third-party apps', () => {
  it('asks once, in plain words; remembers it; asks again with prompt=consent; never asks for a first-party app', async () => {
    const { context, page } = await newPage(browser);
    let f = await flow(thirdParty);
    await signIn(page, f);
    await expect(page.locator('h1').textContent()).resolves.toBe('Allow Snapshot to access your account?');
    await expect(page.locator('#consentScopes li').allTextContents()).resolves.toEqual(['Sign you in', 'Keep the access you give it when you are not using it', 'See your name', 'See your photos']);
    await page.locator('#accept').click();
    const first = await finishFlow(page, f);
    expect(first.refresh_token).toBeTruthy();

    f = await flow(thirdParty);
    await page.goto(f.url.toString());
    await finishFlow(page, f);

    f = await flow(thirdParty, { prompt: 'consent' });
    await page.goto(f.url.toString());
    await expect(page.locator('h1').textContent()).resolves.toBe('Allow Snapshot to access your account?');
    await page.locator('#accept').click();
    await finishFlow(page, f);

    f = await flow(firstParty);
    await page.goto(f.url.toString());
    await finishFlow(page, f);
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'consent_granted' });
    expect(audit.map((e) => e.clientId)).toEqual([thirdParty, thirdParty]);
    await context.close();
  });

  it('answers consent_required to a silent request, and access_denied when the user cancels', async () => {
    const { context, page } = await newPage(browser);
    let f = await flow(firstParty);
    await signIn(page, f);
    await finishFlow(page, f);
    f = await flow(otherThirdParty, { prompt: 'none' });
    await page.goto(f.url.toString());
    await page.waitForURL(`${rp.url}/**`);
    expect(new URL(page.url()).searchParams.get('error')).toBe('consent_required');
    f = await flow(otherThirdParty);
    await page.goto(f.url.toString());
    await page.locator('#cancel').click();
    await page.waitForURL(`${rp.url}/**`);
    expect(new URL(page.url()).searchParams.get('error')).toBe('access_denied');
    await context.close();
  });

  it('shows the apps with access in profile edit, where the user withdraws it: the refresh token stops working and the page is asked again', async () => {
    const { context, page } = await newPage(browser);
    let f = await flow(thirdParty);
    await signIn(page, f);
    const tokens = await finishFlow(page, f);
    const profile = await startFlow({ baseUrl: s.baseUrl, policy: 'B2C_1_profileedit', clientId: firstParty, redirectUri: `${rp.url}/cb` });
    await page.goto(profile.url.toString());
    await expect(page.locator('#connectedApps li').allTextContents()).resolves.toEqual(['Snapshot']);
    await page.getByRole('button', { name: 'Remove access: Snapshot' }).click();
    await expect(page.locator('.verificationInfoText').textContent()).resolves.toContain('Snapshot no longer has access to your account.');
    await expect(page.locator('#connectedApps').count()).resolves.toBe(0);
    await expect(client.refreshTokenGrant(f.config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    f = await flow(thirdParty);
    await page.goto(f.url.toString());
    await page.locator('#accept').click();
    await finishFlow(page, f);
    await context.close();
  });

  it('lists and withdraws consent through the admin API', async () => {
    const user = (await s.deps.store.findUserBySignInName(s.tenant.id, 'cora@example.com'))!;
    const url = `${s.baseUrl}/admin/v1/tenants/demo/users/${user.id}/consents`;
    const auth = { authorization: `Bearer ${adminToken}` };
    const listed = (await (await fetch(url, { headers: auth })).json()) as { consents: { clientId: string; appName: string; scopes: string[] }[] };
    expect(listed.consents).toEqual([{ clientId: thirdParty, appName: 'Snapshot', scopes: ['openid', 'offline_access', 'profile', `${PHOTOS}/photos.read`], grantedAt: expect.any(String) }]);
    expect((await fetch(`${url}/${thirdParty}`, { method: 'DELETE', headers: auth })).status).toBe(200);
    expect((await fetch(`${url}/${thirdParty}`, { method: 'DELETE', headers: auth })).status).toBe(404);
    expect(((await (await fetch(url, { headers: auth })).json()) as { consents: unknown[] }).consents).toEqual([]);
  });

  it('never lets a third-party web API swap a sign-in-only token for a scope the user did not approve (on-behalf-of), nor refresh into one', async () => {
    // Relay: a third-party confidential app an operator granted photos.read; the user approves sign-in only.
    const { app: relay, clientSecret } = await createApp(s.provision, s.tenant, { name: 'Relay', type: 'web', redirectUris: [`${rp.url}/cb`], thirdParty: true });
    const photos = (await s.deps.store.findAppByIdentifierUri(s.tenant.id, PHOTOS))!;
    await s.deps.store.addGrant({ clientId: relay.clientId, apiClientId: photos.clientId, kind: 'scope', name: 'photos.read' });
    const basic = `Basic ${Buffer.from(`${relay.clientId}:${clientSecret!}`).toString('base64')}`;
    const token = (form: Record<string, string>) =>
      fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic }, body: new URLSearchParams(form) });
    const signInAndRedeem = async (scope: string) => {
      const { context, page } = await newPage(browser);
      const f = await startFlow({ baseUrl: s.baseUrl, policy: 'B2C_1_signin', clientId: relay.clientId, redirectUri: `${rp.url}/cb`, scope });
      await signIn(page, f);
      await page.locator('#accept').click();
      await page.waitForURL(`${rp.url}/**`);
      const code = new URL(page.url()).searchParams.get('code')!;
      await context.close();
      const res = await token({ grant_type: 'authorization_code', code, redirect_uri: `${rp.url}/cb`, code_verifier: f.verifier });
      expect(res.status).toBe(200);
      return (await res.json()) as { access_token: string; refresh_token: string; scope: string };
    };
    const signedIn = await signInAndRedeem('openid offline_access');
    const obo = () => token({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', requested_token_use: 'on_behalf_of', assertion: signedIn.access_token, scope: `${PHOTOS}/photos.read` });
    let res = await obo();
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('consent_required');
    // Nor does a refresh widen into the API scope the app was granted but the user never approved.
    res = await token({ grant_type: 'refresh_token', refresh_token: signedIn.refresh_token, scope: `openid offline_access ${PHOTOS}/photos.read` });
    expect(((await res.json()) as { error: string }).error).toBe('invalid_scope');
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'consent_missing' });
    expect(audit.some((e) => e.clientId === relay.clientId && e.detail?.includes('photos.read'))).toBe(true);

    // Once the user approves photos.read on the consent page, the same exchange works.
    const approved = await signInAndRedeem(`openid offline_access ${PHOTOS}/photos.read`);
    res = await obo();
    expect(res.status).toBe(200);
    expect(((await res.json()) as { scope: string }).scope).toBe(`${PHOTOS}/photos.read`);

    // A refresh carries only what the consent still covers (here narrowed in the database to sign-in).
    const cora = (await s.deps.store.findUserBySignInName(s.tenant.id, 'cora@example.com'))!;
    await s.deps.store.saveConsent({ tenantId: s.tenant.id, userId: cora.id, clientId: relay.clientId, scopes: ['openid', 'offline_access'], grantedAt: s.clock.now() });
    res = await token({ grant_type: 'refresh_token', refresh_token: approved.refresh_token });
    expect(res.status).toBe(200);
    const refreshed = (await res.json()) as { scope: string; access_token: string };
    expect(refreshed.scope.split(' ')).not.toContain(`${PHOTOS}/photos.read`);
  });
});
