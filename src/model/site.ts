/**
 * Where a request came in: the host every URL of its answer is written with. On the shared host that is
 * LATCHKEY_BASE_URL; on a tenant's own host (a custom domain, or the host pattern's) it is the host as the
 * request wrote it, port included, as B2C writes `https://login.contoso.com/{tenant id}/v2.0/`. Protocol
 * and journey code build issuers, endpoint URLs, callback URLs and the passkeys' relying party from this
 * and never from the configuration, so a tenant's answers on its own host name only that host.
 */
export interface Site {
  /** `scheme://host[:port]` (LATCHKEY_BASE_URL on the shared host, which may carry a path): no trailing slash. */
  baseUrl: string;
  /** The tenant whose own host this is; undefined on the shared host, which serves every tenant. */
  tenantId?: string;
}

/** Whether `site` is `tenantId`'s own host: its page layouts may run script there and nowhere else. */
export function isOwnHostOf(site: Site, tenantId: string): boolean {
  return site.tenantId === tenantId;
}
