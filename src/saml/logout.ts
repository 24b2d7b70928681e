import { randomBytes } from 'node:crypto';
import { deflateRawSync } from 'node:zlib';
import { sha256 } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import { pageError } from '../model/errors.js';
import { findClient } from '../services/enterprise-apps.js';
import { issuerFor, multiTenantIssuer } from '../model/issuer.js';
import type { Site } from '../model/site.js';
import type { SamlApp, SessionClient, SsoSession, Tenant } from '../model/entities.js';
import { samlKeys } from '../federation/saml/certificates.js';
import { idpEntityId, issuerOf, readMessage, type IncomingMessage, type TenantPolicyContext } from './idp.js';
import { logoutRequest, logoutResponse } from './messages.js';
import { signRedirectQuery } from '../federation/saml/signature.js';
import { NS, STATUS, SamlError, attr, isElement, newId, parseTime } from '../federation/saml/xml.js';

/**
 * Single logout (SAML profiles §4.4): a service provider's LogoutRequest ends the browser's SSO session;
 * the session's other apps are signed out in frames of the answer page (SAML apps with a signed
 * LogoutRequest by HTTP-Redirect, OpenID apps with their front-channel logout URL), and the requester
 * gets a signed LogoutResponse at its registered single logout URL.
 */

export type LogoutOutcome =
  | { type: 'redirect'; url: string; frames: string[]; endedSession: boolean }
  | { type: 'post'; url: string; fields: Record<string, string>; frames: string[]; endedSession: boolean }
  | { type: 'page'; frames: string[]; endedSession: boolean };

/** The NameID the app was given (respond() gives an emailAddress NameID only for a verified address). */
function nameIdValue(app: SamlApp, user: { id: string; email: string | null; emailVerified: boolean }): string | undefined {
  if (app.nameIdFormat !== 'email') return user.id;
  return user.emailVerified ? (user.email ?? undefined) : undefined;
}

/**
 * The URLs that sign the ended session's apps out: for each SAML app with a single logout URL a
 * signed LogoutRequest (HTTP-Redirect binding) naming the session, for each OpenID app with a logout
 * URL its front-channel logout URL (`iss`, `sid`). Loaded in invisible frames by the signed-out page.
 */
