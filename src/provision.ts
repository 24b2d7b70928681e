import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Deps } from './deps.js';
import type { Clock } from './model/clock.js';
import type { Audit } from './security/audit.js';
import { hashPassword } from './crypto/password.js';
import { randomToken, sha256, type SecretBox } from './crypto/secrets.js';
import { isPolicyFile } from './journeys/loader.js';
import { bundledPoliciesDir } from './paths.js';
import { normalizeSignInName } from './store/normalize.js';
import { StoreConflictError, type Store } from './store/store.js';
import { confidentialTypes, type App, type AppType, type Tenant, type TenantSettings, type User, type UserIdentity } from './model/entities.js';
import { createSigningKey, DEFAULT_GRACE_MS } from './tokens/keyring.js';
import { ADMIN_API_URI, ensureAdminApi } from './services/admin-api.js';
import { newSecret } from './services/app-secrets.js';
import { ProvisionError } from './provision-error.js';

/**
 * Operations on tenants, apps, users and keys shared by the CLI and first start. Each validates its
 * input and throws `ProvisionError` with a one-line message.
 */
export { ProvisionError };

export interface ProvisionDeps {
  store: Store;
  secrets: SecretBox;
  clock: Clock;
  policiesDir: string;
  passwordCost: number;
  audit: Audit;
}

const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** First path segments with their own meaning. */
const RESERVED_SLUGS = new Set(['tfp', 'static', 'playground', 'health', 'healthz', 'readyz', 'metrics', 'admin', 'favicon.ico', 'common', 'organizations']);
export const DEFAULT_POLICY = 'B2C_1_signupsignin';

export async function createTenant(
  d: ProvisionDeps,
  slug: string,
  opts: { displayName?: string; defaultPolicy?: string; issuerPattern?: 'tenant' | 'tfp'; id?: string } = {},
): Promise<Tenant> {
  if (!SLUG.test(slug) || RESERVED_SLUGS.has(slug) || GUID.test(slug)) {
    throw new ProvisionError(`invalid tenant slug '${slug}': use 2-63 lower-case letters, digits and '-' (not ${[...RESERVED_SLUGS].slice(0, 3).join(', ')}…)`);
  }
  if (await d.store.findTenant(slug)) throw new ProvisionError(`tenant '${slug}' already exists`);
  // Moving off B2C: the tenant keeps its GUID, so the issuer path /{GUID}/v2.0/ stays what apps validate.
  const id = opts.id?.toLowerCase() ?? randomUUID();
  if (!GUID.test(id)) throw new ProvisionError(`invalid --id '${opts.id ?? ''}': a tenant id is a GUID such as 775527ff-9a37-4307-8b3d-cc311f58d925`);
  if (await d.store.findTenant(id)) throw new ProvisionError(`a tenant with id ${id} already exists`);
  const now = d.clock.now();
  const tenant: Tenant = {
    id,
    legacyRopc: null,
    extensionsAppId: null,
    slug,
    displayName: opts.displayName ?? slug.charAt(0).toUpperCase() + slug.slice(1),
    defaultPolicy: opts.defaultPolicy ?? DEFAULT_POLICY,
    issuerPattern: opts.issuerPattern ?? 'tenant',
    configVersion: 0,
    createdAt: now,
  };
  await d.store.createTenant(tenant);
  const key = await createSigningKey(tenant.id, d.secrets, now);
  await d.store.rotateSigningKey(key, now);
  copyDefaultPolicies(d.policiesDir, slug, tenant.displayName);
  await ensureAdminApi(d, tenant);
  await d.audit.record({ tenantId: tenant.id, event: 'tenant_created', outcome: 'success', detail: slug });
  return tenant;
}

/** Gives a new tenant the five standard policies (from the package's `policies/demo/`), unless it has a folder. */
export function copyDefaultPolicies(policiesDir: string, slug: string, displayName: string): void {
  const target = join(policiesDir, slug);
  if (existsSync(target)) return;
  const source = join(bundledPoliciesDir, 'demo');
  mkdirSync(target, { recursive: true });
  for (const name of readdirSync(source).filter(isPolicyFile)) {
    const text = readFileSync(join(source, name), 'utf8').replaceAll('Demo', displayName);
    writeFileSync(join(target, name), text);
  }
  const schema = join(bundledPoliciesDir, 'policy.schema.json');
  if (existsSync(schema) && !existsSync(join(policiesDir, 'policy.schema.json'))) cpSync(schema, join(policiesDir, 'policy.schema.json'));
}

