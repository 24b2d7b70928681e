import { inflateRawSync } from 'node:zlib';
import { DOMImplementation, DOMParser, XMLSerializer } from '@xmldom/xmldom';

/**
 * XML for SAML messages: parsing untrusted input strictly, reading elements by namespace, and
 * building messages through a DOM (so every value is escaped by the serializer, never by hand).
 */
export const NS = {
  samlp: 'urn:oasis:names:tc:SAML:2.0:protocol',
  saml: 'urn:oasis:names:tc:SAML:2.0:assertion',
  md: 'urn:oasis:names:tc:SAML:2.0:metadata',
  ds: 'http://www.w3.org/2000/09/xmldsig#',
} as const;

export const BINDING = {
  redirect: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect',
  post: 'urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST',
} as const;

export const NAMEID = {
  persistent: 'urn:oasis:names:tc:SAML:2.0:nameid-format:persistent',
  email: 'urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress',
  unspecified: 'urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified',
  transient: 'urn:oasis:names:tc:SAML:2.0:nameid-format:transient',
  entity: 'urn:oasis:names:tc:SAML:2.0:nameid-format:entity',
} as const;

export const STATUS = {
  success: 'urn:oasis:names:tc:SAML:2.0:status:Success',
  requester: 'urn:oasis:names:tc:SAML:2.0:status:Requester',
  responder: 'urn:oasis:names:tc:SAML:2.0:status:Responder',
  versionMismatch: 'urn:oasis:names:tc:SAML:2.0:status:VersionMismatch',
  authnFailed: 'urn:oasis:names:tc:SAML:2.0:status:AuthnFailed',
  noPassive: 'urn:oasis:names:tc:SAML:2.0:status:NoPassive',
  invalidNameIdPolicy: 'urn:oasis:names:tc:SAML:2.0:status:InvalidNameIDPolicy',
  requestDenied: 'urn:oasis:names:tc:SAML:2.0:status:RequestDenied',
  unsupportedBinding: 'urn:oasis:names:tc:SAML:2.0:status:UnsupportedBinding',
  partialLogout: 'urn:oasis:names:tc:SAML:2.0:status:PartialLogout',
} as const;

/** Why a SAML message was not accepted (the route turns it into a 400 page, or a SAML error status). */
export class SamlError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SamlError';
  }
}

/** Bigger messages than this are refused before parsing (B2C's requests are a few kilobytes). */
export const MAX_MESSAGE_BYTES = 256 * 1024;

/** A base64 field of an HTTP-POST binding message. */
export function decodePostMessage(value: string): string {
  const raw = Buffer.from(value.replace(/\s+/g, ''), 'base64');
  if (raw.length === 0) throw new SamlError('The SAML message is empty or not base64.');
  if (raw.length > MAX_MESSAGE_BYTES) throw new SamlError('The SAML message is too large.');
  const text = raw.toString('utf8');
  // The binding says POST messages are not deflated; some SPs (node-saml's default) deflate them anyway.
  if (/^\s*</.test(text.replace(/^\uFEFF/, ''))) return text;
  try {
    return inflateRawSync(raw, { maxOutputLength: MAX_MESSAGE_BYTES }).toString('utf8');
  } catch {
    throw new SamlError('The SAML message is neither XML nor a deflated message of at most 256 KiB.');
  }
}

/** The deflated, base64 field of an HTTP-Redirect binding message (SAML bindings §3.4.4.1); bounded against inflation bombs. */
export function decodeRedirectMessage(value: string): string {
  const raw = Buffer.from(value, 'base64');
  if (raw.length === 0) throw new SamlError('The SAML message is empty or not base64.');
  try {
    return inflateRawSync(raw, { maxOutputLength: MAX_MESSAGE_BYTES }).toString('utf8');
  } catch {
    throw new SamlError('The SAML message is not a deflated message of at most 256 KiB.');
  }
}

/**
 * Parses an untrusted message. Refused: anything the parser reports, a document type declaration
 * (entities), processing instructions, and more than one root element — shapes no SAML party sends
 * and that parser differentials and entity tricks rely on.
 */
