import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import type { Tenant } from '../model/entities.js';
import { OAuthError, B2C_CODES } from '../model/errors.js';
import type { Site } from '../model/site.js';

/** How the client addressed us; endpoint URLs in discovery are written back the same way. */
export type UrlForm = 'path' | 'query' | 'tfp';

export interface TenantPolicy {
  tenant: Tenant;
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
export function servedOn(site: Site, tenant: Tenant | undefined): Tenant | undefined {
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
  const tenant = await resolveTenant(deps, segment, site);
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
