import type { Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import { decodeJwt } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { freePort, startServer, type TestServer } from '../helpers/server.js';
import { suiteCert } from '../helpers/tls.js';
import { startSpaServer } from '../helpers/spa.js';
import { createApp, defineOnApi, updateApp } from '../../src/services/apps.js';

/**
 * One app registration, as an Azure app with several platforms is moved over: the same client id
 * serves an SPA on @azure/msal-browser (in headless Chromium) and a confidential web app on
 * openid-client with the secret, and exposes an API whose scope both ask for themselves. A code of one
 * platform's redirect URI is refused when redeemed as the other's, and stays good for its own.
 */
const API = 'api://portal';
let s: TestServer;
let rp: RelyingParty;
let spaServer: Server;
let spaOrigin: string;
let browser: Browser;
let clientId: string;
let secret: string;

beforeAll(async () => {
  s = await startServer({ tls: suiteCert(), host: 'localhost' });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  await s.createUser('uma@example.com', 'uma-password-1', { displayName: 'Uma U' });
  const port = await freePort();
  spaOrigin = `https://localhost:${port}`;
  // Registered as a web app (with its secret), then given an SPA platform and an API, as `app update` does.
  const created = await createApp(s.provision, s.tenant, { name: 'Portal', type: 'web', redirectUris: [`${rp.url}/cb`] });
  clientId = created.app.clientId;
  secret = created.clientSecret!;
  const portal = await updateApp(s.provision, s.tenant, created.app, {
    spaRedirectUris: { add: [`${spaOrigin}/`, `${spaOrigin}/bridge`, `${spaOrigin}/code`] },
    postLogoutRedirectUris: { add: [`${spaOrigin}/signed-out`] },
    identifierUri: API,
  });
  await defineOnApi(s.provision, portal, 'scope', 'tasks.read');

  spaServer = await startSpaServer(port, { clientId, authority: `${s.baseUrl}/demo.onmicrosoft.com/B2C_1_signupsignin`, knownAuthorities: [new URL(s.baseUrl).host], scopes: ['openid', 'offline_access', `${API}/tasks.read`] }, {
    // Where the test takes an SPA code itself (no MSAL on the page to redeem it first).
    '/code': ['<!doctype html><title>code</title>', 'text/html; charset=utf-8'],
  });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => spaServer?.close(r));
  await rp?.close();
  await s?.close();
});

type Spa = { spa: { login(): Promise<void>; events: Record<string, unknown>[]; silent(): Promise<Record<string, unknown>> } };

/** A token request from the SPA's page: a cross-origin call, as msal-browser makes it. */
async function redeemInBrowser(page: Page, form: Record<string, string>): Promise<{ status: number; body: Record<string, unknown> }> {
  return page.evaluate(
    async ({ url, body }) => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    { url: `${s.baseUrl}/demo/B2C_1_signupsignin/oauth2/v2.0/token`, body: new URLSearchParams(form).toString() },
  );
}

