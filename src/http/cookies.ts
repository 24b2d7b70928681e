import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Cookie names and attributes. Every cookie is host-only (no Domain attribute): a tenant's own host
 * (a custom domain) and the shared host never see each other's cookies, so a session made on one is
 * never used on the other. Under https cookies are Secure with the `__Host-` prefix (which browsers
 * refuse with a Domain, and which needs Path=/). The SSO cookie is SameSite=None under https so that
 * prompt=none works in a hidden iframe of the app (MSAL's silent renewal); over plain http browsers
 * refuse None without Secure, so Lax is used there.
 */
export interface CookieNames {
  browser: string;
  sso(tenantId: string): string;
  secure: boolean;
}

function cookieNames(secure: boolean): CookieNames {
  const prefix = secure ? '__Host-' : '';
  return {
    browser: `${prefix}lk_browser`,
    sso: (tenantId) => `${prefix}lk_sso_${tenantId.replace(/-/g, '')}`,
    secure,
  };
}

/** The cookies of a request: Secure and `__Host-` when the host it came to is served over https. */
export type Cookies = (req: FastifyRequest) => CookieNames;

const SECURE = cookieNames(true);
const PLAIN = cookieNames(false);

export const cookiesOf: Cookies = (req) => cookieNamesFor(req.site.baseUrl);

/** The cookie names on a host served at `baseUrl`. */
export function cookieNamesFor(baseUrl: string): CookieNames {
  return baseUrl.startsWith('https://') ? SECURE : PLAIN;
}

export function readCookie(req: FastifyRequest, name: string): string | undefined {
  const v = req.cookies[name];
  return typeof v === 'string' && v.length > 0 && v.length <= 200 ? v : undefined;
}

/** A browser-session cookie, or a persistent one for `maxAgeSeconds` (keep me signed in). */
export function setSsoCookie(reply: FastifyReply, names: CookieNames, tenantId: string, value: string, maxAgeSeconds?: number): void {
  reply.setCookie(names.sso(tenantId), value, {
    path: '/',
    ...(maxAgeSeconds ? { maxAge: maxAgeSeconds } : {}),
    httpOnly: true,
    secure: names.secure,
    sameSite: names.secure ? 'none' : 'lax',
  });
}

export function clearSsoCookie(reply: FastifyReply, names: CookieNames, tenantId: string): void {
  reply.clearCookie(names.sso(tenantId), { path: '/', httpOnly: true, secure: names.secure, sameSite: names.secure ? 'none' : 'lax' });
}

export function setBrowserCookie(reply: FastifyReply, names: CookieNames, value: string): void {
  reply.setCookie(names.browser, value, { path: '/', httpOnly: true, secure: names.secure, sameSite: 'lax' });
}
