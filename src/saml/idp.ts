import { randomBytes } from 'node:crypto';
import { randomToken, sha256 } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import { journeyFor } from '../journeys/compile.js';
import { newJourneyState } from '../journeys/journey.js';
import type { Policy } from '../model/policy.js';
import { localIssuer } from '../model/graph-user.js';
import { JOURNEY_TTL_MS, type Authentication, type BrowserContext } from '../oauth/authorize.js';
import type { AuthorizationRequest } from '../oauth/authorize-request.js';
import { OAuthError, pageError } from '../model/errors.js';
import { findActiveSession, joinSession, sessionCovers, touchSession } from '../oauth/sso.js';
import { preTokenIssuance } from '../services/api-connectors.js';
import { secondFactorDue } from '../services/mfa.js';
import type { SamlApp, SamlEndpoint, Tenant, User } from '../model/entities.js';
import { pickLocale } from '../model/messages/messages.js';
import { samlAttributes } from './attributes.js';
import { samlKeys } from '../federation/saml/certificates.js';
import { assertionResponse, errorResponse, type NameIdFormat } from './messages.js';
import { hasRootSignature, verifyRedirectSignature, verifyRootSignature } from '../federation/saml/signature.js';
import { BINDING, NAMEID, NS, STATUS, SamlError, attr, child, decodePostMessage, decodeRedirectMessage, isElement, newId, parseXml, textOf } from '../federation/saml/xml.js';

/**
 * Latchkey as a SAML identity provider (SAML 2.0 Web Browser SSO profile, as B2C's SAML issuer
 * answers): an AuthnRequest is checked against the registered service provider (entity id, ACS URL,
 * signature), then the policy's journey signs the user in — or the SSO session does, shared with
 * OpenID Connect — and a signed Response is posted to the registered ACS URL. Nothing is ever posted
 * to a URL the app did not register: an unknown SP or ACS is an error page.
 */

/** What Latchkey answers at in a tenant and policy (B2C's URLs), and as whom. */
export interface IdpEndpoints {
  entityId: string;
  ssoUrl: string;
  sloUrl: string;
}

/** B2C's default SAML issuer URI: `{base}/{tenant}.onmicrosoft.com/{policy}` (the B2C tenant's name when it has one). */
export function idpEntityId(baseUrl: string, tenant: Tenant, policyId: string): string {
  return `${baseUrl}/${localIssuer(tenant)}/${policyId}`;
}

/** How long a response's assertion may be used (B2C's TokenLifeTimeInSeconds default). */
export const ASSERTION_LIFETIME_MS = 300_000;
const MAX_RELAY_STATE = 2048;

/** A SAML sign-in in progress: kept in the journey, beside the request the journey steps read. */
export interface SamlSsoContext {
  clientId: string;
  entityId: string;
  acsUrl: string;
  /** The AuthnRequest's ID (absent for IdP-initiated sign-in). */
  requestId?: string;
  relayState?: string;
  nameIdFormat: NameIdFormat;
  forceAuthn: boolean;
  isPassive: boolean;
}

/** The journey's request for a SAML sign-in: what the steps read, plus the SAML context. */
export type SamlJourneyRequest = AuthorizationRequest & { saml: SamlSsoContext };

export function samlContextOf(request: unknown): SamlSsoContext | undefined {
  const saml = (request as { saml?: SamlSsoContext } | null)?.saml;
  return saml && typeof saml.acsUrl === 'string' ? saml : undefined;
}

/** A message as it arrived: its binding, its fields, and (Redirect binding) the raw query its signature covers. */
export interface IncomingMessage {
  binding: 'redirect' | 'post';
  fields: Record<string, string>;
  rawQuery: string;
}

/** What the browser is sent. */
export type SamlOutcome =
  /** An auto-submitted form to the SP (a registered ACS or SLO URL). */
  | { type: 'post'; url: string; fields: Record<string, string> }
  | { type: 'journey'; journeyId: string }
  /** The preTokenIssuance connector refused the user (ShowBlockPage). */
  | { type: 'blocked'; message: string; locale: string };

export interface TenantPolicyContext {
  tenant: Tenant;
  policy: Policy;
  tenantSegment: string;
  form: 'path' | 'query' | 'tfp';
  endpoints: IdpEndpoints;
}

