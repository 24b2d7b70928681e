import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { apacheAvailable, startMellon, type MellonSp } from '../helpers/apache-mellon.js';
import { createSamlApp } from '../../src/services/saml-apps.js';

/**
 * Apache httpd with Debian's mod_auth_mellon protecting a page through Latchkey: the user opens the
 * page in Chromium, mellon sends a signed AuthnRequest (its metadata says AuthnRequestsSigned), the
 * user signs in on Latchkey's page, mellon checks the signed response and shows the page with the
 * NameID and attributes it received; mellon's logout ends Latchkey's session too (single logout).
 */
const available = apacheAvailable();
let s: TestServer;
let mellon: MellonSp;
let browser: Browser;

beforeAll(async () => {
  if (!available) return;
  s = await startServer({ env: { LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1,localhost' } });
  await s.createUser('ann@example.com', 'ann-password-1', { givenName: 'Ann', familyName: 'Smith', displayName: 'Ann Smith' });
  const idp = await (await fetch(`${s.baseUrl}/demo/B2C_1_signupsignin/samlp/metadata`)).text();
  [mellon, browser] = await Promise.all([startMellon(idp), launchBrowser()]);
  const app = await createSamlApp({ store: s.deps.store, audit: s.deps.audit, clock: s.clock, fetch: (u, i) => fetch(u, i) }, s.tenant, { name: 'Intranet', metadataXml: mellon.metadata });
  expect(app.requireSignedRequests).toBe(true);
  expect(app.slo?.url).toBe(`${mellon.url}/mellon/logout`);
});

afterAll(async () => {
  await browser?.close();
  await mellon?.close();
  await s?.close();
});

describe.skipIf(!available)('Apache mod_auth_mellon signs in through Latchkey', () => {
  it('protects a page: SP-initiated sign-in in Chromium, NameID the oid, attributes; single logout ends both sessions', async () => {
    // mellon is served over https with the suite's own certificate.
    const context = await browser.newContext({ ignoreHTTPSErrors: true });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    try {
      await page.goto(`${mellon.url}/protected/`);
      await page.waitForURL(`${s.baseUrl}/**`);
      await page.getByLabel('Email Address').fill('ann@example.com');
      await page.getByLabel('Password').fill('ann-password-1');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.waitForURL(`${mellon.url}/protected/`);
      const user = (await s.deps.store.findUsersByEmail(s.tenant.id, 'ann@example.com'))[0]!;
      expect(await page.locator('#user').textContent(), mellon.errorLog()).toBe(user.id);
      expect(await page.locator('#email').textContent()).toBe('ann@example.com');
      expect(await page.locator('#given').textContent()).toBe('Ann');
      const requests = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'saml_request', outcome: 'success' });
      expect(requests[0]?.detail).toContain('(signed)');

      // mellon's logout: its signed LogoutRequest to Latchkey, Latchkey's signed LogoutResponse back.
      await page.goto(`${mellon.url}/mellon/logout?ReturnTo=${encodeURIComponent(`${mellon.url}/`)}`);
      await page.waitForURL(`${mellon.url}/`);
      const logout = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'saml_logout', limit: 1 });
      expect(logout[0]?.outcome, mellon.errorLog()).toBe('success');
      expect(logout[0]?.detail).not.toContain('no session');
      // Both sessions are gone: the page asks for a sign-in at Latchkey again.
      await page.goto(`${mellon.url}/protected/`);
      await page.waitForURL(`${s.baseUrl}/**`);
      await page.getByLabel('Email Address').waitFor();
    } finally {
      await context.close();
    }
  });
});
