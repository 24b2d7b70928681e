import { generateKeyPairSync, sign as signBytes, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SignedXml } from 'xml-crypto';
import { loadIdentityProviders } from '../../src/federation/config.js';
import { deriveCertificate } from '../../src/federation/saml/certificates.js';
import { idpMetadataXml, parseSpMetadata } from '../../src/federation/saml/metadata.js';
import { signElement, signRedirectQuery, verifyRedirectSignature, verifyRootSignature } from '../../src/federation/saml/signature.js';
import { parseXml, SamlError } from '../../src/federation/saml/xml.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-saml-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });

describe('SAML building blocks', () => {
  it('derives the same self-signed certificate for a key every time (no state to store), valid for its key', async () => {
    const key = { kid: 'kid-1', tenantId: 't', createdAt: 1_764_650_000_123 };
    const a = await deriveCertificate(key, privateKey);
    const b = await deriveCertificate(key, privateKey);
    expect(a.base64).toBe(b.base64);
    const x = new X509Certificate(Buffer.from(a.base64, 'base64'));
    expect(x.verify(x.publicKey)).toBe(true);
    expect(x.checkPrivateKey(privateKey)).toBe(true);
  });

  it('refuses XML that SAML parties never send: a DOCTYPE (entities), processing instructions, two roots', () => {
    for (const xml of [
      '<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>',
      '<x><?evil data?></x>',
      '<x/><y/>',
      '<x><y></x>',
    ]) {
      expect(() => parseXml(xml), xml).toThrow(SamlError);
    }
  });

  it('checks an enveloped signature only against the registered certificate, and only over the root it names', async () => {
    const cert = await deriveCertificate({ kid: 'k', tenantId: 't', createdAt: 0 }, privateKey);
    const other = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const otherCert = await deriveCertificate({ kid: 'o', tenantId: 't', createdAt: 0 }, other);
    const xml = '<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_a1" Version="2.0"><saml:Issuer>sp</saml:Issuer><saml:NameID>ann</saml:NameID></samlp:LogoutRequest>';
    const signed = signElement(xml, '_a1', privateKey, cert);
    expect(verifyRootSignature(signed, parseXml(signed), [cert.base64]).documentElement.getAttribute('ID')).toBe('_a1');
    // Signed by another key that carries its own certificate in KeyInfo: not trusted.
    const forged = signElement(xml, '_a1', other, otherCert);
    expect(() => verifyRootSignature(forged, parseXml(forged), [cert.base64])).toThrow(SamlError);
    // The signed element wrapped in a new root with another NameID.
    const wrapped = `<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_evil" Version="2.0"><saml:Issuer>sp</saml:Issuer><saml:NameID>victim</saml:NameID><samlp:Extensions>${signed}</samlp:Extensions></samlp:LogoutRequest>`;
    expect(() => verifyRootSignature(wrapped, parseXml(wrapped), [cert.base64])).toThrow(/not signed|more than one/);
  });

  it('reads a service provider’s metadata: entity id, HTTP-POST ACS, single logout, signing certificate, AuthnRequestsSigned', async () => {
    const cert = await deriveCertificate({ kid: 'k', tenantId: 't', createdAt: 0 }, privateKey);
    const md = parseSpMetadata(`<EntityDescriptor entityID="https://sp.example/m" xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol" AuthnRequestsSigned="true"><KeyDescriptor use="encryption"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert.base64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor><KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>${cert.base64}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor><SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://sp.example/logout"/><AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact" Location="https://sp.example/artifact" index="1"/><AssertionConsumerService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="https://sp.example/post" index="0"/></SPSSODescriptor></EntityDescriptor>`);
    expect(md).toMatchObject({ entityId: 'https://sp.example/m', acs: [{ url: 'https://sp.example/post', index: 0 }], slo: { url: 'https://sp.example/logout', binding: 'redirect' }, certificates: [cert.base64], authnRequestsSigned: true });
    expect(() => parseSpMetadata('<x/>')).toThrow(/not SAML metadata/);
  });

  it('validates SAML identity providers in identity-providers.json: one metadata source, a readable file, a signing certificate', async () => {
    const cert = await deriveCertificate({ kid: 'k', tenantId: 't', createdAt: 0 }, privateKey);
    writeFileSync(join(dir, 'idp.xml'), idpMetadataXml({ entityId: 'https://idp.corp.example/saml', ssoUrl: 'https://idp.corp.example/sso', sloUrl: 'https://idp.corp.example/slo', certificates: [cert] }));
    writeFileSync(join(dir, 'nocert.xml'), idpMetadataXml({ entityId: 'https://idp.corp.example/saml', ssoUrl: 'https://idp.corp.example/sso', sloUrl: 'https://idp.corp.example/slo', certificates: [] }));
    const write = (providers: unknown[]) => writeFileSync(join(dir, 'identity-providers.json'), JSON.stringify({ providers }));
    write([{ id: 'corp', type: 'saml', displayName: 'Corp', metadataFile: 'idp.xml', claimMapping: { email: 'urn:oid:0.9.2342.19200300.100.1.3' } }]);
    const ok = loadIdentityProviders(dir);
    expect('providers' in ok && ok.providers.get('corp')).toMatchObject({ protocol: 'saml', domain: 'idp.corp.example', saml: { metadata: { entityId: 'https://idp.corp.example/saml' }, claimMapping: { email: ['urn:oid:0.9.2342.19200300.100.1.3'], sub: ['NameID'] } } });
    const problems = (providers: unknown[]) => {
      write(providers);
      const r = loadIdentityProviders(dir);
      return 'problems' in r ? r.problems.map((p) => `${p.path}: ${p.message}`) : [];
    };
    expect(problems([{ id: 'corp', type: 'saml', displayName: 'Corp', metadataFile: 'idp.xml', metadataUrl: 'https://idp.corp.example/md' }])).toEqual([expect.stringContaining('exactly one of metadataUrl or metadataFile')]);
    expect(problems([{ id: 'corp', type: 'saml', displayName: 'Corp', metadataFile: 'missing.xml' }])).toEqual([expect.stringMatching(/metadataFile: cannot read/)]);
    expect(problems([{ id: 'corp', type: 'saml', displayName: 'Corp', metadataFile: 'nocert.xml' }])).toEqual([expect.stringContaining('no signing certificate')]);
    expect(problems([{ id: 'corp', type: 'saml', displayName: 'Corp', metadataUrl: 'http://idp.corp.example/md' }])).toEqual([expect.stringContaining('https')]);
  });
});