describe('one client id: an msal-browser SPA and an openid-client web app, with an API of its own', () => {
  it('signs both in, each as its platform, each with an access token for the app itself', async () => {
    // The SPA: loginRedirect, then a refresh over CORS (acquireTokenSilent).
    const spaContext = await browser.newContext({ ignoreHTTPSErrors: true });
    const spa = await spaContext.newPage();
    spa.setDefaultTimeout(15_000);
    await spa.goto(`${spaOrigin}/`);
    await spa.waitForSelector('body[data-ready="1"]');
    await spa.evaluate(() => void (globalThis as unknown as Spa).spa.login());
    await spa.waitForURL(`${s.baseUrl}/**`);
    await spa.getByLabel('Email Address').fill('uma@example.com');
    await spa.getByLabel('Password').fill('uma-password-1');
    await spa.getByRole('button', { name: 'Sign in' }).click();
    await spa.waitForURL(`${spaOrigin}/**`);
    await spa.waitForSelector('body[data-ready="1"]');
    const events = await spa.evaluate(() => (globalThis as unknown as Spa).spa.events);
    expect(events, JSON.stringify(events)).toHaveLength(1);
    const login = events[0] as { type: string; accessToken: string; idTokenClaims: Record<string, unknown> };
    expect(login.type).toBe('login');
    expect(login.idTokenClaims).toMatchObject({ aud: clientId, name: 'Uma U' });
    // Its own API's scope, asked for without a grant: the token is for the app itself.
    expect(decodeJwt(login.accessToken)).toMatchObject({ aud: clientId, azp: clientId, scp: 'tasks.read' });
    const silent = await spa.evaluate(() => (globalThis as unknown as Spa).spa.silent());
    expect(silent, JSON.stringify(silent)).toMatchObject({ ok: true, fromCache: false });
    expect(decodeJwt(silent.accessToken as string)).toMatchObject({ aud: clientId, scp: 'tasks.read' });

    // The web app: openid-client with the same client id and the secret, code + PKCE.
    const config = await client.discovery(new URL(`${s.baseUrl}/demo/B2C_1_signupsignin/v2.0/.well-known/openid-configuration`), clientId, undefined, client.ClientSecretBasic(secret));
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rp.url}/cb`,
      scope: `openid offline_access ${API}/tasks.read`,
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
    });
    const webContext = await browser.newContext({ ignoreHTTPSErrors: true });
    const web = await webContext.newPage();
    web.setDefaultTimeout(15_000);
    await web.goto(authUrl.toString());
    await web.getByLabel('Email Address').fill('uma@example.com');
    await web.getByLabel('Password').fill('uma-password-1');
    await web.getByRole('button', { name: 'Sign in' }).click();
    await web.waitForURL(`${rp.url}/**`);
    const callback = new URL(web.url());
    const webCode = callback.searchParams.get('code')!;

    // The web code as if it were the SPA's (from its page, without the secret): refused, and not spent.
    const asSpa = await redeemInBrowser(spa, { grant_type: 'authorization_code', client_id: clientId, code: webCode, redirect_uri: `${rp.url}/cb`, code_verifier: verifier });
    expect(asSpa.status).toBe(401);
    expect(asSpa.body).toMatchObject({ error: 'invalid_client' });
    expect(String(asSpa.body.error_description)).toMatch(/^AADB2C90079: The client secret is missing \(the code was issued to a web redirect URI\)/);

    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
    expect(tokens.claims()).toMatchObject({ aud: clientId, name: 'Uma U' });
    expect(decodeJwt(tokens.access_token)).toMatchObject({ aud: clientId, azp: clientId, scp: 'tasks.read' });
    // A web app's refresh token lives the policy's 14 days, not the SPA's 24 hours.
    expect(tokens.refresh_token_expires_in).toBe(14 * 86_400);
    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(decodeJwt(refreshed.access_token)).toMatchObject({ aud: clientId, scp: 'tasks.read' });

    // An SPA code (its SSO session answers at once) as if it were the web app's: openid-client with the
    // secret is refused, and the SPA then redeems the same code from its page.
    const spaVerifier = client.randomPKCECodeVerifier();
    const spaAuthUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: `${spaOrigin}/code`,
      scope: `openid offline_access ${API}/tasks.read`,
      code_challenge: await client.calculatePKCECodeChallenge(spaVerifier),
      code_challenge_method: 'S256',
      state: 'spa-1',
    });
    const second = await spaContext.newPage();
    await second.goto(spaAuthUrl.toString());
    await second.waitForURL(`${spaOrigin}/code?**`);
    const captured = new URL(second.url());
    expect(captured.searchParams.get('code')).toBeTruthy();
    // A 401 with a Basic challenge (it sent Basic credentials), and B2C's code in the RFC 6749 body.
    const refused = (await client.authorizationCodeGrant(config, captured, { pkceCodeVerifier: spaVerifier, expectedState: 'spa-1' }).catch((err: unknown) => err)) as client.WWWAuthenticateChallengeError;
    expect(refused).toBeInstanceOf(client.WWWAuthenticateChallengeError);
    expect(refused.status).toBe(401);
    expect(await refused.response.json()).toMatchObject({
      error: 'invalid_client',
      error_description: expect.stringMatching(/^AADB2C90084: A public client must not send a client secret \(the code was issued to an SPA redirect URI\)/),
    });
    const bySpa = await redeemInBrowser(spa, { grant_type: 'authorization_code', client_id: clientId, code: captured.searchParams.get('code')!, redirect_uri: `${spaOrigin}/code`, code_verifier: spaVerifier });
    expect(bySpa.status, JSON.stringify(bySpa.body)).toBe(200);
    expect(bySpa.body.refresh_token_expires_in).toBe(86_400);
    expect(decodeJwt(bySpa.body.access_token as string)).toMatchObject({ aud: clientId, scp: 'tasks.read' });

    await webContext.close();
    await spaContext.close();
  });
});