export async function logoutFrames(deps: Deps, tenant: Tenant, session: SsoSession, clients: SessionClient[], site: Site, exceptClientId?: string): Promise<string[]> {
  const urls: string[] = [];
  const user = await deps.store.findUser(tenant.id, session.userId);
  for (const c of clients) {
    if (c.clientId === exceptClientId) continue;
    const saml = await deps.store.findSamlApp(tenant.id, c.clientId);
    if (saml) {
      const nameId = user && nameIdValue(saml, user);
      if (!saml.slo || saml.slo.binding !== 'redirect' || !nameId) continue;
      const keys = await samlKeys(deps, tenant.id);
      const xml = logoutRequest({ id: newId(randomBytes), issuer: idpEntityId(site.baseUrl, tenant, c.policyId), destination: saml.slo.url, nameId: { value: nameId, format: saml.nameIdFormat }, spEntityId: saml.entityId, sessionIndex: session.sid, now: deps.clock.now() });
      const query = signRedirectQuery('SAMLRequest', deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'), undefined, keys.signing.key);
      urls.push(`${saml.slo.url}${saml.slo.url.includes('?') ? '&' : '?'}${query}`);
      continue;
    }
    const app = await findClient(deps.store, tenant.id, c.clientId);
    if (!app?.logoutUrl) continue;
    const url = new URL(app.logoutUrl);
    // The issuer of the host the browser signs out on, as the app's id_tokens came from it (Azure AD's
    // form for a multi-tenant app).
    url.searchParams.set('iss', app.multiTenant ? multiTenantIssuer(site.baseUrl, tenant) : issuerFor(site.baseUrl, tenant, c.policyId));
    url.searchParams.set('sid', session.sid);
    urls.push(url.toString());
  }
  return urls;
}

async function refuse(deps: Deps, tenant: Tenant, ip: string, message: string, clientId?: string): Promise<never> {
  await deps.audit.record({ tenantId: tenant.id, event: 'saml_logout', outcome: 'failure', clientId: clientId ?? null, ip, detail: message });
  throw pageError('invalid_request', message);
}

/** The single logout endpoint: a LogoutRequest from a SAML app, or the LogoutResponse of one we signed out in a frame. */
export async function receiveLogout(deps: Deps, ctx: TenantPolicyContext, msg: IncomingMessage, ssoCookie: string | undefined, ip: string, site: Site): Promise<LogoutOutcome> {
  const { tenant } = ctx;
  const field = msg.fields.SAMLRequest !== undefined ? 'SAMLRequest' : msg.fields.SAMLResponse !== undefined ? 'SAMLResponse' : undefined;
  if (!field) return refuse(deps, tenant, ip, 'The request carries no SAMLRequest or SAMLResponse.');
  let issuer: string;
  try {
    issuer = issuerOf(msg, field).issuer;
  } catch (err) {
    if (err instanceof SamlError) return refuse(deps, tenant, ip, err.message);
    throw err;
  }
  const app = issuer.length <= 1024 ? await deps.store.findSamlAppByEntityId(tenant.id, issuer) : undefined;
  if (!app) return refuse(deps, tenant, ip, `The SAML application '${issuer.slice(0, 200)}' is not registered in this tenant.`);
  let doc: Document;
  let signed: boolean;
  try {
    ({ doc, signed } = readMessage(msg, field, app.certificates));
  } catch (err) {
    if (err instanceof SamlError) return refuse(deps, tenant, ip, `The logout message of '${app.name}' was refused: ${err.message}`, app.clientId);
    throw err;
  }
  // SAML profiles §4.4.4.1: the requester must authenticate itself; with a registered certificate, by its signature.
  if (!signed && app.certificates.length > 0) return refuse(deps, tenant, ip, `The logout message of '${app.name}' is not signed.`, app.clientId);

  const root = doc.documentElement;
  if (field === 'SAMLResponse') {
    if (!isElement(root, NS.samlp, 'LogoutResponse')) return refuse(deps, tenant, ip, 'The SAMLResponse is not a LogoutResponse.', app.clientId);
    await deps.audit.record({ tenantId: tenant.id, event: 'saml_logout', outcome: 'success', clientId: app.clientId, ip, detail: `${ctx.policy.id}: LogoutResponse of ${app.entityId}` });
    return { type: 'page', frames: [], endedSession: false };
  }
  if (!isElement(root, NS.samlp, 'LogoutRequest')) return refuse(deps, tenant, ip, 'The SAMLRequest is not a LogoutRequest.', app.clientId);
  const requestId = attr(root, 'ID');
  if (!requestId || !/^[A-Za-z_][\w.-]{0,255}$/.test(requestId)) return refuse(deps, tenant, ip, 'The LogoutRequest has no valid ID.', app.clientId);
  let expired = false;
  try {
    const notOnOrAfter = parseTime(attr(root, 'NotOnOrAfter'), 'LogoutRequest NotOnOrAfter');
    expired = notOnOrAfter !== undefined && notOnOrAfter <= deps.clock.now();
  } catch (err) {
    if (err instanceof SamlError) return refuse(deps, tenant, ip, err.message, app.clientId);
    throw err;
  }

  let frames: string[] = [];
  let endedSession = false;
  if (!expired && ssoCookie && ssoCookie.length <= 100) {
    const ended = await deps.store.endSsoSession(sha256(ssoCookie));
    if (ended && ended.session.tenantId === tenant.id) {
      endedSession = true;
      frames = await logoutFrames(deps, tenant, ended.session, ended.clients, site, app.clientId);
    }
  }
  await deps.audit.record({ tenantId: tenant.id, event: 'saml_logout', outcome: expired ? 'failure' : 'success', clientId: app.clientId, ip, detail: `${ctx.policy.id}: LogoutRequest ${requestId}${expired ? ' expired' : endedSession ? '' : ' (no session in this browser)'}` });
  if (!app.slo) return { type: 'page', frames, endedSession };

  const keys = await samlKeys(deps, tenant.id);
  const destination = app.slo.responseUrl ?? app.slo.url;
  const answer = {
    id: newId(randomBytes),
    issuer: ctx.endpoints.entityId,
    destination,
    inResponseTo: requestId,
    status: expired ? STATUS.requester : STATUS.success,
    ...(expired ? { message: 'The LogoutRequest has expired.' } : {}),
    now: deps.clock.now(),
    signer: keys.signing,
  };
  const relayState = msg.fields.RelayState;
  if (app.slo.binding === 'redirect') {
    const xml = logoutResponse(answer, false);
    const query = signRedirectQuery('SAMLResponse', deflateRawSync(Buffer.from(xml, 'utf8')).toString('base64'), relayState, keys.signing.key);
    return { type: 'redirect', url: `${destination}${destination.includes('?') ? '&' : '?'}${query}`, frames, endedSession };
  }
  const xml = logoutResponse(answer, true);
  return { type: 'post', url: destination, fields: { SAMLResponse: Buffer.from(xml, 'utf8').toString('base64'), ...(relayState !== undefined ? { RelayState: relayState } : {}) }, frames, endedSession };
}