describe('XML signature wrapping and algorithm downgrades against a signed request (Latchkey as IdP)', () => {
  const SP_XML = '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_orig" Version="2.0" AssertionConsumerServiceURL="https://sp.example/acs"><saml:Issuer>https://sp.example/sp</saml:Issuer></samlp:AuthnRequest>';
  const strip = (xml: string) => xml.replace(/<ds:Signature[\s\S]*?<\/ds:Signature>/, '');
  const signatureOf = (xml: string) => /<ds:Signature[\s\S]*?<\/ds:Signature>/.exec(xml)![0];
  const evilHead = '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" ID="_evil" Version="2.0" AssertionConsumerServiceURL="https://evil.example/acs"><saml:Issuer>https://sp.example/sp</saml:Issuer>';

  async function setup() {
    const cert = await deriveCertificate({ kid: 'sp', tenantId: 't', createdAt: 0 }, privateKey);
    const signed = signElement(SP_XML, '_orig', privateKey, cert);
    const check = (xml: string) => verifyRootSignature(xml, parseXml(xml), [cert.base64]);
    return { cert, signed, check };
  }

  it('accepts the untouched signed request and reads it from what the signature covers', async () => {
    const { signed, check } = await setup();
    expect(check(signed).documentElement.getAttribute('AssertionConsumerServiceURL')).toBe('https://sp.example/acs');
  });

  it('refuses XSW1 and XSW2: a new root whose signature (moved along) references the original, kept inside the signature or beside it', async () => {
    const { signed, check } = await setup();
    const original = strip(signed).replace(/^<\?xml[^>]*>/, '');
    const sig = signatureOf(signed);
    const xsw1 = `${evilHead}${sig.replace('</ds:Signature>', `<ds:Object>${original}</ds:Object></ds:Signature>`)}</samlp:AuthnRequest>`;
    const xsw2 = `${evilHead}${original}${sig}</samlp:AuthnRequest>`;
    for (const xml of [xsw1, xsw2]) expect(() => check(xml)).toThrow(/references another element|signature/);
  });

  it('refuses a new root that takes the original ID (duplicate IDs), and the original wrapped in Extensions under it', async () => {
    const { signed, check } = await setup();
    const sig = signatureOf(signed);
    const sameId = evilHead.replace('ID="_evil"', 'ID="_orig"');
    const dup = `${sameId}${sig}<samlp:Extensions>${strip(signed).replace(/^<\?xml[^>]*>/, '')}</samlp:Extensions></samlp:AuthnRequest>`;
    const moved = `${sameId}${sig}</samlp:AuthnRequest>`;
    for (const xml of [dup, moved]) expect(() => check(xml)).toThrow(SamlError);
  });

  it('refuses a signature over another ID, over the whole document (URI=""), with an XSLT transform, or with a second signature elsewhere', async () => {
    const { signed, check } = await setup();
    // The signature of another request (ID _other), pasted into this one.
    const other = signElement(SP_XML.replace('_orig', '_other'), '_other', privateKey, (await setup()).cert);
    const pasted = strip(signed).replace('</saml:Issuer>', `</saml:Issuer>${signatureOf(other)}`);
    expect(() => check(pasted)).toThrow(/references another element/);
    expect(() => check(signed.replace('URI="#_orig"', 'URI=""'))).toThrow(/references another element/);
    const xslt = signed.replace('<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>', '<ds:Transform Algorithm="http://www.w3.org/TR/1999/REC-xslt-19991116"/>');
    expect(xslt).not.toBe(signed);
    expect(() => check(xslt)).toThrow(/transform .* is not accepted/);
    const second = signed.replace('</samlp:AuthnRequest>', `<samlp:Extensions>${signatureOf(signed)}</samlp:Extensions></samlp:AuthnRequest>`);
    expect(() => check(second)).toThrow(/more than one signature/);
  });

  it('refuses RSA-SHA1 signatures and SHA-1 digests, even when valid with the registered key', async () => {
    const { cert, check } = await setup();
    const sign = (signatureAlgorithm: string, digestAlgorithm: string) => {
      const sig = new SignedXml({ privateKey, publicCert: cert.pem, signatureAlgorithm, canonicalizationAlgorithm: 'http://www.w3.org/2001/10/xml-exc-c14n#' });
      sig.addReference({ xpath: "//*[@ID='_orig']", transforms: ['http://www.w3.org/2000/09/xmldsig#enveloped-signature', 'http://www.w3.org/2001/10/xml-exc-c14n#'], digestAlgorithm });
      sig.computeSignature(SP_XML, { prefix: 'ds', location: { reference: "//*[local-name(.)='Issuer']", action: 'after' } });
      return sig.getSignedXml();
    };
    expect(() => check(sign('http://www.w3.org/2000/09/xmldsig#rsa-sha1', 'http://www.w3.org/2001/04/xmlenc#sha256'))).toThrow(/rsa-sha1 is not accepted/);
    expect(() => check(sign('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2000/09/xmldsig#sha1'))).toThrow(/digest algorithm .*sha1 is not accepted/);
    // The harness: the same signing with SHA-256 passes.
    expect(check(sign('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256', 'http://www.w3.org/2001/04/xmlenc#sha256')).documentElement.getAttribute('ID')).toBe('_orig');
  });

  it('checks an HTTP-Redirect signature over SAMLRequest, RelayState, SigAlg in that order only; SHA-1 refused', async () => {
    const { cert } = await setup();
    const message = 'fZBBa8MwDIX/ivE9seMkNhFNoFAGhXZjLTvsNhyvHUttZ0lJ7/z82hQ2dthBIKRPen';
    const query = signRedirectQuery('SAMLRequest', message, 'relay', privateKey);
    expect(() => verifyRedirectSignature(query, 'SAMLRequest', [cert.base64])).not.toThrow();
    // The same parameters in another order in the URL are the same signed octets.
    const parts = query.split('&');
    expect(() => verifyRedirectSignature([parts[3], parts[1], parts[2], parts[0]].join('&'), 'SAMLRequest', [cert.base64])).not.toThrow();
    // Signed over another order (RelayState first): not what the binding signs.
    const alg = encodeURIComponent('http://www.w3.org/2001/04/xmldsig-more#rsa-sha256');
    const wrongOrder = `RelayState=relay&SAMLRequest=${encodeURIComponent(message)}&SigAlg=${alg}`;
    const wrongSig = encodeURIComponent(signBytes('sha256', Buffer.from(wrongOrder), privateKey).toString('base64'));
    expect(() => verifyRedirectSignature(`${wrongOrder}&Signature=${wrongSig}`, 'SAMLRequest', [cert.base64])).toThrow(/not valid/);
    // RelayState changed, dropped or added after signing.
    expect(() => verifyRedirectSignature(query.replace('RelayState=relay', 'RelayState=other'), 'SAMLRequest', [cert.base64])).toThrow(/not valid/);
    expect(() => verifyRedirectSignature(query.replace('&RelayState=relay', ''), 'SAMLRequest', [cert.base64])).toThrow(/not valid/);
    expect(() => verifyRedirectSignature(query.replace('RelayState=relay', 'RelayState=relay&RelayState=again'), 'SAMLRequest', [cert.base64])).toThrow(/more than once/);
    // RSA-SHA1, correctly signed with the registered key.
    const sha1Alg = encodeURIComponent('http://www.w3.org/2000/09/xmldsig#rsa-sha1');
    const sha1 = `SAMLRequest=${encodeURIComponent(message)}&SigAlg=${sha1Alg}`;
    const sha1Sig = encodeURIComponent(signBytes('sha1', Buffer.from(sha1), privateKey).toString('base64'));
    expect(() => verifyRedirectSignature(`${sha1}&Signature=${sha1Sig}`, 'SAMLRequest', [cert.base64])).toThrow(/rsa-sha1 is not accepted/);
  });
});

