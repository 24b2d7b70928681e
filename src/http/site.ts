import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Site } from '../model/site.js';
import type { Deps } from '../services/deps.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Where the request came in: the shared host, or a tenant's own (set before routing). */
    site: Site;
  }
}

const PROBES = new Set(['/health', '/healthz', '/readyz', '/metrics']);

/** A Host header's value as a host name and an optional port (IPv6 literals and oddities are the shared host's). */
const HOST = /^([a-z0-9.-]{1,253})(?::(\d{1,5}))?$/;

/**
 * Finds the site of every request before it is routed. The host is the `Host` header (or, from a proxy
 * LATCHKEY_TRUST_PROXY names, `X-Forwarded-Host`: Fastify's `request.host`). A host that is a tenant's
 * own (custom domain, host pattern) makes the request that tenant's: its URLs are written with the host
 * as the request wrote it, port included. Any other host gets LATCHKEY_BASE_URL: a Host header nobody
 * registered never makes its way into an issuer, an endpoint or a redirect.
 */
export function registerSites(app: FastifyInstance, deps: Deps): void {
  const shared: Site = Object.freeze({ baseUrl: deps.config.baseUrl });
  // Never below the shared host's scheme: behind a proxy that terminates TLS but is not trusted to say
  // so, the request arrives as http although the browser used https.
  const sharedScheme = new URL(deps.config.baseUrl).protocol;
  app.decorateRequest('site', null as unknown as Site);
  // A callback hook, not an async one: it runs on every request, and a promise per request (with the
  // directory's chain of them) showed in the CPU per answer of discovery and JWKS. The site is found
  // without a promise whenever the directory has the host in memory; only a lookup that must read
  // (domains due to be read again, a pattern's tenant not seen yet) waits.
  app.addHook('onRequest', (req, _reply, done) => {
    // Probes answer whatever the host, and without the database (liveness must not depend on it).
    if (PROBES.has(req.url.split('?', 1)[0]!)) {
      req.site = shared;
      return done();
    }
    const host = req.host.toLowerCase();
    const m = HOST.exec(host);
    if (!m) {
      req.site = shared;
      return done();
    }
    const known = deps.tenants.tenantIdForHostNow(m[1]!);
    if (known !== undefined) {
      req.site = known === null ? shared : siteFor(req, host, known);
      return done();
    }
    deps.tenants.forHost(m[1]!).then((tenant) => {
      req.site = tenant ? siteFor(req, host, tenant.id) : shared;
      done();
    }, done);
  });

  function siteFor(req: FastifyRequest, host: string, tenantId: string): Site {
    const scheme = req.protocol === 'https' ? 'https:' : sharedScheme;
    return { baseUrl: `${scheme}//${host}`, tenantId };
  }
}
