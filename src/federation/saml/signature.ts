import { sign as signBytes, verify as verifySignature, X509Certificate, type KeyObject } from 'node:crypto';
import { SignedXml } from 'xml-crypto';
import { pemOf, type KeyCertificate } from './certificates.js';
import { NS, SamlError, attr, children, parseXml } from './xml.js';

/**
 * XML signatures through xml-crypto (canonicalization, digests, the signature itself), with the
 * checks SAML's signature-wrapping advisories call for around it:
 * - the key is the one registered for the peer (its metadata certificate); a certificate in the
 *   message's KeyInfo is never trusted (xml-crypto's CVE-2024-32962 class);
 * - exactly one Signature, a direct child of the root, with exactly one Reference, to `#ID` of that root
 *   (XSW shapes move the signed element elsewhere and put another in its place);
 * - only exclusive or inclusive C14N (without comments) and the enveloped-signature transform, RSA with
 *   SHA-256/384/512 (no SHA-1);
 * - the message is then read from what the signature covers (xml-crypto's canonical signed reference,
 *   parsed again), never from the original document, so nothing outside the signature is ever read.
 */

const RSA_SHA = {
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256': 'sha256',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha384': 'sha384',
  'http://www.w3.org/2001/04/xmldsig-more#rsa-sha512': 'sha512',
} as const;
export const RSA_SHA256 = 'http://www.w3.org/2001/04/xmldsig-more#rsa-sha256';
const EXC_C14N = 'http://www.w3.org/2001/10/xml-exc-c14n#';
const ENVELOPED = 'http://www.w3.org/2000/09/xmldsig#enveloped-signature';
const DIGESTS = new Set(['http://www.w3.org/2001/04/xmlenc#sha256', 'http://www.w3.org/2001/04/xmldsig-more#sha384', 'http://www.w3.org/2001/04/xmlenc#sha512']);
const C14NS = new Set([EXC_C14N, 'http://www.w3.org/TR/2001/REC-xml-c14n-20010315']);

/**
 * Signs the element with `ID=id` (enveloped, exclusive C14N, RSA-SHA256, SHA-256 digest), the
 * Signature placed right after its Issuer as the SAML schema requires, the certificate in KeyInfo.
 */
export function signElement(xml: string, id: string, key: KeyObject, certificate: KeyCertificate): string {
  if (!/^[A-Za-z_][\w.-]*$/.test(id)) throw new Error('not an xs:ID');
  const sig = new SignedXml({ privateKey: key, publicCert: certificate.pem, signatureAlgorithm: RSA_SHA256, canonicalizationAlgorithm: EXC_C14N });
  sig.addReference({ xpath: `//*[@ID='${id}']`, transforms: [ENVELOPED, EXC_C14N], digestAlgorithm: 'http://www.w3.org/2001/04/xmlenc#sha256' });
  sig.computeSignature(xml, {
    prefix: 'ds',
    location: { reference: `//*[@ID='${id}']/*[local-name(.)='Issuer' and namespace-uri(.)='${NS.saml}']`, action: 'after' },
  });
  return sig.getSignedXml();
}

/** Whether the message's root carries a Signature at all (unsigned messages are judged by policy). */
export function hasRootSignature(doc: Document): boolean {
  return children(doc.documentElement, NS.ds, 'Signature').length > 0;
}

/**
 * Verifies the root element's enveloped signature with one of `certificates` (base64 DER) and
 * returns the signed content, parsed: the root as the signature covers it (Signature removed).
 * Throws SamlError when there is no valid signature of that shape.
 */
export function verifyRootSignature(xml: string, doc: Document, certificates: string[]): Document {
  const root = doc.documentElement;
  const id = attr(root, 'ID');
  if (!id) throw new SamlError('The signed message has no ID.');
  const signatures = children(root, NS.ds, 'Signature');
  if (signatures.length !== 1) throw new SamlError(signatures.length === 0 ? 'The message is not signed.' : 'The message has more than one signature.');
  // A second Signature anywhere else (inside another element) is a wrapping attempt as well.
  if (doc.getElementsByTagNameNS(NS.ds, 'Signature').length !== 1) throw new SamlError('The message carries more than one signature.');
  if (certificates.length === 0) throw new SamlError('No certificate is registered to check the signature with.');
  let lastError = 'The signature is not valid.';
  for (const cert of certificates) {
    const sig = new SignedXml({ publicCert: pemOf(cert), getCertFromKeyInfo: () => null });
    sig.loadSignature(signatures[0]!);
    checkAlgorithms(sig, id);
    let valid = false;
    try {
      valid = sig.checkSignature(xml);
    } catch (err) {
      lastError = `The signature is not valid (${err instanceof Error ? err.message.split('\n')[0] : 'unreadable'}).`;
      continue;
    }
    const signed = sig.getSignedReferences();
    if (!valid || signed.length !== 1) continue;
    const content = parseXml(signed[0]!);
    const signedRoot = content.documentElement;
    if (signedRoot.namespaceURI !== root.namespaceURI || signedRoot.localName !== root.localName || attr(signedRoot, 'ID') !== id) {
      throw new SamlError('The signature covers another element than the message.');
    }
    return content;
  }
  throw new SamlError(lastError);
}