/** A refused request whose SP is not known (or not trustworthy): audited, and shown on a 400 page. */
async function refuse(deps: Deps, tenant: Tenant, ip: string, message: string, clientId?: string): Promise<never> {
  await deps.audit.record({ tenantId: tenant.id, event: 'saml_request', outcome: 'failure', clientId: clientId ?? null, ip, detail: message });
  throw pageError('invalid_request', message);
}

/** Reads a message's XML (and verifies its signature) per binding; the document read is the signed one where the signature is in the XML. */
export function readMessage(msg: IncomingMessage, field: 'SAMLRequest' | 'SAMLResponse', certificates: string[]): { doc: Document; signed: boolean } {
  const value = msg.fields[field];
  if (!value) throw new SamlError(`The request has no ${field}.`);
  if (msg.binding === 'redirect') {
    const xml = decodeRedirectMessage(value);
    const doc = parseXml(xml);
    if (hasRootSignature(doc)) throw new SamlError('An HTTP-Redirect message carries its signature in the query, not in the XML.');
    if (msg.fields.Signature === undefined) return { doc, signed: false };
    if (certificates.length === 0) return { doc, signed: false };
    verifyRedirectSignature(msg.rawQuery, field, certificates);
    return { doc, signed: true };
  }
  const xml = decodePostMessage(value);
  const doc = parseXml(xml);
  if (!hasRootSignature(doc) || certificates.length === 0) return { doc, signed: false };
  return { doc: verifyRootSignature(xml, doc, certificates), signed: true };
}

/** The issuer of a message, read before its signature can be checked (to find whose certificate checks it). */
export function issuerOf(msg: IncomingMessage, field: 'SAMLRequest' | 'SAMLResponse'): { doc: Document; issuer: string } {
  const value = msg.fields[field];
  if (!value) throw new SamlError(`The request has no ${field}.`);
  const doc = parseXml(msg.binding === 'redirect' ? decodeRedirectMessage(value) : decodePostMessage(value));
  const issuer = textOf(child(doc.documentElement, NS.saml, 'Issuer'));
  if (!issuer) throw new SamlError('The message has no Issuer: Latchkey cannot tell which application sent it.');
  return { doc, issuer };
}

function chooseAcs(app: SamlApp, url: string | undefined, index: string | undefined): SamlEndpoint | undefined {
  if (url !== undefined) return app.acs.find((a) => a.url === url);
  if (index !== undefined) return app.acs.find((a) => a.index !== undefined && String(a.index) === index);
  return app.acs.find((a) => a.isDefault) ?? app.acs[0];
}

function nameIdFormatFor(app: SamlApp, requested: string | undefined): NameIdFormat | undefined {
  switch (requested) {
    case undefined:
    case NAMEID.unspecified:
      return app.nameIdFormat;
    case NAMEID.persistent:
      return 'persistent';
    case NAMEID.email:
      return 'email';
    case NAMEID.transient:
      // Lasso-based SPs (mod_auth_mellon) ask for it unless their metadata names another format.
      return 'transient';
    default:
      return undefined;
  }
}

