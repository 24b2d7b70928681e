import type { FastifyReply } from 'fastify';
import { responseLocation, type AuthorizationResponse } from '../oauth/authorization-response.js';
import type { PageCsp } from '../ui/layouts/page-layouts.js';
import { requestMessages } from './locale.js';
import { formPostPage } from '../ui/pages/messages.js';

const list = (...parts: string[][]) => [...new Set(parts.flat())].join(' ');

/**
 * The page's Content-Security-Policy: Latchkey's own pages load from its origin only; a page in a
 * custom layout also from the template's asset origins, with its inline styles (and, with JavaScript
 * enabled, its head scripts) allowed by hash. Forms may post anywhere (form_post answers go to apps).
 */
function contentSecurityPolicy(opts: { framable?: boolean; frameSources?: string[]; csp?: PageCsp | undefined }): string {
  const c = opts.csp;
  const directives = [
    "default-src 'none'",
    `style-src ${list(["'self'"], c?.assetOrigins ?? [], c?.styleHashes ?? [], c && c.styleHashes.length > 0 ? ["'unsafe-hashes'"] : [])}`,
    `script-src ${list(["'self'"], c?.scriptOrigins ?? [], c?.scriptHashes ?? [])}`,
    `img-src ${list(["'self'", 'data:'], c?.assetOrigins ?? [])}`,
    ...(c ? [`font-src ${list(['data:'], c.assetOrigins)}`, `media-src ${list(c.assetOrigins)}`] : []),
    'form-action *',
    "base-uri 'none'",
  ];
  // Origins the page may embed (the signed-out page loads apps' front-channel logout URLs).
  if (opts.frameSources && opts.frameSources.length > 0) directives.push(`frame-src ${list(opts.frameSources)}`);
  if (!opts.framable) directives.push("frame-ancestors 'none'");
  return directives.join('; ');
}

/** Pages and protocol responses must not be cached; pages must not be framed (clickjacking). */
export function sendPage(reply: FastifyReply, html: string, opts: { status?: number; framable?: boolean; frameSources?: string[]; csp?: PageCsp | undefined } = {}): FastifyReply {
  if (!opts.framable) reply.header('x-frame-options', 'DENY');
  return reply
    .code(opts.status ?? 200)
    .header('cache-control', 'no-store')
    .header('content-security-policy', contentSecurityPolicy(opts))
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(html);
}

/** Delivers an authorization response in its response mode (RFC 6749 §4.1.2, OAuth 2.0 Form Post). */
export function sendAuthorizationResponse(reply: FastifyReply, response: AuthorizationResponse): FastifyReply {
  if (response.mode === 'form_post') {
    // Not interactive: it may run in the hidden iframe of a silent (prompt=none) request.
    return sendPage(reply, formPostPage(response.redirectUri, response.params, requestMessages(reply.request)), { framable: true });
  }
  return reply.header('cache-control', 'no-store').redirect(responseLocation(response), 302);
}
