import { randomUUID } from 'node:crypto';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, invalid, notFound, ServiceError } from '../model/errors.js';
import type { App, Tenant, TenantSettings } from '../model/entities.js';
import { GUID } from '../model/patterns.js';
import { bundledPoliciesDir } from '../paths.js';
import { StoreConflictError } from '../store/store.js';
import { createSigningKey } from '../tokens/keyring.js';
import { ensureAdminApi } from './admin-api.js';
import { createApp, checkUri } from './apps.js';
import type { ProvisionDeps } from './deps.js';
import { isPolicyFile } from './policies.js';

/** Tenants: created with their first signing key, standard policies and admin API; settings for moving off another provider; the demo tenant of a first start. */

const SLUG = /^[a-z0-9][a-z0-9-]{1,62}$/;

/** First path segments with their own meaning. */
const RESERVED_SLUGS = new Set(['tfp', 'static', 'playground', 'health', 'healthz', 'readyz', 'metrics', 'admin', 'favicon.ico', 'common', 'organizations']);

export const DEFAULT_POLICY = 'B2C_1_signupsignin';

/** Calls per second to the old identity provider a tenant may set (`--legacy-rate`). */
export const MAX_LEGACY_RATE = 1000;

/**
 * The B2C tenant's name (`contosob2c`, or `contosob2c.onmicrosoft.com`), lower case and without the
 * domain; it names the tenant in URLs beside its slug and id, so no other tenant may be called so.
 */
async function checkB2cName(d: Pick<ProvisionDeps, 'store'>, name: string, self: { id: string; slug: string } | undefined): Promise<string | null> {
  const b2cName = name.trim().toLowerCase().replace(/\.onmicrosoft\.com$/, '');
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(b2cName) || RESERVED_SLUGS.has(b2cName) || GUID.test(b2cName)) {
    throw invalid(`invalid --b2c-name '${name}': the B2C tenant's name, as in contosob2c.onmicrosoft.com (letters, digits and '-')`);
  }
  if (self && b2cName === self.slug) return null;
  const other = await d.store.findTenant(b2cName, { fresh: true });
  if (other && other.id !== self?.id) throw conflict(`'${b2cName}' already names tenant '${other.slug}'`);
  return b2cName;
}

export async function createTenant(
  d: ProvisionDeps,
  slug: string,
  opts: { displayName?: string; defaultPolicy?: string; issuerPattern?: 'tenant' | 'tfp'; id?: string; b2cName?: string } = {},
): Promise<Tenant> {
  if (!SLUG.test(slug) || RESERVED_SLUGS.has(slug) || GUID.test(slug)) {
    throw invalid(`invalid tenant slug '${slug}': use 2-63 lower-case letters, digits and '-' (not ${[...RESERVED_SLUGS].slice(0, 3).join(', ')}…)`);
  }
  const taken = await d.store.findTenant(slug);
  if (taken) throw conflict(taken.slug === slug ? `tenant '${slug}' already exists` : `'${slug}' is the B2C name of tenant '${taken.slug}'`);
  const b2cName = opts.b2cName === undefined ? null : await checkB2cName(d, opts.b2cName, undefined);
  if (b2cName === slug) throw invalid(`--b2c-name '${opts.b2cName}' is the slug itself: leave it out`);
  // Moving off B2C: the tenant keeps its GUID, so the issuer path /{GUID}/v2.0/ stays what apps validate.
  const id = opts.id?.toLowerCase() ?? randomUUID();
  if (!GUID.test(id)) throw invalid(`invalid --id '${opts.id ?? ''}': a tenant id is a GUID such as 775527ff-9a37-4307-8b3d-cc311f58d925`);
  if (await d.store.findTenant(id)) throw conflict(`a tenant with id ${id} already exists`);
  const now = d.clock.now();
  const tenant: Tenant = {
    id,
    legacyRopc: null,
    extensionsAppId: null,
    b2cName,
    legacyRate: null,
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
 * just-in-time password migration (`null` ends it) and how many calls per second it may get, the id
 * B2C's extension attributes are named by, and the B2C tenant's name (operator only: it names the
 * tenant in URLs).
 */
export async function setTenantSettings(
  d: ProvisionDeps,
  tenant: Tenant,
  input: { legacyRopc?: { tokenUrl: string; clientId: string; scope?: string } | null; extensionsAppId?: string | null; b2cName?: string | null; legacyRate?: number | null },
): Promise<Tenant> {
  const settings: TenantSettings = {};
  if (input.legacyRopc === null) settings.legacyRopc = null;
  else if (input.legacyRopc) {
    const { tokenUrl, clientId } = input.legacyRopc;
    checkUri('--legacy-ropc-url', tokenUrl, false);
    if (!new URL(tokenUrl).pathname.endsWith('/token')) {
      throw invalid(`invalid --legacy-ropc-url '${tokenUrl}': the old policy's token endpoint, such as https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_ROPC/oauth2/v2.0/token`);
    }
    if (!/^[\w.-]{1,200}$/.test(clientId)) throw invalid(`invalid --legacy-client-id '${clientId}'`);
    const scope = input.legacyRopc.scope?.trim() || `openid ${clientId}`;
    settings.legacyRopc = { tokenUrl, clientId, scope };
  }
  if (input.extensionsAppId !== undefined) {
    const id = input.extensionsAppId?.replace(/-/g, '').toLowerCase() ?? null;
    if (id !== null && !/^[0-9a-f]{32}$/.test(id)) throw invalid(`invalid --extensions-app-id '${input.extensionsAppId ?? ''}': the b2c-extensions-app's application id (a GUID)`);
    settings.extensionsAppId = id;
  }
  if (input.b2cName !== undefined) settings.b2cName = input.b2cName === null ? null : await checkB2cName(d, input.b2cName, tenant);
  if (input.legacyRate !== undefined) {
    const rate = input.legacyRate;
    if (rate !== null && (!Number.isInteger(rate) || rate < 1 || rate > MAX_LEGACY_RATE)) throw invalid(`invalid --legacy-rate '${rate}': calls per second to the old identity provider, 1 to ${MAX_LEGACY_RATE}`);
    settings.legacyRate = rate;
  }
  await d.store.updateTenantSettings(tenant.id, settings);
  await d.audit.record({ tenantId: tenant.id, event: 'tenant_updated', outcome: 'success', detail: Object.keys(settings).join(', ') });
  return requireTenant(d, tenant.id);
}

export async function requireTenant(d: Pick<ProvisionDeps, 'store'>, idOrSlug: string): Promise<Tenant> {
  const t = await d.store.findTenant(idOrSlug.toLowerCase().replace(/\.onmicrosoft\.com$/, ''));
  if (!t) throw notFound(`no tenant '${idOrSlug}'`);
  return t;
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
    if (err instanceof StoreConflictError || (err instanceof ServiceError && /already exists/.test(err.message))) return undefined;
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
  if (!app.publicClientRedirectUris.includes(callback)) {
    // The server keeping its own app in step at start-up, not an administrator's change: no audit event.
    return (await d.store.updateApp(demo.id, app.clientId, (current) => ({
      ...current,
      publicClientRedirectUris: [...current.publicClientRedirectUris, callback],
      postLogoutRedirectUris: [...new Set([...current.postLogoutRedirectUris, `${baseUrl}/`])],
    }))) ?? app;
  }
  return app;
}