function checkAlgorithms(sig: SignedXml, id: string): void {
  if (!sig.signatureAlgorithm || !(sig.signatureAlgorithm in RSA_SHA)) throw new SamlError(`The signature algorithm ${sig.signatureAlgorithm ?? '(none)'} is not accepted (RSA with SHA-256, -384 or -512).`);
  if (!sig.canonicalizationAlgorithm || !C14NS.has(sig.canonicalizationAlgorithm)) throw new SamlError('The signature uses a canonicalization that is not accepted.');
  const refs = sig.getReferences();
  if (refs.length !== 1) throw new SamlError('The signature must have exactly one reference.');
  const ref = refs[0]!;
  if (ref.uri !== `#${id}`) throw new SamlError('The signature references another element than the message.');
  if (!DIGESTS.has(ref.digestAlgorithm)) throw new SamlError(`The digest algorithm ${ref.digestAlgorithm} is not accepted.`);
  for (const t of ref.transforms) if (t !== ENVELOPED && !C14NS.has(t)) throw new SamlError(`The signature transform ${t} is not accepted.`);
}

/**
 * Why a signature anywhere in `doc` uses an algorithm Latchkey does not accept (the same rules as
 * checkAlgorithms), or undefined. For messages another library verifies (node-saml's responses).
 */
export function signatureAlgorithmProblem(doc: Document): string | undefined {
  const signatures = doc.getElementsByTagNameNS(NS.ds, 'Signature');
  for (let i = 0; i < signatures.length; i++) {
    const info = children(signatures[i]!, NS.ds, 'SignedInfo')[0];
    if (!info) return 'a signature has no SignedInfo.';
    const algorithm = (parent: Element, name: string) => {
      const el = children(parent, NS.ds, name)[0];
      return el ? (attr(el, 'Algorithm') ?? '') : '';
    };
    const method = algorithm(info, 'SignatureMethod');
    if (!(method in RSA_SHA)) return `the signature algorithm ${method || '(none)'} is not accepted (RSA with SHA-256, -384 or -512).`;
    if (!C14NS.has(algorithm(info, 'CanonicalizationMethod'))) return 'a signature uses a canonicalization that is not accepted.';
    for (const ref of children(info, NS.ds, 'Reference')) {
      const digest = algorithm(ref, 'DigestMethod');
      if (!DIGESTS.has(digest)) return `the digest algorithm ${digest || '(none)'} is not accepted.`;
      for (const list of children(ref, NS.ds, 'Transforms')) {
        for (const t of children(list, NS.ds, 'Transform')) {
          const a = attr(t, 'Algorithm') ?? '';
          if (a !== ENVELOPED && !C14NS.has(a)) return `the signature transform ${a || '(none)'} is not accepted.`;
        }
      }
    }
  }
  return undefined;
}

/**
 * The HTTP-Redirect binding's signature (SAML bindings §3.4.4.1): over the octets
 * `SAMLRequest=…&RelayState=…&SigAlg=…` exactly as they were URL-encoded in the query string.
 * `rawQuery` is the request URL's query as received.
 */
export function verifyRedirectSignature(rawQuery: string, messageField: 'SAMLRequest' | 'SAMLResponse', certificates: string[]): void {
  const raw = new Map<string, string>();
  for (const part of rawQuery.split('&')) {
    const eq = part.indexOf('=');
    const name = eq < 0 ? part : part.slice(0, eq);
    if (raw.has(name)) throw new SamlError(`The parameter ${name} was sent more than once.`);
    raw.set(name, eq < 0 ? '' : part.slice(eq + 1));
  }
  const sigAlg = decodeURIComponent((raw.get('SigAlg') ?? '').replace(/\+/g, ' '));
  const signature = decodeURIComponent((raw.get('Signature') ?? '').replace(/\+/g, ' '));
  const hash = RSA_SHA[sigAlg as keyof typeof RSA_SHA];
  if (!hash) throw new SamlError(sigAlg ? `The signature algorithm ${sigAlg} is not accepted (RSA with SHA-256, -384 or -512).` : 'The request is not signed.');
  const octets = [`${messageField}=${raw.get(messageField) ?? ''}`, ...(raw.has('RelayState') ? [`RelayState=${raw.get('RelayState')}`] : []), `SigAlg=${raw.get('SigAlg')}`].join('&');
  const sigBytes = Buffer.from(signature, 'base64');
  for (const cert of certificates) {
    const key = new X509Certificate(Buffer.from(cert, 'base64')).publicKey;
    if (verifySignature(hash, Buffer.from(octets, 'utf8'), key, sigBytes)) return;
  }
  throw new SamlError('The signature of the request is not valid.');
}

/** Signs an HTTP-Redirect binding query (the counterpart of verifyRedirectSignature). */
export function signRedirectQuery(messageField: 'SAMLRequest' | 'SAMLResponse', encodedMessage: string, relayState: string | undefined, key: KeyObject): string {
  let q = `${messageField}=${encodeURIComponent(encodedMessage)}`;
  if (relayState !== undefined) q += `&RelayState=${encodeURIComponent(relayState)}`;
  q += `&SigAlg=${encodeURIComponent(RSA_SHA256)}`;
  const sig = signBytes('sha256', Buffer.from(q, 'utf8'), key).toString('base64');
  return `${q}&Signature=${encodeURIComponent(sig)}`;
}
