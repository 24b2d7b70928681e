import type { Store } from '../store/store.js';
import type { Tenant } from '../model/entities.js';

/**
 * Tenants by the names requests use for them (slug, id, `{slug}.onmicrosoft.com`). Read on every
 * request: the store's caching layer keeps them a short while and drops one at once when it changes,
 * here or on another instance (store/cached-store.ts).
 */
const B2C_DOMAIN_SUFFIX = '.onmicrosoft.com';

export class TenantDirectory {
  constructor(private readonly store: Store) {}

  /** The tenant a URL segment names, or undefined. */
  async find(segment: string): Promise<Tenant | undefined> {
    const key = TenantDirectory.key(segment);
    return key === undefined ? undefined : this.store.findTenant(key);
  }

  /**
   * Read from the database now, past the cache: an answer about the tenant itself (the admin API's)
   * follows a write through any instance at once, before that instance's notice has arrived.
   */
  async fresh(segment: string): Promise<Tenant | undefined> {
    const key = TenantDirectory.key(segment);
    return key === undefined ? undefined : this.store.findTenant(key, { fresh: true });
  }

  /** What the store looks a segment up by: lower case, without B2C's `.onmicrosoft.com`. */
  static key(segment: string): string | undefined {
    let key = segment.toLowerCase();
    if (key.endsWith(B2C_DOMAIN_SUFFIX)) key = key.slice(0, -B2C_DOMAIN_SUFFIX.length);
    return key.length === 0 || key.length > 100 ? undefined : key;
  }
}
