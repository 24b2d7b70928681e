import { conflict, invalid, notFound, ServiceError } from '../model/errors.js';
import type { App, AppPermission, EnterpriseApp, Tenant, User } from '../model/entities.js';
import { GUID } from '../model/patterns.js';
import type { Store } from '../store/store.js';
import { ADMIN_API_URI, ensureAdminApi } from './admin-api.js';
import { definedOnApi } from './apps.js';
import type { Deps, ProvisionDeps } from './deps.js';

/**
 * Multi-tenant apps in other tenants (Azure AD's application and service principal): an app registered
 * once in its home tenant declares the permissions it needs (AppPermission); the first consent in
 * another tenant provisions it there as an enterprise app. A user consents for themselves to delegated
 * scopes (services/consent.ts); a Global Administrator consents for the whole tenant, application
 * permissions (roles) included. Removing the enterprise app ends its consents and tokens in that tenant.
 */

/** An app used in a tenant other than its home: a multi-tenant app there as a guest. */
export function isGuest(app: App, tenantId: string): boolean {
  return app.multiTenant && app.tenantId !== tenantId;
}

/**
 * The app a client id names for a request in `tenantId`: the tenant's own app, or a multi-tenant app of
 * another tenant (whether it is provisioned there is the caller's question: consent provisions it).
 */
export async function findClient(store: Store, tenantId: string, clientId: string): Promise<App | undefined> {
  const own = await store.findApp(tenantId, clientId);
  if (own) return own;
  const other = await store.findAppAnyTenant(clientId);
  return other?.multiTenant ? other : undefined;
}

/** A permission's full name, as scopes are written in requests: `{identifier-uri}/{name}`. */
export const permissionName = (p: Pick<AppPermission, 'api' | 'name'>): string => `${p.api}/${p.name}`;

/** The OpenID scopes an administrator's consent covers for every user (signing in, the profile, refresh). */
const SIGN_IN_SCOPES = ['openid', 'profile', 'email', 'offline_access'];

/** The scopes an administrator consented to in the tenant, by full name (with the sign-in scopes); none without admin consent. */
export function adminConsentedScopes(e: EnterpriseApp | undefined): Set<string> {
  if (!e?.adminConsent) return new Set();
  return new Set([...SIGN_IN_SCOPES, ...e.adminConsent.permissions.filter((p) => p.kind === 'scope').map(permissionName)]);
}

/** The app roles on `api` an administrator consented to for the daemon, that the app still declares. */
export async function consentedRoles(store: Store, app: App, e: EnterpriseApp | undefined, api: string): Promise<string[]> {
  if (!e?.adminConsent) return [];
  const declared = new Set((await store.listAppPermissions(app.clientId)).filter((p) => p.kind === 'role' && p.api === api).map((p) => p.name));
  return e.adminConsent.permissions.filter((p) => p.kind === 'role' && p.api === api && declared.has(p.name)).map((p) => p.name);
}

// Permissions a multi-tenant app declares.

/**
 * The API a permission names, in the app's home tenant: `urn:latchkey:admin` (every tenant has it) or a
 * multi-tenant API app of the same tenant, by identifier URI or client id.
 */
async function permissionApi(d: Pick<ProvisionDeps, 'store' | 'clock'>, tenant: Tenant, api: string): Promise<App> {
  if (api === ADMIN_API_URI) return ensureAdminApi(d, tenant);
  const found = GUID.test(api) ? await d.store.findApp(tenant.id, api.toLowerCase()) : await d.store.findAppByIdentifierUri(tenant.id, api);
  if (!found) throw notFound(`no API '${api}' in tenant '${tenant.slug}'`);
  if (found.type !== 'api') throw invalid(`app '${api}' is not of type api`);
  if (!found.multiTenant) {
    throw invalid(`the API '${found.identifierUri ?? api}' is not multi-tenant: other tenants cannot consent to it (create it with --multi-tenant, or name ${ADMIN_API_URI})`);
  }
  return found;
}

export async function declarePermission(d: ProvisionDeps, tenant: Tenant, app: App, api: string, kind: 'scope' | 'role', name: string): Promise<AppPermission[]> {
  if (!app.multiTenant) throw invalid(`app '${app.clientId}' is not multi-tenant: its permissions are grants (latchkey app grant)`);
  if (app.tenantId !== tenant.id) throw invalid(`app '${app.clientId}' is registered in another tenant`);
  const target = await permissionApi(d, tenant, api);
  const defined = await definedOnApi(d, target, kind);
  if (!defined.includes(name)) throw invalid(`the API '${target.identifierUri}' does not define the ${kind} '${name}'`);
  if (kind === 'role' && app.type !== 'daemon') throw invalid('roles (application permissions) are for daemon apps; a user-facing app asks for --scope');
  if (kind === 'scope' && app.type === 'daemon') throw invalid('a daemon has no user: declare a --role instead');
  const p: AppPermission = { clientId: app.clientId, api: target.identifierUri!, kind, name };
  await d.store.addAppPermission(p);
  await d.audit.record({ tenantId: tenant.id, event: 'app_permission', outcome: 'success', clientId: app.clientId, detail: `added ${kind} ${permissionName(p)}` });
  return d.store.listAppPermissions(app.clientId);
}

export async function removePermission(d: ProvisionDeps, tenant: Tenant, app: App, api: string, kind: 'scope' | 'role', name: string): Promise<AppPermission[]> {
  const p: AppPermission = { clientId: app.clientId, api, kind, name };
  if (!(await d.store.removeAppPermission(p))) throw notFound(`app '${app.clientId}' does not declare the ${kind} ${permissionName(p)}`);
  await d.audit.record({ tenantId: tenant.id, event: 'app_permission', outcome: 'success', clientId: app.clientId, detail: `removed ${kind} ${permissionName(p)}` });
  return d.store.listAppPermissions(app.clientId);
}

