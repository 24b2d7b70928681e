import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfidentialClientApplication, CryptoProvider, LogLevel } from '@azure/msal-node';
import type { Browser } from 'playwright-core';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { suiteCert } from '../helpers/tls.js';

/**
 * Microsoft's own library, configured exactly as for Azure AD B2C, pointed at Latchkey over https
 * (the suite's certificate is trusted through NODE_EXTRA_CA_CERTS).
 */
let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let web: { clientId: string; secret: string };
const API = 'https://demo.onmicrosoft.com/tasks';

beforeAll(async () => {
  s = await startServer({ tls: suiteCert(), host: 'localhost' });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  await s.createUser('nia@example.com', 'nia-password-1', { givenName: 'Nia', displayName: 'Nia N' });
  const w = await s.createApp({ name: 'msal web', type: 'web', redirectUris: [`${rp.url}/signin-oidc`] });
  web = { clientId: w.app.clientId, secret: w.clientSecret! };
  const api = await s.createApp({ name: 'tasks', type: 'api', identifierUri: API });
  await s.deps.store.addAppScope(api.app.clientId, 'tasks.read');
  await s.deps.store.addGrant({ clientId: web.clientId, apiClientId: api.app.clientId, kind: 'scope', name: 'tasks.read' });
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await s?.close();
});

describe('@azure/msal-node against Latchkey', () => {
  it('getAuthCodeUrl → sign in → acquireTokenByCode → acquireTokenSilent (refresh)', async () => {
    const host = new URL(s.baseUrl).host;
    const msalLogs: string[] = [];
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: web.clientId,
        clientSecret: web.secret,
        authority: `${s.baseUrl}/demo.onmicrosoft.com/B2C_1_signupsignin`,
        knownAuthorities: [host],
      },
      system: { loggerOptions: { logLevel: LogLevel.Warning, loggerCallback: (_l, m) => msalLogs.push(m), piiLoggingEnabled: false } },
    });
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const redirectUri = `${rp.url}/signin-oidc`;
    const scopes = [`${API}/tasks.read`];
    const url = await cca.getAuthCodeUrl({ scopes, redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', state: 'msal-state' });
    expect(url.startsWith(`${s.baseUrl}/demo.onmicrosoft.com/b2c_1_signupsignin/oauth2/v2.0/authorize?`)).toBe(true);

    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(url);
    await page.getByLabel('Email Address').fill('nia@example.com');
    await page.getByLabel('Password').fill('nia-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${rp.url}/**`);
    const back = new URL(page.url());
    expect(back.searchParams.get('state')).toBe('msal-state');
    await context.close();

    const result = await cca.acquireTokenByCode({ code: back.searchParams.get('code')!, redirectUri, scopes, codeVerifier: verifier });
    expect(result.idTokenClaims).toMatchObject({ tfp: 'B2C_1_signupsignin', emails: ['nia@example.com'], name: 'Nia N' });
    expect(result.account?.homeAccountId).toBe(`${result.uniqueId}-b2c_1_signupsignin.${s.tenant.id}`);
    expect(result.scopes).toContain(`${API}/tasks.read`);
    const at = JSON.parse(Buffer.from(result.accessToken.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(at.scp).toBe('tasks.read');

    const silent = await cca.acquireTokenSilent({ account: result.account!, scopes, forceRefresh: true });
    expect(silent.accessToken).not.toBe(result.accessToken);
    expect(silent.fromCache).toBe(false);
    expect(silent.idTokenClaims).toMatchObject({ oid: result.uniqueId });
    expect(msalLogs.filter((m) => /error/i.test(m))).toEqual([]);
  });
});
