import { invalid, notFound } from '../model/errors.js';
import type { Tenant } from '../model/entities.js';
import type { TenantHostPattern } from '../model/host-pattern.js';
import { issuerFor } from '../model/issuer.js';
import { HOST_NAME, IPV4 } from '../model/patterns.js';
import type { ProvisionDeps } from './deps.js';

/**
 * A tenant's own hosts (B2C's custom domains): `latchkey tenant domain add|remove|list` and the admin
 * API's `/admin/v1/tenants/{t}/domains`. On such a host every URL form serves this tenant and no other;
 * its issuer and endpoints are written with the host. LATCHKEY_TENANT_HOST_PATTERN gives every tenant
 * one more without a command (listed here as `source: pattern`).
 *
 * A tenant's administrator may add a domain (as in B2C): a host is one tenant's only, and the shared
 * host and the pattern's hosts can never be claimed, so no administrator can take another tenant's
 * requests or the operator's. Pointing the name at the server (DNS) and its certificate
 * (LATCHKEY_TLS_DIR) stay with the operator.
 */
type DomainDeps = Pick<ProvisionDeps, 'store' | 'clock' | 'audit'>;

/** What the server's configuration says about hosts (LATCHKEY_BASE_URL, LATCHKEY_TENANT_HOST_PATTERN). */
export interface HostRules {
  baseUrl: string;
  tenantHostPattern: TenantHostPattern | undefined;
}

export interface DomainView {
  host: string;
  /** `domain`: added by a command or the admin API; `pattern`: LATCHKEY_TENANT_HOST_PATTERN's. */
  source: 'domain' | 'pattern';
  /** The tenant's issuer on this host (its default policy's, under the `tfp` pattern). */
  issuer: string;
  /** When it was added (null for the pattern's host). */
  createdAt: string | null;
}

/** A tenant has at most this many custom domains. */
const MAX_DOMAINS = 50;

/** A host name as an operator types it, checked and lower-cased; a port, scheme or path is refused. */
export function normalizeHost(raw: string): string {
  const host = raw.trim().toLowerCase().replace(/\.$/, '');
  if (/[/:@\s]/.test(host) || host.includes('..')) throw invalid(`invalid --host '${raw}': a host name such as login.contoso.com, without scheme, port or path`);
  if (IPV4.test(host) || host.startsWith('[')) throw invalid(`invalid --host '${raw}': a host name, not an address (passkeys and certificates are made for names)`);
  if (!HOST_NAME.test(host) || !host.includes('.')) throw invalid(`invalid --host '${raw}': a host name such as login.contoso.com (letters, digits, '-' and dots)`);
  return host;
}

function view(rules: HostRules, tenant: Tenant, host: string, source: DomainView['source'], createdAt: number | null): DomainView {
  const scheme = new URL(rules.baseUrl).protocol;
  return { host, source, issuer: issuerFor(`${scheme}//${host}`, tenant, tenant.defaultPolicy), createdAt: createdAt === null ? null : new Date(createdAt).toISOString() };
}

export async function addTenantDomain(d: DomainDeps, rules: HostRules, tenant: Tenant, raw: string, by: string): Promise<DomainView> {
  const host = normalizeHost(raw);
  if (host === new URL(rules.baseUrl).hostname.toLowerCase()) {
    throw invalid(`invalid --host '${host}': that is the shared host (LATCHKEY_BASE_URL), which serves every tenant`);
  }
  if (rules.tenantHostPattern?.slugOf(host) !== undefined) {
    throw invalid(`invalid --host '${host}': hosts of the form ${rules.tenantHostPattern.pattern} belong to the tenants LATCHKEY_TENANT_HOST_PATTERN names`);
  }
  if ((await d.store.listTenantDomains(tenant.id)).length >= MAX_DOMAINS) throw invalid(`tenant '${tenant.slug}' has ${MAX_DOMAINS} domains: remove one first`);
  const now = d.clock.now();
  // A host another tenant has is refused without saying whose it is (StoreConflictError, "already in use").
  await d.store.addTenantDomain({ host, tenantId: tenant.id, createdAt: now });
  await d.audit.record({ tenantId: tenant.id, event: 'tenant_domain_added', outcome: 'success', detail: `${host} (${by})` });
  return view(rules, tenant, host, 'domain', now);
}

export async function removeTenantDomain(d: DomainDeps, tenant: Tenant, raw: string, by: string): Promise<void> {
  const host = normalizeHost(raw);
  if (!(await d.store.removeTenantDomain(tenant.id, host))) throw notFound(`tenant '${tenant.slug}' has no domain '${host}'`);
  await d.audit.record({ tenantId: tenant.id, event: 'tenant_domain_removed', outcome: 'success', detail: `${host} (${by})` });
}

/** The tenant's own hosts: its custom domains, then the host pattern's. */
export async function listTenantDomains(d: Pick<ProvisionDeps, 'store'>, rules: HostRules, tenant: Tenant): Promise<DomainView[]> {
  const domains = (await d.store.listTenantDomains(tenant.id)).map((x) => view(rules, tenant, x.host, 'domain', x.createdAt));
  return rules.tenantHostPattern ? [...domains, view(rules, tenant, rules.tenantHostPattern.hostFor(tenant.slug), 'pattern', null)] : domains;
}

/** Whether the tenant is served on a host of its own (its layouts may then run JavaScript there). */
export async function tenantHasOwnHost(d: Pick<ProvisionDeps, 'store'>, rules: Pick<HostRules, 'tenantHostPattern'>, tenantId: string): Promise<boolean> {
  return rules.tenantHostPattern !== undefined || (await d.store.listTenantDomains(tenantId)).length > 0;
}
