import { generateKeyPairSync, randomUUID, type KeyObject } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { finishFlow, newPage, startFlow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { SignedXml } from 'xml-crypto';
import { createSamlApp } from '../../src/services/saml-apps.js';
import { createTenant } from '../../src/services/tenants.js';
import { rotateKeys } from '../../src/services/keys.js';
import { deriveCertificate, samlKeys, type SamlKeys } from '../../src/federation/saml/certificates.js';

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
let otherTwin: string;
const POLICY = 'B2C_1_saml';

beforeAll(async () => {
  // Many round trips from one address: the per-address limit on form posts would answer them with 429.
  const env = { LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1,localhost', LATCHKEY_FORM_RATE_LIMIT: '10000' };
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
  const pat = await upstream.createUser('pat@corp.example', 'pat-password-1', { givenName: 'Pat', familyName: 'Corp', displayName: 'Pat Corp' });
  // Another tenant here already has a user with pat's identity at this IdP: tenant demo's sign-ins must never find it.
  const other = await createTenant(here.provision, 'other');
  const now = Date.now();
  otherTwin = randomUUID();
  await here.deps.store.createUser(
    { id: otherTwin, tenantId: other.id, email: 'pat@corp.example', emailVerified: true, localIdentities: [], otherMails: [], passwordHash: null, passwordAtLegacy: false, mustChangePassword: false, givenName: 'Twin', familyName: null, displayName: null, attributes: {}, disabled: false, createdAt: now, updatedAt: now },
    [{ issuer: new URL(upstream.baseUrl).host, issuerAssignedId: pat.id }],
  );
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
async function post(context: BrowserContext, form: Record<string, string>, url = acsUrl) {
  let res = await context.request.post(url, { form, maxRedirects: 0 });
  // A sign-in that goes on reloads its journey page (post/redirect/get), which answers the app.
  for (let hop = 0; hop < 3 && res.status() === 303 && (res.headers().location ?? '').startsWith('/'); hop++) {
    res = await context.request.get(`${here.baseUrl}${res.headers().location}`, { maxRedirects: 0 });
  }
  return { status: res.status(), location: res.headers().location ?? '', body: await res.text() };
}

const xmlOf = (form: Record<string, string>) => Buffer.from(form.SAMLResponse!, 'base64').toString('utf8');
const withXml = (form: Record<string, string>, xml: string) => ({ ...form, SAMLResponse: Buffer.from(xml, 'utf8').toString('base64') });

// Reshaping a response as an attacker (or a misbehaving IdP holding the key) would, and signing it again.
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const SIGNATURE = /<ds:Signature[\s\S]*?<\/ds:Signature>/;
const unsign = (xml: string) => xml.replace(new RegExp(SIGNATURE.source, 'g'), '');
const responseIdOf = (xml: string) => /<samlp:Response[^>]* ID="([^"]+)"/.exec(xml)![1]!;
const assertionIdOf = (xml: string) => /<saml:Assertion[^>]* ID="([^"]+)"/.exec(xml)![1]!;
/** The response's own signature (the first one: it follows the response's Issuer, before the assertion). */
const responseSignatureOf = (xml: string) => SIGNATURE.exec(xml)![0];
/** The assertion, as it is in the message (with its signature). */
const assertionOf = (xml: string) => /<saml:Assertion[\s\S]*<\/saml:Assertion>/.exec(xml)![0];
function signWith(xml: string, id: string, key: KeyObject, pem: string, sha1 = false): string {
  const sig = new SignedXml({ privateKey: key, publicCert: pem, signatureAlgorithm: sha1 ? 'http://www.w3.org/2000/09/xmldsig#rsa-sha1' : 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', canonicalizationAlgorithm: EXC_C14N });
  sig.addReference({ xpath: `//*[@ID='${id}']`, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: sha1 ? 'http://www.w3.org/2000/09/xmldsig#sha1' : 'http://www.w3.org/2001/04/xmlenc#sha256' });
  sig.computeSignature(xml, { prefix: 'ds', location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer']`, action: 'after' } });
  return sig.getSignedXml();
}

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
    expect(first.oid).not.toBe(otherTwin);
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
      const checks = { state: form.RelayState!, nonce, codeVerifier: '', redirectUri: '', tenant: { id: here.tenant.id, slug: here.tenant.slug, baseUrl: here.baseUrl } };
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

    describe('what an attacker makes of a response, re-signed where the shape needs the IdP’s key', () => {
      let keys: SamlKeys;
      let patOid: string;
      let victimOid: string;
      const VICTIM = 'victim-at-corp';
      const asVictim = (assertion: string) => assertion.replace(/(<saml:NameID[^>]*>)[^<]+/, `$1${VICTIM}`);
      /** Strips the signatures and signs again with the upstream's own key (assertion, then response), as the upstream would have signed that content. */
      const resign = (xml: string, opts: { response?: boolean; assertion?: boolean; sha1?: boolean; key?: KeyObject; pem?: string } = {}) => {
        const key = opts.key ?? keys.signing.key;
        const pem = opts.pem ?? keys.signing.certificate.pem;
        let out = unsign(xml);
        if (opts.assertion ?? true) out = signWith(out, assertionIdOf(out), key, pem, opts.sha1);
        if (opts.response ?? true) out = signWith(out, responseIdOf(out), key, pem, opts.sha1);
        return out;
      };
      /** Never signed in as the victim: the sign-in is refused (AADB2C90273 to the app), audited. */
      async function notFooled(tamper: (xml: string) => string, reason: RegExp) {
        const form = await capture(context, page);
        const res = await post(context, withXml(form, tamper(xmlOf(form))));
        expect(res.status, res.body.slice(0, 500)).toBe(302);
        const last = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'federated_signin', limit: 1 });
        expect(last[0]?.subject ?? null).not.toBe(victimOid);
        expect(new URL(res.location).searchParams.get('error_description'), `${last[0]?.outcome}: ${last[0]?.detail}`).toContain('AADB2C90273');
        expect(last[0]?.detail).toMatch(reason);
      }

      beforeAll(async () => {
        keys = await samlKeys(upstream.deps, upstream.tenant.id);
        const patAtUpstream = (await upstream.deps.store.findUsersByEmail(upstream.tenant.id, 'pat@corp.example'))[0]!;
        patOid = (await here.deps.store.findUserByIdentity(here.tenant.id, { issuer: new URL(upstream.baseUrl).host, issuerAssignedId: patAtUpstream.id }))!.id;
        // Someone else who signs in here through the same IdP: the account every wrapping attack is after.
        victimOid = randomUUID();
        const now = Date.now();
        await here.deps.store.createUser(
          { id: victimOid, tenantId: here.tenant.id, email: 'victim@corp.example', emailVerified: true, localIdentities: [], otherMails: [], passwordHash: null, passwordAtLegacy: false, mustChangePassword: false, givenName: 'Vic', familyName: null, displayName: null, attributes: {}, disabled: false, createdAt: now, updatedAt: now },
          [{ issuer: new URL(upstream.baseUrl).host, issuerAssignedId: VICTIM }],
        );
      });

      it('the harness: the response signed again with the IdP’s key is accepted, and signs pat in', async () => {
        const form = await capture(context, page);
        const res = await post(context, withXml(form, resign(xmlOf(form))));
        expect(new URL(res.location).searchParams.get('code')).toBeTruthy();
        const last = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'federated_signin', outcome: 'success', limit: 1 });
        expect(last[0]?.subject).toBe(patOid);
        // And the victim's NameID signed by the IdP would sign the victim in: what the attacks below try to get without the key.
        const form2 = await capture(context, page);
        await post(context, withXml(form2, resign(xmlOf(form2).replace(assertionOf(xmlOf(form2)), asVictim(assertionOf(xmlOf(form2)))))));
        const victim = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'federated_signin', outcome: 'success', limit: 1 });
        expect(victim[0]?.subject).toBe(victimOid);
      });

      it('XSW1 and XSW2: a new response around the signed one, kept inside the moved signature or beside it', async () => {
        const wrap = (detached: boolean) => (xml: string) => {
          const sig = responseSignatureOf(xml);
          const original = xml.replace(sig, '').replace(/^<\?xml[^>]*>/, '');
          const head = /^<samlp:Response[^>]*>/.exec(original)![0].replace(/ ID="[^"]+"/, ' ID="_evil_response"');
          const issuer = /<saml:Issuer>[^<]+<\/saml:Issuer>/.exec(original)![0];
          const status = /<samlp:Status>[\s\S]*?<\/samlp:Status>/.exec(original)![0];
          const evil = asVictim(unsign(assertionOf(original))).replace(/ ID="[^"]+"/, ' ID="_evil_assertion"');
          const moved = detached ? `${original}${sig}` : sig.replace('</ds:Signature>', `<ds:Object>${original}</ds:Object></ds:Signature>`);
          return `${head}${issuer}${moved}${status}${evil}</samlp:Response>`;
        };
        await notFooled(wrap(false), /signature|refer/i);
        await notFooled(wrap(true), /signature|refer/i);
      });

      it('XSW3 and XSW4: an unsigned copy of the assertion beside the signed one, or around it (the response’s signature removed)', async () => {
        await notFooled((xml) => {
          const signed = assertionOf(xml);
          return unsign(xml.replace(signed, 'SIGNED')).replace('SIGNED', `${asVictim(unsign(signed))}${signed}`);
        }, /multiple assertions|signature/i);
        await notFooled((xml) => {
          const signed = assertionOf(xml);
          return unsign(xml.replace(signed, 'SIGNED')).replace('SIGNED', asVictim(unsign(signed)).replace(/<\/saml:Assertion>$/, `${signed}</saml:Assertion>`));
        }, /signature/i);
      });

      it('XSW5, XSW6 and XSW8: the signature kept in a changed assertion, the original (unsigned) at the end, after the signature, or in its Object', async () => {
        const shape = (where: 'end' | 'after' | 'object') => (xml: string) => {
          const signed = assertionOf(xml);
          const sig = SIGNATURE.exec(signed)![0];
          const original = unsign(signed);
          let evil = asVictim(signed);
          if (where === 'after') evil = evil.replace(sig, `${sig}${original}`);
          if (where === 'object') evil = evil.replace(sig, sig.replace('</ds:Signature>', `<ds:Object>${original}</ds:Object></ds:Signature>`));
          const out = unsign(xml.replace(signed, 'SIGNED')).replace('SIGNED', evil);
          return where === 'end' ? out.replace('</samlp:Response>', `${original}</samlp:Response>`) : out;
        };
        await notFooled(shape('end'), /multiple assertions|signature/i);
        await notFooled(shape('after'), /signature|more than one element|ID/i);
        await notFooled(shape('object'), /signature|more than one element|ID/i);
      });

      it('XSW7: an unsigned copy in Extensions beside the signed assertion never speaks for the user', async () => {
        await notFooled((xml) => {
          const signed = assertionOf(xml);
          return unsign(xml.replace(signed, 'SIGNED')).replace('<samlp:Status>', `<samlp:Extensions>${asVictim(unsign(signed))}</samlp:Extensions><samlp:Status>`).replace('SIGNED', signed);
        }, /signature|more than one element|ID/i);
      });

      it('a signed response whose assertion was replaced by an unsigned one, and signatures moved to another element or taken from another response', async () => {
        await notFooled((xml) => xml.replace(assertionOf(xml), asVictim(unsign(assertionOf(xml)))), /signature/i);
        // The response's signature moved into the assertion (it references the response's ID).
        await notFooled((xml) => {
          const responseSig = responseSignatureOf(xml);
          const assertion = unsign(assertionOf(xml));
          return unsign(xml).replace(assertion, asVictim(assertion).replace(/(<saml:Issuer>[^<]+<\/saml:Issuer>)/, `$1${responseSig}`));
        }, /signature|refer/i);
        // The assertion signature of an earlier response (another assertion ID), pasted into this one.
        const earlier = await capture(context, page);
        const earlierSig = SIGNATURE.exec(assertionOf(xmlOf(earlier)))![0];
        await notFooled((xml) => {
          const assertion = unsign(assertionOf(xml));
          return unsign(xml).replace(assertion, asVictim(assertion).replace(/(<saml:Issuer>[^<]+<\/saml:Issuer>)/, `$1${earlierSig}`));
        }, /signature|refer/i);
      });

      it('signatures by another key (its certificate in KeyInfo: an IdP changing keys without its metadata), and SHA-1 signatures with the IdP’s own key', async () => {
        const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
        const otherCert = await deriveCertificate({ kid: 'rogue', tenantId: 'rogue', createdAt: 0 }, other);
        await notFooled((xml) => resign(xml.replace(assertionOf(xml), asVictim(assertionOf(xml))), { key: other, pem: otherCert.pem }), /signature/i);
        await notFooled((xml) => resign(xml.replace(assertionOf(xml), asVictim(assertionOf(xml))), { sha1: true }), /SHA-1|rsa-sha1|algorithm/i);
        await notFooled((xml) => resign(xml.replace(assertionOf(xml), asVictim(assertionOf(xml))), { sha1: true, response: false }), /SHA-1|rsa-sha1|algorithm/i);
      });

      it('an assertion the IdP signed for another audience, recipient or request, with another confirmation method, or outside its validity', async () => {
        const other = `${here.baseUrl}/demo/federation/corp2/saml`;
        const cases: [string, (xml: string) => string, RegExp][] = [
          ['another audience', (x) => x.replace(/<saml:Audience>[^<]+/, `<saml:Audience>${other}/metadata`), /audience/i],
          ['no AudienceRestriction', (x) => x.replace(/<saml:AudienceRestriction>[\s\S]*?<\/saml:AudienceRestriction>/, ''), /AudienceRestriction/],
          ['another Recipient', (x) => x.replace(/Recipient="[^"]+"/, `Recipient="${other}/acs"`), /Recipient/],
          ['no Recipient', (x) => x.replace(/ Recipient="[^"]+"/, ''), /Recipient/],
          ['another Destination', (x) => x.replace(/Destination="[^"]+"/, `Destination="${other}/acs"`), /addressed to/],
          ['all of them for another provider of this tenant', (x) => x.replaceAll(`${here.baseUrl}/demo/federation/corp/saml`, other).replace(/ Destination="[^"]+"/, ''), /audience|Recipient/i],
          ['the confirmation of another request', (x) => x.replace(/(<saml:SubjectConfirmationData[^>]*InResponseTo=")[^"]+/, '$1_another_request'), /InResponseTo/],
          ['a confirmation without InResponseTo', (x) => x.replace(/(<saml:SubjectConfirmationData[^>]*?) InResponseTo="[^"]+"/, '$1'), /InResponseTo/],
          ['no subject confirmation', (x) => x.replace(/<saml:SubjectConfirmation [\s\S]*?<\/saml:SubjectConfirmation>/, ''), /bearer confirmation/],
          ['no Conditions', (x) => x.replace(/<saml:Conditions[\s\S]*?<\/saml:Conditions>/, ''), /AudienceRestriction|Conditions|invalid response/],
          ['a holder-of-key confirmation', (x) => x.replace('urn:oasis:names:tc:SAML:2.0:cm:bearer', 'urn:oasis:names:tc:SAML:2.0:cm:holder-of-key'), /bearer confirmation/],
          ['a sender-vouches confirmation', (x) => x.replace('urn:oasis:names:tc:SAML:2.0:cm:bearer', 'urn:oasis:names:tc:SAML:2.0:cm:sender-vouches'), /bearer confirmation/],
          ['a confirmation without NotOnOrAfter', (x) => x.replace(/(<saml:SubjectConfirmationData[^>]*?) NotOnOrAfter="[^"]+"/, '$1'), /bearer confirmation|NotOnOrAfter/],
          ['a confirmation that expired', (x) => x.replace(/(<saml:SubjectConfirmationData[^>]*NotOnOrAfter=")[^"]+/, `$1${new Date(Date.now() - 10 * 60_000).toISOString()}`), /subject confirmation|bearer confirmation|expired/i],
          ['conditions not yet valid', (x) => x.replace(/(<saml:Conditions NotBefore=")[^"]+/, `$1${new Date(Date.now() + 10 * 60_000).toISOString()}`), /not yet valid/],
          ['conditions expired', (x) => x.replace(/(<saml:Conditions[^>]*NotOnOrAfter=")[^"]+/, `$1${new Date(Date.now() - 10 * 60_000).toISOString()}`), /expired/],
          ['another issuer', (x) => x.replace(/(<saml:Assertion[\s\S]*?<saml:Issuer>)[^<]+/, '$1https://rogue.example/idp'), /issued by/],
        ];
        for (const [what, change, reason] of cases) {
          const form = await capture(context, page);
          const changed = change(xmlOf(form));
          expect(changed, what).not.toBe(xmlOf(form));
          const res = await post(context, withXml(form, resign(changed)));
          expect(new URL(res.location).searchParams.get('error_description'), what).toContain('AADB2C90273');
          const last = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'federated_signin', outcome: 'failure', limit: 1 });
          expect(last[0]?.detail, what).toMatch(reason);
        }
      }, 240_000);

      it('an IdP-initiated assertion (no InResponseTo) lifted into an unsigned response that names a waiting sign-in’s request', async () => {
        // A real unsolicited response of the upstream: its IdP-initiated sign-in to this SP.
        let got!: (v: Record<string, string>) => void;
        const posted = new Promise<Record<string, string>>((r) => (got = r));
        await page.route(acsUrl, async (route) => {
          got(Object.fromEntries(new URLSearchParams(route.request().postData() ?? '')));
          await route.fulfill({ status: 204, body: '' });
        });
        await page.goto(`${upstream.baseUrl}/demo/B2C_1_signupsignin/generic/login?EntityId=${encodeURIComponent(`${here.baseUrl}/demo/federation/corp/saml/metadata`)}`, { waitUntil: 'commit' });
        const unsolicited = xmlOf(await posted);
        await page.unroute(acsUrl);
        expect(unsolicited).not.toContain('InResponseTo');
        await notFooled((xml) => {
          const inResponseTo = /<samlp:Response[^>]* InResponseTo="([^"]+)"/.exec(xml)![1]!;
          const lifted = unsolicited.replace(responseSignatureOf(unsolicited), '');
          return lifted.replace(/^(<samlp:Response[^>]*?)>/, `$1 InResponseTo="${inResponseTo}">`);
        }, /InResponseTo/);
      });

      it('a response for this provider posted to another provider’s ACS (the sign-in waits for this one)', async () => {
        const form = await capture(context, page);
        const res = await post(context, form, `${here.baseUrl}/demo/federation/corp2/saml/acs`);
        expect(new URL(res.location).searchParams.get('error_description')).toContain('AADB2C90273');
        const last = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'federated_signin', outcome: 'failure', limit: 1 });
        expect(last[0]?.detail).toMatch(/corp2: response for another sign-in/);
        // The same provider id in another tenant: that tenant has no such sign-in waiting.
        const form2 = await capture(context, page);
        const elsewhere = await post(context, form2, `${here.baseUrl}/other/federation/corp/saml/acs`);
        expect(elsewhere.status).toBe(404);
        expect(elsewhere.body).not.toContain('code=');
      });

      it('entities, external entities and processing instructions, and a duplicated XML attribute, are refused before anything is read', async () => {
        await notFooled((xml) => `<!DOCTYPE r [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>${xml.replace(/^<\?xml[^>]*>/, '').replace(/(<saml:NameID[^>]*>)/, '$1&c;')}`, /document type declaration/);
        await notFooled((xml) => `<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>${xml.replace(/^<\?xml[^>]*>/, '').replace(/(<saml:NameID[^>]*>)/, '$1&x;')}`, /document type declaration/);
        await notFooled((xml) => xml.replace(/(<saml:NameID[^>]*>)/, '$1<?evil x?>'), /processing instruction/);
        await notFooled((xml) => xml.replace(/(<saml:SubjectConfirmationData )/, `$1Recipient="${here.baseUrl}/demo/federation/corp/saml/acs" `), /well-formed/);
      });

      it('an attribute added next to the signed ones, and comments inside NameID and attribute values (2018 comment injection): the whole signed values are read', async () => {
        await notFooled((xml) => xml.replace('</saml:AttributeStatement>', '<saml:Attribute Name="email"><saml:AttributeValue>victim@corp.example</saml:AttributeValue></saml:Attribute></saml:AttributeStatement>'), /signature/i);
        const form = await capture(context, page);
        const nameId = /<saml:NameID[^>]*>([^<]+)</.exec(xmlOf(form))![1]!;
        const xml = xmlOf(form)
          .replace(/(<saml:NameID[^>]*>)([^<]{6})/, '$1$2<!---->')
          .replaceAll('>pat@corp.example<', '>pat@corp<!---->.example<');
        expect(xml).toContain('pat@corp<!---->.example');
        const nonce = /InResponseTo="_([^"]+)"/.exec(xml)![1]!;
        const provider = here.deps.policies.providers('demo').get('corp')!;
        const result = await here.deps.federation.complete(provider, { method: 'POST', params: withXml(form, xml) }, { state: form.RelayState!, nonce, codeVerifier: '', redirectUri: '', tenant: { id: here.tenant.id, slug: here.tenant.slug, baseUrl: here.baseUrl } });
        expect(result.profile.issuerAssignedId).toBe(nameId);
        expect(result.profile.email).toBe('pat@corp.example');
      });
    });

    it('an IdP that starts signing with a new key is refused until its metadata shows it (read again after an hour)', async () => {
      await rotateKeys(upstream.provision, upstream.tenant);
      upstream.deps.keys.invalidate(upstream.tenant.id);
      await refused((xml) => xml, /signature/i);
      // An hour later the sign-in that sends the user there reads the metadata again (it lists the new certificate).
      here.clock.advance(61 * 60_000);
      let form: Record<string, string>;
      try {
        form = await capture(context, page);
      } finally {
        here.clock.advance(-61 * 60_000);
      }
      const res = await post(context, form);
      const last = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'federated_signin', limit: 1 });
      expect(new URL(res.location).searchParams.get('code'), last[0]?.detail ?? '').toBeTruthy();
    });
  });
});
