import { X509Certificate } from 'node:crypto';
import type { SamlEndpoint } from '../../model/entities.js';
import type { OutboundClient } from '../../outbound/outbound-client.js';
import type { KeyCertificate } from './certificates.js';
import { BINDING, NAMEID, NS, SamlError, XmlBuilder, attr, children, isElement, parseXml, textOf } from './xml.js';

/**
 * SAML metadata (SAML 2.0 metadata spec): Latchkey's own documents (an IdP per tenant and policy, an SP
 * per upstream provider), and reading a partner's, from a file or a URL.
 */

/** A fetch-like function: the caller decides how Latchkey reaches the network (the outbound client). */
export type FetchLike = (url: string, init: { signal: AbortSignal; headers: Record<string, string>; redirect: 'follow' | 'error' }) => Promise<{ ok: boolean; status: number; text(): Promise<string> }>;

const MAX_METADATA_BYTES = 1024 * 1024;

/** Metadata fetched through Latchkey's outbound client (private addresses refused unless allowed). */
export function outboundMetadataFetch(outbound: OutboundClient): FetchLike {
  return async (url, init) => {
    const res = await outbound.request(url, { purpose: 'SAML metadata', headers: init.headers, redirect: init.redirect, signal: init.signal, maxBytes: MAX_METADATA_BYTES });
    return { ok: res.status >= 200 && res.status < 300, status: res.status, text: async () => res.body.toString('utf8') };
  };
}

