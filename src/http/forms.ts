import type { FastifyRequest } from 'fastify';
import type { RawParams } from '../oauth/authorize-request.js';
import { OAuthError } from '../model/errors.js';

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

/**
 * application/x-www-form-urlencoded, read strictly: a broken percent-encoding or bytes that are not
 * UTF-8 make the whole body malformed (400 invalid_request) rather than reaching the protocol code
 * half-decoded. A repeated name gives an array (protocol code refuses those by name). The result has
 * no prototype, so a field named __proto__ is only a field.
 */
export function parseFormBody(body: string): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = Object.create(null) as Record<string, string | string[]>;
  if (body.length === 0) return out;
  for (const pair of body.split('&')) {
    if (pair.length === 0) continue;
    const eq = pair.indexOf('=');
    const rawName = eq < 0 ? pair : pair.slice(0, eq);
    const rawValue = eq < 0 ? '' : pair.slice(eq + 1);
    let name: string;
    let value: string;
    try {
      name = decodeURIComponent(rawName.replace(/\+/g, ' '));
      value = decodeURIComponent(rawValue.replace(/\+/g, ' '));
    } catch {
      throw Object.assign(new Error('malformed percent-encoding in the form body'), { statusCode: 400 });
    }
    const previous = out[name];
    if (previous === undefined) out[name] = value;
    else if (Array.isArray(previous)) previous.push(value);
    else out[name] = [previous, value];
  }
  return out;
}

/** Parameters that carry credentials: RFC 6749 §2.3.1 (and RFC 9700) keep them out of URLs, which end up in logs. */
const CREDENTIAL_PARAMS = ['client_secret', 'client_assertion', 'password', 'refresh_token', 'code', 'code_verifier', 'assertion', 'token'];

/** Refuses a POST to a token-like endpoint that carries a credential in its URL's query. */
export function refuseCredentialsInQuery(req: FastifyRequest): void {
  const query = (req.query ?? {}) as Record<string, unknown>;
  const found = CREDENTIAL_PARAMS.find((p) => Object.hasOwn(query, p));
  if (found) throw new OAuthError('invalid_request', `The parameter '${found}' must be sent in the request body, never in the URL (RFC 6749 §2.3.1).`);
}
