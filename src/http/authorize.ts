import type { FastifyInstance } from 'fastify';
import { randomToken } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import { authorize } from '../oauth/authorize.js';
import { parseAuthorizationRequest } from '../oauth/authorize-request.js';
import { readCookie, setBrowserCookie, type Cookies } from './cookies.js';
import { requestParams } from './forms.js';
import { sendBlockPage } from './block-page.js';
import { sendAuthorizationResponse } from './respond.js';
import { tenantRoute } from './tenant-routes.js';

export function journeyPath(tenantSlug: string, policyId: string, journeyId: string): string {
  return `/${tenantSlug}/${policyId.toLowerCase()}/journey/${journeyId}`;
}

/** The authorization endpoint (GET and POST, RFC 6749 §3.1): validate, then SSO or a journey. */
export function registerAuthorizeRoutes(app: FastifyInstance, deps: Deps, cookiesOf: Cookies): void {
  tenantRoute(app, deps, ['GET', 'POST'], 'oauth2/v2.0/authorize', 'html', async (req, reply, tp) => {
    const { request, app: client } = await parseAuthorizationRequest(
      deps.store,
      { tenantId: tp.tenant.id, tenantSegment: tp.tenantSegment, form: tp.form, policyId: tp.policy.id },
      requestParams(req),
    );
    const cookies = cookiesOf(req);
    let browserId = readCookie(req, cookies.browser);
    if (!browserId) {
      browserId = randomToken(24);
      setBrowserCookie(reply, cookies, browserId);
    }
    const outcome = await authorize(deps, tp.tenant, tp.policy, client, request, {
      ssoCookie: readCookie(req, cookies.sso(tp.tenant.id)),
      browserId,
      ip: req.ip,
      acceptLanguage: req.headers['accept-language'],
      site: req.site,
    });
    if (outcome.type === 'respond') return sendAuthorizationResponse(reply, outcome.response);
    if (outcome.type === 'blocked') return sendBlockPage(deps, reply, tp.tenant, tp.policy, outcome.message, outcome.locale);
    return reply.header('cache-control', 'no-store').redirect(journeyPath(tp.tenant.slug, tp.policy.id, outcome.journeyId), 302);
  });
}
