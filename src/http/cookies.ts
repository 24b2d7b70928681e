import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Config } from '../config.js';

/**
 * Cookie names and attributes. Under https cookies are Secure with the `__Host-` prefix (no Domain,
 * Path=/). The SSO cookie is SameSite=None under https so that prompt=none works in a hidden
 * iframe of the app (MSAL's silent renewal); over plain http browsers refuse None without Secure,
 * so Lax is used there.
 */
export interface CookieNames {
  browser: string;
  sso(tenantId: string): string;
  secure: boolean;
}

export function cookieNames(config: Config): CookieNames {
  const secure = config.baseUrl.startsWith('https://');
  const prefix = secure ? '__Host-' : '';
  return {
    browser: `${prefix}lk_browser`,
    sso: (tenantId) => `${prefix}lk_sso_${tenantId.replace(/-/g, '')}`,
    secure,
  };
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