/** The SSO endpoint: an AuthnRequest by HTTP-Redirect or HTTP-POST. */
export async function receiveAuthnRequest(deps: Deps, ctx: TenantPolicyContext, msg: IncomingMessage, browser: BrowserContext): Promise<SamlOutcome> {
  const { tenant } = ctx;
  let issuer: string;
  try {
    issuer = issuerOf(msg, 'SAMLRequest').issuer;
  } catch (err) {
    if (err instanceof SamlError) return refuse(deps, tenant, browser.ip, err.message);
    throw err;
  }
  const app = issuer.length <= 1024 ? await deps.store.findSamlAppByEntityId(tenant.id, issuer) : undefined;
  if (!app) return refuse(deps, tenant, browser.ip, `The SAML application '${issuer.slice(0, 200)}' is not registered in this tenant.`);

  let doc: Document;
  let signed: boolean;
  try {
    ({ doc, signed } = readMessage(msg, 'SAMLRequest', app.certificates));
  } catch (err) {
    if (err instanceof SamlError) return refuse(deps, tenant, browser.ip, `The request of '${app.name}' was refused: ${err.message}`, app.clientId);
    throw err;
  }
  if (!signed && app.requireSignedRequests) return refuse(deps, tenant, browser.ip, `The application '${app.name}' must sign its requests, and this one is not signed (or its signature cannot be checked).`, app.clientId);

  const root = doc.documentElement;
  if (!isElement(root, NS.samlp, 'AuthnRequest')) return refuse(deps, tenant, browser.ip, 'The SAMLRequest is not an AuthnRequest.', app.clientId);
  const requestId = attr(root, 'ID');
  if (!requestId || !/^[A-Za-z_][\w.-]{0,255}$/.test(requestId)) return refuse(deps, tenant, browser.ip, 'The AuthnRequest has no valid ID.', app.clientId);
  if (attr(root, 'Version') !== '2.0') return refuse(deps, tenant, browser.ip, 'The AuthnRequest is not SAML 2.0.', app.clientId);
  const destination = attr(root, 'Destination');
  if (destination !== undefined && destination.toLowerCase() !== ctx.endpoints.ssoUrl.toLowerCase()) {
    return refuse(deps, tenant, browser.ip, `The AuthnRequest is addressed to '${destination.slice(0, 200)}', not to this endpoint (${ctx.endpoints.ssoUrl}).`, app.clientId);
  }
  const binding = attr(root, 'ProtocolBinding');
  if (binding !== undefined && binding !== BINDING.post) return refuse(deps, tenant, browser.ip, `Responses go by HTTP-POST only; the request asks for ${binding.slice(0, 100)}.`, app.clientId);
  const acs = chooseAcs(app, attr(root, 'AssertionConsumerServiceURL'), attr(root, 'AssertionConsumerServiceIndex'));
  if (!acs) {
    const asked = attr(root, 'AssertionConsumerServiceURL') ?? `index ${attr(root, 'AssertionConsumerServiceIndex')}`;
    return refuse(deps, tenant, browser.ip, `The assertion consumer service '${asked.slice(0, 200)}' is not registered for the application '${app.name}'.`, app.clientId);
  }
  const relayState = msg.fields.RelayState;
  if (relayState !== undefined && relayState.length > MAX_RELAY_STATE) return refuse(deps, tenant, browser.ip, 'The RelayState is too long.', app.clientId);

  // From here on the ACS is registered: failures are SAML error responses posted there.
  const saml: SamlSsoContext = {
    clientId: app.clientId,
    entityId: app.entityId,
    acsUrl: acs.url,
    requestId,
    ...(relayState !== undefined ? { relayState } : {}),
    nameIdFormat: app.nameIdFormat,
    forceAuthn: attr(root, 'ForceAuthn') === 'true' || attr(root, 'ForceAuthn') === '1',
    isPassive: attr(root, 'IsPassive') === 'true' || attr(root, 'IsPassive') === '1',
  };
  let policyEl: Element | undefined;
  try {
    policyEl = child(root, NS.samlp, 'NameIDPolicy');
  } catch (err) {
    if (err instanceof SamlError) return refuse(deps, tenant, browser.ip, err.message, app.clientId);
    throw err;
  }
  const format = nameIdFormatFor(app, policyEl ? attr(policyEl, 'Format') : undefined);
  if (!format) {
    return failure(deps, ctx, saml, browser.ip, { status: STATUS.requester, subStatus: STATUS.invalidNameIdPolicy, message: `The NameID format ${policyEl ? attr(policyEl, 'Format') : ''} is not offered (persistent, emailAddress, transient, unspecified).` });
  }
  saml.nameIdFormat = format;
  await deps.audit.record({ tenantId: tenant.id, event: 'saml_request', outcome: 'success', clientId: app.clientId, ip: browser.ip, detail: `${ctx.policy.id}: AuthnRequest ${requestId}${signed ? ' (signed)' : ''}` });
  return signIn(deps, ctx, app, saml, browser);
}

/** IdP-initiated sign-in (`generic/login?EntityId=`): a response to the SP's default ACS, without InResponseTo. */
export async function idpInitiated(deps: Deps, ctx: TenantPolicyContext, entityId: string | undefined, relayState: string | undefined, browser: BrowserContext): Promise<SamlOutcome> {
  const { tenant } = ctx;
  if (!entityId) return refuse(deps, tenant, browser.ip, 'The request names no SAML application (EntityId).');
  const app = entityId.length <= 1024 ? await deps.store.findSamlAppByEntityId(tenant.id, entityId) : undefined;
  if (!app) return refuse(deps, tenant, browser.ip, `The SAML application '${entityId.slice(0, 200)}' is not registered in this tenant.`);
  if (relayState !== undefined && relayState.length > MAX_RELAY_STATE) return refuse(deps, tenant, browser.ip, 'The RelayState is too long.', app.clientId);
  const acs = chooseAcs(app, undefined, undefined)!;
  const saml: SamlSsoContext = { clientId: app.clientId, entityId: app.entityId, acsUrl: acs.url, ...(relayState !== undefined ? { relayState } : {}), nameIdFormat: app.nameIdFormat, forceAuthn: false, isPassive: false };
  await deps.audit.record({ tenantId: tenant.id, event: 'saml_request', outcome: 'success', clientId: app.clientId, ip: browser.ip, detail: `${ctx.policy.id}: IdP-initiated` });
  return signIn(deps, ctx, app, saml, browser);
}

