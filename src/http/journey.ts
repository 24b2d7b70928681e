import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sha256, safeEqual } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import { journeyFor } from '../journeys/compile.js';
import { resumeJourney, runJourney, type JourneyOutcome } from '../journeys/engine.js';
import type { Journey } from '../journeys/journey.js';
import type { Policy } from '../model/policy.js';
import { errorResponse } from '../oauth/authorization-response.js';
import { adminConsentResponse, respondWithGrant, type Authentication } from '../oauth/authorize.js';
import { findClient } from '../services/enterprise-apps.js';
import type { AuthorizationRequest } from '../oauth/authorize-request.js';
import { OAuthError, pageError } from '../model/errors.js';
import { createSession, findActiveSession } from '../oauth/sso.js';
import { finalAmr } from '../tokens/amr.js';
import { resolveTenant } from '../oauth/tenant-context.js';
import type { JourneyRecord, Tenant } from '../model/entities.js';
import { preTokenIssuance } from '../services/api-connectors.js';
import { formPostPage } from '../ui/pages/messages.js';
import { sendBlockPage } from './block-page.js';
import { journeyPath } from './authorize.js';
import { readCookie, setSsoCookie, type Cookies } from './cookies.js';
import { formFields, isFormEncoded } from './forms.js';
import { requestMessages } from './locale.js';
import { appSchemeTargets, sendAuthorizationResponse, sendOnward, sendPage } from './respond.js';
import { failureFromError, respond as samlRespond, samlContextOf } from '../saml/idp.js';
import { idpEndpoints, sendSamlOutcome } from './saml.js';

const EXPIRED = 'This sign-in page has expired or was opened in another browser. Please start again from the application.';
/** Marks the same-site re-post of a provider's cross-site form_post answer (see the callback route). */
const RELAY_FIELD = 'lk_relay';

interface LoadedJourney {
  tenant: Tenant;
  record: JourneyRecord;
  policy: Policy;
  journey: Journey;
}

/** A journey of this tenant, opened by the browser that started it and not expired. */
async function loadJourney(deps: Deps, cookiesOf: Cookies, req: FastifyRequest, segment: string, id: string, policyId?: string): Promise<LoadedJourney> {
  const tenant = await resolveTenant(deps, segment, req.site);
  const record = tenant && /^[\w-]{16,64}$/.test(id) ? await deps.store.findJourney(id) : undefined;
  if (!tenant || !record || record.tenantId !== tenant.id || (policyId !== undefined && record.policyId.toLowerCase() !== policyId.toLowerCase())) {
    throw new OAuthError('invalid_request', EXPIRED, { redirectable: false, status: 404 });
  }
  const browser = readCookie(req, cookiesOf(req).browser);
  if (!browser || !safeEqual(sha256(browser), record.browserHash) || record.expiresAt <= deps.clock.now()) {
    throw new OAuthError('invalid_request', EXPIRED, { redirectable: false, status: 400 });
  }
  const policy = deps.policies.get(tenant.slug, record.policyId);
  const journey = policy && journeyFor(policy);
  if (!policy || !journey) throw pageError('server_error', `The policy '${record.policyId}' is no longer available.`);
  req.latchkeyPage = { tenantSlug: tenant.slug, tenantId: tenant.id, policy };
  return { tenant, record, policy, journey };
}

function errorTarget(request: AuthorizationRequest) {
  return { redirectUri: request.redirectUri, responseMode: request.responseMode, ...(request.state !== undefined ? { state: request.state } : {}) };
}

