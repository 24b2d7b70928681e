import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSamlApp } from '../../src/services/saml-apps.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The SAML endpoints under hostile input: whatever arrives (bad base64, deflate bombs, random XML,
 * entities, repeated parameters), the answer is a 4xx page or a SAML error posted to a registered ACS,
 * never a 500 or a stack trace. And the profile's IsPassive rule, without a browser.
 */
let s: TestServer;
const SP = 'https://sp.example/metadata';
const ACS = 'https://sp.example/acs';

beforeAll(async () => {
  // The per-address limit on form posts would answer most of the fuzzing with 429.
  s = await startServer({ env: { LATCHKEY_FORM_RATE_LIMIT: '10000' } });
  await createSamlApp({ store: s.deps.store, audit: s.deps.audit, clock: s.clock, fetch: (u, i) => fetch(u, i) }, s.tenant, { name: 'SP', entityId: SP, acsUrls: [ACS] });
});
afterAll(async () => s?.close());

const sso = () => `${s.baseUrl}/demo/B2C_1_signupsignin/samlp/sso/login`;
const deflated = (xml: string) => deflateRawSync(Buffer.from(xml)).toString('base64');
const request = (attrs = '', issuer = SP) =>
  `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_r1" Version="2.0" IssueInstant="${new Date().toISOString()}"${attrs}><saml:Issuer>${issuer}</saml:Issuer></samlp:AuthnRequest>`;

describe('SAML endpoints under hostile input', () => {
  it('answers IsPassive without a session with a signed NoPassive status posted to the registered ACS', async () => {
    const res = await fetch(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(request(' IsPassive="true"')))}&RelayState=r`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`action="${ACS}"`);
    const xml = Buffer.from(/name="SAMLResponse" value="([^"]+)"/.exec(html)![1]!, 'base64').toString('utf8');
    expect(xml).toContain('urn:oasis:names:tc:SAML:2.0:status:NoPassive');
    expect(xml).toContain('InResponseTo="_r1"');
    expect(xml).toContain('<ds:Signature');
  });

  it('answers a NameIDPolicy it does not offer with a signed InvalidNameIDPolicy status to the registered ACS', async () => {
    const xml = request().replace('</samlp:AuthnRequest>', `<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:X509SubjectName"/></samlp:AuthnRequest>`);
    const html = await (await fetch(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(xml))}`)).text();
    expect(html).toContain(`action="${ACS}"`);
    expect(Buffer.from(/name="SAMLResponse" value="([^"]+)"/.exec(html)![1]!, 'base64').toString('utf8')).toContain('urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy');
  });

  it('refuses entity expansion and oversized inflation before reading anything', async () => {
    const bomb = `<!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>${request('', '&b;')}`;
    const big = deflateRawSync(Buffer.alloc(2 * 1024 * 1024, 0x20)).toString('base64');
    for (const value of [deflated(bomb), big]) {
      const res = await fetch(`${sso()}?SAMLRequest=${encodeURIComponent(value)}`, { headers: { accept: 'text/html' } });
      expect(res.status).toBe(400);
    }
  });

  it('never answers 500 whatever is sent to the SSO, logout, IdP-initiated and ACS endpoints', async () => {
    const endpoints = ['samlp/sso/login', 'samlp/sso/logout', 'generic/login'];
    const value = fc.oneof(
      fc.string({ maxLength: 300 }),
      fc.string({ maxLength: 300 }).map((x) => Buffer.from(x).toString('base64')),
      fc.string({ maxLength: 300 }).map((x) => deflated(x)),
      fc.constantFrom(request(), request(' AssertionConsumerServiceURL="javascript:alert(1)"'), request(' ProtocolBinding="x"'), request('', SP.repeat(100))).map(deflated),
      fc.constantFrom('<x/>', '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol"/>', '<a><b></a>').map(deflated),
    );
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...endpoints), fc.constantFrom('GET', 'POST'), fc.dictionary(fc.constantFrom('SAMLRequest', 'SAMLResponse', 'RelayState', 'SigAlg', 'Signature', 'EntityId'), value, { maxKeys: 4 }), async (endpoint, method, params) => {
        const query = new URLSearchParams(params).toString();
        const res =
          method === 'GET'
            ? await fetch(`${s.baseUrl}/demo/B2C_1_signupsignin/${endpoint}?${query}`, { headers: { accept: 'text/html' }, redirect: 'manual' })
            : await fetch(`${s.baseUrl}/demo/B2C_1_signupsignin/${endpoint}`, { method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie: 'lk_browser=fuzzing-browser-id-000000' }, body: query, redirect: 'manual' });
        const body = await res.text();
        expect(res.status, `${method} ${endpoint} ${query.slice(0, 200)}`).toBeLessThan(500);
        expect(body).not.toMatch(/at .*\.(js|ts):\d+/);
        // Anything posted on goes to the registered ACS only.
        const action = /<form[^>]*action="([^"]+)"/.exec(body)?.[1];
        if (action && body.includes('SAMLResponse')) expect(action).toBe(ACS);
      }),
      { numRuns: 150 },
    );
    const acs = await fetch(`${s.baseUrl}/demo/federation/nothing/saml/acs`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: 'lk_browser=x', accept: 'text/html' }, body: 'SAMLResponse=%%%&RelayState=' });
    expect(acs.status).toBe(400);
  });
});
