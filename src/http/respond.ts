import type { FastifyReply } from 'fastify';
import { responseLocation, type AuthorizationResponse } from '../oauth/authorization-response.js';
import type { PageCsp } from '../ui/layouts/page-layouts.js';
import { requestMessages } from './locale.js';
import { formPostPage, onwardPage } from '../ui/pages/messages.js';

const list = (...parts: string[][]) => [...new Set(parts.flat())].join(' ');

/** Schemes a form must never be let post to, whatever is registered. */
const NEVER = new Set(['javascript:', 'data:', 'blob:', 'filesystem:', 'about:', 'file:', 'vbscript:']);

/**
 * A URL a page's form may lead to, as a CSP source expression: scheme, host, port and path. The path
 * is matched on the post itself; on the redirects that answer it (which Chromium also checks against
 * form-action) only the origin is. An app's own scheme (a native app's redirect URI) can only be named
 * whole; an IPv6 address cannot be named at all (CSP's grammar has no host for it), so it is left out.
 */
export function formActionSource(raw: string): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return undefined;
  }
  if (url.protocol === 'http:' || url.protocol === 'https:') {
    if (url.hostname.startsWith('[')) return undefined;
    // ';' and ',' separate directives and sources: written percent-encoded, matched decoded.
    return `${url.protocol}//${url.host}${url.pathname.replace(/[;,]/g, (c) => encodeURIComponent(c))}`;
  }
  return NEVER.has(url.protocol) || !/^[a-z][a-z0-9+.-]*:$/.test(url.protocol) ? undefined : url.protocol;
}

interface PageOptions {
  status?: number;
  framable?: boolean;
  frameSources?: string[];
  csp?: PageCsp | undefined;
  /**
   * Where the page's forms may lead besides Latchkey itself (form-action): the form_post page's app,
   * a native app's own scheme. Chromium checks form-action on every redirect that follows a post, so
   * a page whose post may be answered with a redirect elsewhere lists it (or see `sendOnward`).
   */
  formTargets?: string[];
}

/**
 * The page's Content-Security-Policy: Latchkey's own pages load from its origin only; a page in a
 * custom layout also from the template's asset origins, with its inline styles (and, with JavaScript
 * enabled, its head scripts) allowed by hash. Forms post to Latchkey, and only to the targets the page
 * names besides: markup a template slipped past the sanitizer cannot send the user's input elsewhere.
 */
function contentSecurityPolicy(opts: PageOptions): string {
  const c = opts.csp;
  const formTargets = (opts.formTargets ?? []).flatMap((u) => formActionSource(u) ?? []);
  const directives = [
    "default-src 'none'",
    `style-src ${list(["'self'"], c?.assetOrigins ?? [], c?.styleHashes ?? [], c && c.styleHashes.length > 0 ? ["'unsafe-hashes'"] : [])}`,
    `script-src ${list(["'self'"], c?.scriptOrigins ?? [], c?.scriptHashes ?? [])}`,
    `img-src ${list(["'self'", 'data:'], c?.assetOrigins ?? [])}`,
    ...(c ? [`font-src ${list(['data:'], c.assetOrigins)}`, `media-src ${list(c.assetOrigins)}`] : []),
    `form-action ${list(["'self'"], formTargets)}`,
    "base-uri 'none'",
  ];
  // Origins the page may embed (the signed-out page loads apps' front-channel logout URLs).
  if (opts.frameSources && opts.frameSources.length > 0) directives.push(`frame-src ${list(opts.frameSources)}`);
  if (!opts.framable) directives.push("frame-ancestors 'none'");
  return directives.join('; ');
}

/** Pages and protocol responses must not be cached; pages must not be framed (clickjacking). */
export function sendPage(reply: FastifyReply, html: string, opts: PageOptions = {}): FastifyReply {
  if (!opts.framable) reply.header('x-frame-options', 'DENY');
  return reply
    .code(opts.status ?? 200)
    .header('cache-control', 'no-store')
    .header('content-security-policy', contentSecurityPolicy(opts))
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(html);
}

/**
 * Sends the browser from a journey on to another site: the app's redirect URI, an identity provider's
 * sign-in page. Chromium checks every redirect that follows a form post against the posting page's
 * form-action — the whole chain: Latchkey's own post/redirect/get, then the app's or the provider's
 * redirects, which Latchkey cannot know. So a browser's navigation (browsers alone set Sec-Fetch-Mode)
 * is answered with a page that goes on by itself (a refresh, and a link): a navigation that is no form
 * submission, and the journey pages need no form-action but 'self'. Other clients get the redirect. A
 * native app's own scheme is redirected to in any case (launching the app needs the gesture of the
 * click, which a redirect carries and a refresh does not): the journey pages name that scheme.
 */
export function sendOnward(reply: FastifyReply, url: string, status: 302 | 303): FastifyReply {
  if (/^https?:/i.test(url) && reply.request.headers['sec-fetch-mode'] === 'navigate') return sendPage(reply, onwardPage(url, requestMessages(reply.request)));
  return reply.header('cache-control', 'no-store').redirect(url, status);
}

/**
 * What a journey page's form-action names besides 'self': the redirect URI when it is a native app's
 * own scheme (the answer is redirected there, see `sendOnward`); web redirect URIs are reached through
 * the onward page.
 */
export function appSchemeTargets(redirectUri: string): string[] {
  return /^https?:/i.test(redirectUri) ? [] : [redirectUri];
}

/**
 * Delivers an authorization response in its response mode (RFC 6749 §4.1.2, OAuth 2.0 Form Post); at
 * the end of a journey (`onward`) through `sendOnward`. The authorization endpoint itself redirects:
 * no form of Latchkey's leads there, and a silent request runs in a frame the onward page may not be in.
 */
export function sendAuthorizationResponse(reply: FastifyReply, response: AuthorizationResponse, o: { onward?: boolean } = {}): FastifyReply {
  if (response.mode === 'form_post') {
    // Not interactive: it may run in the hidden iframe of a silent (prompt=none) request. Its form
    // posts to the app's redirect URI (validated against the registered ones) and nowhere else.
    return sendPage(reply, formPostPage(response.redirectUri, response.params, requestMessages(reply.request)), { framable: true, formTargets: [response.redirectUri] });
  }
  const location = responseLocation(response);
  return o.onward ? sendOnward(reply, location, 302) : reply.header('cache-control', 'no-store').redirect(location, 302);
}
