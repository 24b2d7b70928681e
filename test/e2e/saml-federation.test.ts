import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { finishFlow, newPage, startFlow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createSamlApp } from '../../src/services/saml-apps.js';

/**
 * A second Latchkey as the upstream SAML identity provider of the first ("here"): here is its SAML
 * app (registered from here's SP metadata URL, so here's AuthnRequests must be signed), and here offers
 * it in a policy. The user signs in at the upstream's own pages; openid-client plays here's app. Then the
 * responses an attacker would send: the shapes of the published SAML advisories, each refused and audited.
 */
let here: TestServer;
let upstream: TestServer;
let rp: RelyingParty;
let browser: Browser;
let appId: string;
let acsUrl: string;
const POLICY = 'B2C_1_saml';

beforeAll(async () => {
  const env = { LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1,localhost' };
  [here, upstream, rp, browser] = await Promise.all([startServer({ env }), startServer({ env }), startRelyingParty(), launchBrowser()]);
  acsUrl = `${here.baseUrl}/demo/federation/corp/saml/acs`;
  const folder = join(here.dir, 'policies', 'demo');
  writeFileSync(join(folder, 'identity-providers.json'), JSON.stringify({
    providers: [{ id: 'corp', type: 'saml', displayName: 'Corp', metadataUrl: `${upstream.baseUrl}/demo/B2C_1_signupsignin/samlp/metadata`, trustEmail: true }],
  }));
  writeFileSync(join(folder, `${POLICY}.json`), JSON.stringify({
    id: POLICY,
    kind: 'signUpOrSignIn',
    identityProviders: ['local', 'corp'],
    signUp: { attributes: [{ claim: 'given_name', label: 'Given name', required: true }] },
    outputClaims: ['oid', 'emails', 'name', 'given_name', 'idp', 'newUser', 'tfp'],
  }));
  for (let i = 0; i < 100 && here.deps.policies.get('demo', POLICY) === undefined; i++) await new Promise((r) => setTimeout(r, 50));
  appId = (await here.createApp({ name: 'app', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
  await upstream.createUser('pat@corp.example', 'pat-password-1', { givenName: 'Pat', familyName: 'Corp', displayName: 'Pat Corp' });
  const app = await createSamlApp({ store: upstream.deps.store, audit: upstream.deps.audit, clock: upstream.clock, fetch: (u, i) => fetch(u, i) }, upstream.tenant, {
    name: 'here',
    metadataUrl: `${here.baseUrl}/demo/federation/corp/saml/metadata`,
  });
  expect(app.requireSignedRequests).toBe(true);
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await Promise.all([here?.close(), upstream?.close()]);
});

const flowHere = (extra: Record<string, string> = {}) => startFlow({ baseUrl: here.baseUrl, policy: POLICY, clientId: appId, redirectUri: `${rp.url}/cb`, scope: 'openid profile', extra });

async function signInUpstream(page: Page) {
  await page.waitForURL(`${upstream.baseUrl}/**`);
  await page.getByLabel('Email Address').fill('pat@corp.example');
  await page.getByLabel('Password').fill('pat-password-1');
  await page.getByRole('button', { name: 'Sign in' }).click();
}

/** Until the upstream's Response reaches here's ACS, which takes it from the browser and keeps it (the journey waits). */
async function capture(context: BrowserContext, page: Page): Promise<Record<string, string>> {
  let got!: (v: Record<string, string>) => void;
  const posted = new Promise<Record<string, string>>((r) => (got = r));
  await page.route(acsUrl, async (route) => {
    got(Object.fromEntries(new URLSearchParams(route.request().postData() ?? '')));
    await route.fulfill({ status: 204, body: '' });
  });
  // prompt=login: here's own SSO session would answer without asking the upstream.
  const flow = await flowHere({ prompt: 'login' });
  await page.goto(flow.url.toString());
  await page.getByRole('button', { name: 'Corp' }).click();
  const form = await posted;
  await page.unroute(acsUrl);
  void context;
  return form;
}

/** Posts a (tampered) response to the ACS from the browser; the answer here sends. */
async function post(context: BrowserContext, form: Record<string, string>) {
  let res = await context.request.post(acsUrl, { form, maxRedirects: 0 });
  // A sign-in that goes on reloads its journey page (post/redirect/get), which answers the app.
  for (let hop = 0; hop < 3 && res.status() === 303 && (res.headers().location ?? '').startsWith('/'); hop++) {
    res = await context.request.get(`${here.baseUrl}${res.headers().location}`, { maxRedirects: 0 });
  }
  return { status: res.status(), location: res.headers().location ?? '', body: await res.text() };
}

const xmlOf = (form: Record<string, string>) => Buffer.from(form.SAMLResponse!, 'base64').toString('utf8');
const withXml = (form: Record<string, string>, xml: string) => ({ ...form, SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') });

describe('an upstream SAML identity provider (a second Latchkey)', () => {
  let oid: string;

  it('signs up through it on the first sign-in and finds the same oid the next time; the identity is the IdP host', async () => {
    const { context, page } = await newPage(browser);
    const flow = await flowHere();
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Corp' }).click();
    await signInUpstream(page);
    await Promise.race([page.waitForURL(`${rp.url}/**`), page.getByRole('button', { name: 'Continue' }).waitFor()]);
    if (!page.url().startsWith(rp.url)) await page.getByRole('button', { name: 'Continue' }).click();
    await page.waitForURL(`${rp.url}/**`);
    const first = (await finishFlow(page, flow)).claims()!;
    const issuer = new URL(upstream.baseUrl).host;
    expect(first.idp).toBe(issuer);
    expect(first.newUser).toBe(true);
    expect(first.given_name).toBe('Pat');
    expect(first.emails).toEqual(['pat@corp.example']);
    oid = first.oid as string;
    const upstreamUser = (await upstream.deps.store.findUsersByEmail(upstream.tenant.id, 'pat@corp.example'))[0]!;
    expect(await here.deps.store.listUserIdentities(here.tenant.id, oid)).toEqual([expect.objectContaining({ issuer, issuerAssignedId: upstreamUser.id })]);
    await context.close();

    const again = await newPage(browser);
    const flow2 = await flowHere();
    await again.page.goto(flow2.url.toString());
    await again.page.getByRole('button', { name: 'Corp' }).click();
    await signInUpstream(again.page);
    const second = (await finishFlow(again.page, flow2)).claims()!;
    expect(second.oid).toBe(oid);
    expect(second.newUser).toBeUndefined();
    // The upstream checked here's signed AuthnRequests (the app's metadata says AuthnRequestsSigned).
    const audit = await upstream.deps.store.listAuditEvents({ tenantId: upstream.tenant.id, event: 'saml_request', outcome: 'success' });
    expect(audit.every((e) => e.detail?.includes('(signed)'))).toBe(true);
    await again.context.close();
  });

  describe('refuses what the published SAML advisories describe, audited, with an error to the app', () => {
    let context: BrowserContext;
    let page: Page;
    beforeAll(async () => {
      ({ context, page } = await newPage(browser));
      // Signed in at the upstream once: later round trips come straight back (its SSO session).
      const flow = await flowHere();
      await page.goto(flow.url.toString());
      await page.getByRole('button', { name: 'Corp' }).click();
      await signInUpstream(page);
      await finishFlow(page, flow);
    });
    afterAll(async () => context?.close());

    async function refused(tamper: (xml: string) => string, reason: RegExp) {
      const form = await capture(context, page);
      const res = await post(context, withXml(form, tamper(xmlOf(form))));
      expect(res.status).toBe(302);
      const location = new URL(res.location);
      expect(location.origin).toBe(rp.url);
      expect(location.searchParams.get('error_description')).toContain('AADB2C90273');
      const audit = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'federated_signin', outcome: 'failure', limit: 1 });
      expect(audit[0]?.detail).toMatch(reason);
    }

    it('accepts the untouched response (the harness works)', async () => {
      const form = await capture(context, page);
      const res = await post(context, form);
      expect(res.status).toBe(302);
      expect(new URL(res.location).searchParams.get('code')).toBeTruthy();
    });

    it('a comment inside the NameID does not cut it short (2018 comment-injection): the whole id is read', async () => {
      const form = await capture(context, page);
      const xml = xmlOf(form).replace(/(<saml:NameID[^>]*>)([^<]{8})([^<]+)(<\/saml:NameID>)/, '$1$2<!---->$3$4');
      expect(xml).toContain('<!---->');
      const res = await post(context, withXml(form, xml));
      const flowCode = new URL(res.location).searchParams.get('code');
      expect(flowCode).toBeTruthy();
      const events = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'federated_signin', outcome: 'success', limit: 1 });
      expect(events[0]?.subject).toBe(oid);
    });

    it('an unsigned response (both signatures removed)', async () => {
      await refused((xml) => xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/g, ''), /signature/i);
    });

    it('an unsigned assertion inside the signed response, beside the signed one', async () => {
      await refused((xml) => {
        const evil = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0].replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '').replace(/ID="[^"]+"/, 'ID="_evil"').replace(/(<saml:NameID[^>]*>)[^<]+/, '$1victim');
        return xml.replace('<saml:Assertion', `${evil}<saml:Assertion`);
      }, /multiple assertions|signature/i);
    });

    it('XSW: an evil assertion wrapping the signed one (the signed one moved inside it)', async () => {
      await refused((xml) => {
        const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
        const evil = signed.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '').replace(/ID="[^"]+"/, 'ID="_evil"').replace(/(<saml:NameID[^>]*>)[^<]+/, '$1victim').replace('</saml:Assertion>', `<saml:Advice>${signed}</saml:Advice></saml:Assertion>`);
        return xml.replace(signed, evil);
      }, /signature/i);
    });

    it('XSW: a new response root around the signed original (its signature references another ID)', async () => {
      await refused((xml) => {
        const original = xml.replace(/^<\?xml[^>]*>/, '');
        const evil = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(original)![0].replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '').replace(/ID="[^"]+"/, 'ID="_evil"').replace(/(<saml:NameID[^>]*>)[^<]+/, '$1victim');
        const head = /^<samlp:Response[^>]*>/.exec(original)![0].replace(/ ID="[^"]+"/, ' ID="_evil_response"');
        return `${head}<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">${/<saml:Issuer>([^<]+)<\/saml:Issuer>/.exec(original)![1]}</saml:Issuer><samlp:Extensions>${original}</samlp:Extensions><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Success"/></samlp:Status>${evil}</samlp:Response>`;
      }, /signature/i);
    });

    it('XSW: an evil assertion with the signed assertion’s ID (duplicate IDs)', async () => {
      await refused((xml) => {
        const signed = /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
        const evil = signed.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '').replace(/(<saml:NameID[^>]*>)[^<]+/, '$1victim');
        return xml.replace(signed, `${evil}`).replace('</samlp:Response>', `<samlp:Extensions>${signed}</samlp:Extensions></samlp:Response>`);
      }, /signature|multiple|ID/i);
    });

    it('a response replayed after it was used', async () => {
      const form = await capture(context, page);
      expect((await post(context, form)).location).toContain('code=');
      const again = await post(context, form);
      // The journey is finished: nothing waits for this response any more.
      expect(again.status).toBe(404);
      expect(again.body).toContain('expired');
    });

    it('an assertion is used once, even by a second request that found the sign-in still waiting (two instances racing)', async () => {
      const form = await capture(context, page);
      const nonce = /InResponseTo="_([^"]+)"/.exec(xmlOf(form))![1]!;
      const provider = here.deps.policies.providers('demo').get('corp')!;
      const checks = { state: form.RelayState!, nonce, codeVerifier: '', redirectUri: '', tenant: { id: here.tenant.id, slug: here.tenant.slug } };
      // The adapter itself, as each of two instances would call it with the journey they both read.
      const first = await here.deps.federation.complete(provider, { method: 'POST', params: form }, checks);
      expect(first.profile.issuerAssignedId).toBeTruthy();
      await expect(here.deps.federation.complete(provider, { method: 'POST', params: form }, checks)).rejects.toThrow(/already used/);
    });

    it('a response for another ACS (Destination and Recipient) or an expired one', async () => {
      await refused((xml) => xml.replace(/Destination="[^"]+"/, `Destination="${here.baseUrl}/demo/federation/other/saml/acs"`), /addressed to/);
      upstream.clock.advance(-15 * 60_000);
      try {
        await refused((xml) => xml, /subject confirmation|expired|NotOnOrAfter/i);
      } finally {
        upstream.clock.advance(15 * 60_000);
      }
    });

    it('an unsolicited response (no sign-in waits for it) is a 400 page, and nothing is posted on', async () => {
      const res = await fetch(acsUrl, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'lk_browser=x', accept: 'text/html' }, body: new URLSearchParams({ SAMLResponse: 'PHg+', RelayState: 'nothing' }).toString() });
      expect(res.status).toBe(400);
      expect(await res.text()).not.toContain('SAMLResponse');
    });
  });
});