/** The hosted pages of a journey (GET shows the current step, POST submits its form) and upstream providers' callbacks. */
export function registerJourneyRoutes(app: FastifyInstance, deps: Deps, cookiesOf: Cookies): void {
  /** Answers the browser with what the journey decided. */
  const respond = async (req: FastifyRequest, reply: FastifyReply, loaded: LoadedJourney, outcome: JourneyOutcome) => {
    const { tenant, policy, record } = loaded;
    const request = record.request as AuthorizationRequest;
    const saml = samlContextOf(request);
    const samlCtx = () => idpEndpoints({ tenant, policy, tenantSegment: request.tenantSegment, form: request.form }, req.site);
    switch (outcome.type) {
      case 'page': {
        const rendered = await deps.layouts.render({ tenantSlug: tenant.slug, tenantId: tenant.id, policy, page: outcome.page, locale: outcome.locale, site: req.site });
        return sendPage(reply, rendered.html, { csp: rendered.csp, formTargets: appSchemeTargets(request.redirectUri) });
      }
      case 'reload':
        return reply.redirect(journeyPath(tenant.slug, policy.id, record.id), 303);
      case 'redirect':
        return sendOnward(reply, outcome.url, 303);
      case 'fail':
        if (saml) return sendSamlOutcome(deps, req, reply, loaded, await failureFromError(deps, samlCtx(), saml, req.ip, outcome.error));
        return sendAuthorizationResponse(reply, errorResponse(errorTarget(request), outcome.error, req.id, new Date(deps.clock.now())), { onward: true });
      case 'complete': {
        const { state } = outcome;
        // A SAML sign-in's app is a SAML app (not an OAuth client); it answers with a SAML Response below.
        const client = saml ? undefined : await findClient(deps.store, tenant.id, request.clientId);
        const clientId = saml?.clientId ?? client?.clientId;
        const user = state.userId ? await deps.store.findUser(tenant.id, state.userId) : undefined;
        if (!clientId || !user) throw pageError('server_error', 'The application or account is no longer available.');
        // The policy's "before sending the token" connector, before any session or token exists (an
        // administrator's consent sends no token: it has none to call).
        const pre = request.adminConsent ? { type: 'claims' as const, claims: {} } : await preTokenIssuance(deps, { tenant, policy, clientId, user, locale: outcome.locale, ip: req.ip });
        if (pre.type === 'block') return sendBlockPage(deps, reply, tenant, policy, pre.message, outcome.locale);
        if (pre.type === 'failed') {
          if (saml) return sendSamlOutcome(deps, req, reply, loaded, await failureFromError(deps, samlCtx(), saml, req.ip, pre.error));
          return sendAuthorizationResponse(reply, errorResponse(errorTarget(request), pre.error, req.id, new Date(deps.clock.now())), { onward: true });
        }
        const auth: Authentication = {
          authTime: state.authTime ?? Math.floor(deps.clock.now() / 1000),
          idp: state.idp ?? 'local',
          newUser: state.newUser ?? false,
          ...(state.idpAccessToken !== undefined ? { idpAccessToken: state.idpAccessToken } : {}),
          connectorClaims: pre.claims,
          amr: finalAmr(state.amr ?? [], state.mfa === true),
        };
        const cookies = cookiesOf(req);
        const ssoCookie = readCookie(req, cookies.sso(tenant.id));
        if (policy.session.sso !== 'suppressed' && state.interactive) {
          const kmsiDays = state.kmsi ? policy.session.keepMeSignedInDays : 0;
          const created = await createSession(deps, { tenant, policy, userId: user.id, clientId, idp: auth.idp, authTime: auth.authTime, amr: auth.amr ?? [], kmsiDays, ...(ssoCookie ? { previousCookie: ssoCookie } : {}) });
          setSsoCookie(reply, cookies, tenant.id, created.cookieValue, kmsiDays > 0 ? kmsiDays * 86_400 : undefined);
          auth.session = created.session;
        } else if (!state.interactive) {
          // A journey that ran on the SSO session (profile edit) answers within that session.
          const active = await findActiveSession(deps, tenant, ssoCookie);
          if (active && active.user.id === user.id) auth.session = active.session;
        }
        if (saml) return sendSamlOutcome(deps, req, reply, loaded, await samlRespond(deps, samlCtx(), saml, user, auth, req.ip));
        // The admin-consent endpoint answers with what was consented, never with a token.
        if (request.adminConsent) return sendAuthorizationResponse(reply, adminConsentResponse(tenant, request), { onward: true });
        return sendAuthorizationResponse(reply, await respondWithGrant(deps, tenant, policy, client!, request, user, auth, req.site), { onward: true });
      }
    }
  };

  app.route({
    method: ['GET', 'POST'],
    url: '/:tenant/:policy/journey/:id',
    // Form posts (password, code, email) are limited per address; viewing a page is not.
    config: { errorFormat: 'html', rateLimit: { max: deps.config.formRateLimit, timeWindow: 60_000, allowList: (req) => req.method !== 'POST' } },
    handler: async (req, reply) => {
      const { tenant, policy, id } = req.params as { tenant: string; policy: string; id: string };
      const loaded = await loadJourney(deps, cookiesOf, req, tenant, id, policy);
      if (req.method === 'POST' && !isFormEncoded(req)) throw pageError('invalid_request', 'The form was not sent as a form.');
      const outcome = await runJourney(
        { deps, tenant: loaded.tenant, journey: loaded.journey, record: loaded.record, action: journeyPath(loaded.tenant.slug, loaded.policy.id, id), ip: req.ip, acceptLanguage: req.headers['accept-language'], site: req.site },
        req.method === 'POST' ? formFields(req) : undefined,
      );
      return respond(req, reply, loaded, outcome);
    },
  });

  /**
   * An upstream identity provider's answer: `{base}/{tenant}/federation/{provider}/callback`, by GET
   * (query) or POST (form_post, Apple's). The upstream `state` names the journey; the step that sent
   * the browser there checks the rest. A form_post arrives cross-site, without our SameSite=Lax
   * browser cookie: it is re-posted once from our own page, which brings the cookie along.
   */
  /**
   * `saml`: an upstream SAML identity provider's Response at Latchkey's assertion consumer service
   * (HTTP-POST binding), naming the journey in RelayState, the state it was given.
   */
  const providerAnswer = (saml: boolean) => async (req: FastifyRequest, reply: FastifyReply) => {
    const { tenant: segment, provider } = req.params as { tenant: string; provider: string };
    if (req.method === 'POST' && !isFormEncoded(req)) throw pageError('invalid_request', 'The identity provider did not send its answer as a form.');
    const params = req.method === 'POST' ? formFields(req) : stringParams(req.query);
    const state = (saml ? params.RelayState : params.state) ?? '';
    const journeyId = state.split('.')[0] ?? '';
    const wellFormed = /^[\w-]{16,64}$/.test(journeyId) && /^[a-z0-9-]{1,63}$/.test(provider);
    if (req.method === 'POST' && !readCookie(req, cookiesOf(req).browser) && params[RELAY_FIELD] === undefined) {
      // The re-post is answered like the callback (to a native app's scheme, by redirect).
      return sendPage(reply, formPostPage(req.url.split('?')[0]!, { ...params, [RELAY_FIELD]: '1' }, requestMessages(req)), {
        formTargets: wellFormed ? await relayTargets(deps, req, segment, journeyId) : [],
      });
    }
    delete params[RELAY_FIELD];
    if (saml) params.state = state;
    if (!wellFormed) {
      throw pageError('invalid_request', 'This answer from the identity provider does not belong to a sign-in in progress. Please start again from the application.');
    }
    const loaded = await loadJourney(deps, cookiesOf, req, segment, journeyId);
    const outcome = await resumeJourney(
      { deps, tenant: loaded.tenant, journey: loaded.journey, record: loaded.record, action: journeyPath(loaded.tenant.slug, loaded.policy.id, journeyId), ip: req.ip, acceptLanguage: req.headers['accept-language'], site: req.site },
      { providerId: provider, method: req.method === 'POST' ? 'POST' : 'GET', params },
    );
    return respond(req, reply, loaded, outcome);
  };
  const answerConfig = { errorFormat: 'html' as const, rateLimit: { max: deps.config.formRateLimit, timeWindow: 60_000 } };
  app.route({ method: ['GET', 'POST'], url: '/:tenant/federation/:provider/callback', config: answerConfig, handler: providerAnswer(false) });
  app.route({ method: ['POST'], url: '/:tenant/federation/:provider/saml/acs', config: answerConfig, handler: providerAnswer(true) });
}

/** The form-action targets of the journey an upstream answer names (none when there is no such journey). */
async function relayTargets(deps: Deps, req: FastifyRequest, segment: string, journeyId: string): Promise<string[]> {
  const tenant = await resolveTenant(deps, segment, req.site);
  if (!tenant) return [];
  const record = await deps.store.findJourney(journeyId);
  return record?.tenantId === tenant.id ? appSchemeTargets((record.request as AuthorizationRequest).redirectUri) : [];
}

function stringParams(q: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((q ?? {}) as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}
