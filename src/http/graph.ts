import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { ServiceError } from '../model/errors.js';
import { sendGraphError } from './error-mapper.js';
import type { Deps } from '../services/deps.js';
import { resolveTenant } from '../oauth/tenant-context.js';
import { adminCaller } from './admin-caller.js';
import { createUser, deleteUser, getUser, listUsers, revokeSignInSessions, updateUser, type GraphContext, type PageStart } from '../services/graph-api.js';

/**
 * Microsoft Graph's users API, the subset B2C back offices use, at `/{tenant}/graph/v1.0/users`: a
 * Graph client pointed here (base URL `{LATCHKEY_BASE_URL}/{tenant}/graph`) with a Latchkey access
 * token for `urn:latchkey:admin` (roles `User.Read.All` or `User.ReadWrite.All`) works unchanged.
 * Every error is Graph's shape: `{"error":{"code","message","innerError":{date,request-id,client-request-id}}}`.
 */

const LIST_OPTIONS = new Set(['$select', '$filter', '$top', '$skiptoken', '$count', '$orderby']);
const ITEM_OPTIONS = new Set(['$select']);
const MAX_TOP = 999;
const DEFAULT_TOP = 100;


/** Where a `$skiptoken` this API gave says the page starts: a user's id, and its value of the order's field. */
function pageStart(token: string): PageStart {
  const text = Buffer.from(token, 'base64url').toString('utf8');
  // Tokens of earlier versions are the id alone.
  if (/^[0-9a-f-]{36}$/.test(text)) return { id: text };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  const p = parsed as { id?: unknown; value?: unknown } | undefined;
  if (!p || typeof p.id !== 'string' || !/^[0-9a-f-]{36}$/.test(p.id) || (p.value !== undefined && typeof p.value !== 'string' && typeof p.value !== 'number')) {
    throw new ServiceError('invalid', 'The $skiptoken is not one this API gave.');
  }
  return { id: p.id, ...(p.value !== undefined ? { value: p.value as string | number } : {}) };
}

/** Query options this operation has; others are Graph's 400 for an unsupported query. */
function queryOf(req: FastifyRequest, allowed: Set<string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries((req.query ?? {}) as Record<string, unknown>)) {
    const name = key.startsWith('$') ? key : `$${key}`;
    if (!allowed.has(name)) throw new ServiceError('unsupported', `The query option '${key}' is not supported here (supported: ${[...allowed].join(', ')}).`);
    if (typeof value !== 'string') throw new ServiceError('invalid', `The query option '${key}' was given more than once.`);
    out[name] = value;
  }
  return out;
}

export function registerGraphRoutes(app: FastifyInstance, deps: Deps): void {
  const base = '/:tenant/graph/v1.0';
  type Op = (c: GraphContext, req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

  const route = (method: 'GET' | 'POST' | 'PATCH' | 'DELETE', url: string, writing: boolean, op: Op) =>
    app.route({
      method,
      url: `${base}${url}`,
      helmet: false,
      config: { errorFormat: 'json' },
      // Whatever goes wrong (a malformed body too) is answered in Graph's shape.
      errorHandler: (err: FastifyError, req, reply) => {
        return sendGraphError(err, req, reply);
      },
      handler: async (req, reply) => {
        reply.header('x-content-type-options', 'nosniff');
        const tenant = await resolveTenant(deps, (req.params as { tenant: string }).tenant, req.site);
        if (!tenant) throw new ServiceError('not_found', 'No such tenant.');
        const caller = await adminCaller(deps, tenant, req.headers.authorization, { read: 'User.Read.All', write: 'User.ReadWrite.All', writing });
        if (!caller.ok) throw new ServiceError(caller.status === 401 ? 'unauthenticated' : 'forbidden', caller.message);
        return op({ deps, tenant, clientId: caller.clientId }, req, reply);
      },
    });

  // Links are written with the host the request came to (a tenant's own host, or the shared one).
  const context = (req: FastifyRequest, c: GraphContext, select?: string) => `${req.site.baseUrl}/${c.tenant.slug}/graph/v1.0/$metadata#users${select ? `(${select})` : ''}`;
  const id = (req: FastifyRequest) => (req.params as { id: string }).id;

  route('GET', '/users', false, async (c, req) => {
    const q = queryOf(req, LIST_OPTIONS);
    const top = q.$top === undefined ? DEFAULT_TOP : Number(q.$top);
    if (!Number.isInteger(top) || top < 1 || top > MAX_TOP) throw new ServiceError('invalid', `Invalid page size specified: '${q.$top}'. Must be between 1 and ${MAX_TOP} inclusive.`);
    const after = q.$skiptoken === undefined ? undefined : pageStart(q.$skiptoken);
    if (q.$count !== undefined && q.$count !== 'true' && q.$count !== 'false') throw new ServiceError('invalid', `Invalid value for $count: '${q.$count}' (true or false).`);
    const count = q.$count === 'true';
    // Graph counts directory objects only in its advanced queries, which the caller asks for with this header.
    if (count && String(req.headers.consistencylevel ?? '').toLowerCase() !== 'eventual') {
      throw new ServiceError('invalid', "$count needs the request header 'ConsistencyLevel: eventual' (Graph's advanced queries).");
    }
    const page = await listUsers(c, {
      top,
      count,
      ...(q.$select !== undefined ? { select: q.$select } : {}),
      ...(q.$filter !== undefined ? { filter: q.$filter } : {}),
      ...(q.$orderby !== undefined ? { orderBy: q.$orderby } : {}),
      ...(after ? { after } : {}),
    });
    const body: Record<string, unknown> = { '@odata.context': context(req, c, q.$select) };
    if (page.count !== undefined) body['@odata.count'] = page.count;
    body.value = page.value;
    if (page.next) {
      const next = new URL(req.url, 'http://request.invalid');
      next.searchParams.set('$skiptoken', Buffer.from(JSON.stringify(page.next)).toString('base64url'));
      body['@odata.nextLink'] = `${req.site.baseUrl}${next.pathname}${next.search}`;
    }
    return body;
  });

  route('POST', '/users', true, async (c, req, reply) => {
    queryOf(req, new Set());
    const user = await createUser(c, req.body);
    return reply.code(201).header('location', `${req.site.baseUrl}/${c.tenant.slug}/graph/v1.0/users/${String(user.id)}`).send({ '@odata.context': `${context(req, c)}/$entity`, ...user });
  });

  route('GET', '/users/:id', false, async (c, req) => {
    const q = queryOf(req, ITEM_OPTIONS);
    return { '@odata.context': `${context(req, c, q.$select)}/$entity`, ...(await getUser(c, id(req), q.$select)) };
  });

  route('PATCH', '/users/:id', true, async (c, req, reply) => {
    queryOf(req, new Set());
    await updateUser(c, id(req), req.body);
    return reply.code(204).send();
  });

  route('DELETE', '/users/:id', true, async (c, req, reply) => {
    queryOf(req, new Set());
    await deleteUser(c, id(req));
    return reply.code(204).send();
  });

  route('POST', '/users/:id/revokeSignInSessions', true, async (c, req) => {
    queryOf(req, new Set());
    await revokeSignInSessions(c, id(req));
    return { '@odata.context': `${req.site.baseUrl}/${c.tenant.slug}/graph/v1.0/$metadata#Edm.Boolean`, value: true };
  });
}
