import { randomUUID } from 'node:crypto';
import { conflict, invalid, notFound } from '../model/errors.js';
import { confidentialTypes, type App, type AppType, type Tenant } from '../model/entities.js';
import { aRedirectUriOf, PLATFORM_FIELD, PLATFORM_NAME, PLATFORMS, platformOf, presetPlatform, type Platform } from '../model/platforms.js';
import { StoreConflictError } from '../store/store.js';
import { GUID, isLoopbackHost } from '../model/patterns.js';
import { ADMIN_API_URI, ensureAdminApi } from './admin-api.js';
import { newSecret } from './app-secrets.js';
import { consoleClientId } from './console-app.js';
import type { ProvisionDeps } from './deps.js';
import { ensureCommonKeys } from './keys.js';

/**
 * Apps: registered with their platforms' redirect URIs and first secret, and changed later (`app
 * update`); the API an app exposes (identifier URI, scopes, roles); the grants between apps.
 */

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

/** Checks a redirect URI for a platform: web and SPA pages are http(s) (a browser goes there); an app's own scheme only for public clients. */
export function checkRedirectUri(platform: Platform, uri: string): void {
  const kind = `${PLATFORM_NAME[platform]} redirect URI`;
  checkUri(kind, uri, false);
  if (platform !== 'publicClient' && !/^https?:$/.test(new URL(uri).protocol)) {
    throw invalid(`invalid ${kind} '${uri}': an https URL (a custom scheme is for public-client redirect URIs)`);
  }
}

/** The longest list of redirect URIs an app may have, over all its platforms (Azure's limit). */
export const MAX_REDIRECT_URIS = 256;

const IDENTIFIER_URI = /^[a-z][a-z0-9+.-]*:\/\/?[^\s]+[^/]$/i;

/** An identifier URI another app of the tenant may not have; Latchkey's own admin API keeps its own. */
async function checkIdentifierUri(d: Pick<ProvisionDeps, 'store'>, tenant: Tenant, uri: string, self?: string): Promise<void> {
  if (uri === ADMIN_API_URI) throw invalid(`the identifier URI '${ADMIN_API_URI}' is Latchkey's own admin API`);
  if (!IDENTIFIER_URI.test(uri)) throw invalid(`invalid --identifier-uri '${uri}': an absolute URI such as https://contoso.example/api or api://tasks`);
  const holder = await d.store.findAppByIdentifierUri(tenant.id, uri);
  if (holder && holder.clientId !== self) throw conflict(`an app with identifier URI '${uri}' already exists`);
}

/**
 * Each URI in one platform only (it decides how requests through it are treated), valid for its
 * platform. `before`: the registration being changed, to name the platform a URI already has.
 */
function checkPlatforms(app: Pick<App, 'type' | 'multiTenant' | 'webRedirectUris' | 'spaRedirectUris' | 'publicClientRedirectUris'>, before?: App): void {
  const seen = new Map<string, Platform>();
  for (const platform of PLATFORMS) {
    for (const uri of app[PLATFORM_FIELD[platform]]) {
      const other = seen.get(uri);
      if (other && other !== platform) {
        const had = before && platformOf(before, uri);
        throw invalid(had
          ? `the redirect URI '${uri}' is registered as ${aRedirectUriOf(had)} already: a URI belongs to one platform (remove it there first)`
          : `the redirect URI '${uri}' is given for two platforms (${PLATFORM_NAME[other]} and ${PLATFORM_NAME[platform]}): a URI belongs to one platform`);
      }
      seen.set(uri, platform);
      checkRedirectUri(platform, uri);
    }
  }
  if (seen.size > MAX_REDIRECT_URIS) throw invalid(`an app has at most ${MAX_REDIRECT_URIS} redirect URIs`);
  if (app.type === 'daemon' && seen.size > 0) {
    // A multi-tenant daemon's web redirect URIs receive the admin-consent answer only (the authorize endpoint refuses daemons).
    if (!app.multiTenant) throw invalid(DAEMON_NO_REDIRECT);
    if (app.webRedirectUris.length !== seen.size) throw invalid("a multi-tenant daemon's redirect URIs are web redirect URIs (where the admin-consent endpoint answers)");
  }
}

