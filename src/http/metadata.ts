import type { FastifyInstance } from 'fastify';
import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import { discoveryDocument } from '../oauth/discovery.js';
import { fixedTenantRoute } from './tenant-routes.js';

/** Metadata changes only with policies and keys; clients may cache it for an hour. */
const METADATA_CACHE = 'public, max-age=3600';
const MAX_DOCUMENTS = 2000;

/**
 * OpenID Provider Metadata and JWKS: built once per change, served from memory, any origin (CORS). Both
 * read only what never changes about a tenant (its ids, issuer pattern, default policy), so they find it
 * without a store read (fixedTenantRoute); the policy (its file) and the keys have rules of their own.
 */
export function registerMetadataRoutes(app: FastifyInstance, deps: Deps): void {
  const documents = new Map<string, { policy: Policy; json: string }>();

  fixedTenantRoute(app, deps, ['GET'], 'v2.0/.well-known/openid-configuration', 'json', async (req, reply, tp) => {
    // One document per host too: the issuer and endpoints are written with the host the request came to.
    const key = `${req.site.baseUrl}|${tp.tenant.id}|${tp.tenant.issuerPattern}|${tp.tenantSegment}|${tp.form}|${tp.policy.id}`;
    let cached = documents.get(key);
    if (!cached || cached.policy !== tp.policy) {
      cached = { policy: tp.policy, json: JSON.stringify(discoveryDocument(req.site.baseUrl, tp.tenant, tp.policy, tp)) };
      // Bounded: the port of a tenant's host is as the client wrote it, so keys are not a closed set.
      if (documents.size >= MAX_DOCUMENTS) documents.clear();
      documents.set(key, cached);
    }
    return reply
      .header('cache-control', METADATA_CACHE)
      .header('access-control-allow-origin', '*')
      .type('application/json; charset=utf-8')
      .send(cached.json);
  });

  fixedTenantRoute(app, deps, ['GET'], 'discovery/v2.0/keys', 'json', async (_req, reply, tp) => {
    // From memory without a promise while the key ring's check is recent (it is, but once a second).
    const keys = deps.keys.forTenantNow(tp.tenant.id) ?? (await deps.keys.forTenant(tp.tenant.id));
    return reply
      .header('cache-control', METADATA_CACHE)
      .header('access-control-allow-origin', '*')
      .type('application/json; charset=utf-8')
      .send(keys.jwksJson);
  });
}
