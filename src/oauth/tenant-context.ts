import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import type { Tenant } from '../model/entities.js';
import { OAuthError, B2C_CODES } from '../model/errors.js';

/** How the client addressed us; endpoint URLs in discovery are written back the same way. */
export type UrlForm = 'path' | 'query' | 'tfp';

export interface TenantPolicy {
  tenant: Tenant;
  policy: Policy;
  /** The tenant segment as the client wrote it (slug, UUID or slug.onmicrosoft.com), lower-cased. */
  tenantSegment: string;
  form: UrlForm;
}

/** The tenant a URL segment names (slug, id or `{slug}.onmicrosoft.com`), through the app's tenant directory. */
export async function resolveTenant(deps: Pick<Deps, 'tenants'>, segment: string): Promise<Tenant | undefined> {
  return deps.tenants.find(segment);
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
): Promise<TenantPolicy> {
  const tenant = await resolveTenant(deps, segment);
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

/** The issuer: one per tenant (B2C's default) or one per policy (the `tfp` pattern). */
export function issuerFor(baseUrl: string, tenant: Tenant, policyId: string): string {
  return tenant.issuerPattern === 'tfp'
    ? `${baseUrl}/tfp/${tenant.id}/${policyId.toLowerCase()}/v2.0/`
    : `${baseUrl}/${tenant.id}/v2.0/`;
}

/**
 * The issuer of tokens a multi-tenant app or API is party to: Azure AD's form, one per tenant whatever the
 * tenant's issuer pattern, so that one template names every tenant's (`commonIssuerTemplate`).
 */
export function multiTenantIssuer(baseUrl: string, tenant: Pick<Tenant, 'id'>): string {
  return `${baseUrl}/${tenant.id}/v2.0/`;
}

/** What `/common` and `/organizations` discovery give as issuer: Azure AD's template, `{tenantid}` literally in it. */
export function commonIssuerTemplate(baseUrl: string): string {
  return `${baseUrl}/{tenantid}/v2.0/`;
}

/** The tenant-independent endpoints Azure AD has, where a multi-tenant app signs in people of any tenant. */
export type CommonSegment = 'common' | 'organizations';

/** An endpoint of `/common` or `/organizations`. */
export function commonEndpointUrl(baseUrl: string, segment: CommonSegment, suffix: string): string {
  return `${baseUrl}/${segment}/${suffix}`;
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
