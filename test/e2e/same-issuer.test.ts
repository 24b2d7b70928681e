import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfidentialClientApplication, CryptoProvider } from '@azure/msal-node';
import { createLocalJWKSet, jwtVerify } from 'jose';
import type { Browser } from 'playwright-core';
import { createLocalUser } from '../../src/services/users.js';
import { createApp } from '../../src/services/apps.js';
import { createTenant } from '../../src/services/tenants.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { httpsRequest, suiteCert } from '../helpers/tls.js';

/**
 * A team moving off B2C keeps its tenant's GUID: with the tenant created by `tenant create --id` and
 * Latchkey served at the old custom domain, the issuer is byte for byte the one apps validate, and an
 * app's unchanged msal-node configuration (authority host and B2C path) signs users in.
 */
const B2C_TENANT_ID = '775527ff-9a37-4307-8b3d-cc311f58d925';
let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let web: { clientId: string; secret: string };

beforeAll(async () => {
  s = await startServer({ tls: suiteCert(), host: 'localhost' });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  const contoso = await createTenant(s.provision, 'contoso', { id: B2C_TENANT_ID, displayName: 'Contoso' });
  await createLocalUser(s.provision, contoso, { email: 'mo@contoso.example', password: 'mo-password-1', displayName: 'Mo' }, { by: 'cli' });
  const w = await createApp(s.provision, contoso, { name: 'web', type: 'web', redirectUris: [`${rp.url}/signin-oidc`] });
  web = { clientId: w.app.clientId, secret: w.clientSecret! };
  s.deps.policies.list('contoso');
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await s?.close();
});

describe('the B2C tenant id kept', () => {
  it('answers discovery with exactly {base}/{GUID}/v2.0/ as issuer, in every URL form', async () => {
    const expected = `${s.baseUrl}/${B2C_TENANT_ID}/v2.0/`;
    for (const path of ['contoso.onmicrosoft.com/B2C_1_signupsignin', 'contoso/B2C_1_signin', `${B2C_TENANT_ID}/B2C_1_signupsignin`, `tfp/contoso.onmicrosoft.com/B2C_1_signupsignin`]) {
      const r = await httpsRequest(`${s.baseUrl}/${path}/v2.0/.well-known/openid-configuration`, suiteCert().cert);
      expect(r.status, path).toBe(200);
      expect((JSON.parse(r.body) as { issuer: string }).issuer, path).toBe(expected);
    }
    // Strict OpenID Connect discovery from the issuer alone works too.
    const fromIssuer = await httpsRequest(`${expected}.well-known/openid-configuration`, suiteCert().cert);
    expect((JSON.parse(fromIssuer.body) as { issuer: string }).issuer).toBe(expected);
  });

  it('signs in through an unchanged msal-node configuration, whose id_token verifies against that issuer', async () => {
    const host = new URL(s.baseUrl).host;
    // What the app had for B2C, with only the host changed (a custom domain points at Latchkey now).
    const cca = new ConfidentialClientApplication({
      auth: { clientId: web.clientId, clientSecret: web.secret, authority: `https://${host}/contoso.onmicrosoft.com/B2C_1_signupsignin`, knownAuthorities: [host] },
    });
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const redirectUri = `${rp.url}/signin-oidc`;
    const url = await cca.getAuthCodeUrl({ scopes: ['openid'], redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256' });
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(url);
    await page.getByLabel('Email Address').fill('mo@contoso.example');
    await page.getByLabel('Password').fill('mo-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${rp.url}/**`);
    const code = new URL(page.url()).searchParams.get('code')!;
    await context.close();
    const result = await cca.acquireTokenByCode({ code, redirectUri, scopes: ['openid'], codeVerifier: verifier });
    expect(result.idTokenClaims).toMatchObject({ iss: `${s.baseUrl}/${B2C_TENANT_ID}/v2.0/`, tfp: 'B2C_1_signupsignin', name: 'Mo' });
    // MSAL's account key carries the tenant id (from client_info), as it did against B2C.
    expect(result.account?.homeAccountId).toBe(`${result.uniqueId}-b2c_1_signupsignin.${B2C_TENANT_ID}`);
    const jwks = JSON.parse((await httpsRequest(`${s.baseUrl}/contoso.onmicrosoft.com/B2C_1_signupsignin/discovery/v2.0/keys`, suiteCert().cert)).body) as Parameters<typeof createLocalJWKSet>[0];
    const { payload } = await jwtVerify(result.idToken, createLocalJWKSet(jwks), { issuer: `https://${host}/${B2C_TENANT_ID}/v2.0/`, audience: web.clientId });
    expect(payload.sub).toBe(result.uniqueId);
  });
});
