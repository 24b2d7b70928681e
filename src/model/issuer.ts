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