/** Downloads a metadata document (1 MiB and `timeoutMs` at most). */
export async function fetchMetadata(fetchFn: FetchLike, url: string, timeoutMs = 10_000): Promise<string> {
  let res;
  try {
    res = await fetchFn(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/samlmetadata+xml, application/xml, text/xml' }, redirect: 'follow' });
  } catch (err) {
    throw new SamlError(`The metadata at ${url} cannot be fetched (${err instanceof Error ? err.message : 'error'}).`);
  }
  if (!res.ok) throw new SamlError(`The metadata at ${url} answered HTTP ${res.status}.`);
  const text = await res.text();
  if (text.length > MAX_METADATA_BYTES) throw new SamlError(`The metadata at ${url} is larger than 1 MiB.`);
  return text;
}

/** Certificates of a role descriptor's KeyDescriptors for signing (use="signing" or no use), base64 DER. */
function signingCertificates(role: Element): string[] {
  const out: string[] = [];
  for (const kd of children(role, NS.md, 'KeyDescriptor')) {
    const use = attr(kd, 'use');
    if (use !== undefined && use !== 'signing') continue;
    for (const info of children(kd, NS.ds, 'KeyInfo')) {
      for (const data of children(info, NS.ds, 'X509Data')) {
        for (const c of children(data, NS.ds, 'X509Certificate')) {
          const b64 = (textOf(c) ?? '').replace(/\s+/g, '');
          try {
            new X509Certificate(Buffer.from(b64, 'base64'));
          } catch {
            throw new SamlError('The metadata has a signing certificate that cannot be read.');
          }
          out.push(b64);
        }
      }
    }
  }
  return [...new Set(out)];
}

/** The one EntityDescriptor of a metadata document (an EntitiesDescriptor with exactly one is accepted too). */
function entityDescriptor(xml: string): Element {
  const root = parseXml(xml).documentElement;
  if (isElement(root, NS.md, 'EntityDescriptor')) return root;
  if (isElement(root, NS.md, 'EntitiesDescriptor')) {
    const all = children(root, NS.md, 'EntityDescriptor');
    if (all.length === 1) return all[0]!;
    throw new SamlError(`The metadata describes ${all.length} entities; give the metadata of one.`);
  }
  throw new SamlError('The document is not SAML metadata (no md:EntityDescriptor).');
}

function entityIdOf(ed: Element): string {
  const id = attr(ed, 'entityID');
  if (!id || id.length > 1024) throw new SamlError('The metadata has no entityID.');
  return id;
}

function role(ed: Element, name: 'SPSSODescriptor' | 'IDPSSODescriptor'): Element {
  const roles = children(ed, NS.md, name).filter((r) => (attr(r, 'protocolSupportEnumeration') ?? '').split(/\s+/).includes(NS.samlp));
  if (roles.length === 0) throw new SamlError(`The metadata has no SAML 2.0 ${name === 'SPSSODescriptor' ? 'service provider' : 'identity provider'} role (md:${name}).`);
  return roles[0]!;
}

export interface SpMetadata {
  entityId: string;
  /** HTTP-POST assertion consumer services (the only binding Latchkey answers with). */
  acs: SamlEndpoint[];
  slo: { url: string; responseUrl: string | null; binding: 'redirect' | 'post' } | null;
  certificates: string[];
  authnRequestsSigned: boolean;
  nameIdFormats: string[];
}

/** Reads a service provider's metadata (what `app create --type saml --metadata-…` registers). */
export function parseSpMetadata(xml: string): SpMetadata {
  const ed = entityDescriptor(xml);
  const sp = role(ed, 'SPSSODescriptor');
  const acs: SamlEndpoint[] = [];
  for (const e of children(sp, NS.md, 'AssertionConsumerService')) {
    if (attr(e, 'Binding') !== BINDING.post) continue;
    const url = attr(e, 'Location');
    if (!url) continue;
    const index = attr(e, 'index');
    acs.push({ url, ...(index !== undefined && /^\d{1,5}$/.test(index) ? { index: Number(index) } : {}), ...(attr(e, 'isDefault') === 'true' ? { isDefault: true } : {}) });
  }
  if (acs.length === 0) throw new SamlError('The metadata has no assertion consumer service with the HTTP-POST binding.');
  const slos = children(sp, NS.md, 'SingleLogoutService');
  const slo = slos.find((e) => attr(e, 'Binding') === BINDING.redirect) ?? slos.find((e) => attr(e, 'Binding') === BINDING.post);
  return {
    entityId: entityIdOf(ed),
    acs,
    slo: slo && attr(slo, 'Location') ? { url: attr(slo, 'Location')!, responseUrl: attr(slo, 'ResponseLocation') ?? null, binding: attr(slo, 'Binding') === BINDING.redirect ? 'redirect' : 'post' } : null,
    certificates: signingCertificates(sp),
    authnRequestsSigned: attr(sp, 'AuthnRequestsSigned') === 'true',
    nameIdFormats: children(sp, NS.md, 'NameIDFormat').map((e) => textOf(e) ?? '').filter(Boolean),
  };
}

export interface IdpMetadata {
  entityId: string;
  ssoRedirect?: string;
  ssoPost?: string;
  sloRedirect?: string;
  certificates: string[];
  wantAuthnRequestsSigned: boolean;
}

/** Reads an upstream identity provider's metadata. */
export function parseIdpMetadata(xml: string): IdpMetadata {
  const ed = entityDescriptor(xml);
  const idp = role(ed, 'IDPSSODescriptor');
  const sso = children(idp, NS.md, 'SingleSignOnService');
  const slo = children(idp, NS.md, 'SingleLogoutService');
  const at = (list: Element[], binding: string) => list.map((e) => (attr(e, 'Binding') === binding ? attr(e, 'Location') : undefined)).find(Boolean);
  const out: IdpMetadata = { entityId: entityIdOf(ed), certificates: signingCertificates(idp), wantAuthnRequestsSigned: attr(idp, 'WantAuthnRequestsSigned') === 'true' };
  const r = at(sso, BINDING.redirect);
  const p = at(sso, BINDING.post);
  const l = at(slo, BINDING.redirect);
  if (r) out.ssoRedirect = r;
  if (p) out.ssoPost = p;
  if (l) out.sloRedirect = l;
  if (!out.ssoRedirect && !out.ssoPost) throw new SamlError('The identity provider metadata has no single sign-on service (HTTP-Redirect or HTTP-POST).');
  if (out.certificates.length === 0) throw new SamlError('The identity provider metadata has no signing certificate: its responses could not be checked.');
  return out;
}

function keyDescriptors(b: XmlBuilder, certificates: KeyCertificate[]): Element[] {
  return certificates.map((c) =>
    b.el(NS.md, 'md:KeyDescriptor', { use: 'signing' }, b.el(NS.ds, 'ds:KeyInfo', {}, b.el(NS.ds, 'ds:X509Data', {}, b.el(NS.ds, 'ds:X509Certificate', {}, c.base64)))),
  );
}

/** Latchkey as identity provider: one document per tenant and policy. */
export function idpMetadataXml(p: { entityId: string; ssoUrl: string; sloUrl: string; certificates: KeyCertificate[] }): string {
  const b = new XmlBuilder();
  const idp = b.el(
    NS.md,
    'md:IDPSSODescriptor',
    { protocolSupportEnumeration: NS.samlp, WantAuthnRequestsSigned: 'false' },
    ...keyDescriptors(b, p.certificates),
    b.el(NS.md, 'md:SingleLogoutService', { Binding: BINDING.redirect, Location: p.sloUrl }),
    b.el(NS.md, 'md:SingleLogoutService', { Binding: BINDING.post, Location: p.sloUrl }),
    b.el(NS.md, 'md:NameIDFormat', {}, NAMEID.persistent),
    b.el(NS.md, 'md:NameIDFormat', {}, NAMEID.email),
    b.el(NS.md, 'md:NameIDFormat', {}, NAMEID.transient),
    b.el(NS.md, 'md:NameIDFormat', {}, NAMEID.unspecified),
    b.el(NS.md, 'md:SingleSignOnService', { Binding: BINDING.redirect, Location: p.ssoUrl }),
    b.el(NS.md, 'md:SingleSignOnService', { Binding: BINDING.post, Location: p.ssoUrl }),
  );
  return b.toString(b.el(NS.md, 'md:EntityDescriptor', { entityID: p.entityId }, idp));
}

/** Latchkey as service provider of an upstream identity provider. */
export function spMetadataXml(p: { entityId: string; acsUrl: string; certificates: KeyCertificate[] }): string {
  const b = new XmlBuilder();
  const sp = b.el(
    NS.md,
    'md:SPSSODescriptor',
    { protocolSupportEnumeration: NS.samlp, AuthnRequestsSigned: 'true', WantAssertionsSigned: 'true' },
    ...keyDescriptors(b, p.certificates),
    b.el(NS.md, 'md:NameIDFormat', {}, NAMEID.persistent),
    b.el(NS.md, 'md:AssertionConsumerService', { Binding: BINDING.post, Location: p.acsUrl, index: '0', isDefault: 'true' }),
  );
  return b.toString(b.el(NS.md, 'md:EntityDescriptor', { entityID: p.entityId }, sp));
}