const DAEMON_NO_REDIRECT = 'a daemon app has no redirect URIs: it signs in no user (a multi-tenant one may have web redirect URIs, for the admin-consent answer)';

export interface CreateAppInput {
  name: string;
  /** The preset: which platform `redirectUris` are, whether the app gets a first secret. */
  type: AppType;
  /** Keep an app's id from B2C (its application id), so apps need no new configuration. */
  clientId?: string;
  /** Redirect URIs of the preset's platform: web for web and api, SPA for spa, public client for native. */
  redirectUris?: string[];
  webRedirectUris?: string[];
  spaRedirectUris?: string[];
  publicClientRedirectUris?: string[];
  postLogoutRedirectUris?: string[];
  /** The API the app exposes (any type; an api app gets api://{client id} without one). */
  identifierUri?: string;
  allowImplicit?: boolean;
  allowRopc?: boolean;
  logoutUrl?: string;
  /** Users consent to the scopes it asks for on first use (a consent page). */
  thirdParty?: boolean;
  /** People of other tenants may use it (through /common), once they or their administrator consent. */
  multiTenant?: boolean;
}

const unique = (list: readonly string[]) => [...new Set(list)];

/** Creates an app; confidential types get a 256-bit secret, returned once and stored as SHA-256. */
export async function createApp(d: ProvisionDeps, tenant: Tenant, input: CreateAppInput): Promise<{ app: App; clientSecret?: string }> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 100) throw invalid('invalid --name: 1-100 characters');
  const preset = presetPlatform(input.type);
  const lists: Record<Platform, string[]> = {
    web: [...(input.webRedirectUris ?? [])],
    spa: [...(input.spaRedirectUris ?? [])],
    publicClient: [...(input.publicClientRedirectUris ?? [])],
  };
  const given = input.redirectUris ?? [];
  if (given.length > 0) {
    // A multi-tenant daemon may name where the admin-consent endpoint answers (Azure's daemons do): a web redirect URI.
    const platform = preset ?? (input.multiTenant ? 'web' : undefined);
    if (!platform) throw invalid(DAEMON_NO_REDIRECT);
    for (const u of given) checkUri('--redirect-uri', u, false);
    lists[platform].push(...given);
  }
  const postLogout = input.postLogoutRedirectUris ?? [];
  for (const u of postLogout) checkUri('--post-logout-redirect-uri', u, false);
  if (input.logoutUrl) checkUri('--logout-url', input.logoutUrl, false);
  const platforms = { webRedirectUris: unique(lists.web), spaRedirectUris: unique(lists.spa), publicClientRedirectUris: unique(lists.publicClient) };
  checkPlatforms({ type: input.type, multiTenant: input.multiTenant ?? false, ...platforms });
  if ((input.type === 'web' || input.type === 'spa' || input.type === 'native') && PLATFORMS.every((p) => platforms[PLATFORM_FIELD[p]].length === 0)) {
    throw invalid(`an app of type ${input.type} needs at least one --redirect-uri`);
  }
  if (input.identifierUri !== undefined) await checkIdentifierUri(d, tenant, input.identifierUri);
  const clientId = input.clientId?.toLowerCase() ?? randomUUID();
  if (!GUID.test(clientId)) throw invalid(`invalid --client-id '${input.clientId ?? ''}': an application (client) id is a GUID`);
  if (input.clientId !== undefined && (await d.store.findAppAnyTenant(clientId))) throw conflict(`an app with client id ${clientId} already exists`);
  // Every tenant's console app has an id derived from the tenant's (public) id and is made on first use:
  // a chosen id must not take it first, or that tenant's console could never be signed in to.
  if (input.clientId !== undefined && (await d.store.listTenants()).some((t) => consoleClientId(t.id) === clientId)) {
    throw conflict(`client id ${clientId} is reserved for a tenant's web console app`);
  }
  const identifierUri = input.identifierUri ?? (input.type === 'api' ? `api://${clientId}` : null);
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
    ...platforms,
    postLogoutRedirectUris: unique(postLogout),
    identifierUri,
    allowImplicit: input.allowImplicit ?? false,
    allowRopc: input.allowRopc ?? false,
    logoutUrl: input.logoutUrl ?? null,
    thirdParty: input.thirdParty ?? false,
    multiTenant: input.multiTenant ?? false,
    createdAt: d.clock.now(),
  };
  await d.store.createApp(app);
  // Its tokens are signed with the instance's keys: made now, so every tenant publishes them before the first token.
  if (app.multiTenant) await ensureCommonKeys(d);
  await d.audit.record({ tenantId: tenant.id, event: 'app_created', outcome: 'success', clientId, detail: `${app.type} ${name}` });
  return clientSecret ? { app, clientSecret } : { app };
}

