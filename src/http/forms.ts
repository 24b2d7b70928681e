import type { FastifyRequest } from 'fastify';
import type { RawParams } from '../oauth/authorize-request.js';
import { OAuthError } from '../oauth/errors.js';

/** The request's OAuth parameters: the query for GET, the url-encoded form body for POST. */
export function requestParams(req: FastifyRequest): RawParams {
  if (req.method === 'POST') {
    const body = req.body;
    if (body === undefined || body === null) return {};
    if (typeof body !== 'object' || !isFormEncoded(req)) {
      throw new OAuthError('invalid_request', 'The request body must be application/x-www-form-urlencoded.', { redirectable: false });
    }
    return body as RawParams;
  }
  return (req.query ?? {}) as RawParams;
}

export function isFormEncoded(req: FastifyRequest): boolean {
  return (req.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
}

/** A page's form fields as strings; a repeated field keeps its first value. */
export function formFields(req: FastifyRequest): Record<string, string> {
  const out: Record<string, string> = {};
  const body = req.body;
  if (!body || typeof body !== 'object') return out;
  for (const [k, v] of Object.entries(body as Record<string, unknown>)) {
    if (typeof v === 'string') out[k] = v;
    else if (Array.isArray(v) && typeof v[0] === 'string') out[k] = v[0];
  }
  return out;
}
