import type { Store } from '../store/store.js';
import type { Tenant } from '../model/entities.js';

/**
 * Tenants by the names requests use for them (slug, id, `{slug}.onmicrosoft.com`): read on every
 * request, so kept a short while. Owned by the app's dependencies (no module state): a write through
 * this instance's store, or a change notice from another instance (PostgreSQL), drops the entry at
 * once; the short lifetime covers a CLI writing the same SQLite file. A miss is never kept, so a
 * tenant the CLI just created is found at once.
 */
const B2C_DOMAIN_SUFFIX = '.onmicrosoft.com';

export class TenantDirectory {
  private readonly bySegment = new Map<string, { at: number; tenant: Tenant }>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = 1000,
    private readonly maxEntries = 10_000,
  ) {
    store.onConfigChange(({ tenantId }) => this.invalidate(tenantId === '*' ? undefined : tenantId));
  }

  /** The tenant a URL segment names, or undefined. */
  async find(segment: string): Promise<Tenant | undefined> {
    const hit = this.bySegment.get(segment);
    if (hit && this.now() - hit.at < this.ttlMs) return hit.tenant;
    const tenant = await this.store.findTenant(TenantDirectory.key(segment) ?? '');
    if (tenant === undefined || TenantDirectory.key(segment) === undefined) {
      this.bySegment.delete(segment);
      return undefined;
    }
    if (this.bySegment.size >= this.maxEntries) this.bySegment.clear();
    this.bySegment.set(segment, { at: this.now(), tenant });
    return tenant;
  }

  /** Read from the store now (an answer about the tenant itself, such as the admin API's), refreshing the cache. */
  async fresh(segment: string): Promise<Tenant | undefined> {
    this.bySegment.delete(segment);
    return this.find(segment);
  }

  /** Forgets one tenant (or all): its next request reads the store. */
  invalidate(tenantId?: string): void {
    if (tenantId === undefined) {
      this.bySegment.clear();
      return;
    }
    for (const [segment, entry] of this.bySegment) if (entry.tenant.id === tenantId) this.bySegment.delete(segment);
  }

  /** What the store looks a segment up by: lower case, without B2C's `.onmicrosoft.com`. */
  static key(segment: string): string | undefined {
    let key = segment.toLowerCase();
    if (key.endsWith(B2C_DOMAIN_SUFFIX)) key = key.slice(0, -B2C_DOMAIN_SUFFIX.length);
    return key.length === 0 || key.length > 100 ? undefined : key;
  }
}