/** A change to one list of URIs: replace it (`set`, the admin API's PATCH), or add and remove (the CLI). */
export interface UriListChange {
  set?: string[];
  add?: string[];
  remove?: string[];
}

/** What `app update` (and the admin API's PATCH) may change: the name, the platforms, logout URIs, the exposed API. */
export interface UpdateAppInput {
  name?: string;
  webRedirectUris?: UriListChange;
  spaRedirectUris?: UriListChange;
  publicClientRedirectUris?: UriListChange;
  postLogoutRedirectUris?: UriListChange;
  /** Expose an API under this identifier URI (or move it there). */
  identifierUri?: string;
}

/** The list after a change; removing a URI the list does not have is an error (a typo would go unseen). */
function changedList(current: string[], change: UriListChange | undefined, what: string): string[] {
  if (!change) return current;
  let next = change.set !== undefined ? unique(change.set) : [...current];
  for (const uri of change.remove ?? []) {
    if (!next.includes(uri)) throw invalid(`'${uri}' is not a registered ${what}`);
    next = next.filter((u) => u !== uri);
  }
  for (const uri of change.add ?? []) if (!next.includes(uri)) next.push(uri);
  return next;
}

const URI_LISTS = [
  ['webRedirectUris', 'web redirect URI'],
  ['spaRedirectUris', 'SPA redirect URI'],
  ['publicClientRedirectUris', 'public-client redirect URI'],
  ['postLogoutRedirectUris', 'post-logout redirect URI'],
] as const;

/**
 * Changes an app registration, as Azure's app registrations are edited: platforms' redirect URIs
 * added and removed (a URI is in one platform only), the exposed API's identifier URI set, the name.
 * Checked as at creation; written in one transaction; audited with what changed.
 */
