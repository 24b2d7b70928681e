import { randomUUID } from 'node:crypto';
import { conflict, invalid, notFound } from '../model/errors.js';
import { confidentialTypes, type App, type AppType, type Tenant } from '../model/entities.js';
import { GUID, isLoopbackHost } from '../model/patterns.js';
import { ADMIN_API_URI, ensureAdminApi } from './admin-api.js';
import { newSecret } from './app-secrets.js';
import type { ProvisionDeps } from './deps.js';

/** Apps: registered with their redirect URIs and first secret; APIs' scopes and roles; the grants between apps. */

export function checkUri(kind: string, uri: string, allowHttp: boolean): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw invalid(`invalid ${kind} '${uri}': not an absolute URL`);
  }
  if (url.hash) throw invalid(`invalid ${kind} '${uri}': must not contain a fragment`);
  const loopback = isLoopbackHost(url.hostname);
  if (url.protocol === 'http:' && !loopback && !allowHttp) {
    throw invalid(`invalid ${kind} '${uri}': use https (http is allowed for localhost only)`);
  }
  if (url.protocol === 'javascript:' || url.protocol === 'data:') throw invalid(`invalid ${kind} '${uri}'`);
}

export interface CreateAppInput {
  name: string;
  type: AppType;
  /** Keep an app's id from B2C (its application id), so apps need no new configuration. */
  clientId?: string;
  redirectUris?: string[];
  postLogoutRedirectUris?: string[];
  identifierUri?: string;
  allowImplicit?: boolean;
  allowRopc?: boolean;
  logoutUrl?: string;
  /** Users consent to the scopes it asks for on first use (a consent page). */
  thirdParty?: boolean;
}

/** Creates an app; confidential types get a 256-bit secret, returned once and stored as SHA-256. */
export async function createApp(d: ProvisionDeps, tenant: Tenant, input: CreateAppInput): Promise<{ app: App; clientSecret?: string }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) throw invalid('invalid --name: 1-100 characters');
  const redirectUris = input.redirectUris ?? [];
  const postLogout = input.postLogoutRedirectUris ?? [];
  for (const u of redirectUris) checkUri('--redirect-uri', u, false);
  for (const u of postLogout) checkUri('--post-logout-redirect-uri', u, false);
  if (input.logoutUrl) checkUri('--logout-url', input.logoutUrl, false);
  if ((input.type === 'web' || input.type === 'spa' || input.type === 'native') && redirectUris.length === 0) {
    throw invalid(`an app of type ${input.type} needs at least one --redirect-uri`);
  }
  if (input.type === 'daemon' && redirectUris.length > 0) throw invalid('a daemon app has no redirect URIs');
  if (input.identifierUri !== undefined) {
    if (input.type !== 'api') throw invalid('--identifier-uri is for apps of type api');
    if (!/^[a-z][a-z0-9+.-]*:\/\/?[^\s]+[^/]$/i.test(input.identifierUri)) {
      throw invalid(`invalid --identifier-uri '${input.identifierUri}': an absolute URI such as https://contoso.example/api or api://tasks`);
    }
    if (await d.store.findAppByIdentifierUri(tenant.id, input.identifierUri)) {
      throw conflict(`an app with identifier URI '${input.identifierUri}' already exists`);
    }
  }
  const clientId = input.clientId?.toLowerCase() ?? randomUUID();
  if (!GUID.test(clientId)) throw invalid(`invalid --client-id '${input.clientId ?? ''}': an application (client) id is a GUID`);
  if (input.clientId !== undefined && (await d.store.findAppAnyTenant(clientId))) throw conflict(`an app with client id ${clientId} already exists`);
  const identifierUri = input.type === 'api' ? (input.identifierUri ?? `api://${clientId}`) : null;
  const secret = confidentialTypes.has(input.type) ? newSecret(d.clock.now(), { description: 'first secret' }) : undefined;
  const clientSecret = secret?.value;
  // B2C's ROPC flow is for public clients (the app would hold users' passwords otherwise too).
  if (input.allowRopc && confidentialTypes.has(input.type)) throw invalid('--allow-ropc is for public clients (native, spa) only');
  if (input.thirdParty && (input.type === 'daemon' || input.type === 'api')) throw invalid('--third-party is for apps users sign in to (web, spa, native): a daemon or an API has no user to ask');
  const app: App = {
    clientId,
    tenantId: tenant.id,
    name,
    type: input.type,
    secrets: secret ? [secret.record] : [],
    redirectUris: [...new Set(redirectUris)],
    postLogoutRedirectUris: [...new Set(postLogout)],
    identifierUri,
    allowImplicit: input.allowImplicit ?? false,
    allowRopc: input.allowRopc ?? false,
    logoutUrl: input.logoutUrl ?? null,
    thirdParty: input.thirdParty ?? false,
    createdAt: d.clock.now(),
  };
  await d.store.createApp(app);
  await d.audit.record({ tenantId: tenant.id, event: 'app_created', outcome: 'success', clientId, detail: `${app.type} ${name}` });
  return clientSecret ? { app, clientSecret } : { app };
}

