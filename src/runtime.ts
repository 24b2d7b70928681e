import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { ApiConnectors } from './connectors/api-connector.js';
import { PasswordHasher } from './crypto/password.js';
import { SecretBox } from './crypto/secrets.js';
import { type Deps } from './services/deps.js';
import { systemClock, type Clock } from './model/clock.js';
import { FederationClient } from './federation/upstream.js';
import { samlKeys } from './federation/saml/certificates.js';
import { outboundMetadataFetch } from './federation/saml/metadata.js';
import { SamlUpstream } from './federation/saml/upstream.js';
import { PolicyRegistry } from './services/policies.js';
import { LegacyCallLimiter } from './migration/legacy-ropc.js';
import { createMailer } from './mail/mailer.js';
import { createSmsSender } from './sms/sms-sender.js';
import { AddressPolicy } from './outbound/address-policy.js';
import { OutboundClient } from './outbound/outbound-client.js';
import { Audit } from './security/audit.js';
import { ClientAuthThrottle } from './security/client-auth-limiter.js';
import { MemoryCounters, RedisCounters, StoreCounters, type Counters } from './security/counters.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { CachedStore } from './store/cached-store.js';
import { StoreOpenError, type Store, type StoreEngine } from './store/store.js';
import { KeyRing } from './tokens/keyring.js';
import { PageLayouts } from './ui/layouts/page-layouts.js';
import { Metrics } from './observability/metrics.js';
import { TenantDirectory } from './services/tenant-directory.js';
import { resolveSecret } from './services/tenant-secrets.js';

/** Opens the configured store's engine: PostgreSQL at LATCHKEY_DATABASE_URL, or the SQLite file at LATCHKEY_DB. */
export async function openStore(config: Config): Promise<StoreEngine> {
  const where = config.databaseUrl ? new URL(config.databaseUrl).host + new URL(config.databaseUrl).pathname : config.dbPath;
  try {
    // The PostgreSQL engine (and pg) is loaded only when it is configured.
    return config.databaseUrl ? await (await import('./store/postgres/postgres-store.js')).PostgresStore.open(config.databaseUrl) : new SqliteStore(config.dbPath);
  } catch (err) {
    throw new StoreOpenError(`cannot open the database at ${where}: ${(err as Error).message.split('\n')[0]}`);
  }
}

/**
 * Where the limits' counters live: Redis when LATCHKEY_REDIS_URL is set; the database when it is
 * PostgreSQL (several instances share it); this process's memory with SQLite (one server).
 */
async function countersFor(config: Config, store: Store): Promise<{ counters: Counters; close(): Promise<void> }> {
  if (config.redisUrl) {
    // ioredis is loaded only when Redis is configured.
    const { Redis } = await import('ioredis');
    const redis = new Redis(config.redisUrl, { lazyConnect: false, maxRetriesPerRequest: 2, enableOfflineQueue: true });
    // A lost connection is reported by the commands that need it; ioredis reconnects on its own.
    redis.on('error', () => undefined);
    return { counters: new RedisCounters(redis), close: async () => void (await redis.quit().catch(() => redis.disconnect())) };
  }
  if (config.databaseUrl) return { counters: new StoreCounters(store), close: async () => undefined };
  return { counters: new MemoryCounters(), close: async () => undefined };
}

/** Wires the dependencies from a config; shared by the server, the CLI and tests. */
export async function createDeps(config: Config, opts: { logger?: Logger; clock?: Clock; watchPolicies?: boolean; store?: StoreEngine | CachedStore } = {}): Promise<Deps> {
  const logger = opts.logger ?? pino({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  // Everything reads and writes through the one caching layer (store/cached-store.ts).
  const opened = opts.store ?? (await openStore(config));
  const store: Store = opened instanceof CachedStore ? opened : new CachedStore(opened);
  const secrets = new SecretBox(config.masterKey);
  const { counters, close: closeCounters } = await countersFor(config, store);
  const keys = new KeyRing(store, secrets, clock);
  // Another instance rotated a key or changed a tenant: forget what this one cached at once.
  store.onConfigChange(({ what, tenantId }) => {
    if (what === 'tenant') keys.invalidate(tenantId === '*' ? undefined : tenantId);
  });
  const tenants = new TenantDirectory(store, () => clock.now(), 1000, config.tenantHostPattern);
  // A tenant on a host of its own may use layout JavaScript: policies are checked against the domains
  // read at start, and again when a tenant gains its first or loses its last one.
  await tenants.loadHosts();
  const policies = new PolicyRegistry(config.policiesDir, logger, opts.watchPolicies ?? true, (slug) => tenants.hasOwnHost(slug));
  tenants.onOwnHostsChanged((slugs) => slugs.forEach((slug) => policies.revalidate(slug)));
  const metrics = new Metrics(store, { defaults: config.metrics.enabled, now: () => clock.now() });
  const mailer = createMailer({ smtpUrl: config.smtpUrl, store, logger, clock, metrics });
  const outbound = new OutboundClient({ policy: new AddressPolicy(config.outboundAllow), logger });
  // Upstream SAML identity providers; their metadata URLs are fetched through the outbound client.
  const samlUpstream = new SamlUpstream({ clock, counters, fetch: outboundMetadataFetch(outbound), signingKeys: (tenantId) => samlKeys({ store, keys, secrets, clock }, tenantId) });
  return {
    config,
    store,
    tenants,
    clock,
    logger,
    secrets,
    keys,
    policies,
    mailer,
    sms: createSmsSender({ url: config.sms.url, token: config.sms.token, outbound, store, logger, clock }),
    audit: new Audit(store, clock, logger, metrics),
    metrics,
    passwords: new PasswordHasher(config.passwordCost),
    counters,
    clientAuthThrottle: new ClientAuthThrottle(counters),
    outbound,
    federation: new FederationClient(clock, outbound, async (slug, name) => {
      const tenant = await store.findTenant(slug);
      return tenant ? resolveSecret({ store, secrets }, tenant.id, { secret: name }) : undefined;
    }, samlUpstream),
    legacyCalls: new LegacyCallLimiter(counters),
    connectors: new ApiConnectors(outbound),
    layouts: new PageLayouts({ policiesDir: config.policiesDir, baseUrl: config.baseUrl, logger, clock, outbound }),
    async close() {
      policies.close();
      mailer.close();
      await closeCounters();
      await store.close();
    },
  };
}
