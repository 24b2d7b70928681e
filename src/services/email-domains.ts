import { conflict, invalid, notFound } from '../model/errors.js';
import type { EmailDomain, Tenant } from '../model/entities.js';
import { StoreConflictError } from '../store/store.js';
import type { ProvisionDeps } from './deps.js';
import { TenantDirectory } from './tenant-directory.js';

/**
 * A tenant's email domains: at `/common`, the domain of the address a person gives (or `login_hint`,
 * or `domain_hint`) names their tenant (Azure AD's home realm discovery). A domain belongs to one
 * tenant on the server; `{slug}.onmicrosoft.com` always names its tenant.
 */

/** A DNS name of at least two labels (letters, digits, hyphens), lower-cased. */
const DOMAIN = /^(?=.{3,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$/;

export function checkDomain(domain: string): string {
  const d = domain.trim().toLowerCase().replace(/\.$/, '');
  if (!DOMAIN.test(d)) throw invalid(`invalid --domain '${domain}': a domain name such as contoso.com`);
  if (d.endsWith('.onmicrosoft.com')) throw invalid(`invalid --domain '${domain}': {slug}.onmicrosoft.com names its tenant already`);
  return d;
}

export async function addEmailDomain(d: ProvisionDeps, tenant: Tenant, domain: string): Promise<EmailDomain> {
  const record: EmailDomain = { domain: checkDomain(domain), tenantId: tenant.id, createdAt: d.clock.now() };
  const existing = await d.store.findEmailDomain(record.domain);
  if (existing?.tenantId === tenant.id) return existing;
  if (existing) throw conflict(`the email domain ${record.domain} belongs to another tenant`);
  try {
    await d.store.addEmailDomain(record);
  } catch (err) {
    if (err instanceof StoreConflictError) throw conflict(`the email domain ${record.domain} belongs to another tenant`);
    throw err;
  }
  await d.audit.record({ tenantId: tenant.id, event: 'email_domain', outcome: 'success', detail: `added ${record.domain}` });
  return record;
}

export async function removeEmailDomain(d: ProvisionDeps, tenant: Tenant, domain: string): Promise<void> {
  const name = checkDomain(domain);
  if (!(await d.store.removeEmailDomain(tenant.id, name))) throw notFound(`tenant '${tenant.slug}' has no email domain ${name}`);
  await d.audit.record({ tenantId: tenant.id, event: 'email_domain', outcome: 'success', detail: `removed ${name}` });
}

export async function listEmailDomains(d: Pick<ProvisionDeps, 'store'>, tenant: Tenant): Promise<EmailDomain[]> {
  return d.store.listEmailDomains(tenant.id);
}

/**
 * The tenant a domain (an email address's, or a `domain_hint`) routes to: a registered email domain,
 * or `{slug}.onmicrosoft.com`. Undefined when none does.
 */
export async function tenantForDomain(d: Pick<ProvisionDeps, 'store'>, domain: string): Promise<Tenant | undefined> {
  const name = domain.trim().toLowerCase().replace(/\.$/, '');
  if (name.length === 0 || name.length > 253) return undefined;
  if (name.endsWith('.onmicrosoft.com')) {
    const key = TenantDirectory.key(name);
    return key === undefined ? undefined : d.store.findTenant(key);
  }
  const found = await d.store.findEmailDomain(name);
  return found && d.store.findTenant(found.tenantId);
}

/** The domain of an email address (after its last `@`), or undefined. */
export function domainOf(email: string): string | undefined {
  const at = email.lastIndexOf('@');
  return at > 0 && at < email.length - 1 ? email.slice(at + 1) : undefined;
}
