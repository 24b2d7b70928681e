import { clientNetwork } from './security/client-network.js';
import { randomUUID } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import fastifyHelmet from '@fastify/helmet';
import fastifyRateLimit from '@fastify/rate-limit';
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Deps } from './services/deps.js';
import { registerAuthorizeRoutes } from './http/authorize.js';
import { cookiesOf } from './http/cookies.js';
import { registerSites } from './http/site.js';
import type { HttpsOptions } from './http/certificates.js';
import fastifySwagger from '@fastify/swagger';
import { registerAdminRoutes } from './admin/routes.js';
import { registerGraphRoutes } from './http/graph.js';
import { registerHealthRoutes } from './http/health.js';
import { registerJourneyRoutes } from './http/journey.js';
import { registerLogoutRoutes } from './http/logout.js';
import { registerMetadataRoutes } from './http/metadata.js';
import { registerLayoutAssetRoutes } from './http/layout-assets.js';
import { registerPageRoutes } from './http/pages.js';
import { sendAuthorizationResponse, sendPage } from './http/respond.js';
import { registerTokenRoutes } from './http/token.js';
import { registerCommonRoutes } from './http/common.js';
import { registerSamlRoutes } from './http/saml.js';
import { registerConsole } from './console/register.js';
import { directoryRolesReader } from './services/users-roles.js';
import { errorResponse } from './oauth/authorization-response.js';
import { TargetedError } from './oauth/authorize-request.js';
import { OAuthError } from './model/errors.js';
import { countersRateLimitStore } from './security/rate-limit-store.js';
import { errorPage } from './ui/pages/messages.js';
import { requestMessages } from './http/locale.js';
import { parseFormBody } from './http/forms.js';
import { oauthErrorOf } from './http/error-mapper.js';

/** Bodies of protocol requests are small; anything larger is refused before parsing. */
const BODY_LIMIT = 64 * 1024;

declare module 'fastify' {
  interface FastifyInstance {
    /** Start answering with `Connection: close` (graceful shutdown). */
    beginDrain(): void;
  }
}

export interface BuildOptions {
  /** Serve https: a certificate, and with LATCHKEY_TLS_DIR one per host by SNI (http/certificates.ts). */
  https?: HttpsOptions | undefined;
}