/** Kinds whose journey the SSO session may skip. */
const SSO_KINDS = new Set<Policy['kind']>(['signIn', 'signUpOrSignIn']);

/** The SSO session answers at once when it covers this app and policy; otherwise the policy's journey runs. */
async function signIn(deps: Deps, ctx: TenantPolicyContext, app: SamlApp, saml: SamlSsoContext, browser: BrowserContext): Promise<SamlOutcome> {
  const { tenant, policy } = ctx;
  if (policy.kind === 'ropc') return refuse(deps, tenant, browser.ip, `The policy '${policy.id}' has no pages (resource owner password credentials): SAML applications sign in through a sign-in policy.`, app.clientId);
  const active = await findActiveSession(deps, tenant, browser.ssoCookie);
  const usable = active !== undefined && sessionCovers(policy, active.session, app.clientId) && !saml.forceAuthn;
  const stepUp = usable && (await secondFactorDue(deps, tenant, policy, active.user, active.session.amr));
  if (usable && SSO_KINDS.has(policy.kind) && !stepUp) {
    const locale = pickLocale({ uiLocales: undefined, policyLocale: policy.ui.locale, acceptLanguage: browser.acceptLanguage });
    const pre = await preTokenIssuance(deps, { tenant, policy, clientId: app.clientId, user: active.user, locale, ip: browser.ip });
    if (pre.type === 'failed') return failure(deps, ctx, saml, browser.ip, { status: STATUS.responder, message: pre.error.message });
    if (pre.type === 'block') {
      if (saml.isPassive) return failure(deps, ctx, saml, browser.ip, { status: STATUS.responder, subStatus: STATUS.requestDenied, message: pre.message });
      return { type: 'blocked', message: pre.message, locale };
    }
    await touchSession(deps, policy, active.session);
    return respond(deps, ctx, saml, active.user, { authTime: active.session.authTime, idp: active.session.idp, newUser: false, session: active.session, connectorClaims: pre.claims, amr: active.session.amr }, browser.ip);
  }
  if (saml.isPassive) return failure(deps, ctx, saml, browser.ip, { status: STATUS.responder, subStatus: STATUS.noPassive, message: 'The user is not signed in, and the request does not let Latchkey ask.' });

  journeyFor(policy);
  const id = randomToken(24);
  const state = newJourneyState();
  if ((policy.kind === 'profileEdit' || stepUp) && usable && active) {
    state.userId = active.user.id;
    state.idp = active.session.idp;
    state.authTime = active.session.authTime;
    state.amr = active.session.amr.filter((v) => v !== 'mfa');
    state.mfa = active.session.amr.includes('mfa');
  }
  const request: SamlJourneyRequest = {
    tenantId: tenant.id,
    tenantSegment: ctx.tenantSegment,
    form: ctx.form,
    policyId: policy.id,
    clientId: app.clientId,
    redirectUri: saml.acsUrl,
    responseType: [],
    responseMode: 'form_post',
    scopes: { oidc: ['openid'], granted: ['openid'] },
    prompt: saml.forceAuthn ? ['login'] : [],
    clientInfo: false,
    saml,
  };
  const now = deps.clock.now();
  await deps.store.createJourney({ id, tenantId: tenant.id, policyId: policy.id, browserHash: sha256(browser.browserId), request, state, csrf: randomToken(24), createdAt: now, expiresAt: now + JOURNEY_TTL_MS });
  return { type: 'journey', journeyId: id };
}

function authnContextOf(amr: string[] | undefined): string {
  if (amr?.includes('pwd')) return 'urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport';
  return 'urn:oasis:names:tc:SAML:2.0:ac:classes:unspecified';
}

/**
 * The signed Response for a signed-in user, posted to the registered ACS. Within an SSO session the
 * app joins it (single logout reaches it) and the session's id is the assertion's SessionIndex.
 */
