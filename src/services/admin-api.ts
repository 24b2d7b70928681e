import { randomUUID } from 'node:crypto';
import type { Deps } from './deps.js';
import { builtInApp, createBuiltInApp } from './built-in-apps.js';
import { type App, type Tenant } from '../model/entities.js';

/**
 * Latchkey's own API in every tenant: the users API (Graph-compatible) and the operators' APIs take
 * access tokens for it. It is an ordinary `api` app with a fixed identifier URI and four app roles, so
 * a daemon is granted roles on it as on any API (`app grant --api urn:latchkey:admin --role …`) and asks
 * for `scope=urn:latchkey:admin/.default` with the client credentials grant.
 */
export const ADMIN_API_URI = 'urn:latchkey:admin';
export const ADMIN_API_NAME = 'Latchkey admin API';
export const ADMIN_ROLES = ['Admin.ReadWrite.All', 'Admin.Read.All', 'User.ReadWrite.All', 'User.Read.All'] as const;
export type AdminRole = (typeof ADMIN_ROLES)[number];

/** The tenant's built-in admin API, created (with its roles) if it is not there yet. */
export async function ensureAdminApi(d: Pick<Deps, 'store' | 'clock'>, tenant: Tenant): Promise<App> {
  let api = await d.store.findAppByIdentifierUri(tenant.id, ADMIN_API_URI);
  if (!api) {
    await createBuiltInApp(d, builtInApp({ clientId: randomUUID(), tenantId: tenant.id, name: ADMIN_API_NAME, type: 'api', identifierUri: ADMIN_API_URI }, d.clock.now()));
    api = (await d.store.findAppByIdentifierUri(tenant.id, ADMIN_API_URI))!;
  }
  const roles = await d.store.listAppRoles(api.clientId);
  for (const role of ADMIN_ROLES) if (!roles.includes(role)) await d.store.addAppRole(api.clientId, role);
  return api;
}
