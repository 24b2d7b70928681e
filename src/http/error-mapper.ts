import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { ZodError } from 'zod';
import { OAuthError, ServiceError, surfaceError, type ServiceErrorKind } from '../model/errors.js';

/**
 * The one mapping from whatever a request threw to what each surface answers: the OpenID endpoints
 * (OAuth errors: JSON, a redirect or a page — app.ts), the admin API and the Graph-compatible API. A
 * ServiceError keeps its kind; a framework error about the request (bad JSON, a body too large) is the
 * caller's; anything else is a server error, logged with the request id and never shown.
 */
type Classified = { kind: ServiceErrorKind | 'server_error'; message: string; status?: number };

const FRAMEWORK_MESSAGES: Record<number, string> = {
  413: 'The request body is too large.',
  415: 'The request body has an unsupported content type.',
};

function classify(err: unknown, req: FastifyRequest, malformed: string): Classified {
  if (err instanceof ServiceError) return { kind: err.kind, message: err.message };
  if (err instanceof ZodError) {
    const issue = err.issues[0]!;
    return { kind: 'invalid', message: `${issue.path.length > 0 ? `${issue.path.join('.')}: ` : ''}${issue.message}` };
  }
  const status = (err as FastifyError | undefined)?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    req.log.info({ err: (err as Error).message, status }, 'malformed request');
    return { kind: 'invalid', message: FRAMEWORK_MESSAGES[status] ?? malformed, status };
  }
  req.log.error({ err }, 'request failed');
  return { kind: 'server_error', message: 'An internal error happened; it is logged with the request id.' };
}

/** The admin API's error body: `{ error: { code, message } }`. */
export function sendAdminError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const c = classify(err, req, 'The request body is not valid JSON.');
  const { status, code } = surfaceError('admin', c.kind);
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="latchkey", error="invalid_token"');
  return reply.code(c.status ?? status).header('cache-control', 'no-store').send({ error: { code, message: c.message } });
}

/** Microsoft Graph's error body: `{ error: { code, message, innerError: { date, request-id, client-request-id } } }`. */
export function sendGraphError(err: unknown, req: FastifyRequest, reply: FastifyReply): FastifyReply {
  const unsupportedMedia = (err as FastifyError | undefined)?.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE';
  const c = classify(err, req, unsupportedMedia ? 'Send the body as application/json.' : 'The request body is not valid JSON.');
  if (unsupportedMedia) c.message = 'Send the body as application/json.';
  const { status, code } = surfaceError('graph', c.kind);
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="latchkey", error="invalid_token"');
  const clientRequestId = req.headers['client-request-id'];
  return reply
    .code(c.status ?? status)
    .header('cache-control', 'no-store')
    .send({
      error: {
        code,
        message: c.message,
        innerError: { date: new Date().toISOString().slice(0, 19), 'request-id': req.id, 'client-request-id': typeof clientRequestId === 'string' ? clientRequestId : req.id },
      },
    });
}

/** An OAuth error for the OpenID endpoints, from whatever was thrown. */
export function oauthErrorOf(err: unknown, req: FastifyRequest): OAuthError {
  if (err instanceof OAuthError) {
    if (err.status >= 500) req.log.error({ err }, 'protocol server error');
    else req.log.info({ error: err.code, reason: err.message }, 'request refused');
    return err;
  }
  const c = classify(err, req, 'The request is malformed.');
  switch (c.kind) {
    case 'server_error':
      return new OAuthError('server_error', 'The server met an unexpected error. Quote the correlation ID when you report it.', { redirectable: false });
    case 'not_found':
      return new OAuthError('not_found', c.message, { redirectable: false });
    case 'unauthenticated':
      return new OAuthError('invalid_token', c.message, { redirectable: false });
    case 'forbidden':
      return new OAuthError('insufficient_scope', c.message, { redirectable: false });
    default:
      return new OAuthError('invalid_request', c.message, { redirectable: false, ...(c.status ? { status: c.status } : {}) });
  }
}

/**
 * The web console's answer to whatever a page or form threw: the status (the admin API's for each
 * kind) and one line for the administrator, shown on the page (a server error is logged with the
 * request id and never shown).
 */
export function consoleErrorOf(err: unknown, req: FastifyRequest): { status: number; kind: ServiceErrorKind | 'server_error'; message: string } {
  if (err instanceof OAuthError) {
    req.log.info({ error: err.code, reason: err.message }, 'console request refused');
    return { status: err.status, kind: err.status >= 500 ? 'server_error' : 'invalid', message: err.message };
  }
  const c = classify(err, req, 'The form could not be read.');
  return { status: c.status ?? surfaceError('admin', c.kind).status, kind: c.kind, message: c.kind === 'server_error' ? `${c.message} (request ${req.id})` : c.message };
}