export async function updateApp(d: ProvisionDeps, tenant: Tenant, app: App, input: UpdateAppInput): Promise<App> {
  if (app.identifierUri === ADMIN_API_URI) throw invalid("Latchkey's own admin API is not changed: it is the same in every tenant");
  const name = input.name?.trim();
  if (name !== undefined && (name.length === 0 || name.length > 100)) throw invalid('invalid --name: 1-100 characters');
  for (const [field, what] of URI_LISTS) {
    const change = input[field];
    for (const uri of [...(change?.set ?? []), ...(change?.add ?? [])]) {
      if (field === 'postLogoutRedirectUris') checkUri(`--post-logout-redirect-uri`, uri, false);
      else if (app.type === 'daemon' && !(app.multiTenant && field === 'webRedirectUris')) throw invalid(`a daemon app has no redirect URIs: it signs in no user (${what} '${uri}')`);
    }
  }
  if (input.identifierUri !== undefined && input.identifierUri !== app.identifierUri) await checkIdentifierUri(d, tenant, input.identifierUri, app.clientId);
  const changes: string[] = [];
  let updated: App | undefined;
  try {
    updated = await d.store.updateApp(tenant.id, app.clientId, (current) => {
      const next: App = { ...current };
      if (name !== undefined && name !== current.name) {
        next.name = name;
        changes.push(`name ${name}`);
      }
      for (const [field, what] of URI_LISTS) {
        next[field] = changedList(current[field], input[field], what);
        const added = next[field].filter((u) => !current[field].includes(u));
        const removed = current[field].filter((u) => !next[field].includes(u));
        if (added.length > 0) changes.push(`+${what} ${added.join(' ')}`);
        if (removed.length > 0) changes.push(`-${what} ${removed.join(' ')}`);
      }
      checkPlatforms(next, current);
      if (input.identifierUri !== undefined && input.identifierUri !== current.identifierUri) {
        next.identifierUri = input.identifierUri;
        changes.push(`identifier URI ${input.identifierUri}`);
      }
      return next;
    });
  } catch (err) {
    if (err instanceof StoreConflictError) throw conflict(`an app with identifier URI '${input.identifierUri ?? ''}' already exists`);
    throw err;
  }
  if (!updated) throw notFound(`no app '${app.clientId}' in tenant '${tenant.slug}'`);
  if (changes.length > 0) await d.audit.record({ tenantId: tenant.id, event: 'app_updated', outcome: 'success', clientId: app.clientId, detail: changes.join('; ').slice(0, 1000) });
  return updated;
}

export async function requireApp(d: Pick<ProvisionDeps, 'store' | 'clock'>, tenant: Tenant, clientId: string): Promise<App> {
  // An API may be named by its identifier URI; Latchkey's own admin API is made on first use.
  if (clientId === ADMIN_API_URI) return ensureAdminApi(d, tenant);
  const app = GUID.test(clientId) ? await d.store.findApp(tenant.id, clientId) : await d.store.findAppByIdentifierUri(tenant.id, clientId);
  if (!app) throw notFound(`no app '${clientId}' in tenant '${tenant.slug}'`);
  return app;
}

/** An app exposes an API (scopes, roles) once it has an identifier URI, whatever its type. */
function exposesApi(api: App, kind: 'scope' | 'role'): void {
  if (api.identifierUri === null) {
    throw invalid(`app '${api.clientId}' exposes no API: give it an identifier URI first (latchkey app update --app ${api.clientId} --identifier-uri api://${api.clientId}), then its ${kind}s`);
  }
}

/** The scopes or roles an API defines. */
export async function definedOnApi(d: Pick<ProvisionDeps, 'store'>, api: App, kind: 'scope' | 'role'): Promise<string[]> {
  exposesApi(api, kind);
  return kind === 'scope' ? d.store.listAppScopes(api.clientId) : d.store.listAppRoles(api.clientId);
}

/**
 * Adds a scope (delegated permission) or an app role to an API; returns what it defines now. A scope
 * with `adminConsent` is one only an administrator may consent to (for the whole tenant): other users
 * of a tenant the API is not consented in see "Need admin approval".
 */
export async function defineOnApi(d: Pick<ProvisionDeps, 'store'>, api: App, kind: 'scope' | 'role', name: string, description?: string, adminConsent?: boolean): Promise<string[]> {
  await definedOnApi(d, api, kind);
  if (!/^[A-Za-z][\w.-]{0,99}$/.test(name)) throw invalid(`invalid --${kind} '${name}': letters, digits, '.', '_' and '-'`);
  if (description !== undefined && (kind !== 'scope' || description.trim().length === 0 || description.length > 200)) throw invalid('invalid --description: a scope\'s 1-200 characters, shown on consent pages');
  if (adminConsent && kind !== 'scope') throw invalid('--admin-consent is for scopes: app roles are always consented by an administrator');
  if (kind === 'scope') await d.store.addAppScope(api.clientId, name, description?.trim(), adminConsent ?? false);
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
  exposesApi(api, kind);
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