/**
 * Tenant settings for moving off another identity provider: the old provider's ROPC endpoint for
 * just-in-time password migration (`null` ends it), and the id B2C's extension attributes are named by.
 */
export async function setTenantSettings(
  d: ProvisionDeps,
  tenant: Tenant,
  input: { legacyRopc?: { tokenUrl: string; clientId: string; scope?: string } | null; extensionsAppId?: string | null },
): Promise<Tenant> {
  const settings: TenantSettings = {};
  if (input.legacyRopc === null) settings.legacyRopc = null;
  else if (input.legacyRopc) {
    const { tokenUrl, clientId } = input.legacyRopc;
    checkUri('--legacy-ropc-url', tokenUrl, false);
    if (!new URL(tokenUrl).pathname.endsWith('/token')) {
      throw new ProvisionError(`invalid --legacy-ropc-url '${tokenUrl}': the old policy's token endpoint, such as https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_ROPC/oauth2/v2.0/token`);
    }
    if (!/^[\w.-]{1,200}$/.test(clientId)) throw new ProvisionError(`invalid --legacy-client-id '${clientId}'`);
    const scope = input.legacyRopc.scope?.trim() || `openid ${clientId}`;
    settings.legacyRopc = { tokenUrl, clientId, scope };
  }
  if (input.extensionsAppId !== undefined) {
    const id = input.extensionsAppId?.replace(/-/g, '').toLowerCase() ?? null;
    if (id !== null && !/^[0-9a-f]{32}$/.test(id)) throw new ProvisionError(`invalid --extensions-app-id '${input.extensionsAppId ?? ''}': the b2c-extensions-app's application id (a GUID)`);
    settings.extensionsAppId = id;
  }
  await d.store.updateTenantSettings(tenant.id, settings);
  await d.audit.record({ tenantId: tenant.id, event: 'tenant_updated', outcome: 'success', detail: Object.keys(settings).join(', ') });
  return requireTenant(d, tenant.id);
}

export async function requireTenant(d: Pick<ProvisionDeps, 'store'>, idOrSlug: string): Promise<Tenant> {
  const t = await d.store.findTenant(idOrSlug.toLowerCase().replace(/\.onmicrosoft\.com$/, ''));
  if (!t) throw new ProvisionError(`no tenant '${idOrSlug}'`);
  return t;
}

