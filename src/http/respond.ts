import type { FastifyReply } from 'fastify';
import { responseLocation, type AuthorizationResponse } from '../oauth/authorization-response.js';
import { formPostPage } from '../ui/pages/messages.js';

/** Pages and protocol responses must not be cached; pages must not be framed (clickjacking). */
export function sendPage(reply: FastifyReply, html: string, opts: { status?: number; framable?: boolean; frameSources?: string[] } = {}): FastifyReply {
  const frame = opts.framable ? '' : "; frame-ancestors 'none'";
  // Origins the page may embed (the signed-out page loads apps' front-channel logout URLs).
  const frameSrc = opts.frameSources && opts.frameSources.length > 0 ? `; frame-src ${[...new Set(opts.frameSources)].join(' ')}` : '';
  if (!opts.framable) reply.header('x-frame-options', 'DENY');
  return reply
    .code(opts.status ?? 200)
    .header('cache-control', 'no-store')
    .header('content-security-policy', `default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; form-action *; base-uri 'none'${frameSrc}${frame}`)
    .header('referrer-policy', 'no-referrer')
    .type('text/html; charset=utf-8')
    .send(html);
}

/** Delivers an authorization response in its response mode (RFC 6749 §4.1.2, OAuth 2.0 Form Post). */
export function sendAuthorizationResponse(reply: FastifyReply, response: AuthorizationResponse): FastifyReply {
  if (response.mode === 'form_post') {
    // Not interactive: it may run in the hidden iframe of a silent (prompt=none) request.
    return sendPage(reply, formPostPage(response.redirectUri, response.params), { framable: true });
  }
  return reply.header('cache-control', 'no-store').redirect(responseLocation(response), 302);
}