/** Builds the Fastify app: plugins, one error handler, and the routes. Does not listen. */
export async function buildApp(deps: Deps, opts: BuildOptions = {}): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: deps.logger,
    genReqId: () => randomUUID(),
    bodyLimit: BODY_LIMIT,
    // Only the proxies the operator names may say who the client is (X-Forwarded-For).
    trustProxy: deps.config.trustProxy,
    routerOptions: { caseSensitive: false, maxParamLength: 200, ignoreTrailingSlash: true },
    ...(opts.https ? { https: opts.https } : {}),
  } as Parameters<typeof Fastify>[0]) as unknown as FastifyInstance;

  await app.register(fastifyCookie);
  await app.register(fastifyFormbody, { bodyLimit: BODY_LIMIT, parser: parseFormBody });
  // Security headers on every answer. Pages set their own CSP (no inline script; frame-ancestors
  // 'none' except the form_post page, which may run in a silent-renewal iframe; form-action 'self' and
  // the targets the page names), and X-Frame-Options.
  await app.register(fastifyHelmet, {
    contentSecurityPolicy: {
      directives: {
        defaultSrc: ["'none'"],
        styleSrc: ["'self'"],
        scriptSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        baseUri: ["'none'"],
      },
    },
    frameguard: false,
    crossOriginResourcePolicy: { policy: 'cross-origin' },
    hsts: deps.config.baseUrl.startsWith('https://'),
  });
  // The admin API's OpenAPI 3.1 document, from its routes' schemas (tagged routes only: the rest are
  // the OpenID protocol, described by discovery documents).
  await app.register(fastifySwagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'Latchkey admin API', version: '1', description: "Tenants' settings, apps, signing keys, policies and audit events. Tokens: client credentials for urn:latchkey:admin/.default, app roles Admin.Read.All or Admin.ReadWrite.All." },
      servers: [{ url: deps.config.baseUrl }],
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } } },
    },
    hideUntagged: true,
  });
  // Per-address limits, applied only where a route opts in (the journey form posts), counted in the
  // instance's shared counters (memory, the database, or Redis) under the same keys as ROPC's.
  await app.register(fastifyRateLimit, {
    global: false,
    store: countersRateLimitStore(deps.counters),
    // Per network, not per address: an IPv6 client has a /64 of addresses to pick a fresh one from.
    keyGenerator: (req) => `form|${clientNetwork(req.ip)}`,
    errorResponseBuilder: (_req, ctx) =>
      new OAuthError('temporarily_unavailable', `Too many attempts from your address; try again in ${Math.ceil(ctx.ttl / 1000)} seconds.`, {
        status: 429,
        redirectable: false,
        retryAfter: Math.ceil(ctx.ttl / 1000),
      }),
  });

  // The host each request came to (the shared one, or a tenant's own), before anything is routed.
  registerSites(app, deps);

  // While draining (SIGTERM), every answer closes its connection, so keep-alive clients let go and
  // close() can finish once the requests in flight are answered.
  let draining = false;
  app.decorate('beginDrain', () => {
    draining = true;
  });
  // A callback hook, not an async one: it runs on every answer, and a promise per answer shows up.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (draining) reply.header('connection', 'close');
    done(null, payload);
  });

  if (deps.config.metrics.enabled) {
    // Requests by route template (never the raw URL: ids and tokens would make endless label values).
    app.addHook('onResponse', (req, reply, done) => {
      const route = req.routeOptions.url ?? 'unmatched';
      const method = req.method;
      deps.metrics.requests.inc({ route, method, status: String(reply.statusCode) });
      deps.metrics.requestSeconds.observe({ route, method }, reply.elapsedTime / 1000);
      done();
    });
    if (deps.config.metrics.port === undefined) {
      app.get('/metrics', { helmet: false }, async (_req, reply) => {
        const { contentType, body } = await deps.metrics.text();
        return reply.header('cache-control', 'no-store').type(contentType).send(body);
      });
    }
  }

  app.setErrorHandler(async (err: FastifyError | Error, req, reply) => handleError(deps, err, req, reply));
  app.setNotFoundHandler((req, reply) =>
    handleError(deps, new OAuthError('not_found', 'There is nothing at this address.', { redirectable: false }), req, reply),
  );

  registerMetadataRoutes(app, deps);
  registerCommonRoutes(app, deps, cookiesOf);
  registerAuthorizeRoutes(app, deps, cookiesOf);
  registerJourneyRoutes(app, deps, cookiesOf);
  registerTokenRoutes(app, deps);
  registerLogoutRoutes(app, deps, cookiesOf);
  registerSamlRoutes(app, deps, cookiesOf);
  registerPageRoutes(app, deps);
  registerLayoutAssetRoutes(app, deps);
  registerHealthRoutes(app, deps);
  registerGraphRoutes(app, deps);
  registerAdminRoutes(app, deps);
  // The web console, for the users who hold a directory role in their tenant (`latchkey user role add`).
  registerConsole(app, deps, { directoryRoles: directoryRolesReader(deps) });
  app.get('/admin/openapi.json', { helmet: false }, async (_req, reply) => reply.header('cache-control', 'no-store').send(app.swagger()));
  return app;
}

function wantsHtml(req: FastifyRequest): boolean {
  const format = req.routeOptions.config?.errorFormat;
  if (format) return format === 'html';
  return (req.headers.accept ?? '').includes('text/html');
}

/**
 * The one error handler: protocol errors become a redirect to a validated redirect URI, a JSON body,
 * or an HTML page; framework errors (bad body, too large) become invalid_request; anything else is
 * logged with the request id and answered with server_error, never a stack trace.
 */
async function handleError(deps: Deps, err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const now = new Date(deps.clock.now());
  if (err instanceof TargetedError) {
    req.log.info({ error: err.error.code, reason: err.error.message }, 'authorization error sent to the client');
    return sendAuthorizationResponse(reply, errorResponse(err.target, err.error, req.id, now));
  }
  const oauth = oauthErrorOf(err, req);
  if (oauth.wwwAuthenticate) reply.header('www-authenticate', oauth.wwwAuthenticate);
  if (oauth.retryAfter !== undefined) reply.header('retry-after', String(oauth.retryAfter));
  if (wantsHtml(req)) {
    // B2C's globalexception page, in the policy's layout when the request named a policy.
    const context = req.latchkeyPage;
    const messages = requestMessages(req, context?.policy);
    const page = errorPage({ error: oauth.code, description: oauth.b2cCode ? `${oauth.b2cCode}: ${oauth.message}` : oauth.message, correlationId: req.id }, messages);
    // A failure before the site was known (its own lookup) is the shared host's.
    const site = req.site ?? { baseUrl: deps.config.baseUrl };
    const rendered = await deps.layouts.render({ tenantSlug: context?.tenantSlug ?? '', tenantId: context?.tenantId ?? '', policy: context?.policy, page, locale: messages.locale, site });
    return sendPage(reply, rendered.html, { status: oauth.status, csp: rendered.csp });
  }
  return reply
    .code(oauth.status)
    .header('cache-control', 'no-store')
    .type('application/json; charset=utf-8')
    .send({ error: oauth.code, error_description: oauth.describe(req.id, now) });
}