export async function respond(deps: Deps, ctx: Pick<TenantPolicyContext, 'tenant' | 'policy' | 'endpoints'>, saml: SamlSsoContext, user: User, auth: Authentication, ip: string): Promise<SamlOutcome> {
  const { tenant, policy } = ctx;
  let nameId: string | null = user.id;
  // SAML carries no "verified" flag: an SP keyed by email trusts the NameID as the user, so an address
  // nobody proved (sign-up without verification, an upstream that does not vouch for it) is never one.
  if (saml.nameIdFormat === 'email') nameId = user.emailVerified ? user.email : null;
  if (saml.nameIdFormat === 'transient') nameId = newId(randomBytes);
  if (nameId === null) {
    return failure(deps, ctx, saml, ip, { status: STATUS.requester, subStatus: STATUS.invalidNameIdPolicy, message: 'The account has no verified email address for an emailAddress NameID.' });
  }
  if (auth.session) await joinSession(deps, auth.session, saml.clientId, policy.id);
  const keys = await samlKeys(deps, tenant.id);
  const now = deps.clock.now();
  const attributes = samlAttributes(user, policy, {
    policyId: policy.id,
    scopes: { oidc: ['openid'], granted: ['openid'] },
    authTime: auth.authTime,
    idp: auth.idp,
    newUser: auth.newUser,
    clientInfo: false,
    ...(auth.amr !== undefined ? { amr: auth.amr } : {}),
    ...(auth.connectorClaims !== undefined && Object.keys(auth.connectorClaims).length > 0 ? { connectorClaims: auth.connectorClaims } : {}),
  });
  const xml = assertionResponse({
    ids: { response: newId(randomBytes), assertion: newId(randomBytes) },
    issuer: ctx.endpoints.entityId,
    acsUrl: saml.acsUrl,
    ...(saml.requestId !== undefined ? { inResponseTo: saml.requestId } : {}),
    audience: saml.entityId,
    nameId: { value: nameId, format: saml.nameIdFormat },
    sessionIndex: auth.session?.sid ?? randomToken(16),
    authnInstant: auth.authTime * 1000,
    authnContext: authnContextOf(auth.amr),
    attributes,
    now,
    lifetimeMs: ASSERTION_LIFETIME_MS,
    signer: keys.signing,
  });
  await deps.audit.record({ tenantId: tenant.id, event: 'saml_response', outcome: 'success', subject: user.id, clientId: saml.clientId, ip, detail: `${policy.id}: assertion for ${saml.entityId} to ${saml.acsUrl}` });
  return post(saml, xml);
}

function post(saml: SamlSsoContext, xml: string): SamlOutcome {
  return { type: 'post', url: saml.acsUrl, fields: { SAMLResponse: Buffer.from(xml, 'utf8').toString('base64'), ...(saml.relayState !== undefined ? { RelayState: saml.relayState } : {}) } };
}

/** A failed sign-in as the SAML profile reports it: a signed error Response to the registered ACS. */
export async function failure(deps: Deps, ctx: Pick<TenantPolicyContext, 'tenant' | 'policy' | 'endpoints'>, saml: SamlSsoContext, ip: string, p: { status: string; subStatus?: string; message: string }): Promise<SamlOutcome> {
  const keys = await samlKeys(deps, ctx.tenant.id);
  const xml = errorResponse({
    id: newId(randomBytes),
    issuer: ctx.endpoints.entityId,
    destination: saml.acsUrl,
    ...(saml.requestId !== undefined ? { inResponseTo: saml.requestId } : {}),
    status: p.status,
    ...(p.subStatus !== undefined ? { subStatus: p.subStatus } : {}),
    message: p.message,
    now: deps.clock.now(),
    signer: keys.signing,
  });
  await deps.audit.record({ tenantId: ctx.tenant.id, event: 'saml_response', outcome: 'failure', clientId: saml.clientId, ip, detail: `${ctx.policy.id}: ${(p.subStatus ?? p.status).split(':').pop()}: ${p.message}` });
  return post(saml, xml);
}

/** A journey that ended in an error (cancel, a refused upstream sign-in…): its OAuth error as a SAML status. */
export function failureFromError(deps: Deps, ctx: Pick<TenantPolicyContext, 'tenant' | 'policy' | 'endpoints'>, saml: SamlSsoContext, ip: string, error: OAuthError): Promise<SamlOutcome> {
  const message = error.b2cCode ? `${error.b2cCode}: ${error.message}` : error.message;
  const subStatus = error.code === 'access_denied' ? STATUS.requestDenied : STATUS.authnFailed;
  return failure(deps, ctx, saml, ip, { status: STATUS.responder, subStatus, message });
}
