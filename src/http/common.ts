import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { randomToken } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import type { Tenant } from '../model/entities.js';
import { B2C_CODES, OAuthError } from '../model/errors.js';
import { authorize } from '../oauth/authorize.js';
import { parseAuthorizationRequest, TargetedError, type AuthorizationRequest, type RawParams } from '../oauth/authorize-request.js';
import { adminConsentRequest, claimedClient, commonClient, commonLogout, defaultPolicyOf, grantTenant, homeRealm, isSilent, notMultiTenant, silentTarget, type HomeRealm } from '../oauth/common.js';
import { commonDiscoveryDocument } from '../oauth/discovery.js';
import { findClient } from '../services/enterprise-apps.js';
import { commonEndpointUrl, type CommonSegment } from '../model/issuer.js';
import { handleTokenRequest } from '../oauth/token.js';
import { homeRealmPage } from '../ui/pages/home-realm.js';
import { signedOutPage } from '../ui/pages/messages.js';
import { journeyPath } from './authorize.js';
import { sendBlockPage } from './block-page.js';
import { clearSsoCookie, readCookie, setBrowserCookie, type CookieNames, type Cookies } from './cookies.js';
import { allowSpaOrigin, preflightHeaders } from './cors.js';
import { isFormEncoded, refuseCredentialsInQuery, requestParams } from './forms.js';
import { requestMessages } from './locale.js';
import { sendAuthorizationResponse, sendPage } from './respond.js';
import { tenantRoute } from './tenant-routes.js';

const SEGMENTS: CommonSegment[] = ['common', 'organizations'];
/** Metadata changes only with this build; clients may cache it for an hour. */
const METADATA_CACHE = 'public, max-age=3600';

/**
 * `/common` and `/organizations` belong to the shared host, which serves every tenant: on a tenant's own
 * host (a custom domain, the host pattern's) they name nothing, as another tenant's path there does not.
 */
function sharedHostOnly(req: FastifyRequest): void {
  if (req.site.tenantId !== undefined) throw new OAuthError('not_found', 'This host serves one organization: use its own endpoints, not /common or /organizations.', { redirectable: false, status: 404 });
}

/**
 * Azure AD's tenant-independent endpoints (`/common`, `/organizations`), on the shared host only:
 * discovery with the `{tenantid}` issuer template, the instance's keys, authorize (home realm discovery,
 * then the person's tenant), token (a code or refresh token names its tenant), logout; and the
 * admin-consent endpoint, there and per tenant. Protocol rules are in oauth/common.ts.
 */
