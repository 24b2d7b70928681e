import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomToken } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import { pageError } from '../model/errors.js';
import { endpointUrl, type TenantPolicy } from '../oauth/tenant-context.js';
import { samlKeys } from '../federation/saml/certificates.js';
import { idpEntityId, idpInitiated, receiveAuthnRequest, type IncomingMessage, type SamlOutcome, type TenantPolicyContext } from '../saml/idp.js';
import { receiveLogout } from '../saml/logout.js';
import { idpMetadataXml, spMetadataXml } from '../federation/saml/metadata.js';
import { samlSpEndpoints } from '../federation/saml/upstream.js';
import { resolveTenant } from '../oauth/tenant-context.js';
import { formPostPage, signedOutPage } from '../ui/pages/messages.js';
import { journeyPath } from './authorize.js';
import { sendBlockPage } from './block-page.js';
import { clearSsoCookie, readCookie, setBrowserCookie, type CookieNames, type Cookies } from './cookies.js';
import type { Site } from '../model/site.js';
import { formFields, isFormEncoded } from './forms.js';
import { requestMessages } from './locale.js';
import { sendPage } from './respond.js';
import { tenantRoute } from './tenant-routes.js';

/** Marks our own same-site re-post of a cross-site HTTP-POST binding message (it brings the browser cookie along). */
const RELAY_FIELD = 'lk_relay';

/** B2C's SAML URLs of a tenant and policy, written the way the request addressed us. */
/** B2C's SAML URLs on the host the request came to (a tenant's own domain, or the shared host). */
export function idpEndpoints(tp: TenantPolicy, site: Site): TenantPolicyContext {
  const base = site.baseUrl;
  return {
    tenant: tp.tenant,
    policy: tp.policy,
    tenantSegment: tp.tenantSegment,
    form: tp.form,
    endpoints: {
      entityId: idpEntityId(base, tp.tenant, tp.policy.id),
      ssoUrl: endpointUrl(base, tp, tp.policy.id, 'samlp/sso/login'),
      sloUrl: endpointUrl(base, tp, tp.policy.id, 'samlp/sso/logout'),
    },
  };
}

/** The message fields of a binding: the query (HTTP-Redirect) or the form (HTTP-POST), and the raw query its signature covers. */
function incoming(req: FastifyRequest): IncomingMessage {
  const rawQuery = req.url.includes('?') ? req.url.slice(req.url.indexOf('?') + 1) : '';
  if (req.method === 'POST') {
    if (!isFormEncoded(req)) throw pageError('invalid_request', 'The SAML message was not sent as a form (HTTP-POST binding).');
    return { binding: 'post', fields: formFields(req), rawQuery };
  }
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    if (typeof v === 'string') fields[k] = v;
    else if (v !== undefined) throw pageError('invalid_request', `The parameter '${k}' was sent more than once.`);
  }
  return { binding: 'redirect', fields, rawQuery };
}

function browserOf(req: FastifyRequest, reply: FastifyReply, cookies: CookieNames, tenantId: string) {
  let browserId = readCookie(req, cookies.browser);
  if (!browserId) {
    browserId = randomToken(24);
    setBrowserCookie(reply, cookies, browserId);
  }
  return { ssoCookie: readCookie(req, cookies.sso(tenantId)), browserId, ip: req.ip, acceptLanguage: req.headers['accept-language'], site: req.site };
}

/** A cross-site form post arrives without our SameSite=Lax cookies: it is re-posted once from our own page. */
function relayCrossSitePost(req: FastifyRequest, reply: FastifyReply, cookies: CookieNames): FastifyReply | undefined {
  if (req.method !== 'POST') return undefined;
  const fields = formFields(req);
  if (readCookie(req, cookies.browser) || fields[RELAY_FIELD] !== undefined) return undefined;
  return sendPage(reply, formPostPage(req.url, { ...fields, [RELAY_FIELD]: '1' }, requestMessages(req)));
}

export async function sendSamlOutcome(deps: Deps, req: FastifyRequest, reply: FastifyReply, tp: Pick<TenantPolicy, 'tenant' | 'policy'>, outcome: SamlOutcome): Promise<FastifyReply> {
  switch (outcome.type) {
    case 'post':
      // The page's form posts to the app's registered ACS URL and nowhere else (form-action).
      return sendPage(reply, formPostPage(outcome.url, outcome.fields, requestMessages(req, tp.policy)), { formTargets: [outcome.url] });
    case 'journey':
      return reply.header('cache-control', 'no-store').redirect(journeyPath(tp.tenant.slug, tp.policy.id, outcome.journeyId), 302);
    case 'blocked':
      return sendBlockPage(deps, reply, tp.tenant, tp.policy, outcome.message, outcome.locale);
  }
}