export function parseXml(xml: string): Document {
  if (xml.length > MAX_MESSAGE_BYTES) throw new SamlError('The SAML message is too large.');
  if (/<!DOCTYPE/i.test(xml)) throw new SamlError('The SAML message has a document type declaration.');
  const problems: string[] = [];
  const doc = new DOMParser({
    locator: {},
    // Warnings too (an unclosed element is only a warning to xmldom 0.8): a message is well-formed or refused.
    errorHandler: { warning: (m: string) => problems.push(m), error: (m: string) => problems.push(m), fatalError: (m: string) => problems.push(m) },
  }).parseFromString(xml, 'text/xml');
  if (problems.length > 0 || !doc?.documentElement) throw new SamlError('The SAML message is not well-formed XML.');
  let roots = 0;
  for (let n = doc.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === n.ELEMENT_NODE) roots += 1;
    else if (n.nodeType === n.PROCESSING_INSTRUCTION_NODE && (n as ProcessingInstruction).target.toLowerCase() !== 'xml') {
      throw new SamlError('The SAML message has a processing instruction.');
    } else if (n.nodeType === n.DOCUMENT_TYPE_NODE) throw new SamlError('The SAML message has a document type declaration.');
  }
  if (roots !== 1) throw new SamlError('The SAML message must have one root element.');
  if (hasNode(doc.documentElement, (n) => n.nodeType === n.PROCESSING_INSTRUCTION_NODE || n.nodeType === n.ENTITY_REFERENCE_NODE)) {
    throw new SamlError('The SAML message has a processing instruction or an entity reference.');
  }
  return doc;
}

function hasNode(root: Node, test: (n: Node) => boolean): boolean {
  for (let n = root.firstChild; n; n = n.nextSibling) {
    if (test(n) || hasNode(n, test)) return true;
  }
  return false;
}

/** Direct child elements of `el` in namespace `ns` named `name`. */
export function children(el: Element, ns: string, name: string): Element[] {
  const out: Element[] = [];
  for (let n = el.firstChild; n; n = n.nextSibling) {
    if (n.nodeType === n.ELEMENT_NODE && (n as Element).namespaceURI === ns && (n as Element).localName === name) out.push(n as Element);
  }
  return out;
}

/** The only direct child `ns:name` of `el`; more than one is refused (a second one is how wrapping attacks hide). */
export function child(el: Element, ns: string, name: string): Element | undefined {
  const found = children(el, ns, name);
  if (found.length > 1) throw new SamlError(`The SAML message has more than one ${name} where one is allowed.`);
  return found[0];
}

/** The element's whole text: every text node, so a comment inside a value cannot cut it short (CVE-2017-11427 class). */
export function textOf(el: Element | undefined): string | undefined {
  if (!el) return undefined;
  let out = '';
  const walk = (n: Node) => {
    for (let c = n.firstChild; c; c = c.nextSibling) {
      if (c.nodeType === c.TEXT_NODE || c.nodeType === c.CDATA_SECTION_NODE) out += (c as CharacterData).data;
      else if (c.nodeType === c.ELEMENT_NODE) walk(c);
    }
  };
  walk(el);
  return out.trim();
}

export function attr(el: Element, name: string): string | undefined {
  return el.hasAttribute(name) ? el.getAttribute(name)! : undefined;
}

export function isElement(el: Element, ns: string, name: string): boolean {
  return el.namespaceURI === ns && el.localName === name;
}

/** SAML's xs:dateTime, UTC with milliseconds. */
export function samlTime(ms: number): string {
  return new Date(ms).toISOString();
}

/** Parses an xs:dateTime attribute; undefined when absent, SamlError when unreadable. */
export function parseTime(value: string | undefined, what: string): number | undefined {
  if (value === undefined) return undefined;
  const t = Date.parse(value);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/.test(value) || Number.isNaN(t)) throw new SamlError(`The ${what} is not a valid time.`);
  return t;
}

// ---- building -------------------------------------------------------------------------------

type Child = Element | string | undefined | false;

/** A document to build one message in: `el` makes namespaced elements whose values the serializer escapes. */
export class XmlBuilder {
  readonly doc: Document;
  constructor() {
    this.doc = new DOMImplementation().createDocument(null, null, null) as unknown as Document;
  }

  el(ns: string, qname: string, attrs: Record<string, string | undefined> = {}, ...kids: Child[]): Element {
    const e = this.doc.createElementNS(ns, qname);
    for (const [k, v] of Object.entries(attrs)) if (v !== undefined) e.setAttribute(k, v);
    for (const k of kids) {
      if (k === undefined || k === false) continue;
      e.appendChild(typeof k === 'string' ? this.doc.createTextNode(k) : k);
    }
    return e;
  }

  /** Serializes `root` as the document's element (namespace declarations added where needed). */
  toString(root: Element): string {
    this.doc.appendChild(root);
    return new XMLSerializer().serializeToString(this.doc as unknown as Node);
  }
}

/** Message ids: xs:ID must not start with a digit; 160 random bits. */
export function newId(random: (bytes: number) => Buffer): string {
  return `_${random(20).toString('hex')}`;
}
