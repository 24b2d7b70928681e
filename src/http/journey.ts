import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { sha256, safeEqual } from '../crypto/secrets.js';
import type { Deps } from '../deps.js';
import { journeyFor } from '../journeys/compile.js';
import { runJourney } from '../journeys/engine.js';
import { errorResponse } from '../oauth/authorization-response.js';
import { respondWithGrant, type Authentication } from '../oauth/authorize.js';
import type { AuthorizationRequest } from '../oauth/authorize-request.js';
import { OAuthError, pageError } from '../oauth/errors.js';
import { createSession, findActiveSession } from '../oauth/sso.js';
import { resolveTenant } from '../oauth/tenant-context.js';
import { readCookie, setSsoCookie, type CookieNames } from './cookies.js';
import { formFields, isFormEncoded } from './forms.js';
import { sendAuthorizationResponse, sendPage } from './respond.js';

const EXPIRED = 'This sign-in page has expired or was opened in another browser. Please start again from the application.';

/** The hosted pages of a journey: GET shows the current step, POST submits its form. */
export function registerJourneyRoutes(app: FastifyInstance, deps: Deps, cookies: CookieNames): void {
  const handle = async (req: FastifyRequest, reply: FastifyReply) => {
    const { tenant: segment, policy: policyId, id } = req.params as { tenant: string; policy: string; id: string };
    const tenant = await resolveTenant(deps, segment);
    const record = tenant && /^[\w-]{16,64}$/.test(id) ? await deps.store.findJourney(id) : undefined;
    if (!tenant || !record || record.tenantId !== tenant.id || record.policyId.toLowerCase() !== policyId.toLowerCase()) {
      throw new OAuthError('invalid_request', EXPIRED, { redirectable: false, status: 404 });
    }
    const browser = readCookie(req, cookies.browser);
    if (!browser || !safeEqual(sha256(browser), record.browserHash) || record.expiresAt <= deps.clock.now()) {
      throw new OAuthError('invalid_request', EXPIRED, { redirectable: false, status: 400 });
    }
    const policy = deps.policies.get(tenant.slug, record.policyId);
    const journey = policy && journeyFor(policy);
    if (!policy || !journey) throw pageError('server_error', `The policy '${record.policyId}' is no longer available.`);
    const request = record.request as AuthorizationRequest;

    if (req.method === 'POST' && !isFormEncoded(req)) throw pageError('invalid_request', 'The form was not sent as a form.');
    const outcome = await runJourney(
      { deps, tenant, journey, record, action: req.url.split('?')[0]!, ip: req.ip },
      req.method === 'POST' ? formFields(req) : undefined,
    );
    switch (outcome.type) {
      case 'page':
        return sendPage(reply, outcome.html);
      case 'reload':
        return reply.redirect(req.url.split('?')[0]!, 303);
      case 'fail': {
        const target = { redirectUri: request.redirectUri, responseMode: request.responseMode, ...(request.state !== undefined ? { state: request.state } : {}) };
        return sendAuthorizationResponse(reply, errorResponse(target, outcome.error, req.id, new Date(deps.clock.now())));
      }
      case 'complete': {
        const { state } = outcome;
        const client = await deps.store.findApp(tenant.id, request.clientId);
        const user = state.userId ? await deps.store.findUser(tenant.id, state.userId) : undefined;
        if (!client || !user) throw pageError('server_error', 'The application or account is no longer available.');
        const auth: Authentication = {
          authTime: state.authTime ?? Math.floor(deps.clock.now() / 1000),
          idp: state.idp ?? 'local',
          newUser: state.newUser ?? false,
        };
        const ssoCookie = readCookie(req, cookies.sso(tenant.id));
        if (policy.session.sso !== 'suppressed' && state.interactive) {
          const kmsiDays = state.kmsi ? policy.session.keepMeSignedInDays : 0;
          const created = await createSession(deps, { tenant, policy, userId: user.id, clientId: client.clientId, idp: auth.idp, authTime: auth.authTime, kmsiDays, ...(ssoCookie ? { previousCookie: ssoCookie } : {}) });
          setSsoCookie(reply, cookies, tenant.id, created.cookieValue, kmsiDays > 0 ? kmsiDays * 86_400 : undefined);
          auth.session = created.session;
        } else if (!state.interactive) {
          // A journey that ran on the SSO session (profile edit) answers within that session.
          const active = await findActiveSession(deps, tenant, ssoCookie);
          if (active && active.user.id === user.id) auth.session = active.session;
        }
        return sendAuthorizationResponse(reply, await respondWithGrant(deps, tenant, policy, client, request, user, auth));
      }
    }
  };
  app.route({
    method: ['GET', 'POST'],
    url: '/:tenant/:policy/journey/:id',
    // Form posts (password, code, email) are limited per address; viewing a page is not.
    config: { errorFormat: 'html', rateLimit: { max: deps.config.formRateLimit, timeWindow: 60_000, allowList: (req) => req.method !== 'POST' } },
    handler: handle,
  });
}
