import type { Server } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { freePort, startServer, type TestServer } from '../helpers/server.js';
import { suiteCert } from '../helpers/tls.js';
import { startSpaServer } from '../helpers/spa.js';

/**
 * A real SPA using @azure/msal-browser, served on localhost and driven in headless Chromium:
 * loginRedirect, acquireTokenSilent (refresh token over CORS), logoutRedirect.
 */
let s: TestServer;
let spaServer: Server;
let spaOrigin: string;
let browser: Browser;
let clientId: string;

beforeAll(async () => {
  s = await startServer({ tls: suiteCert(), host: 'localhost' });
  browser = await launchBrowser();
  await s.createUser('ola@example.com', 'ola-password-1', { displayName: 'Ola O' });
  const port = await freePort();
  // Served over https on localhost: same site as Latchkey, as an app on a sibling domain of a custom
  // B2C domain is, so the SSO cookie reaches the hidden iframe even where third-party cookies are blocked.
  spaOrigin = `https://localhost:${port}`;
  clientId = (await s.createApp({ name: 'spa', type: 'spa', redirectUris: [`${spaOrigin}/`, `${spaOrigin}/bridge`], postLogoutRedirectUris: [`${spaOrigin}/signed-out`] })).app.clientId;
  spaServer = await startSpaServer(port, { clientId, authority: `${s.baseUrl}/demo.onmicrosoft.com/B2C_1_signupsignin`, knownAuthorities: [new URL(s.baseUrl).host], scopes: ['openid', 'offline_access', clientId] });
});

afterAll(async () => {
  await browser?.close();
  await new Promise((r) => spaServer?.close(r));
  await s?.close();
});

describe('@azure/msal-browser against Latchkey', () => {
  it('loginRedirect, acquireTokenSilent, logoutRedirect', async () => {
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    const consoleErrors: string[] = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    await page.goto(`${spaOrigin}/`);
    await page.waitForSelector('body[data-ready="1"]');
    await page.evaluate(() => void (globalThis as unknown as { spa: { login(): Promise<void> } }).spa.login());
    await page.waitForURL(`${s.baseUrl}/**`);
    await page.getByLabel('Email Address').fill('ola@example.com');
    await page.getByLabel('Password').fill('ola-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${spaOrigin}/**`);
    await page.waitForSelector('body[data-ready="1"]');
    const events = await page.evaluate(() => (globalThis as unknown as { spa: { events: unknown[] } }).spa.events);
    expect(events, JSON.stringify({ events, consoleErrors })).toHaveLength(1);
    const login = events[0] as { type: string; idTokenClaims: Record<string, unknown>; accessToken: string; account: string };
    expect(login.type).toBe('login');
    expect(login.idTokenClaims).toMatchObject({ tfp: 'B2C_1_signupsignin', name: 'Ola O', aud: clientId });
    expect(login.account).toBe(`${login.idTokenClaims.oid}-b2c_1_signupsignin.${s.tenant.id}`);

    const silent = await page.evaluate(() => (globalThis as unknown as { spa: { silent(): Promise<Record<string, unknown>> } }).spa.silent());
    expect(silent, JSON.stringify(silent)).toMatchObject({ ok: true, fromCache: false });
    expect(silent.accessToken).not.toBe(login.accessToken);

    // Hidden-iframe renewal (prompt=none) rides on the SSO cookie while the session lives.
    const sso = await page.evaluate(() => (globalThis as unknown as { spa: { ssoSilent(h: string): Promise<Record<string, unknown>> } }).spa.ssoSilent('ola@example.com'));
    expect(sso, JSON.stringify(sso)).toMatchObject({ ok: true, claims: { name: 'Ola O' } });

    await page.evaluate(() => void (globalThis as unknown as { spa: { logout(): Promise<void> } }).spa.logout());
    await page.waitForURL(`${spaOrigin}/signed-out**`);
    // The SSO session is gone: a new login shows the sign-in page again.
    await page.waitForSelector('body[data-ready="1"]');
    expect(await page.evaluate(() => (globalThis as unknown as { spa: { accounts(): string[] } }).spa.accounts())).toEqual([]);
    const after = await page.evaluate(() => (globalThis as unknown as { spa: { ssoSilent(h: string): Promise<Record<string, unknown>> } }).spa.ssoSilent('ola@example.com'));
    expect(after.ok).toBe(false);
    expect(String(after.message)).toContain('AADB2C90077');
    await page.evaluate(() => void (globalThis as unknown as { spa: { login(): Promise<void> } }).spa.login());
    await page.waitForURL(`${s.baseUrl}/**/journey/**`);
    await expect(page.getByLabel('Email Address').isVisible()).resolves.toBe(true);
    await context.close();
  });
});
