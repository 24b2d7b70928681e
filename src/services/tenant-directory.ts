import type { Store } from '../store/store.js';
import { CachedStore } from '../store/cached-store.js';
import type { Tenant } from '../model/entities.js';
import type { TenantHostPattern } from '../model/host-pattern.js';

/**
 * Tenants by the names requests use for them: a URL segment (slug, id, `{slug}.onmicrosoft.com`) and a
 * host (a custom domain, or the host pattern's). Tenants themselves are kept by the store's caching layer
 * (store/cached-store.ts); the domains of all tenants are read here in one query and kept a short while,
 * dropped at once by a tenant change notice. Owned by the app's dependencies (no module state).
 */
const B2C_DOMAIN_SUFFIX = '.onmicrosoft.com';

/** Every tenant's custom domains, read in one query and kept as long as a segment is. */
interface HostSnapshot {
  at: number;
  /** host → tenant id */
  byHost: Map<string, string>;
  /** tenant id → its hosts */
  byTenant: Map<string, string[]>;
  /** Slugs of tenants with at least one custom domain. */
  slugs: Set<string>;
}

/** What never changes about a tenant once created (TenantSettings holds what does; tenants are never deleted). */
export type FixedTenant = Pick<Tenant, 'id' | 'slug' | 'issuerPattern' | 'defaultPolicy'>;

export class TenantDirectory {
  private hosts: HostSnapshot | undefined;
  private loadingHosts: Promise<HostSnapshot> | undefined;
  private readonly ownHostListeners: ((slugs: string[]) => void)[] = [];
  /** Tenants by a segment (key) that is their id or slug, kept for good: see findFixed. */
  private readonly fixed = new Map<string, FixedTenant>();

  constructor(
    private readonly store: Store,
    private readonly now: () => number = Date.now,
    private readonly ttlMs = 1000,
    /** LATCHKEY_TENANT_HOST_PATTERN: every tenant has a host of its own. */
    readonly hostPattern?: TenantHostPattern,
  ) {
    store.onConfigChange(({ what }) => {
      if (what === 'tenant' || what === 'domains') this.invalidate();
    });
  }

  /** The tenant a URL segment names, or undefined. */
  async find(segment: string): Promise<Tenant | undefined> {
    const key = TenantDirectory.key(segment);
    if (key === undefined) return undefined;
    const tenant = await this.store.findTenant(key);
    // A segment that is the tenant's id or slug names it for good (see findFixed); a B2C name may change.
    if (tenant && (tenant.id === key || tenant.slug === key) && this.fixed.size < 10_000) {
      this.fixed.set(key, { id: tenant.id, slug: tenant.slug, issuerPattern: tenant.issuerPattern, defaultPolicy: tenant.defaultPolicy });
    }
    return tenant;
  }

  /**
   * The tenant a URL segment names, for an answer that reads only what never changes about a tenant
   * (FixedTenant: the metadata routes), from memory once found and without asking the store's cache: a
   * tenant is never deleted, its id, slug, issuer pattern and default policy never change, so what its
   * id or slug names is kept for good (as every tenant was before tenants could change). This spares
   * discovery and JWKS the cache's check for another process's commit on every read (SQLite's
   * data_version: two fcntl calls, the largest single cost of an answer in the profile). A segment that
   * is a B2C name (which an operator may change) is never kept here. Undefined when memory cannot tell:
   * ask `find`.
   */
  findFixed(segment: string): FixedTenant | undefined {
    const key = TenantDirectory.key(segment);
    return key === undefined ? undefined : this.fixed.get(key);
  }

  /**
   * The tenant a URL segment names when the store's cache has it, without a promise; undefined when it
   * must be read (`find`, which also answers whether it exists).
   */
  findNow(segment: string): Tenant | undefined {
    if (!(this.store instanceof CachedStore)) return undefined;
    const key = TenantDirectory.key(segment);
    return key === undefined ? undefined : this.store.keptTenant(key);
  }

  /**
   * Read from the database now, past the cache: an answer about the tenant itself (the admin API's)
   * follows a write through any instance at once, before that instance's notice has arrived.
   */
  async fresh(segment: string): Promise<Tenant | undefined> {
    const key = TenantDirectory.key(segment);
    return key === undefined ? undefined : this.store.findTenant(key, { fresh: true });
  }

