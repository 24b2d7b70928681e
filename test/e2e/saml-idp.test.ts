import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { deflateRawSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { newPage, startFlow, finishFlow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { latchkeyIdpMetadata, startSamlSp, type SamlSp } from '../helpers/saml-sp.js';
import { createSamlApp } from '../../src/services/saml-apps.js';
import { rotateKeys } from '../../src/services/keys.js';
import { cliJs } from '../helpers/instances.js';

/**
 * Latchkey as a SAML identity provider for @node-saml/node-saml service providers (SP- and
 * IdP-initiated, HTTP-Redirect and HTTP-POST, signed requests, single logout), in headless Chromium,
 * and the requests it must refuse without posting anything anywhere.
 */
let s: TestServer;
let sp: SamlSp;
let signer: SamlSp;
let rp: RelyingParty;
let browser: Browser;
let idp: Awaited<ReturnType<typeof latchkeyIdpMetadata>>;
const WS = 'http://schemas.xmlsoap.org/ws/2005/05/identity/claims/';

const register = (input: Parameters<typeof createSamlApp>[2]) => createSamlApp({ store: s.deps.store, audit: s.deps.audit, clock: s.clock, fetch: (u, i) => fetch(u, i) }, s.tenant, input);

beforeAll(async () => {
  s = await startServer({ env: { LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1,localhost' } });
  [sp, signer, rp, browser] = await Promise.all([startSamlSp(), startSamlSp(), startRelyingParty(), launchBrowser()]);
  await s.createUser('ann@example.com', 'ann-password-1', { givenName: 'Ann', familyName: 'Smith', displayName: 'Ann Smith' });
  idp = await latchkeyIdpMetadata(`${s.baseUrl}/demo/B2C_1_signupsignin/samlp/metadata`);
  // One SP registered by entity id and ACS URL; one from its metadata (with its signing certificate).
  await register({ name: 'Wiki', entityId: sp.entityId, acsUrls: [sp.acsUrl], sloUrl: sp.sloUrl });
  const metadataFile = signer.metadata({ signing: true });
  await register({ name: 'Portal', metadataXml: metadataFile, requireSignedRequests: true });
  sp.configure(idp);
  signer.configure(idp, { binding: 'HTTP-POST', sign: true });
});

afterAll(async () => {
  await browser?.close();
  await Promise.all([sp?.close(), signer?.close(), rp?.close()]);
  await s?.close();
});

async function signInAt(page: Page, email: string, password: string) {
  await page.getByLabel('Email Address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

describe('Latchkey as SAML identity provider', () => {
  it('publishes B2C-shaped metadata: entity id, Redirect and POST SSO and SLO, the signing certificate', async () => {
    expect(idp.entityId).toBe(`${s.baseUrl}/demo.onmicrosoft.com/B2C_1_signupsignin`);
    expect(idp.ssoUrl).toBe(`${s.baseUrl}/demo/b2c_1_signupsignin/samlp/sso/login`);
    expect(idp.xml).toContain('Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"');
    expect(idp.certificates).toHaveLength(1);
  });

  it('signs a node-saml SP in (SP-initiated, HTTP-Redirect): signed response and assertion, NameID the oid, attributes by claim name and WS-Fed URI, RelayState back', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${sp.url}/login?relay=wiki-home`);
    await signInAt(page, 'ann@example.com', 'ann-password-1');
    await page.waitForURL(`${sp.url}/acs`);
    expect(await page.locator('h1').textContent()).toMatch(/Signed in as/);
    const result = sp.results.at(-1)!;
    expect(result.error).toBeUndefined();
    const user = (await s.deps.store.findUsersByEmail(s.tenant.id, 'ann@example.com'))[0]!;
    expect(result.profile?.nameID).toBe(user.id);
    expect(result.profile?.nameIDFormat).toBe('urn:oasis:names:tc:SAML:2.0:nameid-format:persistent');
    expect(result.relayState).toBe('wiki-home');
    const attrs = result.profile?.attributes as Record<string, unknown>;
    expect(attrs.email).toBe('ann@example.com');
    expect(attrs[`${WS}emailaddress`]).toBe('ann@example.com');
    expect(attrs.given_name).toBe('Ann');
    expect(attrs[`${WS}surname`]).toBe('Smith');
    expect(attrs.oid).toBe(user.id);
    expect(result.profile?.issuer).toBe(idp.entityId);
    // The SSO session is the OpenID one as well: an OIDC app of the tenant signs in without a page.
    const oidcApp = (await s.createApp({ name: 'spa', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
    const flow = await startFlow({ baseUrl: s.baseUrl, policy: 'B2C_1_signupsignin', clientId: oidcApp, redirectUri: `${rp.url}/cb`, extra: { prompt: 'none' } });
    await page.goto(flow.url.toString());
    const tokens = await finishFlow(page, flow);
    expect(tokens.claims()?.oid).toBe(user.id);
    await context.close();
  });

  it('answers an SP whose requests must be signed (HTTP-POST binding, signature checked), and from the SSO session of an OpenID sign-in', async () => {
    const { context, page } = await newPage(browser);
    const oidcApp = (await s.createApp({ name: 'web', type: 'native', redirectUris: [`${rp.url}/cb2`] })).app.clientId;
    const flow = await startFlow({ baseUrl: s.baseUrl, policy: 'B2C_1_signupsignin', clientId: oidcApp, redirectUri: `${rp.url}/cb2` });
    await page.goto(flow.url.toString());
    await signInAt(page, 'ann@example.com', 'ann-password-1');
    await finishFlow(page, flow);
    const before = signer.results.length;
    await page.goto(`${signer.url}/login?relay=portal`);
    await page.waitForURL(`${signer.url}/acs`);
    const result = signer.results[before]!;
    expect(result.error).toBeUndefined();
    expect(result.relayState).toBe('portal');
    await context.close();
  });

  it('signs in IdP-initiated (generic/login?EntityId=): an unsolicited response to the registered ACS', async () => {
    const { context, page } = await newPage(browser);
    const unsolicited = await startSamlSp();
    try {
      await register({ name: 'Intranet', entityId: unsolicited.entityId, acsUrls: [unsolicited.acsUrl], nameId: 'email' });
      unsolicited.configure(idp, { unsolicited: true });
      await page.goto(`${s.baseUrl}/demo/B2C_1_signupsignin/generic/login?EntityId=${encodeURIComponent(unsolicited.entityId)}&RelayState=start`);
      await signInAt(page, 'ann@example.com', 'ann-password-1');
      await page.waitForURL(`${unsolicited.url}/acs`);
      const result = unsolicited.results[0]!;
      expect(result.error).toBeUndefined();
      expect(result.profile?.nameID).toBe('ann@example.com');
      expect(result.profile?.nameIDFormat).toBe('urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress');
      expect(result.profile?.inResponseTo).toBeUndefined();
      expect(result.relayState).toBe('start');
    } finally {
      await unsolicited.close();
      await context.close();
    }
  });

  it('asks again for an SP that sends ForceAuthn, whatever the SSO session; gives transient NameIDs when asked', async () => {
    const { context, page } = await newPage(browser);
    const forced = await startSamlSp();
    try {
      await register({ name: 'Payroll', entityId: forced.entityId, acsUrls: [forced.acsUrl] });
      forced.configure(idp, { forceAuthn: true });
      await page.goto(`${sp.url}/login`);
      await signInAt(page, 'ann@example.com', 'ann-password-1');
      await page.waitForURL(`${sp.url}/acs`);
      await page.goto(`${forced.url}/login`);
      await signInAt(page, 'ann@example.com', 'ann-password-1');
      await page.waitForURL(`${forced.url}/acs`);
      expect(forced.results[0]?.error).toBeUndefined();
      // A request for a transient NameID gets a new opaque one each time (here from the SSO session).
      forced.configure(idp, { nameIdFormat: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient' });
      for (let i = 0; i < 2; i++) {
        await page.goto(`${forced.url}/login`);
        await page.waitForURL(`${forced.url}/acs`);
      }
      const [a, b] = forced.results.slice(1).map((r) => r.profile!);
      expect(a!.nameIDFormat).toBe('urn:oasis:names:tc:SAML:2.0:nameid-format:transient');
      expect(a!.nameID).not.toBe(b!.nameID);
      expect(a!.attributes).toMatchObject({ email: 'ann@example.com' });
    } finally {
      await forced.close();
      await context.close();
    }
  });

  it('refuses bad requests on a 400 page, audited, and posts nothing: unknown SP, unregistered ACS, unsigned where signing is required, a forged signature', async () => {
    const redirect = (xml: string, extra = '') => `${idp.ssoUrl}?SAMLRequest=${encodeURIComponent(deflateRawSync(Buffer.from(xml)).toString('base64'))}${extra}`;
    const request = (issuer: string, acs?: string) =>
      `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r${Date.now()}" Version="2.0" IssueInstant="${new Date().toISOString()}"${acs ? ` AssertionConsumerServiceURL="${acs}"` : ''}><saml:Issuer>${issuer}</saml:Issuer></samlp:AuthnRequest>`;
    const cases: [string, string][] = [
      [redirect(request('https://unknown.example/sp')), 'is not registered in this tenant'],
      [redirect(request(sp.entityId, 'https://evil.example/acs')), 'is not registered for the application'],
      [redirect(request(signer.entityId)), 'must sign its requests'],
      [redirect(request(signer.entityId), `&SigAlg=${encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256')}&Signature=${encodeURIComponent(Buffer.alloc(256, 1).toString('base64'))}`), 'signature of the request is not valid'],
    ];
    for (const [url, text] of cases) {
      const res = await fetch(url, { headers: { accept: 'text/html' }, redirect: 'manual' });
      const html = await res.text();
      expect(res.status, text).toBe(400);
      expect(html).toContain(text);
      expect(html).not.toContain('SAMLResponse');
    }
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'saml_request', outcome: 'failure' });
    expect(audit.length).toBeGreaterThanOrEqual(4);
  });

  it('single logout: an SP-initiated LogoutRequest ends the session and gets a signed LogoutResponse; an OpenID logout signs the SAML app out in a frame', async () => {
    const { context, page } = await newPage(browser);
    await page.goto(`${sp.url}/login`);
    await signInAt(page, 'ann@example.com', 'ann-password-1');
    await page.waitForURL(`${sp.url}/acs`);
    const profile = sp.results.at(-1)!.profile!;
    expect(profile.sessionIndex).toBeTruthy();
    await page.goto(await sp.logoutUrl(profile));
    await page.waitForURL(`${sp.url}/slo?**`);
    expect(sp.logouts.at(-1)).toEqual({ kind: 'response', loggedOut: true });
    // The session is over: the next request shows the sign-in page again.
    await page.goto(`${sp.url}/login`);
    await page.getByLabel('Email Address').waitFor();

    // Signed in again; this time the OpenID end-session endpoint ends it.
    await signInAt(page, 'ann@example.com', 'ann-password-1');
    await page.waitForURL(`${sp.url}/acs`);
    const sessionIndex = sp.results.at(-1)!.profile!.sessionIndex;
    const before = sp.logouts.length;
    await page.goto(`${s.baseUrl}/demo/B2C_1_signupsignin/oauth2/v2.0/logout`);
    await expect.poll(() => sp.logouts.length, { timeout: 10_000 }).toBeGreaterThan(before);
    expect(sp.logouts.at(-1)).toMatchObject({ kind: 'request', sessionIndex });
    await context.close();
  });

  it('refuses a wrapped signed AuthnRequest (XSW: the signed request moved inside a new one with another ACS) and a signed request whose ACS was changed', async () => {
    const html = await (await fetch(`${signer.url}/login`)).text();
    const original = Buffer.from(/name="SAMLRequest" value="([^"]+)"/.exec(html)![1]!, 'base64');
    const { inflateRawSync } = await import('node:zlib');
    const xml = inflateRawSync(original).toString('utf8').replace(/^<\?xml[^>]*>/, '');
    const postTo = (message: string) =>
      fetch(idp.ssoUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html', cookie: 'lk_browser=test-browser-cookie-value' }, body: new URLSearchParams({ SAMLRequest: Buffer.from(message).toString('base64') }).toString(), redirect: 'manual' });
    const untouched = await postTo(xml);
    expect(untouched.status).toBe(302);
    const head = /^<samlp:AuthnRequest[^>]*>/.exec(xml)![0];
    const wrapped = `${head.replace(/ ID="[^"]+"/, ' ID="_evil"').replace(/AssertionConsumerServiceURL="[^"]+"/, 'AssertionConsumerServiceURL="https://evil.example/acs"')}<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${signer.entityId}</saml:Issuer><samlp:Extensions>${xml}</samlp:Extensions></samlp:AuthnRequest>`;
    const changed = xml.replace(/AssertionConsumerServiceURL="[^"]+"/, `AssertionConsumerServiceURL="${signer.acsUrl}?x=1"`);
    for (const [message, reason] of [[wrapped, /not signed|more than one signature|signature/], [changed, /signature/]] as const) {
      const res = await postTo(message);
      const body = await res.text();
      expect(res.status).toBe(400);
      expect(body).toMatch(reason);
      expect(body).not.toContain('SAMLResponse');
    }
  });

  it('registers SAML apps with the CLI (app create --type saml): JSON with the IdP metadata URL, app list; one-line errors', async () => {
    const env = { PATH: process.env.PATH, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies'), LATCHKEY_BASE_URL: s.baseUrl, LATCHKEY_LOG_LEVEL: 'silent', LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1,localhost' };
    const cli = (...args: string[]) => spawnSync(process.execPath, [cliJs, ...args], { env, encoding: 'utf8' });
    const made = cli('app', 'create', '--tenant', 'demo', '--type', 'saml', '--name', 'CLI app', '--entity-id', 'https://cli.example/sp', '--acs-url', 'https://cli.example/acs', '--name-id', 'email', '--json');
    expect(made.status, made.stderr).toBe(0);
    const app = JSON.parse(made.stdout) as Record<string, unknown>;
    expect(app).toMatchObject({ type: 'saml', entity_id: 'https://cli.example/sp', acs_urls: ['https://cli.example/acs'], name_id: 'email', require_signed_requests: false, idp_metadata_url: `${s.baseUrl}/demo/B2C_1_signupsignin/samlp/metadata` });
    const listed = JSON.parse(cli('app', 'list', '--tenant', 'demo', '--json').stdout) as { client_id: string; type: string }[];
    expect(listed.filter((a) => a.type === 'saml').map((a) => a.client_id)).toContain(app.client_id);
    for (const [args, text] of [
      [['--entity-id', 'https://x.example/sp', '--acs-url', 'https://x.example/acs', '--redirect-uri', 'https://x.example/cb'], 'for OAuth apps'],
    ] as const) {
      const r = cli('app', 'create', '--tenant', 'demo', '--type', 'saml', '--name', 'Bad', ...args);
      expect(r.status, text).not.toBe(0);
      expect(r.stderr, text).toContain(text);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    }
    // The same service the CLI calls, for the rest of its rules.
    for (const [input, text] of [
      [{ entityId: 'https://cli.example/sp', acsUrls: ['https://cli.example/acs'] }, 'already exists'],
      [{ entityId: 'https://x.example/sp', acsUrls: ['http://x.example/acs'] }, 'use https'],
      [{ entityId: 'https://x.example/sp', acsUrls: ['https://x.example/acs'], requireSignedRequests: true }, 'signing certificate'],
      [{ entityId: 'https://x.example/sp' }, 'needs at least one --acs-url'],
      [{ metadataUrl: `${sp.url}/not-metadata` }, "the service provider's metadata cannot be used"],
      [{ metadataXml: signer.metadata(), nameId: 'x509' }, 'invalid --name-id'],
    ] as [Parameters<typeof register>[0] extends infer I ? Omit<I, 'name'> : never, string][]) {
      await expect(register({ name: 'Bad', ...input }), text).rejects.toThrow(text);
    }
    // app remove takes a SAML app out too: gone from the list, audited as the CLI's.
    const removed = cli('app', 'remove', '--tenant', 'demo', '--app', String(app.client_id), '--json');
    expect(removed.status, removed.stderr).toBe(0);
    expect(JSON.parse(removed.stdout)).toEqual({ client_id: app.client_id, type: 'saml', removed: true });
    const after = JSON.parse(cli('app', 'list', '--tenant', 'demo', '--json').stdout) as { client_id: string }[];
    expect(after.map((a) => a.client_id)).not.toContain(app.client_id);
    const audited = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'app_removed' });
    expect(audited.find((e) => e.clientId === app.client_id)?.detail).toBe('saml CLI app (https://cli.example/sp) by cli');
    const again = cli('app', 'remove', '--tenant', 'demo', '--app', String(app.client_id));
    expect([again.status, again.stderr.trim().split('\n')]).toEqual([1, [expect.stringContaining(`no SAML app or enterprise app '${String(app.client_id)}'`)]]);
  });

  it('publishes a prepared key in the metadata and the JWKS before it signs (keys rotate --prepare), then signs with it after the next rotation', async () => {
    const env = { PATH: process.env.PATH, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies'), LATCHKEY_LOG_LEVEL: 'silent' };
    const prepared = spawnSync(process.execPath, [cliJs, 'keys', 'rotate', '--tenant', 'demo', '--prepare', '--json'], { env, encoding: 'utf8' });
    expect(prepared.status, prepared.stderr).toBe(0);
    const next = JSON.parse(prepared.stdout) as { kid: string; status: string };
    expect(next.status).toBe('next');
    // A second prepared key is refused until the first is used.
    const twice = spawnSync(process.execPath, [cliJs, 'keys', 'rotate', '--tenant', 'demo', '--prepare'], { env, encoding: 'utf8' });
    expect([twice.status, twice.stderr]).toEqual([1, `latchkey: tenant 'demo' has a next key published already (${next.kid}): rotate to make it active first\n`]);

    // The server sees the CLI's key within a second: published in the metadata (after the active one) and in the JWKS.
    const metadata = () => latchkeyIdpMetadata(`${s.baseUrl}/demo/B2C_1_signupsignin/samlp/metadata`);
    await expect.poll(async () => (await metadata()).certificates.length, { timeout: 5000 }).toBe(2);
    const published = await metadata();
    expect(published.certificates[0]).toBe(idp.certificates[0]);
    const jwks = (await (await fetch(`${s.baseUrl}/demo/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid)).toContain(next.kid);

    // Still signed with the old key: an SP that knows only the old certificate accepts.
    const { context, page } = await newPage(browser);
    await page.goto(`${sp.url}/login`);
    await signInAt(page, 'ann@example.com', 'ann-password-1');
    await page.waitForURL(`${sp.url}/acs`);
    expect(sp.results.at(-1)!.error).toBeUndefined();

    // The SP reads the metadata now; the next rotation makes the prepared key the one that signs.
    sp.configure(published);
    const rotated = await rotateKeys(s.provision, s.tenant);
    expect(rotated.kid).toBe(next.kid);
    s.deps.keys.invalidate(s.tenant.id);
    const after = await metadata();
    expect(after.certificates).toEqual([published.certificates[1], idp.certificates[0]]);
    await page.goto(`${sp.url}/login`);
    await page.waitForURL(`${sp.url}/acs`);
    expect(sp.results.at(-1)!.error).toBeUndefined();
    // An SP that never read the prepared certificate refuses the new signature.
    sp.configure(idp);
    await page.goto(`${sp.url}/login`);
    await page.waitForURL(`${sp.url}/acs`);
    expect(sp.results.at(-1)!.error).toMatch(/signature/i);
    await context.close();
  });
});
