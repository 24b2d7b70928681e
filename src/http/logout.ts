import type { FastifyInstance } from 'fastify';
import type { Deps } from '../services/deps.js';
import { logout } from '../oauth/logout.js';
import { signedOutPage } from '../ui/pages/messages.js';
import { clearSsoCookie, readCookie, type Cookies } from './cookies.js';
import { requestParams } from './forms.js';
import { requestMessages } from './locale.js';
import { sendPage } from './respond.js';
import { tenantRoute } from './tenant-routes.js';

/** The end-session endpoint (OIDC RP-Initiated Logout 1.0). */
export function registerLogoutRoutes(app: FastifyInstance, deps: Deps, cookiesOf: Cookies): void {
  tenantRoute(app, deps, ['GET', 'POST'], 'oauth2/v2.0/logout', 'html', async (req, reply, tp) => {
    // Whatever else happens, the browser's session cookie for this tenant (on this host) goes.
    const cookies = cookiesOf(req);
    clearSsoCookie(reply, cookies, tp.tenant.id);
    const result = await logout(deps, tp.tenant, requestParams(req), readCookie(req, cookies.sso(tp.tenant.id)), req.site);
    const frames = result.frontChannel;
    if (frames.length === 0) {
      if (result.redirect) return reply.header('cache-control', 'no-store').redirect(result.redirect, 302);
      return sendPage(reply, signedOutPage(requestMessages(req, tp.policy)));
    }
    // Front-channel logout: the apps' logout URLs load in iframes, then the browser moves on.
    return sendPage(reply, signedOutPage(requestMessages(req, tp.policy), { frames, ...(result.redirect ? { continueTo: result.redirect } : {}) }), {
      frameSources: frames.map((u) => new URL(u).origin),
    });
  });
}