function checkUri(kind: string, uri: string, allowHttp: boolean): void {
  let url: URL;
  try {
    url = new URL(uri);
  } catch {
    throw new ProvisionError(`invalid ${kind} '${uri}': not an absolute URL`);
  }
  if (url.hash) throw new ProvisionError(`invalid ${kind} '${uri}': must not contain a fragment`);
  const loopback = url.hostname === 'localhost' || url.hostname === '127.0.0.1' || url.hostname === '[::1]';
  if (url.protocol === 'http:' && !loopback && !allowHttp) {
    throw new ProvisionError(`invalid ${kind} '${uri}': use https (http is allowed for localhost only)`);
  }
  if (url.protocol === 'javascript:' || url.protocol === 'data:') throw new ProvisionError(`invalid ${kind} '${uri}'`);
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
  if (name.length === 0 || name.length > 100) throw new ProvisionError('invalid --name: 1-100 characters');
  const redirectUris = input.redirectUris ?? [];
  const postLogout = input.postLogoutRedirectUris ?? [];
  for (const u of redirectUris) checkUri('--redirect-uri', u, false);
  for (const u of postLogout) checkUri('--post-logout-redirect-uri', u, false);
  if (input.logoutUrl) checkUri('--logout-url', input.logoutUrl, false);
  if ((input.type === 'web' || input.type === 'spa' || input.type === 'native') && redirectUris.length === 0) {
    throw new ProvisionError(`an app of type ${input.type} needs at least one --redirect-uri`);
  }
  if (input.type === 'daemon' && redirectUris.length > 0) throw new ProvisionError('a daemon app has no redirect URIs');
  if (input.identifierUri !== undefined) {
    if (input.type !== 'api') throw new ProvisionError('--identifier-uri is for apps of type api');
    if (!/^[a-z][a-z0-9+.-]*:\/\/?[^\s]+[^/]$/i.test(input.identifierUri)) {
      throw new ProvisionError(`invalid --identifier-uri '${input.identifierUri}': an absolute URI such as https://contoso.example/api or api://tasks`);
    }
    if (await d.store.findAppByIdentifierUri(tenant.id, input.identifierUri)) {
      throw new ProvisionError(`an app with identifier URI '${input.identifierUri}' already exists`);
    }
  }
  const clientId = input.clientId?.toLowerCase() ?? randomUUID();
  if (!GUID.test(clientId)) throw new ProvisionError(`invalid --client-id '${input.clientId ?? ''}': an application (client) id is a GUID`);
  if (input.clientId !== undefined && (await d.store.findAppAnyTenant(clientId))) throw new ProvisionError(`an app with client id ${clientId} already exists`);
  const identifierUri = input.type === 'api' ? (input.identifierUri ?? `api://${clientId}`) : null;
  const secret = confidentialTypes.has(input.type) ? newSecret(d.clock.now(), { description: 'first secret' }) : undefined;
  const clientSecret = secret?.value;
  // B2C's ROPC flow is for public clients (the app would hold users' passwords otherwise too).
  if (input.allowRopc && confidentialTypes.has(input.type)) throw new ProvisionError('--allow-ropc is for public clients (native, spa) only');
  if (input.thirdParty && (input.type === 'daemon' || input.type === 'api')) throw new ProvisionError('--third-party is for apps users sign in to (web, spa, native): a daemon or an API has no user to ask');
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

export async function requireApp(d: Pick<ProvisionDeps, 'store' | 'clock'>, tenant: Tenant, clientId: string): Promise<App> {
  // An API may be named by its identifier URI; Latchkey's own admin API is made on first use.
  if (clientId === ADMIN_API_URI) return ensureAdminApi(d, tenant);
  const app = GUID.test(clientId) ? await d.store.findApp(tenant.id, clientId) : await d.store.findAppByIdentifierUri(tenant.id, clientId);
  if (!app) throw new ProvisionError(`no app '${clientId}' in tenant '${tenant.slug}'`);
  return app;
}

const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** What provisioning needs, taken from the server's (or the CLI's) dependencies. */
export function provisionDeps(deps: Pick<Deps, 'store' | 'secrets' | 'clock' | 'audit' | 'config'>): ProvisionDeps {
  return { store: deps.store, secrets: deps.secrets, clock: deps.clock, policiesDir: deps.config.policiesDir, passwordCost: deps.config.passwordCost, audit: deps.audit };
}

export interface CreateUserInput {
  email: string;
  password: string;
  givenName?: string;
  familyName?: string;
  displayName?: string;
  emailVerified?: boolean;
}

export const MIN_PASSWORD_LENGTH = 8;

export async function createUser(d: ProvisionDeps, tenant: Tenant, input: CreateUserInput): Promise<User> {
  const email = input.email.trim();
  if (!EMAIL.test(email)) throw new ProvisionError(`invalid --email '${input.email}'`);
  if (input.password.length < MIN_PASSWORD_LENGTH) throw new ProvisionError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (input.password.length > 256) throw new ProvisionError('the password must have at most 256 characters');
  if (await d.store.findUserBySignInName(tenant.id, email)) throw new ProvisionError(`a user with email '${email}' already exists`);
  const now = d.clock.now();
  const displayName = input.displayName ?? ([input.givenName, input.familyName].filter(Boolean).join(' ') || null);
  const user: User = {
    id: randomUUID(),
    tenantId: tenant.id,
    email,
    emailVerified: input.emailVerified ?? true,
    signInName: normalizeSignInName(email),
    signInType: 'emailAddress',
    passwordHash: await hashPassword(input.password, d.passwordCost),
    passwordAtLegacy: false,
    givenName: input.givenName ?? null,
    familyName: input.familyName ?? null,
    displayName,
    attributes: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
  };
  await d.store.createUser(user);
  await d.audit.record({ tenantId: tenant.id, event: 'user_created', outcome: 'success', subject: user.id, detail: 'cli' });
  return user;
}

export async function requireUser(d: Pick<ProvisionDeps, 'store'>, tenant: Tenant, idOrEmail: string): Promise<User> {
  const user = idOrEmail.includes('@')
    ? await d.store.findUserBySignInName(tenant.id, idOrEmail)
    : await d.store.findUser(tenant.id, idOrEmail);
  if (!user) throw new ProvisionError(`no user '${idOrEmail}' in tenant '${tenant.slug}'`);
  return user;
}

