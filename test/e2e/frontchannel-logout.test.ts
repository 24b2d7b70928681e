import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * OpenID Connect Front-Channel Logout 1.0 in a real browser: two apps signed in through one SSO
 * session; signing out of one loads both apps' registered logout URLs with `iss` and `sid`.
 */
let s: TestServer;
let browser: Browser;
const rps: RelyingParty[] = [];
const insecure = { execute: [client.allowInsecureRequests] };

interface RegisteredApp {
  rp: RelyingParty;
  clientId: string;
  config: client.Configuration;
}
let appA: RegisteredApp;
let appB: RegisteredApp;

async function register(name: string): Promise<RegisteredApp> {
  const rp = await startRelyingParty();
  rps.push(rp);
  const { app } = await s.createApp({
    name,
    type: 'native',
    redirectUris: [`${rp.url}/cb`],
    postLogoutRedirectUris: [`${rp.url}/bye`],
    logoutUrl: `${rp.url}/logout`,
  });
  const config = await client.discovery(new URL(`${s.baseUrl}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`), app.clientId, undefined, client.None(), insecure);
  return { rp, clientId: app.clientId, config };
}

/** Runs code + PKCE for one app in the page (signing in on the form if asked) and returns its tokens. */
async function signIn(page: Page, app: RegisteredApp): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const url = client.buildAuthorizationUrl(app.config, {
    redirect_uri: `${app.rp.url}/cb`,
    scope: 'openid',
    state,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
  });
  await page.goto(url.toString());
  if (page.url().startsWith(s.baseUrl)) {
    await page.getByLabel('Email Address').fill('fran@example.com');
    await page.getByLabel('Password').fill('fran-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
  }
  await page.waitForURL(`${app.rp.url}/cb**`);
  return client.authorizationCodeGrant(app.config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state });
}

beforeAll(async () => {
  s = await startServer();
  await s.createUser('fran@example.com', 'fran-password-1');
  browser = await launchBrowser();
  appA = await register('app-a');
  appB = await register('app-b');
});

afterAll(async () => {
  await browser?.close();
  for (const rp of rps) await rp.close();
  await s?.close();
});

describe('front-channel logout', () => {
  it('is advertised in discovery', async () => {
    const meta = appA.config.serverMetadata();
    expect(meta.frontchannel_logout_supported).toBe(true);
    expect(meta.frontchannel_logout_session_supported).toBe(true);
  });

  it('loads the logout URL of every app of the SSO session with iss and sid, then returns to the app', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    try {
      const a = await signIn(page, appA);
      // App B signs in silently on the same session: no sign-in page in between.
      const b = await signIn(page, appB);
      const claimsA = a.claims()!;
      const claimsB = b.claims()!;
      expect(typeof claimsA.sid).toBe('string');
      expect(claimsB.sid).toBe(claimsA.sid);
      // Joining the session did not sign app A out (the browser may ask A's server for a favicon meanwhile).
      expect(appA.rp.received.filter((u) => u.pathname === '/logout')).toHaveLength(0);

      // Sign out of app A, the way an app does it.
      const end = client.buildEndSessionUrl(appA.config, { id_token_hint: a.id_token!, post_logout_redirect_uri: `${appA.rp.url}/bye`, state: 'after-logout' });
      await page.goto(end.toString());
      await page.waitForURL(`${appA.rp.url}/bye**`);
      expect(new URL(page.url()).searchParams.get('state')).toBe('after-logout');

      for (const [app, claims] of [[appA, claimsA], [appB, claimsB]] as const) {
        const hits = app.rp.received.filter((u) => u.pathname === '/logout');
        expect(hits, `logout URL of ${app.clientId}`).toHaveLength(1);
        expect(hits[0]!.searchParams.get('iss')).toBe(claims.iss);
        expect(hits[0]!.searchParams.get('sid')).toBe(claims.sid);
      }

      // The session is over: app B's next request shows the sign-in page again.
      await page.goto(client.buildAuthorizationUrl(appB.config, { redirect_uri: `${appB.rp.url}/cb`, scope: 'openid', code_challenge: await client.calculatePKCECodeChallenge(client.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).toString());
      await page.getByLabel('Email Address').waitFor();
    } finally {
      await context.close();
    }
  });

  it('shows the signed-out page with the apps framed when there is no post-logout redirect', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    try {
      await signIn(page, appB);
      const before = appB.rp.received.filter((u) => u.pathname === '/logout').length;
      const res = await page.goto(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/logout`);
      expect(res!.headers()['content-security-policy']).toContain(`frame-src ${appB.rp.url}`);
      await page.getByRole('heading', { name: 'You have signed out' }).waitFor();
      await expect.poll(() => appB.rp.received.filter((u) => u.pathname === '/logout').length).toBe(before + 1);
    } finally {
      await context.close();
    }
  });
});
