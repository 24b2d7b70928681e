import type { FastifyInstance, FastifyReply, FastifyRequest, HTTPMethods, RouteOptions } from 'fastify';
import type { Deps } from '../services/deps.js';
import { OAuthError } from '../model/errors.js';
import type { Policy } from '../model/policy.js';
import type { Tenant } from '../model/entities.js';
import type { FixedTenant } from '../services/tenant-directory.js';
import { resolveFixedTenantPolicyNow, resolveTenantPolicy, resolveTenantPolicyNow, type TenantPolicy, type UrlForm } from '../oauth/tenant-context.js';

export type ErrorFormat = 'json' | 'html';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** How errors of this route are answered: JSON (token, userinfo, metadata) or an HTML page. */
    errorFormat?: ErrorFormat;
  }
  interface FastifyRequest {
    /** The tenant and policy a page request named, once known: its error page uses the policy's layout and language. */
    latchkeyPage?: { tenantSlug: string; tenantId: string; policy: Policy };
  }
}

type Handler<T extends FixedTenant = Tenant> = (req: FastifyRequest, reply: FastifyReply, tp: TenantPolicy<T>) => Promise<unknown>;
/** How a route finds its tenant and policy: from memory without a promise (undefined: memory cannot tell), or by reading. */
interface Resolvers<T extends FixedTenant> {
  now: (...args: Parameters<typeof resolveTenantPolicy>) => TenantPolicy<T> | undefined;
  read: (...args: Parameters<typeof resolveTenantPolicy>) => Promise<TenantPolicy<T>>;
}

function policyParam(req: FastifyRequest, fromBody: boolean): string | undefined {
  const q = (req.query as Record<string, unknown> | undefined)?.p;
  if (typeof q === 'string' && q !== '') return q;
  if (Array.isArray(q)) throw new OAuthError('invalid_request', "The parameter 'p' was sent more than once.", { redirectable: false });
  if (fromBody) {
    const b = (req.body as Record<string, unknown> | undefined)?.p;
    if (typeof b === 'string' && b !== '') return b;
  }
  return undefined;
}

/**
 * Registers one tenant endpoint under every URL form B2C apps use: `/{tenant}/{policy}/…` (path),
 * `/{tenant}/…?p={policy}` (query; `p` also in the form body for the token endpoint), and
 * `/tfp/{tenant}/{policy}/…`. Without a policy, the tenant's default policy answers.
 */
export function tenantRoute(
  app: FastifyInstance,
  deps: Deps,
  methods: HTTPMethods[],
  suffix: string,
  errorFormat: ErrorFormat,
  handler: Handler,
  config: Omit<NonNullable<RouteOptions['config']>, 'errorFormat'> = {},
): void {
  registerForms(app, deps, methods, suffix, errorFormat, { now: resolveTenantPolicyNow, read: resolveTenantPolicy }, handler, config);
}

/**
 * tenantRoute for an endpoint that reads only what never changes about its tenant (the metadata: ids,
 * issuer pattern, default policy), which finds a tenant it has seen from memory without a store read
 * (TenantDirectory.findFixed).
 */
export function fixedTenantRoute(app: FastifyInstance, deps: Deps, methods: HTTPMethods[], suffix: string, errorFormat: ErrorFormat, handler: Handler<FixedTenant>): void {
  registerForms(app, deps, methods, suffix, errorFormat, { now: resolveFixedTenantPolicyNow, read: resolveTenantPolicy }, handler, {});
}

function registerForms<T extends FixedTenant>(
  app: FastifyInstance,
  deps: Deps,
  methods: HTTPMethods[],
  suffix: string,
  errorFormat: ErrorFormat,
  resolve: Resolvers<T>,
  handler: Handler<T>,
  config: Omit<NonNullable<RouteOptions['config']>, 'errorFormat'>,
): void {
  const forms: { url: string; form: UrlForm }[] = [
    { url: `/:tenant/:policy/${suffix}`, form: 'path' },
    { url: `/:tenant/${suffix}`, form: 'query' },
    { url: `/tfp/:tenant/:policy/${suffix}`, form: 'tfp' },
  ];
  for (const { url, form } of forms) {
    app.route({
      method: methods,
      url,
      // JSON answers need none of helmet's page headers (CSP, frame options); nosniff is set below.
      ...(errorFormat === 'json' ? { helmet: false } : {}),
      config: { ...config, errorFormat },
      handler: async (req, reply) => {
        const params = req.params as { tenant: string; policy?: string };
        let policyId = params.policy;
        let urlForm = form;
        if (form === 'query') {
          policyId = policyParam(req, methods.includes('POST'));
          // No policy named: the default policy answers, and its URLs are written in path form.
          if (policyId === undefined) urlForm = 'path';
        }
        if (errorFormat === 'json') reply.header('x-content-type-options', 'nosniff');
        // From memory without a promise when it can (every request resolves its tenant); else read.
        const tp = resolve.now(deps, params.tenant, policyId, urlForm, true, req.site) ?? (await resolve.read(deps, params.tenant, policyId, urlForm, true, req.site));
        req.latchkeyPage = { tenantSlug: tp.tenant.slug, tenantId: tp.tenant.id, policy: tp.policy };
        return handler(req, reply, tp);
      },
    });
  }
}
