import { generateKeyPairSync, X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadIdentityProviders } from '../../src/federation/config.js';
import { deriveCertificate } from '../../src/federation/saml/certificates.js';
import { idpMetadataXml, parseSpMetadata } from '../../src/federation/saml/metadata.js';
import { verifyRootSignature, signElement } from '../../src/federation/saml/signature.js';
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