// Enterprise apps.

/**
 * Provisions the app in `tenant` (and the publisher's multi-tenant APIs among `apis`, which its
 * permissions name) if it is not there yet; audited once. Returns whether the app was created now.
 */
export async function provision(d: Pick<Deps, 'store' | 'clock' | 'audit'>, tenant: Tenant, app: App, how: { by: string; apis?: string[] }): Promise<boolean> {
  const now = d.clock.now();
  const created = await d.store.saveEnterpriseApp({ tenantId: tenant.id, clientId: app.clientId, homeTenantId: app.tenantId, adminConsent: null, createdAt: now });
  if (created) await d.audit.record({ tenantId: tenant.id, event: 'enterprise_app_created', outcome: 'success', clientId: app.clientId, subject: how.by, detail: `home tenant ${app.tenantId}` });
  for (const uri of how.apis ?? []) {
    if (uri === ADMIN_API_URI) continue;
    const api = await d.store.findAppByIdentifierUri(app.tenantId, uri);
    if (api && isGuest(api, tenant.id)) await provision(d, tenant, api, { by: how.by });
  }
  return created;
}

/**
 * A Global Administrator's consent for the whole tenant: the app's declared permissions (those asked
 * for, or all), delegated and application alike. Provisions the app (and its APIs) when needed.
 */
export async function grantAdminConsent(
  d: Pick<Deps, 'store' | 'clock' | 'audit'>,
  tenant: Tenant,
  app: App,
  admin: { user: User; isAdmin: boolean },
  permissions: Omit<AppPermission, 'clientId'>[],
  ip: string,
): Promise<EnterpriseApp> {
  if (!admin.isAdmin) throw new ServiceError('forbidden', `only a Global Administrator of ${tenant.displayName} can consent for the organization`);
  await provision(d, tenant, app, { by: admin.user.id, apis: [...new Set(permissions.map((p) => p.api))] });
  const before = await d.store.findEnterpriseApp(tenant.id, app.clientId);
  const merged = new Map<string, Omit<AppPermission, 'clientId'>>();
  for (const p of [...(before?.adminConsent?.permissions ?? []), ...permissions]) merged.set(`${p.kind} ${permissionName(p)}`, { api: p.api, kind: p.kind, name: p.name });
  const now = d.clock.now();
  const e: EnterpriseApp = {
    tenantId: tenant.id,
    clientId: app.clientId,
    homeTenantId: app.tenantId,
    adminConsent: { permissions: [...merged.values()], by: admin.user.id, at: now },
    createdAt: before?.createdAt ?? now,
  };
  await d.store.saveEnterpriseApp(e);
  await d.audit.record({ tenantId: tenant.id, event: 'admin_consent', outcome: 'success', subject: admin.user.id, clientId: app.clientId, ip, detail: permissions.map((p) => `${p.kind} ${permissionName(p)}`).join(' ') || '(sign-in only)' });
  return e;
}

/**
 * Deprovisions a multi-tenant app from a tenant: its enterprise app goes, and with it every user's
 * consent there and every refresh token it holds there; access tokens it holds are refused from then
 * on by Latchkey's own endpoints (userinfo, introspection, the admin and users APIs).
 */
export async function removeEnterpriseApp(d: ProvisionDeps, tenant: Tenant, clientId: string): Promise<void> {
  const id = clientId.toLowerCase();
  if (!GUID.test(id)) throw invalid(`invalid --app '${clientId}': an application (client) id`);
  if (!(await d.store.removeEnterpriseApp(tenant.id, id, d.clock.now()))) {
    const own = await d.store.findApp(tenant.id, id);
    if (own) throw conflict(`app '${id}' is registered in tenant '${tenant.slug}' (its home): app remove takes an enterprise app, a multi-tenant app of another tenant provisioned here`);
    throw notFound(`no enterprise app '${id}' in tenant '${tenant.slug}'`);
  }
  await d.audit.record({ tenantId: tenant.id, event: 'enterprise_app_removed', outcome: 'success', clientId: id, detail: 'consents withdrawn, refresh tokens revoked' });
}

export interface EnterpriseAppView {
  client_id: string;
  name: string;
  type: string;
  home_tenant: string;
  enterprise_app: true;
  admin_consent: { permissions: string[]; by: string; at: string } | null;
  created_at: string;
}

/** The tenant's enterprise apps with their home tenant (slug) and what an administrator consented to. */
export async function listEnterpriseApps(d: Pick<ProvisionDeps, 'store'>, tenant: Tenant): Promise<EnterpriseAppView[]> {
  const out: EnterpriseAppView[] = [];
  for (const e of await d.store.listEnterpriseApps(tenant.id)) {
    const app = await d.store.findAppAnyTenant(e.clientId);
    const home = await d.store.findTenant(e.homeTenantId);
    out.push({
      client_id: e.clientId,
      name: app?.name ?? e.clientId,
      type: app?.type ?? 'unknown',
      home_tenant: home?.slug ?? e.homeTenantId,
      enterprise_app: true,
      admin_consent: e.adminConsent ? { permissions: e.adminConsent.permissions.map((p) => `${p.kind} ${permissionName(p)}`), by: e.adminConsent.by, at: new Date(e.adminConsent.at).toISOString() } : null,
      created_at: new Date(e.createdAt).toISOString(),
    });
  }
  return out;
}