export function registerCommonRoutes(app: FastifyInstance, deps: Deps, cookiesOf: Cookies): void {
  for (const segment of SEGMENTS) {
    // Served on the shared host only, whose URLs are LATCHKEY_BASE_URL's.
    const discovery = JSON.stringify(commonDiscoveryDocument(deps.config.baseUrl, segment));
    app.get(`/${segment}/v2.0/.well-known/openid-configuration`, { helmet: false, config: { errorFormat: 'json' } }, async (req, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      sharedHostOnly(req);
      return reply.header('cache-control', METADATA_CACHE).header('access-control-allow-origin', '*').type('application/json; charset=utf-8').send(discovery);
    });

    app.get(`/${segment}/discovery/v2.0/keys`, { helmet: false, config: { errorFormat: 'json' } }, async (req, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      sharedHostOnly(req);
      const jwks = await deps.keys.commonJwks();
      return reply.header('cache-control', METADATA_CACHE).header('access-control-allow-origin', '*').header('x-content-type-options', 'nosniff').type('application/json; charset=utf-8').send(jwks);
    });

    app.route({
      method: ['GET', 'POST'],
      url: `/${segment}/oauth2/v2.0/authorize`,
      config: { errorFormat: 'html' },
      handler: async (req, reply) => {
        sharedHostOnly(req);
        const params = requestParams(req);
        const client = await commonClient(deps, segment, params);
        // Everything else about the request is checked before anyone is asked anything: as the app's home tenant sees it.
        await parseAuthorizationRequest(deps.store, { tenantId: client.app.tenantId, tenantSegment: segment, form: 'path', policyId: '' }, params);
        const realm = await sessionRealm(req, params, await homeRealm(deps, params));
        if ('ask' in realm) {
          // A silent request has no page to ask on.
          if (isSilent(params)) throw new TargetedError(new OAuthError('login_required', 'The browser has no session in an organization and the request names none (login_hint, domain_hint).', { b2cCode: B2C_CODES.noSession }), silentTarget(params, client.redirectUri));
          return askHomeRealm(req, reply, segment, 'oauth2/v2.0/authorize', params, client.app.name, realm);
        }
        return continueInTenant(req, reply, realm.tenant, async (tenant, policyId) => {
          const { request } = await parseAuthorizationRequest(deps.store, { tenantId: tenant.id, tenantSegment: tenant.slug, form: 'path', policyId }, params);
          return request;
        });
      },
    });

    app.route({
      method: ['GET'],
      url: `/${segment}/v2.0/adminconsent`,
      config: { errorFormat: 'html' },
      handler: async (req, reply) => {
        sharedHostOnly(req);
        const params = requestParams(req);
        const client = await commonClient(deps, segment, params);
        const realm = await sessionRealm(req, params, await homeRealm(deps, params));
        if ('ask' in realm) return askHomeRealm(req, reply, segment, 'v2.0/adminconsent', params, client.app.name, realm);
        return continueInTenant(req, reply, realm.tenant, (tenant) => adminConsentRequest(deps, tenant, defaultPolicyOf(deps, tenant), client, params));
      },
    });

    app.post(`/${segment}/oauth2/v2.0/token`, { helmet: false, config: { errorFormat: 'json' } }, async (req, reply) => {
      reply.header('x-content-type-options', 'nosniff');
      sharedHostOnly(req);
      await allowSpaOrigin(deps, undefined, req, reply);
      if (!isFormEncoded(req) || typeof req.body !== 'object' || req.body === null) {
        throw new OAuthError('invalid_request', 'The token request must be a POST with an application/x-www-form-urlencoded body.');
      }
      refuseCredentialsInQuery(req);
      const params = req.body as RawParams;
      const claimed = claimedClient(params, req.headers.authorization);
      const named = claimed && /^[\w-]{1,64}$/.test(claimed) ? await deps.store.findAppAnyTenant(claimed) : undefined;
      if (named && !named.multiTenant) throw notMultiTenant(named, segment);
      const { tenant, policy } = await grantTenant(deps, params);
      const origin = typeof req.headers.origin === 'string' ? req.headers.origin : undefined;
      const body = await handleTokenRequest(deps, tenant, policy, params, req.headers.authorization, req.ip, req.site, origin);
      return reply.header('cache-control', 'no-store').header('pragma', 'no-cache').send(body);
    });
    app.options(`/${segment}/oauth2/v2.0/token`, { helmet: false, config: { errorFormat: 'json' } }, async (req, reply) => {
      sharedHostOnly(req);
      if (await allowSpaOrigin(deps, undefined, req, reply)) preflightHeaders(reply);
      return reply.code(204).send();
    });

    app.route({
      method: ['GET', 'POST'],
      url: `/${segment}/oauth2/v2.0/logout`,
      config: { errorFormat: 'html' },
      handler: async (req, reply) => {
        sharedHostOnly(req);
        // Every tenant's SSO session of this browser ends, and its cookie goes, whatever else happens.
        const cookies = cookiesOf(req);
        const sessions = ssoSessions(req, cookies);
        for (const s of sessions) clearSsoCookie(reply, cookies, s.tenantId);
        const result = await commonLogout(deps, requestParams(req), sessions, req.site);
        const frames = result.frontChannel;
        if (frames.length === 0) {
          if (result.redirect) return reply.header('cache-control', 'no-store').redirect(result.redirect, 302);
          return sendPage(reply, signedOutPage(requestMessages(req)));
        }
        return sendPage(reply, signedOutPage(requestMessages(req), { frames, ...(result.redirect ? { continueTo: result.redirect } : {}) }), {
          frameSources: frames.map((u) => new URL(u).origin),
        });
      },
    });
  }

  // The admin-consent endpoint of one tenant (any URL form; the policy is the journey the administrator signs in with).
  tenantRoute(app, deps, ['GET'], 'v2.0/adminconsent', 'html', async (req, reply, tp) => {
    const params = requestParams(req);
    // As at /common: an unknown app or redirect URI is a page; what the app may do here, adminConsentRequest says.
    const client = await commonClient(deps, undefined, params);
    return continueInTenant(req, reply, tp.tenant, (tenant) => adminConsentRequest(deps, tenant, tp.policy, client, params), tp.policy.id);
  });

  /**
   * Without a hint, the browser's one SSO session names the organization (a person signed in to one
   * tenant is not asked again); with sessions in several, or `prompt=login|select_account`, the page asks.
   */
  async function sessionRealm(req: FastifyRequest, params: RawParams, realm: HomeRealm): Promise<HomeRealm> {
    if (!('ask' in realm) || realm.unknownDomain !== undefined || realm.email !== undefined) return realm;
    const prompt = typeof params.prompt === 'string' ? params.prompt.split(' ') : [];
    if (prompt.includes('login') || prompt.includes('select_account')) return realm;
    const tenants: Tenant[] = [];
    for (const s of ssoSessions(req, cookiesOf(req))) {
      const tenant = await deps.tenants.find(s.tenantId);
      if (tenant) tenants.push(tenant);
    }
    return tenants.length === 1 ? { tenant: tenants[0]! } : realm;
  }

  /** The page that asks which organization the person is of (their email), sent back to this endpoint. */
  async function askHomeRealm(req: FastifyRequest, reply: FastifyReply, segment: CommonSegment, suffix: string, params: RawParams, appName: string, realm: { email?: string; unknownDomain?: string }) {
    const messages = requestMessages(req);
    const fields: Record<string, string> = {};
    for (const [k, v] of Object.entries(params)) if (typeof v === 'string') fields[k] = v;
    const page = homeRealmPage({ action: commonEndpointUrl('', segment, suffix), params: fields, appName, email: realm.email, unknownDomain: realm.unknownDomain }, messages);
    // No tenant yet, so no policy's layout: the default page.
    const rendered = await deps.layouts.render({ tenantSlug: '', tenantId: '', policy: undefined, page, locale: messages.locale, site: req.site });
    return sendPage(reply, rendered.html, { csp: rendered.csp });
  }

  /**
   * The request as an authorization request of the person's tenant (its default policy, or the one the
   * URL named): the SSO session there answers at once, or a journey of the policy starts.
   */
  async function continueInTenant(
    req: FastifyRequest,
    reply: FastifyReply,
    tenant: Tenant,
    build: (tenant: Tenant, policyId: string) => Promise<AuthorizationRequest>,
    policyId?: string,
  ) {
    const policy = policyId ? deps.policies.get(tenant.slug, policyId) ?? defaultPolicyOf(deps, tenant) : defaultPolicyOf(deps, tenant);
    req.latchkeyPage = { tenantSlug: tenant.slug, tenantId: tenant.id, policy };
    const request = await build(tenant, policy.id);
    const client = await findClient(deps.store, tenant.id, request.clientId);
    if (!client) throw new OAuthError('invalid_request', `The application '${request.clientId}' is not available in this organization.`, { redirectable: false });
    const cookies = cookiesOf(req);
    let browserId = readCookie(req, cookies.browser);
    if (!browserId) {
      browserId = randomToken(24);
      setBrowserCookie(reply, cookies, browserId);
    }
    const outcome = await authorize(deps, tenant, policy, client, request, {
      ssoCookie: readCookie(req, cookies.sso(tenant.id)),
      browserId,
      ip: req.ip,
      acceptLanguage: req.headers['accept-language'],
      site: req.site,
    });
    if (outcome.type === 'respond') return sendAuthorizationResponse(reply, outcome.response);
    if (outcome.type === 'blocked') return sendBlockPage(deps, reply, tenant, policy, outcome.message, outcome.locale);
    return reply.header('cache-control', 'no-store').redirect(journeyPath(tenant.slug, policy.id, outcome.journeyId), 302);
  }
}

/** The browser's SSO sessions, one cookie per tenant (`lk_sso_{tenant id without dashes}`). */
function ssoSessions(req: FastifyRequest, cookies: CookieNames): { tenantId: string; cookie: string }[] {
  const prefix = cookies.sso('');
  const out: { tenantId: string; cookie: string }[] = [];
  for (const [name, value] of Object.entries(req.cookies)) {
    const hex = name.startsWith(prefix) ? name.slice(prefix.length) : '';
    if (!/^[0-9a-f]{32}$/.test(hex) || typeof value !== 'string' || value === '') continue;
    out.push({ tenantId: `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`, cookie: value });
  }
  return out;
}
