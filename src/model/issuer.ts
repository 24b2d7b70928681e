import type { Tenant } from './entities.js';

/**
 * The issuer: one per tenant (B2C's default) or one per policy (the `tfp` pattern), written on `baseUrl`
 * (the host the request came to: LATCHKEY_BASE_URL, or a host of the tenant's own).
 */
export function issuerFor(baseUrl: string, tenant: Pick<Tenant, 'id' | 'issuerPattern'>, policyId: string): string {
  return baseUrl + issuerPath(tenant, policyId);
}

/** The issuer's path, the same on every host of the tenant: `/{tenant id}/v2.0/` or `/tfp/{tenant id}/{policy}/v2.0/`. */
export function issuerPath(tenant: Pick<Tenant, 'id' | 'issuerPattern'>, policyId: string): string {
  return tenant.issuerPattern === 'tfp' ? `/tfp/${tenant.id}/${policyId.toLowerCase()}/v2.0/` : `/${tenant.id}/v2.0/`;
}

/**
 * The issuer of tokens a multi-tenant app or API is party to: Azure AD's form, one per tenant whatever the
 * tenant's issuer pattern, so that one template names every tenant's (`commonIssuerTemplate`), written on
 * `baseUrl` (the host the request came to).
 */
export function multiTenantIssuer(baseUrl: string, tenant: Pick<Tenant, 'id'>): string {
  return baseUrl + multiTenantIssuerPath(tenant);
}

/** The multi-tenant issuer's path, the same on every host of the tenant: `/{tenant id}/v2.0/`. */
export function multiTenantIssuerPath(tenant: Pick<Tenant, 'id'>): string {
  return `/${tenant.id}/v2.0/`;
}

/** What `/common` and `/organizations` discovery give as issuer: Azure AD's template, `{tenantid}` literally in it. */
export function commonIssuerTemplate(baseUrl: string): string {
  return `${baseUrl}/{tenantid}/v2.0/`;
}

/** The tenant-independent endpoints Azure AD has, where a multi-tenant app signs in people of any tenant. */
export type CommonSegment = 'common' | 'organizations';

/** An endpoint of `/common` or `/organizations` (served on the shared host only). */
export function commonEndpointUrl(baseUrl: string, segment: CommonSegment, suffix: string): string {
  return `${baseUrl}/${segment}/${suffix}`;
}
