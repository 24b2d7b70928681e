import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import type { Tenant } from '../model/entities.js';
import { OAuthError, B2C_CODES } from '../model/errors.js';
import type { Site } from '../model/site.js';
import type { FixedTenant } from '../services/tenant-directory.js';

/** How the client addressed us; endpoint URLs in discovery are written back the same way. */
export type UrlForm = 'path' | 'query' | 'tfp';

export interface TenantPolicy<T extends FixedTenant = Tenant> {
  tenant: T;
  policy: Policy;
  /** The tenant segment as the client wrote it (slug, UUID or slug.onmicrosoft.com), lower-cased. */
  tenantSegment: string;
  form: UrlForm;
}

/**
 * The tenant a URL segment names (slug, id or `{slug}.onmicrosoft.com`), through the app's tenant
 * directory, as the request's site serves it: on a tenant's own host that tenant alone (another tenant's
 * path there names nothing), on the shared host any.
 */
export async function resolveTenant(deps: Pick<Deps, 'tenants'>, segment: string, site: Site): Promise<Tenant | undefined> {
  return servedOn(site, await deps.tenants.find(segment));
}

/** The tenant if the site serves it (the shared host serves every tenant; a tenant's own host, that tenant only). */
export function servedOn<T extends Pick<Tenant, 'id'>>(site: Site, tenant: T | undefined): T | undefined {
  return tenant && (site.tenantId === undefined || site.tenantId === tenant.id) ? tenant : undefined;
}

/**
 * Resolves `{tenant}` and the policy (path segment, `p` parameter, or the tenant's default when
 * `allowDefault`). Unknown tenants and policies are 404s shown as pages or JSON, never redirects.
 */
export async function resolveTenantPolicy(
  deps: Deps,
  segment: string,
  policyId: string | undefined,
  form: UrlForm,
  allowDefault: boolean,
  site: Site,
): Promise<TenantPolicy> {
  return tenantPolicyOf(deps, await resolveTenant(deps, segment, site), segment, policyId, form, allowDefault);
}

/**
 * resolveTenantPolicy without a promise when the store's cache has the tenant (undefined otherwise: ask
 * resolveTenantPolicy). Every tenant endpoint resolves its tenant, and a chain of promises per request
 * showed in the CPU per answer.
 */
export function resolveTenantPolicyNow(
  deps: Deps,
  segment: string,
  policyId: string | undefined,
  form: UrlForm,
  allowDefault: boolean,
  site: Site,
): TenantPolicy | undefined {
  const tenant = deps.tenants.findNow(segment);
  return tenant && tenantPolicyOf(deps, servedOn(site, tenant), segment, policyId, form, allowDefault);
}

/**
 * For answers that read only what never changes about a tenant (the metadata routes): the tenant from
 * the directory's memory (TenantDirectory.findFixed), without a promise and without a store read;
 * undefined when memory cannot tell (ask resolveTenantPolicy, which fills it).
 */
export function resolveFixedTenantPolicyNow(
  deps: Deps,
  segment: string,
  policyId: string | undefined,
  form: UrlForm,
  allowDefault: boolean,
  site: Site,
): TenantPolicy<FixedTenant> | undefined {
  const tenant = deps.tenants.findFixed(segment);
  return tenant && tenantPolicyOf(deps, servedOn(site, tenant), segment, policyId, form, allowDefault);
}

function tenantPolicyOf<T extends FixedTenant>(
  deps: Deps,
  tenant: T | undefined,
  segment: string,
  policyId: string | undefined,
  form: UrlForm,
  allowDefault: boolean,
): TenantPolicy<T> {
  if (!tenant) throw new OAuthError('not_found', `The tenant '${segment}' does not exist.`, { redirectable: false, status: 404 });
  const id = policyId ?? (allowDefault ? tenant.defaultPolicy : undefined);
  if (!id) {
    throw new OAuthError('invalid_request', 'The request does not name a policy: add it to the path or as the p parameter.', {
      b2cCode: B2C_CODES.missingParameter,
      redirectable: false,
    });
  }
  const policy = deps.policies.get(tenant.slug, id);
  if (!policy) {
    throw new OAuthError('not_found', `The policy '${id}' does not exist in tenant '${tenant.slug}'.`, {
      redirectable: false,
      status: 404,
    });
  }
  return { tenant, policy, tenantSegment: segment.toLowerCase(), form };
}

/** An endpoint URL written the way the client addressed us, with tenant and policy literally in it. */
export function endpointUrl(baseUrl: string, ctx: Pick<TenantPolicy, 'tenantSegment' | 'form'>, policyId: string, suffix: string): string {
  const policy = policyId.toLowerCase();
  switch (ctx.form) {
    case 'query':
      return `${baseUrl}/${ctx.tenantSegment}/${suffix}?p=${policy}`;
    case 'tfp':
      return `${baseUrl}/tfp/${ctx.tenantSegment}/${policy}/${suffix}`;
    default:
      return `${baseUrl}/${ctx.tenantSegment}/${policy}/${suffix}`;
  }
}