/** An upstream identity as operators type it: the provider's issuer (google.com…) and the user's id there. */
function checkIdentity(identity: UserIdentity): UserIdentity {
  const issuer = identity.issuer.trim();
  const id = identity.issuerAssignedId.trim();
  if (!/^\S{1,256}$/.test(issuer)) throw new ProvisionError(`invalid --issuer '${identity.issuer}': the provider's domain, such as google.com`);
  if (issuer.endsWith('.onmicrosoft.com')) throw new ProvisionError(`invalid --issuer '${issuer}': that is a local account's issuer; give an identity provider's domain`);
  if (id.length === 0 || id.length > 256) throw new ProvisionError('invalid --issuer-assigned-id: 1-256 characters');
  return { issuer, issuerAssignedId: id };
}

/** Links an upstream identity to a user (it signs in to this account from then on). */
export async function addIdentity(d: ProvisionDeps, tenant: Tenant, user: User, identity: UserIdentity): Promise<UserIdentity[]> {
  const checked = checkIdentity(identity);
  const owner = await d.store.findUserByIdentity(tenant.id, checked);
  if (owner) throw new ProvisionError(`the identity ${checked.issuer} ${checked.issuerAssignedId} already belongs to user ${owner.id}`);
  await d.store.addUserIdentity(tenant.id, user.id, checked, d.clock.now());
  await d.audit.record({ tenantId: tenant.id, event: 'identity_linked', outcome: 'success', subject: user.id, detail: `${checked.issuer} ${checked.issuerAssignedId} (cli)` });
  return d.store.listUserIdentities(tenant.id, user.id);
}

export async function removeIdentity(d: ProvisionDeps, tenant: Tenant, user: User, identity: UserIdentity): Promise<UserIdentity[]> {
  const checked = checkIdentity(identity);
  if (!(await d.store.removeUserIdentity(tenant.id, user.id, checked))) {
    throw new ProvisionError(`user ${user.id} has no identity ${checked.issuer} ${checked.issuerAssignedId}`);
  }
  await d.audit.record({ tenantId: tenant.id, event: 'identity_unlinked', outcome: 'success', subject: user.id, detail: `${checked.issuer} ${checked.issuerAssignedId} (cli)` });
  return d.store.listUserIdentities(tenant.id, user.id);
}

/** The scopes or roles an API defines. */
export async function definedOnApi(d: Pick<ProvisionDeps, 'store'>, api: App, kind: 'scope' | 'role'): Promise<string[]> {
  if (api.type !== 'api') throw new ProvisionError(`app '${api.clientId}' is not of type api: only APIs expose ${kind}s`);
  return kind === 'scope' ? d.store.listAppScopes(api.clientId) : d.store.listAppRoles(api.clientId);
}

/** Adds a scope (delegated permission) or an app role to an API; returns what it defines now. */
export async function defineOnApi(d: Pick<ProvisionDeps, 'store'>, api: App, kind: 'scope' | 'role', name: string, description?: string): Promise<string[]> {
  await definedOnApi(d, api, kind);
  if (!/^[A-Za-z][\w.-]{0,99}$/.test(name)) throw new ProvisionError(`invalid --${kind} '${name}': letters, digits, '.', '_' and '-'`);
  if (description !== undefined && (kind !== 'scope' || description.trim().length === 0 || description.length > 200)) throw new ProvisionError('invalid --description: a scope\'s 1-200 characters, shown on consent pages');
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
  if (api.type !== 'api') throw new ProvisionError(`app '${api.clientId}' is not of type api`);
  const defined = await definedOnApi(d, api, kind);
  if (!defined.includes(name)) {
    throw new ProvisionError(`the API does not define the ${kind} '${name}' (add it with: latchkey app ${kind} add --tenant ${tenant.slug} --app ${api.clientId} --${kind} ${name})`);
  }
  if (kind === 'role' && client.type !== 'daemon') throw new ProvisionError('roles (application permissions) are granted to daemon apps');
  if (kind === 'scope' && client.type === 'daemon') throw new ProvisionError('a daemon has no user: grant it a --role instead');
  await d.store.addGrant({ clientId: client.clientId, apiClientId: api.clientId, kind, name });
  await d.audit.record({ tenantId: tenant.id, event: 'app_grant', outcome: 'success', clientId: client.clientId, detail: `${kind} ${name} on ${api.clientId}` });
  return listGrants(d, client);
}

