import type { KeyObject } from 'node:crypto';
import type { KeyCertificate } from '../federation/saml/certificates.js';
import { signElement } from '../federation/saml/signature.js';
import { NAMEID, NS, STATUS, XmlBuilder, samlTime } from '../federation/saml/xml.js';

/**
 * The messages Latchkey sends as an identity provider: the Web Browser SSO profile's Response with its
 * assertion (SAML profiles §4.1.4.2), error Responses, and single logout's LogoutRequest and
 * LogoutResponse. Built through a DOM and signed with xml-crypto (signature.ts).
 */

export interface Signer {
  key: KeyObject;
  certificate: KeyCertificate;
}

export interface SamlAttribute {
  name: string;
  nameFormat: 'unspecified' | 'uri';
  values: string[];
}

const NAME_FORMAT = {
  unspecified: 'urn:oasis:names:tc:SAML:2.0:attrname-format:unspecified',
  uri: 'urn:oasis:names:tc:SAML:2.0:attrname-format:uri',
} as const;

/** `transient` only when a request asks for it: a new opaque value in every assertion. */
export type NameIdFormat = 'persistent' | 'email' | 'unspecified' | 'transient';
export const NAMEID_URI: Record<NameIdFormat, string> = { persistent: NAMEID.persistent, email: NAMEID.email, unspecified: NAMEID.unspecified, transient: NAMEID.transient };

export interface AssertionInput {
  ids: { response: string; assertion: string };
  issuer: string;
  /** The registered ACS URL the response is posted to (Destination and Recipient). */
  acsUrl: string;
  /** The AuthnRequest's ID; absent for an IdP-initiated response. */
  inResponseTo?: string;
  /** The SP's entity id (AudienceRestriction, SPNameQualifier). */
  audience: string;
  nameId: { value: string; format: NameIdFormat };
  /** The SSO session's id: what a LogoutRequest names to end it. */
  sessionIndex: string;
  /** Epoch ms of the user's authentication. */
  authnInstant: number;
  authnContext: string;
  attributes: SamlAttribute[];
  now: number;
  /** How long the assertion may be used (B2C's default: 300 s). */
  lifetimeMs: number;
  signer: Signer;
}

/** A signed Response with one signed assertion: both signatures, as B2C's defaults are (responses and assertions signed). */
export function assertionResponse(p: AssertionInput): string {
  const b = new XmlBuilder();
  const issued = samlTime(p.now);
  const until = samlTime(p.now + p.lifetimeMs);
  // A minute of grace before "now" for service providers whose clock runs a little behind.
  const notBefore = samlTime(p.now - 60_000);
  const issuer = () => b.el(NS.saml, 'saml:Issuer', {}, p.issuer);
  const assertion = b.el(
    NS.saml,
    'saml:Assertion',
    { ID: p.ids.assertion, Version: '2.0', IssueInstant: issued },
    issuer(),
    b.el(
      NS.saml,
      'saml:Subject',
      {},
      b.el(NS.saml, 'saml:NameID', { Format: NAMEID_URI[p.nameId.format], SPNameQualifier: p.audience }, p.nameId.value),
      b.el(
        NS.saml,
        'saml:SubjectConfirmation',
        { Method: 'urn:oasis:names:tc:SAML:2.0:cm:bearer' },
        b.el(NS.saml, 'saml:SubjectConfirmationData', { InResponseTo: p.inResponseTo, NotOnOrAfter: until, Recipient: p.acsUrl }),
      ),
    ),
    b.el(NS.saml, 'saml:Conditions', { NotBefore: notBefore, NotOnOrAfter: until }, b.el(NS.saml, 'saml:AudienceRestriction', {}, b.el(NS.saml, 'saml:Audience', {}, p.audience))),
    b.el(
      NS.saml,
      'saml:AuthnStatement',
      { AuthnInstant: samlTime(p.authnInstant), SessionIndex: p.sessionIndex },
      b.el(NS.saml, 'saml:AuthnContext', {}, b.el(NS.saml, 'saml:AuthnContextClassRef', {}, p.authnContext)),
    ),
    p.attributes.length > 0 &&
      b.el(
        NS.saml,
        'saml:AttributeStatement',
        {},
        ...p.attributes.map((a) => b.el(NS.saml, 'saml:Attribute', { Name: a.name, NameFormat: NAME_FORMAT[a.nameFormat] }, ...a.values.map((v) => b.el(NS.saml, 'saml:AttributeValue', {}, v)))),
      ),
  );
  const response = b.el(
    NS.samlp,
    'samlp:Response',
    { ID: p.ids.response, Version: '2.0', IssueInstant: issued, Destination: p.acsUrl, InResponseTo: p.inResponseTo },
    issuer(),
    b.el(NS.samlp, 'samlp:Status', {}, b.el(NS.samlp, 'samlp:StatusCode', { Value: STATUS.success })),
    assertion,
  );
  response.setAttributeNS('http://www.w3.org/2000/xmlns/', 'xmlns:saml', NS.saml);
  const xml = b.toString(response);
  return signElement(signElement(xml, p.ids.assertion, p.signer.key, p.signer.certificate), p.ids.response, p.signer.key, p.signer.certificate);
}

