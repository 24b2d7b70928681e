import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Deps } from '../services/deps.js';
import type { App, Tenant } from '../model/entities.js';

/**
 * CORS for the token and userinfo endpoints: only origins of the tenant's SPA redirect URIs (of apps
 * of any type) may call them from a browser — or of the SPA redirect URIs of the multi-tenant app the
 * request's `client_id` names (a guest here, or at `/common` without a tenant). Requests without an
 * Origin header (backends) cost nothing.
 */
export async function allowSpaOrigin(deps: Deps, tenant: Tenant | undefined, req: FastifyRequest, reply: FastifyReply): Promise<boolean> {
  const origin = req.headers.origin;
  if (typeof origin !== 'string' || origin.length > 300) return false;
  reply.header('vary', 'Origin');
  const spaAt = (a: App) => a.spaRedirectUris.some((u) => originOf(u) === origin);
  let allowed = tenant !== undefined && (await deps.store.listApps(tenant.id)).some(spaAt);
  const clientId = (req.body as Record<string, unknown> | undefined)?.client_id;
  if (!allowed && typeof clientId === 'string' && /^[\w-]{1,64}$/.test(clientId)) {
    const app = await deps.store.findAppAnyTenant(clientId);
    allowed = app !== undefined && app.multiTenant && spaAt(app);
  }
  if (allowed) {
    reply.header('access-control-allow-origin', origin);
    reply.header('access-control-expose-headers', 'WWW-Authenticate');
  }
  return allowed;
}

/** Preflight answer: methods and headers the browser may use. */
export function preflightHeaders(reply: FastifyReply): void {
  reply.header('access-control-allow-methods', 'GET, POST, OPTIONS');
  reply.header('access-control-allow-headers', 'Authorization, Content-Type, client-request-id, return-client-request-id, x-client-sku, x-client-ver, x-client-os, x-client-cpu, x-client-current-telemetry, x-client-last-telemetry, x-ms-lib-capability, x-app-name, x-app-ver');
  reply.header('access-control-max-age', '600');
}

function originOf(uri: string): string | undefined {
  try {
    return new URL(uri).origin;
  } catch {
    return undefined;
  }
}