export async function revokeGrant(d: ProvisionDeps, tenant: Tenant, client: App, api: App, kind: 'scope' | 'role', name: string): Promise<GrantView[]> {
  if (!(await d.store.removeGrant({ clientId: client.clientId, apiClientId: api.clientId, kind, name }))) {
    throw new ProvisionError(`app '${client.clientId}' has no ${kind} '${name}' on '${api.clientId}'`);
  }
  await d.audit.record({ tenantId: tenant.id, event: 'app_revoke', outcome: 'success', clientId: client.clientId, detail: `${kind} ${name} on ${api.clientId}` });
  return listGrants(d, client);
}

export async function listGrants(d: Pick<ProvisionDeps, 'store'>, client: App): Promise<GrantView[]> {
  return (await d.store.listGrants(client.clientId)).map((g) => ({ api: g.apiClientId, kind: g.kind, name: g.name }));
}

export async function rotateKeys(d: ProvisionDeps, tenant: Tenant, graceMs = DEFAULT_GRACE_MS) {
  const now = d.clock.now();
  const key = await createSigningKey(tenant.id, d.secrets, now);
  await d.store.rotateSigningKey(key, now + graceMs);
  await d.audit.record({ tenantId: tenant.id, event: 'key_rotated', outcome: 'success', detail: key.kid });
  return key;
}

/** Removes replaced keys from the JWKS: one by kid, or all of them. The active key cannot be retired. */
export async function retireKeys(d: ProvisionDeps, tenant: Tenant, kid?: string): Promise<string[]> {
  const keys = await d.store.listSigningKeys(tenant.id);
  if (kid) {
    const key = keys.find((k) => k.kid === kid);
    if (!key) throw new ProvisionError(`no key '${kid}' in tenant '${tenant.slug}'`);
    if (key.status === 'active') throw new ProvisionError(`key '${kid}' is the active key: rotate first, then retire it`);
  }
  const retired: string[] = [];
  for (const k of keys) {
    if (k.status === 'grace' && (!kid || k.kid === kid) && (await d.store.deleteSigningKey(tenant.id, k.kid))) retired.push(k.kid);
  }
  for (const k of retired) await d.audit.record({ tenantId: tenant.id, event: 'key_retired', outcome: 'success', detail: k });
  return retired;
}

export const PLAYGROUND_APP = 'playground';

/**
 * First start on an empty database: the `demo` tenant with the standard policies and the
 * `playground` app, whose redirect URI is Latchkey's own token viewer.
 */
export async function ensureDemo(d: ProvisionDeps, baseUrl: string): Promise<Tenant | undefined> {
  if ((await d.store.listTenants()).length > 0) return undefined;
  let tenant: Tenant;
  try {
    tenant = await createTenant(d, 'demo', { displayName: 'Demo' });
  } catch (err) {
    // Several instances starting on one new database: another one made it a moment ago.
    if (err instanceof StoreConflictError || (err instanceof ProvisionError && /already exists/.test(err.message))) return undefined;
    throw err;
  }
  await createApp(d, tenant, {
    name: PLAYGROUND_APP,
    type: 'native',
    redirectUris: [playgroundRedirectUri(baseUrl)],
    postLogoutRedirectUris: [`${baseUrl}/`],
  });
  return tenant;
}

export function playgroundRedirectUri(baseUrl: string): string {
  return `${baseUrl}/playground/callback`;
}

/** Keeps the playground's redirect URI in step with the current base URL (PORT or host may change). */
export async function syncPlayground(d: ProvisionDeps, baseUrl: string): Promise<App | undefined> {
  const demo = await d.store.findTenant('demo');
  if (!demo) return undefined;
  const app = (await d.store.listApps(demo.id)).find((a) => a.name === PLAYGROUND_APP);
  if (!app) return undefined;
  const callback = playgroundRedirectUri(baseUrl);
  if (!app.redirectUris.includes(callback)) {
    app.redirectUris = [...app.redirectUris, callback];
    app.postLogoutRedirectUris = [...new Set([...app.postLogoutRedirectUris, `${baseUrl}/`])];
    await d.store.setAppUris(demo.id, app.clientId, app.redirectUris, app.postLogoutRedirectUris);
  }
  return app;
}