/** Latchkey as SAML identity provider (B2C's samlp URLs) and as service provider of upstream SAML identity providers. */
export function registerSamlRoutes(app: FastifyInstance, deps: Deps, cookiesOf: Cookies): void {
  tenantRoute(app, deps, ['GET'], 'samlp/metadata', 'html', async (req, reply, tp) => {
    const ctx = idpEndpoints(tp, req.site);
    const keys = await samlKeys(deps, tp.tenant.id);
    const xml = idpMetadataXml({ ...ctx.endpoints, certificates: keys.published });
    return reply.header('cache-control', 'public, max-age=3600').type('application/samlmetadata+xml; charset=utf-8').send(xml);
  });

  const sso = async (req: FastifyRequest, reply: FastifyReply, tp: TenantPolicy) => {
    const cookies = cookiesOf(req);
    const relayed = relayCrossSitePost(req, reply, cookies);
    if (relayed) return relayed;
    const msg = incoming(req);
    delete msg.fields[RELAY_FIELD];
    const outcome = await receiveAuthnRequest(deps, idpEndpoints(tp, req.site), msg, browserOf(req, reply, cookies, tp.tenant.id));
    return sendSamlOutcome(deps, req, reply, tp, outcome);
  };
  tenantRoute(app, deps, ['GET', 'POST'], 'samlp/sso/login', 'html', sso, { rateLimit: { max: deps.config.formRateLimit, timeWindow: 60_000 } });

  tenantRoute(app, deps, ['GET'], 'generic/login', 'html', async (req, reply, tp) => {
    const q = (req.query ?? {}) as Record<string, unknown>;
    const entityId = typeof q.EntityId === 'string' ? q.EntityId : typeof q.entityId === 'string' ? q.entityId : undefined;
    const relayState = typeof q.RelayState === 'string' ? q.RelayState : undefined;
    const outcome = await idpInitiated(deps, idpEndpoints(tp, req.site), entityId, relayState, browserOf(req, reply, cookiesOf(req), tp.tenant.id));
    return sendSamlOutcome(deps, req, reply, tp, outcome);
  });

  tenantRoute(
    app,
    deps,
    ['GET', 'POST'],
    'samlp/sso/logout',
    'html',
    async (req, reply, tp) => {
      const cookies = cookiesOf(req);
      const relayed = relayCrossSitePost(req, reply, cookies);
      if (relayed) return relayed;
      const msg = incoming(req);
      delete msg.fields[RELAY_FIELD];
      const ssoCookie = readCookie(req, cookies.sso(tp.tenant.id));
      const result = await receiveLogout(deps, idpEndpoints(tp, req.site), msg, ssoCookie, req.ip, req.site);
      if (result.endedSession) clearSsoCookie(reply, cookies, tp.tenant.id);
      const messages = requestMessages(req, tp.policy);
      if (result.type === 'post') {
        // The other apps of the session are signed out in frames of this page, then the form goes on.
        return sendPage(reply, formPostPage(result.url, result.fields, messages), { formTargets: [result.url] });
      }
      if (result.type === 'redirect') {
        if (result.frames.length === 0) return reply.header('cache-control', 'no-store').redirect(result.url, 302);
        return sendPage(reply, signedOutPage(messages, { frames: result.frames, continueTo: result.url }), { frameSources: result.frames.map((u) => new URL(u).origin) });
      }
      return sendPage(reply, signedOutPage(messages, { frames: result.frames }), { frameSources: result.frames.map((u) => new URL(u).origin) });
    },
    { rateLimit: { max: deps.config.formRateLimit, timeWindow: 60_000 } },
  );

  /** Latchkey's service-provider metadata for one upstream SAML identity provider (its URL is the SP entity id). */
  app.get('/:tenant/federation/:provider/saml/metadata', { config: { errorFormat: 'html' } }, async (req, reply) => {
    const { tenant: segment, provider } = req.params as { tenant: string; provider: string };
    const tenant = await resolveTenant(deps, segment, req.site);
    const p = tenant && /^[a-z0-9-]{1,63}$/.test(provider) ? deps.policies.providers(tenant.slug).get(provider) : undefined;
    if (!tenant || !p || p.protocol !== 'saml') throw pageError('not_found', `There is no SAML identity provider '${provider}' in this tenant.`);
    const keys = await samlKeys(deps, tenant.id);
    const ends = samlSpEndpoints(req.site.baseUrl, tenant.slug, p.id);
    return reply.header('cache-control', 'public, max-age=3600').type('application/samlmetadata+xml; charset=utf-8').send(spMetadataXml({ entityId: ends.entityId, acsUrl: ends.acsUrl, certificates: keys.published }));
  });
}