export interface StatusInput {
  id: string;
  issuer: string;
  destination: string;
  inResponseTo?: string;
  /** Top-level status (Requester / Responder), and the second-level one that says why. */
  status: string;
  subStatus?: string;
  message?: string;
  now: number;
  signer: Signer;
}

function status(b: XmlBuilder, p: Pick<StatusInput, 'status' | 'subStatus' | 'message'>): Element {
  return b.el(
    NS.samlp,
    'samlp:Status',
    {},
    b.el(NS.samlp, 'samlp:StatusCode', { Value: p.status }, p.subStatus !== undefined && b.el(NS.samlp, 'samlp:StatusCode', { Value: p.subStatus })),
    p.message !== undefined && b.el(NS.samlp, 'samlp:StatusMessage', {}, p.message.slice(0, 500)),
  );
}

/** A signed Response without an assertion: the request failed (the SP shows its own error). */
export function errorResponse(p: StatusInput): string {
  const b = new XmlBuilder();
  const xml = b.toString(
    b.el(NS.samlp, 'samlp:Response', { ID: p.id, Version: '2.0', IssueInstant: samlTime(p.now), Destination: p.destination, InResponseTo: p.inResponseTo }, b.el(NS.saml, 'saml:Issuer', {}, p.issuer), status(b, p)),
  );
  return signElement(xml, p.id, p.signer.key, p.signer.certificate);
}

/** A LogoutResponse (signed when it goes by HTTP-POST; the Redirect binding signs the query instead). */
export function logoutResponse(p: StatusInput, sign: boolean): string {
  const b = new XmlBuilder();
  const xml = b.toString(
    b.el(NS.samlp, 'samlp:LogoutResponse', { ID: p.id, Version: '2.0', IssueInstant: samlTime(p.now), Destination: p.destination, InResponseTo: p.inResponseTo }, b.el(NS.saml, 'saml:Issuer', {}, p.issuer), status(b, p)),
  );
  return sign ? signElement(xml, p.id, p.signer.key, p.signer.certificate) : xml;
}

/** A LogoutRequest to a service provider, for the session (`sessionIndex`) of the user (`nameId`). */
export function logoutRequest(p: { id: string; issuer: string; destination: string; nameId: { value: string; format: NameIdFormat }; spEntityId: string; sessionIndex: string; now: number }): string {
  const b = new XmlBuilder();
  return b.toString(
    b.el(
      NS.samlp,
      'samlp:LogoutRequest',
      { ID: p.id, Version: '2.0', IssueInstant: samlTime(p.now), Destination: p.destination, NotOnOrAfter: samlTime(p.now + 5 * 60_000) },
      b.el(NS.saml, 'saml:Issuer', {}, p.issuer),
      b.el(NS.saml, 'saml:NameID', { Format: NAMEID_URI[p.nameId.format], SPNameQualifier: p.spEntityId }, p.nameId.value),
      b.el(NS.samlp, 'samlp:SessionIndex', {}, p.sessionIndex),
    ),
  );
}
