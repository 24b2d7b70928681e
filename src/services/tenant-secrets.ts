import { invalid, notFound } from '../model/errors.js';
import type { Deps } from './deps.js';
import { isServerSetting, TENANT_SECRET_NAME, type SecretRef } from '../model/secret-ref.js';
import type { Tenant } from '../model/entities.js';

/**
 * A tenant's secrets: values a policy or identity-provider file names as `{ "secret": NAME }` (a
 * connector's password, an upstream client secret). Set by the operator (CLI) or the tenant's
 * administrator (admin API), sealed under LATCHKEY_MASTER_KEY, and never read back by either: only
 * the code that uses one opens it. This is how a tenant's administrator configures a secret without
 * being able to name the server's environment.
 */
type SecretDeps = Pick<Deps, 'store' | 'clock' | 'audit' | 'secrets'>;

/** What listing shows: names and times, never values. */
export interface TenantSecretView {
  name: string;
  createdAt: string;
  updatedAt: string;
}

const MAX_VALUE_BYTES = 16 * 1024;
const MAX_SECRETS = 100;

function checkName(name: string): void {
  if (!TENANT_SECRET_NAME.test(name)) throw invalid(`invalid --name '${name}': a letter, then up to 63 letters, digits, '_', '.' or '-'`);
}

export async function setTenantSecret(d: SecretDeps, tenant: Tenant, name: string, value: string, by: string): Promise<TenantSecretView> {
  checkName(name);
  // A value read from stdin or a file usually ends with a newline nobody meant as part of the secret.
  const v = value.replace(/\r?\n$/, '');
  if (v.length === 0) throw invalid('the secret value is empty');
  if (Buffer.byteLength(v) > MAX_VALUE_BYTES) throw invalid(`the secret value is larger than ${MAX_VALUE_BYTES} bytes`);
  const existing = await d.store.findTenantSecret(tenant.id, name);
  if (!existing && (await d.store.listTenantSecrets(tenant.id)).length >= MAX_SECRETS) {
    throw invalid(`tenant '${tenant.slug}' has ${MAX_SECRETS} secrets: remove one first`);
  }
  const now = d.clock.now();
  await d.store.setTenantSecret({ tenantId: tenant.id, name, sealedValue: d.secrets.seal(v), createdAt: existing?.createdAt ?? now, updatedAt: now });
  await d.audit.record({ tenantId: tenant.id, event: 'tenant_secret_set', outcome: 'success', detail: `${name} (${by})` });
  return { name, createdAt: new Date(existing?.createdAt ?? now).toISOString(), updatedAt: new Date(now).toISOString() };
}

export async function listTenantSecrets(d: Pick<Deps, 'store'>, tenant: Tenant): Promise<TenantSecretView[]> {
  return (await d.store.listTenantSecrets(tenant.id)).map((s) => ({ name: s.name, createdAt: new Date(s.createdAt).toISOString(), updatedAt: new Date(s.updatedAt).toISOString() }));
}

export async function removeTenantSecret(d: SecretDeps, tenant: Tenant, name: string, by: string): Promise<void> {
  checkName(name);
  if (!(await d.store.removeTenantSecret(tenant.id, name))) throw notFound(`tenant '${tenant.slug}' has no secret '${name}'`);
  await d.audit.record({ tenantId: tenant.id, event: 'tenant_secret_removed', outcome: 'success', detail: `${name} (${by})` });
}

/** Why a secret reference cannot be used now (named but not set), or undefined when it can. */
export async function secretRefProblem(d: Pick<Deps, 'store'>, tenantId: string, ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if ('env' in ref) {
    if (isServerSetting(ref.env)) return `${ref.env} is one of Latchkey's own settings and cannot be used as a secret`;
    return env[ref.env] ? undefined : `the environment variable ${ref.env} is not set`;
  }
  return (await d.store.findTenantSecret(tenantId, ref.secret)) ? undefined : `the tenant has no secret '${ref.secret}' (set it with latchkey tenant secret set or the admin API)`;
}

/**
 * A secret's value when it is used (a connector call, an upstream token request). A `LATCHKEY_*`
 * variable is never read, whatever a file says: validation refuses it, and this refuses it again.
 */
export async function resolveSecret(d: Pick<Deps, 'store' | 'secrets'>, tenantId: string, ref: SecretRef, env: NodeJS.ProcessEnv = process.env): Promise<string | undefined> {
  if ('env' in ref) {
    if (isServerSetting(ref.env)) return undefined;
    const v = env[ref.env];
    return v === undefined || v === '' ? undefined : v;
  }
  const found = await d.store.findTenantSecret(tenantId, ref.secret);
  return found ? d.secrets.open(found.sealedValue) : undefined;
}

/** How a reference is named in messages and the audit log (never its value). */
export function describeRef(ref: SecretRef): string {
  return 'env' in ref ? `the environment variable ${ref.env}` : `the tenant secret '${ref.secret}'`;
}
