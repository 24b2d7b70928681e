import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The whole sign-in story as a real app lives it: openid-client (a certified relying party) talks
 * to Latchkey over HTTP, and a user signs in on the hosted page in headless Chromium.
 */
let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let web: { clientId: string; secret: string };
let native: string;
let daemon: { clientId: string; secret: string };
const API = 'https://demo.example/reports';
const insecure = { execute: [client.allowInsecureRequests] };

beforeAll(async () => {
  s = await startServer();
  rp = await startRelyingParty();
  browser = await launchBrowser();
  await s.createUser('carol@example.com', 'carol-password-1', { givenName: 'Carol', familyName: 'Diaz', displayName: 'Carol Diaz' });
  const w = await s.createApp({ name: 'web', type: 'web', redirectUris: [`${rp.url}/cb`], postLogoutRedirectUris: [`${rp.url}/signed-out`] });
  web = { clientId: w.app.clientId, secret: w.clientSecret! };
  native = (await s.createApp({ name: 'native', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
  ({ daemon } = await s.createDaemonForApi({ api: 'reports', identifierUri: API, role: 'Reports.Read', daemon: 'nightly' }));
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await s?.close();
});

async function signIn(page: Page, url: URL, email: string, password: string): Promise<URL> {
  await page.goto(url.toString());
  await page.getByLabel('Email Address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${rp.url}/**`);
  return new URL(page.url());
}

describe('openid-client against Latchkey', () => {
  it('discovers the path form, the query form and the issuer alone, all naming the same issuer', async () => {
    const path = await client.discovery(new URL(`${s.baseUrl}/demo/B2C_1_signupsignin/v2.0/.well-known/openid-configuration`), web.clientId, undefined, undefined, insecure);
    const query = await client.discovery(new URL(`${s.baseUrl}/demo.onmicrosoft.com/v2.0/.well-known/openid-configuration?p=B2C_1_signupsignin`), web.clientId, undefined, undefined, insecure);
    // Strict OIDC Discovery: issuer + /.well-known/openid-configuration, with the issuer check on.
    const strict = await client.discovery(new URL(`${s.baseUrl}/${s.tenant.id}/v2.0/`), web.clientId, undefined, undefined, insecure);
    const issuer = `${s.baseUrl}/${s.tenant.id}/v2.0/`;
    for (const c of [path, query, strict]) expect(c.serverMetadata().issuer).toBe(issuer);
    expect(path.serverMetadata().authorization_endpoint).toBe(`${s.baseUrl}/demo/b2c_1_signupsignin/oauth2/v2.0/authorize`);
    expect(query.serverMetadata().authorization_endpoint).toBe(`${s.baseUrl}/demo.onmicrosoft.com/oauth2/v2.0/authorize?p=b2c_1_signupsignin`);
    expect(strict.serverMetadata().code_challenge_methods_supported).toEqual(['S256']);
  });

  it('signs in with code + PKCE, refreshes, calls userinfo, logs out, then prompt=none answers login_required', async () => {
    const config = await client.discovery(
      new URL(`${s.baseUrl}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`),
      web.clientId,
      undefined,
      client.ClientSecretBasic(web.secret),
      insecure,
    );
    const verifier = client.randomPKCECodeVerifier();
    const state = client.randomState();
    const nonce = client.randomNonce();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rp.url}/cb`,
      scope: 'openid offline_access profile email',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const callback = await signIn(page, authUrl, 'carol@example.com', 'carol-password-1');

    // openid-client validates the id_token: signature via JWKS, iss, aud, exp, nonce.
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce });
    const claims = tokens.claims()!;
    expect(claims.tfp).toBe('B2C_1_signin');
    expect(claims.emails).toEqual(['carol@example.com']);
    expect(claims.name).toBe('Carol Diaz');
    expect(claims.sub).toBe(claims.oid);
    expect(tokens.refresh_token).toBeTruthy();

    const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token!);
    expect(refreshed.refresh_token).not.toBe(tokens.refresh_token);
    expect(refreshed.claims()!.sub).toBe(claims.sub);
    // The rotated refresh token is spent.
    await expect(client.refreshTokenGrant(config, tokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });

    const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
    expect(info).toMatchObject({ sub: claims.sub, email: 'carol@example.com', given_name: 'Carol', family_name: 'Diaz' });

    // While the SSO session lives, prompt=none signs in silently.
    const silentUrl = client.buildAuthorizationUrl(config, { redirect_uri: `${rp.url}/cb`, scope: 'openid', prompt: 'none', state: 'silent-1', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    await page.goto(silentUrl.toString());
    await page.waitForURL(`${rp.url}/**`);
    expect(new URL(page.url()).searchParams.get('code')).toBeTruthy();

    const logoutUrl = client.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: `${rp.url}/signed-out`, state: 'bye' });
    await page.goto(logoutUrl.toString());
    await page.waitForURL(`${rp.url}/signed-out**`);
    expect(new URL(page.url()).searchParams.get('state')).toBe('bye');

    const afterUrl = client.buildAuthorizationUrl(config, { redirect_uri: `${rp.url}/cb`, scope: 'openid', prompt: 'none', state: 'silent-2', code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
    await page.goto(afterUrl.toString());
    await page.waitForURL(`${rp.url}/**`);
    const after = new URL(page.url()).searchParams;
    expect(after.get('error')).toBe('login_required');
    expect(after.get('error_description')).toContain('AADB2C90077');
    expect(after.get('state')).toBe('silent-2');
    await context.close();
  });

  it('signs in a public client through the query form with no client secret', async () => {
    const config = await client.discovery(
      new URL(`${s.baseUrl}/demo/v2.0/.well-known/openid-configuration?p=B2C_1_signupsignin`),
      native,
      undefined,
      client.None(),
      insecure,
    );
    const verifier = client.randomPKCECodeVerifier();
    const authUrl = client.buildAuthorizationUrl(config, {
      redirect_uri: `${rp.url}/cb`,
      scope: 'openid',
      code_challenge: await client.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state: 'q1',
    });
    const context = await browser.newContext();
    const page = await context.newPage();
    const callback = await signIn(page, authUrl, 'carol@example.com', 'carol-password-1');
    const tokens = await client.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: 'q1' });
    expect(tokens.claims()!.tfp).toBe('B2C_1_signupsignin');
    await context.close();
  });

  it('gets a client_credentials token for a daemon', async () => {
    const config = await client.discovery(new URL(`${s.baseUrl}/${s.tenant.id}/v2.0/`), daemon.clientId, undefined, client.ClientSecretPost(daemon.secret), insecure);
    const tokens = await client.clientCredentialsGrant(config, { scope: `${API}/.default` });
    expect(tokens.token_type).toBe('bearer');
    const payload = JSON.parse(Buffer.from(tokens.access_token.split('.')[1]!, 'base64url').toString('utf8'));
    expect(payload.roles).toEqual(['Reports.Read']);
  });
});
