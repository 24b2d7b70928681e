import { generateKeyPairSync, sign as signBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveCertificate, type KeyCertificate } from '../../src/federation/saml/certificates.js';
import { signElement, signRedirectQuery } from '../../src/federation/saml/signature.js';
import { cookieNamesFor } from '../../src/http/cookies.js';
import type { Tenant, User } from '../../src/model/entities.js';
import { createSession } from '../../src/oauth/sso.js';
import { createSamlApp } from '../../src/services/saml-apps.js';
import { createTenant } from '../../src/services/tenants.js';
import { createLocalUser } from '../../src/services/users.js';
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

/**
 * A malicious or confused SAML app (service provider) and a cross-tenant attacker against Latchkey as
 * identity provider: what they send is refused on a 400 page (nothing posted anywhere), answered with a
 * SAML error at the registered ACS, or reaches only what the app registered in its own tenant.
 */
describe('a hostile SAML app and a cross-tenant attacker', () => {
  const SIGNED = 'https://signed.example/sp';
  const SIGNED_ACS = 'https://signed.example/acs';
  const SIGNED_SLO = 'https://signed.example/slo';
  const OTHER_SP = 'https://other.example/sp';
  const OTHER_ACS = 'https://other.example/acs';
  const spKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  const attackerKey = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
  let spCert: KeyCertificate;
  let attackerCert: KeyCertificate;
  let other: Tenant;
  let ann: User;
  let bob: User;
  const sessionCookie = (tenant: Tenant, value: string) => `${cookieNamesFor(s.baseUrl).sso(tenant.id)}=${value}; lk_browser=hostile-browser-id-00000000`;

  const spMetadata = (extra = '') =>
    `<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="${SIGNED}"><md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true"><md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${spCert.base64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>${extra || `<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${SIGNED_SLO}"/>`}<md:AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${SIGNED_ACS}" index="0"/></md:SPSSODescriptor></md:EntityDescriptor>`;
  const registrar = (tenant: Tenant) => (input: Parameters<typeof createSamlApp>[2]) => createSamlApp({ store: s.deps.store, audit: s.deps.audit, clock: s.clock, fetch: (u, i) => fetch(u, i) }, tenant, input);

  beforeAll(async () => {
    [spCert, attackerCert] = await Promise.all([deriveCertificate({ kid: 'sp', tenantId: 'sp', createdAt: 0 }, spKey), deriveCertificate({ kid: 'evil', tenantId: 'sp', createdAt: 0 }, attackerKey)]);
    await registrar(s.tenant)({ name: 'Signed', metadataXml: spMetadata() });
    other = await createTenant(s.provision, 'other');
    await registrar(other)({ name: 'Other', entityId: OTHER_SP, acsUrls: [OTHER_ACS] });
    ann = await s.createUser('ann@example.com', 'ann-password-1');
    bob = await s.createUser('bob@example.com', 'bob-password-1');
  });

  async function signedIn(user: User, tenant = s.tenant) {
    const policy = s.deps.policies.get(tenant.slug, 'B2C_1_signupsignin')!;
    return createSession(s.deps, { tenant, policy, userId: user.id, clientId: 'x', idp: 'local', authTime: Math.floor(Date.now() / 1000), amr: ['pwd'] });
  }
  const ssoAt = (tenant: string) => `${s.baseUrl}/${tenant}/B2C_1_signupsignin/samlp/sso/login`;
  const sloAt = (tenant: string) => `${s.baseUrl}/${tenant}/B2C_1_signupsignin/samlp/sso/logout`;
  const get = (url: string, cookie?: string) => fetch(url, { headers: { accept: 'text/html', ...(cookie ? { cookie } : {}) }, redirect: 'manual' });
  const postForm = (url: string, fields: Record<string, string>, cookie = 'lk_browser=hostile-browser-id-00000000') =>
    fetch(url, { method: 'POST', headers: { accept: 'text/html', 'content-type': 'application/x-www-form-urlencoded', cookie }, body: new URLSearchParams(fields).toString(), redirect: 'manual' });
  const samlResponseOf = (html: string) => {
    const v = /name="SAMLResponse" value="([^"]+)"/.exec(html)?.[1];
    return v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8');
  };
  async function refusedPage(res: Response, text: RegExp) {
    const html = await res.text();
    expect(res.status, html.slice(0, 300)).toBe(400);
    expect(html).toMatch(text);
    expect(html).not.toContain('SAMLResponse');
    expect(res.headers.get('location')).toBeNull();
  }
  const authn = (attrs = '', issuer = SP, id = '_req1') =>
    `<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}"${attrs}><saml:Issuer>${issuer}</saml:Issuer></samlp:AuthnRequest>`;

  it('refuses an ACS URL that is not exactly a registered one, an unregistered index, and bindings other than HTTP-POST', async () => {
    const cases: [string, RegExp][] = [
      [` AssertionConsumerServiceURL="${ACS}/"`, /is not registered for the application/],
      [` AssertionConsumerServiceURL="${ACS.replace('sp.example', 'SP.example')}"`, /is not registered for the application/],
      [` AssertionConsumerServiceURL="${ACS}?next=https://evil.example"`, /is not registered for the application/],
      [` AssertionConsumerServiceURL="https://evil.example/acs"`, /is not registered for the application/],
      [` AssertionConsumerServiceURL="javascript:alert(1)"`, /is not registered for the application/],
      [' AssertionConsumerServiceIndex="7"', /index 7.*is not registered/],
      [' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"', /HTTP-POST only/],
      [' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:PAOS"', /HTTP-POST only/],
      [' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"', /HTTP-POST only/],
      [` Destination="${ssoAt('other')}"`, /addressed to/],
    ];
    for (const [attrs, text] of cases) await refusedPage(await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(authn(attrs)))}`), text);
  });

  it('answers NameID formats it does not offer with a signed InvalidNameIDPolicy status to the registered ACS, never with another format', async () => {
    for (const format of ['urn:oasis:names:tc:SAML:2.0:nameid-format:encrypted', 'urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos', 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity', 'urn:oasis:names:tc:SAML:1.1:nameid-format:WindowsDomainQualifiedName']) {
      const xml = authn().replace('</samlp:AuthnRequest>', `<samlp:NameIDPolicy Format="${format}" AllowCreate="true"/></samlp:AuthnRequest>`);
      const html = await (await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(xml))}`, sessionCookie(s.tenant, (await signedIn(ann)).cookieValue))).text();
      expect(html).toContain(`action="${ACS}"`);
      const response = samlResponseOf(html)!;
      expect(response).toContain('urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy');
      expect(response).not.toContain('<saml:Assertion');
    }
    // Two NameIDPolicy elements (which one would count?) are refused outright.
    const two = authn().replace('</samlp:AuthnRequest>', '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"/><samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"/></samlp:AuthnRequest>');
    await refusedPage(await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(two))}`), /more than one NameIDPolicy/);
  });

  it('asserts an emailAddress NameID only for a verified address: an SP keyed by email never gets an address nobody proved', async () => {
    const unverified = await createLocalUser(s.provision, s.tenant, { email: 'ceo@victim.example', password: 'unverified-pass-1', emailVerified: false }, { by: 'cli' });
    const asked = authn().replace('</samlp:AuthnRequest>', '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"/></samlp:AuthnRequest>');
    const answer = async (user: User) => samlResponseOf(await (await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(asked))}`, sessionCookie(s.tenant, (await signedIn(user)).cookieValue))).text())!;
    const refused = await answer(unverified);
    expect(refused).toContain('urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy');
    expect(refused).not.toContain('ceo@victim.example');
    // The same request for a user whose address was verified: the address is the NameID.
    expect(await answer(ann)).toMatch(/<saml:NameID Format="urn:oasis:names:tc:SAML:1\.1:nameid-format:emailAddress"[^>]*>ann@example\.com</);
  });

  it('shows markup sent as an issuer or entity id as text on the error page', async () => {
    const res = await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(authn('', '&lt;script&gt;alert(1)&lt;/script&gt;')))}`);
    await refusedPage(res.clone(), /is not registered in this tenant/);
    expect(await res.text()).not.toContain('<script>alert(1)');
    const idpInit = await get(`${s.baseUrl}/demo/B2C_1_signupsignin/generic/login?EntityId=${encodeURIComponent('<img src=x onerror=alert(1)>')}`);
    const html = await idpInit.text();
    expect(idpInit.status).toBe(400);
    expect(html).not.toContain('<img src=x');
  });

  it('keeps RelayState opaque: markup in it is escaped in the form to the ACS, it is never a redirect, and an oversized one is refused', async () => {
    const { cookieValue } = await signedIn(ann);
    const relay = `"><script>alert(document.domain)</script><a href="https://evil.example/`;
    const res = await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(authn()))}&RelayState=${encodeURIComponent(relay)}`, sessionCookie(s.tenant, cookieValue));
    const html = await res.text();
    expect(res.status).toBe(200);
    expect(html).toContain(`action="${ACS}"`);
    expect(html).not.toContain('<script>alert');
    expect(html).toContain('&lt;script&gt;alert(document.domain)&lt;/script&gt;');
    expect(res.headers.get('content-security-policy')).toMatch(new RegExp(`form-action[^;]*${ACS.replace(/[.]/g, '\\.')}`));
    expect(res.headers.get('content-security-policy')).not.toContain('evil.example');
    // The same at IdP-initiated sign-in, where RelayState comes straight from the link.
    const idpInit = await get(`${s.baseUrl}/demo/B2C_1_signupsignin/generic/login?EntityId=${encodeURIComponent(SP)}&RelayState=${encodeURIComponent('https://evil.example/')}`, sessionCookie(s.tenant, cookieValue));
    expect(idpInit.headers.get('location')).toBeNull();
    expect(await idpInit.text()).toContain(`action="${ACS}"`);
    await refusedPage(await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(authn()))}&RelayState=${'r'.repeat(2049)}`), /RelayState is too long/);
  });

  it('refuses requests of an app that must sign when they are unsigned, signed by another key, signed with SHA-1, or signed over another request, on both bindings', async () => {
    const redirectQuery = (xml: string, key = spKey, relay?: string) => signRedirectQuery('SAMLRequest', deflated(xml), relay, key);
    // The harness: a correctly signed request on each binding starts the sign-in.
    const good = await get(`${sso()}?${redirectQuery(authn('', SIGNED))}`);
    expect(good.status).toBe(302);
    expect(good.headers.get('location')).toMatch(/\/journey\//);
    const goodPost = await postForm(sso(), { SAMLRequest: Buffer.from(signElement(authn('', SIGNED, '_post1'), '_post1', spKey, spCert)).toString('base64') });
    expect(goodPost.status).toBe(302);

    await refusedPage(await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(authn('', SIGNED)))}`), /must sign its requests/);
    await refusedPage(await postForm(sso(), { SAMLRequest: Buffer.from(authn('', SIGNED)).toString('base64') }), /must sign its requests/);
    await refusedPage(await get(`${sso()}?${redirectQuery(authn('', SIGNED), attackerKey)}`), /signature of the request is not valid/);
    // Signed by the attacker, with the attacker's certificate in KeyInfo.
    await refusedPage(await postForm(sso(), { SAMLRequest: Buffer.from(signElement(authn('', SIGNED, '_post2'), '_post2', attackerKey, attackerCert)).toString('base64') }), /signature is not valid/);
    // The signature of one request with another request's SAMLRequest.
    const signedQuery = redirectQuery(authn('', SIGNED));
    const swapped = signedQuery.replace(/^SAMLRequest=[^&]+/, `SAMLRequest=${encodeURIComponent(deflated(authn(` AssertionConsumerServiceURL="https://evil.example/acs"`, SIGNED)))}`);
    await refusedPage(await get(`${sso()}?${swapped}`), /signature of the request is not valid/);
    // A signed HTTP-Redirect request with a signature inside the XML as well: refused, whatever it says.
    const xmlSigned = signElement(authn('', SIGNED, '_both'), '_both', spKey, spCert);
    await refusedPage(await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(xmlSigned))}`), /carries its signature in the query/);
    // RSA-SHA1 with the app's own key.
    const sha1 = `SAMLRequest=${encodeURIComponent(deflated(authn('', SIGNED)))}&SigAlg=${encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1')}`;
    await refusedPage(await get(`${sso()}?${sha1}&Signature=${encodeURIComponent(signBytes('sha1', Buffer.from(sha1), spKey).toString('base64'))}`), /rsa-sha1 is not accepted/);
  });

  it('bounds a deflated HTTP-POST message as it bounds the HTTP-Redirect one (a deflate bomb)', async () => {
    const bomb = deflateRawSync(Buffer.concat([Buffer.from('<x>'), Buffer.alloc(8 * 1024 * 1024, 0x61)])).toString('base64');
    expect(bomb.length).toBeLessThan(64 * 1024);
    await refusedPage(await postForm(sso(), { SAMLRequest: bomb }), /at most 256 KiB/);
  });

  it('keeps tenants apart: another tenant’s app is unknown here, here’s session does not sign in there, and each tenant signs with its own key', async () => {
    const { cookieValue } = await signedIn(ann);
    // Tenant other's app named at demo's endpoints, and demo's app at other's.
    await refusedPage(await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(authn('', OTHER_SP)))}`, sessionCookie(s.tenant, cookieValue)), /is not registered in this tenant/);
    await refusedPage(await get(`${s.baseUrl}/demo/B2C_1_signupsignin/generic/login?EntityId=${encodeURIComponent(OTHER_SP)}`, sessionCookie(s.tenant, cookieValue)), /is not registered in this tenant/);
    await refusedPage(await get(`${ssoAt('other')}?SAMLRequest=${encodeURIComponent(deflated(authn('', SP)))}`, sessionCookie(s.tenant, cookieValue)), /is not registered in this tenant/);
    // demo's session cookie, under demo's name and under other's: other's app gets a sign-in page, no assertion.
    for (const cookie of [sessionCookie(s.tenant, cookieValue), sessionCookie(other, cookieValue)]) {
      const res = await get(`${ssoAt('other')}?SAMLRequest=${encodeURIComponent(deflated(authn('', OTHER_SP)))}`, cookie);
      expect(res.status).toBe(302);
      expect(res.headers.get('location')).toMatch(/^\/other\/B2C_1_signupsignin\/journey\//i);
      const idpInit = await get(`${s.baseUrl}/other/B2C_1_signupsignin/generic/login?EntityId=${encodeURIComponent(OTHER_SP)}`, cookie);
      expect(idpInit.status).toBe(302);
      expect(idpInit.headers.get('location')).toMatch(/^\/other\/B2C_1_signupsignin\/journey\//i);
    }
    const certs = async (tenant: string) => [...(await (await fetch(`${s.baseUrl}/${tenant}/B2C_1_signupsignin/samlp/metadata`)).text()).matchAll(/<ds:X509Certificate>([^<]+)</g)].map((m) => m[1]);
    const [demoCerts, otherCerts] = await Promise.all([certs('demo'), certs('other')]);
    expect(demoCerts.some((c) => otherCerts.includes(c))).toBe(false);
    // demo's answer to its own app is signed with demo's certificate only.
    const html = await (await get(`${sso()}?SAMLRequest=${encodeURIComponent(deflated(authn()))}`, sessionCookie(s.tenant, cookieValue))).text();
    const signedWith = /<ds:X509Certificate>([^<]+)</.exec(samlResponseOf(html)!)![1];
    expect(demoCerts).toContain(signedWith);
  });

  it('single logout: an app cannot end another user’s session, an unsigned or forged LogoutRequest of an app with a certificate ends nothing, and the answer goes to the registered SLO URL only', async () => {
    const mine = await signedIn(ann);
    const victim = await signedIn(bob);
    const logoutXml = (user: User, sid: string, id = `_lo${Date.now()}`) =>
      `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="${id}" Version="2.0" IssueInstant="${new Date().toISOString()}"><saml:Issuer>${SIGNED}</saml:Issuer><saml:NameID Format="urn:oasis:names:tc:SAML:2.0:nameid-format:persistent">${user.id}</saml:NameID><samlp:SessionIndex>${sid}</samlp:SessionIndex></samlp:LogoutRequest>`;
    const alive = async (session: { session: { idHash: string } }) => (await s.deps.store.findSsoSession(session.session.idHash)) !== undefined;

    // Unsigned, signed by another key, or with the signature of another message: refused; both sessions stay.
    await refusedPage(await get(`${sloAt('demo')}?SAMLRequest=${encodeURIComponent(deflated(logoutXml(bob, victim.session.sid)))}`, sessionCookie(s.tenant, victim.cookieValue)), /is not signed/);
    await refusedPage(await get(`${sloAt('demo')}?${signRedirectQuery('SAMLRequest', deflated(logoutXml(bob, victim.session.sid)), undefined, attackerKey)}`, sessionCookie(s.tenant, victim.cookieValue)), /not valid/);
    await refusedPage(await postForm(sloAt('demo'), { SAMLRequest: Buffer.from(signElement(logoutXml(bob, victim.session.sid, '_lp1'), '_lp1', attackerKey, attackerCert)).toString('base64') }, sessionCookie(s.tenant, victim.cookieValue)), /not valid/);
    expect(await alive(victim)).toBe(true);

    // The app signs a LogoutRequest naming bob's user and session, but it arrives in ann's browser: ann's session ends, bob's does not.
    const res = await get(`${sloAt('demo')}?${signRedirectQuery('SAMLRequest', deflated(logoutXml(bob, victim.session.sid)), 'back', spKey)}`, sessionCookie(s.tenant, mine.cookieValue));
    expect(res.status).toBe(302);
    const location = res.headers.get('location')!;
    expect(location.startsWith(`${SIGNED_SLO}?SAMLResponse=`)).toBe(true);
    expect(await alive(victim)).toBe(true);
    expect(await alive(mine)).toBe(false);
    // Without any browser session: nothing ends, and the answer still goes to the registered URL only.
    const none = await get(`${sloAt('demo')}?${signRedirectQuery('SAMLRequest', deflated(logoutXml(bob, victim.session.sid)), undefined, spKey)}`);
    expect(none.headers.get('location')!.startsWith(`${SIGNED_SLO}?`)).toBe(true);
    expect(await alive(victim)).toBe(true);
    // An app registered without a certificate cannot sign: its LogoutRequest ends the browser's own session, as
    // the OpenID logout URL does without a token, and never the session of the user it names.
    const third = await signedIn(ann);
    const unsignedLogout = logoutXml(bob, victim.session.sid).replace(SIGNED, SP);
    const plain = await get(`${sloAt('demo')}?SAMLRequest=${encodeURIComponent(deflated(unsignedLogout))}`, sessionCookie(s.tenant, third.cookieValue));
    expect(plain.status).toBe(200);
    expect(await alive(third)).toBe(false);
    expect(await alive(victim)).toBe(true);
    // A LogoutRequest naming a tenant's app at another tenant's endpoint is unknown there.
    await refusedPage(await get(`${sloAt('other')}?${signRedirectQuery('SAMLRequest', deflated(logoutXml(bob, victim.session.sid)), undefined, spKey)}`, sessionCookie(s.tenant, victim.cookieValue)), /is not registered in this tenant/);
    expect(await alive(victim)).toBe(true);
  });

  it('registers only https (or loopback http) logout and response URLs from an app’s metadata: no script, no plain http', async () => {
    const register = registrar(s.tenant);
    for (const [extra, text] of [
      ['<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="javascript:alert(1)"/>', /single logout URL/],
      [`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${SIGNED_SLO}" ResponseLocation="javascript:alert(document.domain)//"/>`, /single logout response URL/],
      [`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="${SIGNED_SLO}" ResponseLocation="http://evil.example/slo"/>`, /single logout response URL/],
      [`<md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="${SIGNED_SLO}" ResponseLocation="https://evil.example/slo#frag"/>`, /single logout response URL/],
    ] as const) {
      await expect(register({ name: 'Bad', metadataXml: spMetadata(extra).replace(SIGNED, `https://bad${Math.random()}.example/sp`) }), extra).rejects.toThrow(text);
    }
    await expect(register({ name: 'Bad', metadataXml: `<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>${spMetadata()}` })).rejects.toThrow(/document type declaration/);
  });
});