/** Replaces an app's redirect URIs and post-logout redirect URIs (the same rules as at registration); audited. */
export async function setAppRedirectUris(d: ProvisionDeps, tenant: Tenant, app: App, uris: { redirectUris: string[]; postLogoutRedirectUris: string[] }): Promise<App> {
  const redirectUris = [...new Set(uris.redirectUris.map((u) => u.trim()).filter((u) => u !== ''))];
  const postLogout = [...new Set(uris.postLogoutRedirectUris.map((u) => u.trim()).filter((u) => u !== ''))];
  for (const u of redirectUris) checkUri('--redirect-uri', u, false);
  for (const u of postLogout) checkUri('--post-logout-redirect-uri', u, false);
  if ((app.type === 'web' || app.type === 'spa' || app.type === 'native') && redirectUris.length === 0) throw invalid(`an app of type ${app.type} needs at least one redirect URI`);
  if (app.type === 'daemon' && redirectUris.length > 0) throw invalid('a daemon app has no redirect URIs');
  await d.store.setAppUris(tenant.id, app.clientId, redirectUris, postLogout);
  await d.audit.record({ tenantId: tenant.id, event: 'app_updated', outcome: 'success', clientId: app.clientId, detail: `redirect URIs: ${redirectUris.length}, post-logout: ${postLogout.length}` });
  return { ...app, redirectUris, postLogoutRedirectUris: postLogout };
}

export async function requireApp(d: Pick<ProvisionDeps, 'store' | 'clock'>, tenant: Tenant, clientId: string): Promise<App> {
  // An API may be named by its identifier URI; Latchkey's own admin API is made on first use.
  if (clientId === ADMIN_API_URI) return ensureAdminApi(d, tenant);
  const app = GUID.test(clientId) ? await d.store.findApp(tenant.id, clientId) : await d.store.findAppByIdentifierUri(tenant.id, clientId);
  if (!app) throw notFound(`no app '${clientId}' in tenant '${tenant.slug}'`);
  return app;
}

/** The scopes or roles an API defines. */
export async function definedOnApi(d: Pick<ProvisionDeps, 'store'>, api: App, kind: 'scope' | 'role'): Promise<string[]> {
  if (api.type !== 'api') throw invalid(`app '${api.clientId}' is not of type api: only APIs expose ${kind}s`);
  return kind === 'scope' ? d.store.listAppScopes(api.clientId) : d.store.listAppRoles(api.clientId);
}

/** Adds a scope (delegated permission) or an app role to an API; returns what it defines now. */
export async function defineOnApi(d: Pick<ProvisionDeps, 'store'>, api: App, kind: 'scope' | 'role', name: string, description?: string): Promise<string[]> {
  await definedOnApi(d, api, kind);
  if (!/^[A-Za-z][\w.-]{0,99}$/.test(name)) throw invalid(`invalid --${kind} '${name}': letters, digits, '.', '_' and '-'`);
  if (description !== undefined && (kind !== 'scope' || description.trim().length === 0 || description.length > 200)) throw invalid('invalid --description: a scope\'s 1-200 characters, shown on consent pages');
  if (kind === 'scope') await d.store.addAppScope(api.clientId, name, description?.trim());
  else await d.store.addAppRole(api.clientId, name);
  return definedOnApi(d, api, kind);
}

export interface GrantView {
  api: string;
  kind: 'scope' | 'role';
  name: string;
}

/** Grants a client a scope of an API (users' delegation) or, for a daemon, an app role; audited. */
export async function grantApp(d: ProvisionDeps, tenant: Tenant, client: App, api: App, kind: 'scope' | 'role', name: string): Promise<GrantView[]> {
  if (api.type !== 'api') throw invalid(`app '${api.clientId}' is not of type api`);
  const defined = await definedOnApi(d, api, kind);
  if (!defined.includes(name)) {
    throw invalid(`the API does not define the ${kind} '${name}' (add it with: latchkey app ${kind} add --tenant ${tenant.slug} --app ${api.clientId} --${kind} ${name})`);
  }
  if (kind === 'role' && client.type !== 'daemon') throw invalid('roles (application permissions) are granted to daemon apps');
  if (kind === 'scope' && client.type === 'daemon') throw invalid('a daemon has no user: grant it a --role instead');
  await d.store.addGrant({ clientId: client.clientId, apiClientId: api.clientId, kind, name });
  await d.audit.record({ tenantId: tenant.id, event: 'app_grant', outcome: 'success', clientId: client.clientId, detail: `${kind} ${name} on ${api.clientId}` });
  return listGrants(d, client);
}

export async function revokeGrant(d: ProvisionDeps, tenant: Tenant, client: App, api: App, kind: 'scope' | 'role', name: string): Promise<GrantView[]> {
  if (!(await d.store.removeGrant({ clientId: client.clientId, apiClientId: api.clientId, kind, name }))) {
    throw notFound(`app '${client.clientId}' has no ${kind} '${name}' on '${api.clientId}'`);
  }
  await d.audit.record({ tenantId: tenant.id, event: 'app_revoke', outcome: 'success', clientId: client.clientId, detail: `${kind} ${name} on ${api.clientId}` });
  return listGrants(d, client);
}

export async function listGrants(d: Pick<ProvisionDeps, 'store'>, client: App): Promise<GrantView[]> {
  return (await d.store.listGrants(client.clientId)).map((g) => ({ api: g.apiClientId, kind: g.kind, name: g.name }));
}
