import { BUILTIN_ATTRIBUTES, extensionsAppIdOf, graphIdentities, localIssuer, type GraphIdentity } from '../model/graph-user.js';
import type { Tenant, User, UserIdentity } from '../model/entities.js';
import { B2C_STEP, type ConnectorStep } from './api-connector.js';

/**
 * Latchkey's claims in the names B2C's API connectors use (Graph's), and back. The user's name fields
 * are `givenName`, `surname`, `displayName`; B2C's built-in attributes keep their names; custom ones are
 * `extension_<b2c-extensions-app id>_<name>`.
 */
const TO_GRAPH: Record<string, string> = { given_name: 'givenName', family_name: 'surname', name: 'displayName' };
const FROM_GRAPH: Record<string, string> = { givenName: 'given_name', surname: 'family_name', displayName: 'name' };

export { PROTECTED_TOKEN_CLAIMS } from '../model/token-claims.js';

function graphName(tenant: Tenant, claim: string): string {
  if (TO_GRAPH[claim]) return TO_GRAPH[claim];
  if ((BUILTIN_ATTRIBUTES as readonly string[]).includes(claim) || claim === 'email') return claim;
  return `extension_${extensionsAppIdOf(tenant)}_${claim}`;
}

/** A returned name as Latchkey's claim: with or without the `extension_<appId>_` prefix. */
export function claimName(tenant: Tenant, returned: string): string {
  if (FROM_GRAPH[returned]) return FROM_GRAPH[returned];
  const prefix = `extension_${extensionsAppIdOf(tenant)}_`;
  if (returned.toLowerCase().startsWith(prefix.toLowerCase())) return returned.slice(prefix.length);
  const m = /^extension_(?:[0-9a-f]{32}_)?(.+)$/i.exec(returned);
  return m ? m[1]! : returned;
}

export interface ConnectorSubject {
  email?: string | null | undefined;
  identities: GraphIdentity[];
  /** Attribute values by Latchkey's claim names (given_name, country, loyaltyId…). */
  values: Record<string, unknown>;
  objectId?: string;
}

/** The user's attributes in Graph's names: those without a value are left out, as B2C leaves them. */
function attributesOf(tenant: Tenant, subject: ConnectorSubject, body: Record<string, unknown>): void {
  if (subject.email) body.email = subject.email;
  body.identities = subject.identities;
  for (const [claim, value] of Object.entries(subject.values)) {
    if (value === undefined || value === null || value === '') continue;
    body[graphName(tenant, claim)] = value;
  }
  if (subject.objectId) body.objectId = subject.objectId;
}

/**
 * The request body B2C sends. During sign-up (PostFederationSignup, PostAttributeCollection): the
 * attributes, then `step`, `client_id`, `ui_locales`. Before the token (PreTokenApplicationClaims):
 * `clientId`, `step`, `ui_locales` first, then the attributes; B2C names the app's id differently at
 * that step ("Add an API connector to a sign-up user flow" and "Enrich tokens with claims from external
 * sources using API connectors" in B2C's documentation).
 */
export function connectorRequest(tenant: Tenant, step: ConnectorStep, subject: ConnectorSubject, clientId: string, locale: string): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (step === 'preTokenIssuance') {
    body.clientId = clientId;
    body.step = B2C_STEP[step];
    body.ui_locales = locale;
    attributesOf(tenant, subject, body);
    return body;
  }
  attributesOf(tenant, subject, body);
  body.step = B2C_STEP[step];
  body.client_id = clientId;
  body.ui_locales = locale;
  return body;
}

/** The identities of a local account being signed up (B2C's emailAddress identity). */
export function localIdentity(tenant: Tenant, email: string): GraphIdentity {
  return { signInType: 'emailAddress', issuer: localIssuer(tenant), issuerAssignedId: email };
}

/** What a connector is told about an existing user (before tokens are issued). */
export function subjectOf(tenant: Tenant, user: User, identities: UserIdentity[]): ConnectorSubject {
  return {
    email: user.email,
    identities: graphIdentities(tenant, user, identities),
    values: { given_name: user.givenName, family_name: user.familyName, name: user.displayName, ...user.attributes },
    objectId: user.id,
  };
}

/** The returned claims Latchkey takes: by its own names, only those `allowed`. */
export function returnedClaims(tenant: Tenant, returned: Record<string, unknown>, allowed: (claim: string) => boolean): { taken: Record<string, unknown>; ignored: string[] } {
  const taken: Record<string, unknown> = {};
  const ignored: string[] = [];
  for (const [name, value] of Object.entries(returned)) {
    const claim = claimName(tenant, name);
    if (value !== null && value !== undefined && allowed(claim)) taken[claim] = value;
    else ignored.push(name);
  }
  return { taken, ignored };
}