  /**
   * The tenant whose own host this is (a host name, lower-case, without the port): a custom domain, or
   * the host pattern's host of an existing tenant. Undefined for the shared host and any other name.
   */
  async forHost(hostname: string): Promise<Tenant | undefined> {
    const hosts = await this.hostSnapshot();
    const id = hosts.byHost.get(hostname);
    if (id !== undefined) return this.find(id);
    const slug = this.hostPattern?.slugOf(hostname);
    return slug === undefined ? undefined : this.find(slug);
  }

  /**
   * What `forHost` answers, from memory and without a promise (every request asks, and a promise per
   * request shows in the CPU per answer): the tenant's id, `null` for no tenant's host, or undefined
   * when memory cannot tell (the domains are due to be read again, or the pattern's tenant has not been
   * found yet: findFixed) and `forHost` must be asked. A domain's tenant is its id as read with the
   * domains (a domain always names an existing tenant, and tenants are never deleted).
   */
  tenantIdForHostNow(hostname: string): string | null | undefined {
    const hosts = this.hosts;
    if (!hosts || this.now() - hosts.at >= this.ttlMs) return undefined;
    const id = hosts.byHost.get(hostname);
    if (id !== undefined) return id;
    const slug = this.hostPattern?.slugOf(hostname);
    return slug === undefined ? null : this.findFixed(slug)?.id;
  }

  /** The hosts of a tenant's own: its custom domains, and the host pattern's. */
  async hostsOf(tenant: Tenant): Promise<string[]> {
    const own = (await this.hostSnapshot()).byTenant.get(tenant.id) ?? [];
    return this.hostPattern ? [...own, this.hostPattern.hostFor(tenant.slug)] : own;
  }

  /**
   * Whether a tenant is served on a host of its own (so its page layouts may run script), from what was
   * last read: policies are validated synchronously. `onOwnHostsChanged` says when this changes.
   */
  hasOwnHost(slug: string): boolean {
    return this.hostPattern !== undefined || (this.hosts?.slugs.has(slug) ?? false);
  }

  /** Called with the slugs whose `hasOwnHost` changed (a first or last domain), when the domains are read. */
  onOwnHostsChanged(listener: (slugs: string[]) => void): void {
    this.ownHostListeners.push(listener);
  }

  /** Reads every tenant's domains now (at start, before policies are loaded). */
  async loadHosts(): Promise<void> {
    if (this.hosts) this.hosts.at = Number.NEGATIVE_INFINITY;
    await this.hostSnapshot();
  }

  /** Any tenant's change may be a domain added or removed: the hosts are read again at the next request. */
  invalidate(): void {
    if (this.hosts) this.hosts.at = Number.NEGATIVE_INFINITY;
  }

  /** What the store looks a segment up by: lower case, without B2C's `.onmicrosoft.com`. */
  static key(segment: string): string | undefined {
    let key = segment.toLowerCase();
    if (key.endsWith(B2C_DOMAIN_SUFFIX)) key = key.slice(0, -B2C_DOMAIN_SUFFIX.length);
    return key.length === 0 || key.length > 100 ? undefined : key;
  }

  private async hostSnapshot(): Promise<HostSnapshot> {
    if (this.hosts && this.now() - this.hosts.at < this.ttlMs) return this.hosts;
    // One read at a time: requests arriving meanwhile wait for it.
    this.loadingHosts ??= this.readHosts().finally(() => {
      this.loadingHosts = undefined;
    });
    return this.loadingHosts;
  }

  private async readHosts(): Promise<HostSnapshot> {
    const at = this.now();
    const domains = await this.store.listTenantDomains();
    const byHost = new Map<string, string>();
    const byTenant = new Map<string, string[]>();
    for (const d of domains) {
      byHost.set(d.host, d.tenantId);
      byTenant.set(d.tenantId, [...(byTenant.get(d.tenantId) ?? []), d.host]);
    }
    const slugs = new Set<string>();
    for (const id of byTenant.keys()) {
      const t = await this.find(id);
      if (t) slugs.add(t.slug);
    }
    const before = this.hosts?.slugs ?? new Set<string>();
    this.hosts = { at, byHost, byTenant, slugs };
    const changed = [...new Set([...before, ...slugs])].filter((s) => before.has(s) !== slugs.has(s));
    if (changed.length > 0) for (const l of this.ownHostListeners) l(changed);
    return this.hosts;
  }
}