describe('identity issuers of SAML identity providers (users are found by issuer and subject)', () => {
  it('refuses two providers whose users would get identities of the same issuer: shared entity id hosts (Okta, Google), and an identityIssuer that is another provider’s', async () => {
    const cert = await deriveCertificate({ kid: 'k', tenantId: 't', createdAt: 0 }, privateKey);
    const folder = mkdtempSync(join(dir, 'issuers-'));
    const md = (name: string, entityId: string) => writeFileSync(join(folder, name), idpMetadataXml({ entityId, ssoUrl: 'https://idp.example/sso', sloUrl: 'https://idp.example/slo', certificates: [cert] }));
    // Two companies' Okta orgs: Okta's entity ids are http://www.okta.com/{app id} for every customer.
    md('okta-a.xml', 'http://www.okta.com/exkA1');
    md('okta-b.xml', 'http://www.okta.com/exkB2');
    md('adfs.xml', 'http://sts.contoso.com/adfs/services/trust');
    const load = (providers: unknown[]) => {
      writeFileSync(join(folder, 'identity-providers.json'), JSON.stringify({ providers }));
      const r = loadIdentityProviders(folder);
      return 'problems' in r ? r.problems.map((p) => `${p.path}: ${p.message}`) : [...r.providers.keys()];
    };
    const saml = (id: string, extra: Record<string, unknown>) => ({ id, type: 'saml', displayName: id, ...extra });
    expect(load([saml('a', { metadataFile: 'okta-a.xml' }), saml('b', { metadataFile: 'okta-b.xml' })])).toEqual([expect.stringMatching(/^\$\.providers\[1\]\.identityIssuer: the users of providers\[0\] get identities of the issuer 'www\.okta\.com' too/)]);
    // Metadata fetched later: its entity id is not known yet, so each names its issuer.
    expect(load([saml('a', { metadataFile: 'adfs.xml' }), saml('b', { metadataUrl: 'https://partner.okta.com/app/exkB2/sso/saml/metadata' })])).toEqual([expect.stringMatching(/^\$\.providers\[1\]\.identityIssuer: with more than one SAML identity provider/)]);
    expect(load([saml('a', { metadataFile: 'okta-a.xml' }), saml('b', { metadataFile: 'okta-b.xml', identityIssuer: 'www.okta.com' })])).toHaveLength(1);
    expect(load([{ id: 'g', type: 'google', displayName: 'Google', clientId: 'c', clientSecret: { env: 'HOME' } }, saml('w', { metadataFile: 'okta-a.xml', identityIssuer: 'google.com' })])).toEqual([expect.stringMatching(/providers\[1\]\.identityIssuer: .*'google\.com'/)]);
    // Told apart, or one SAML provider alone, or SAML providers on different hosts: accepted.
    expect(load([saml('a', { metadataFile: 'okta-a.xml', identityIssuer: 'partner-a.example' }), saml('b', { metadataUrl: 'https://partner.okta.com/md', identityIssuer: 'partner-b.example' })])).toEqual(['a', 'b']);
    expect(load([saml('a', { metadataUrl: 'https://partner.okta.com/md' }), { id: 'g', type: 'google', displayName: 'Google', clientId: 'c', clientSecret: { env: 'HOME' } }])).toEqual(['a', 'g']);
    expect(load([saml('a', { metadataFile: 'okta-a.xml' }), saml('b', { metadataFile: 'adfs.xml' })])).toEqual(['a', 'b']);
  });
});
