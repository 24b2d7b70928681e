import type { Logger } from 'pino';
import type { Config } from '../config.js';
import type { ApiConnectors } from '../connectors/api-connector.js';
import type { PasswordHasher } from '../crypto/password.js';
import type { SecretBox } from '../crypto/secrets.js';
import type { FederationClient } from '../federation/upstream.js';
import type { PolicyRegistry } from './policies.js';
import type { LegacyCallLimiter } from '../migration/legacy-ropc.js';
import type { Mailer } from '../mail/mailer.js';
import type { SmsSender } from '../sms/sms-sender.js';
import type { OutboundClient } from '../outbound/outbound-client.js';
import type { Audit } from '../security/audit.js';
import type { ClientAuthThrottle } from '../security/client-auth-limiter.js';
import type { Counters } from '../security/counters.js';
import type { Store } from '../store/store.js';
import type { KeyRing } from '../tokens/keyring.js';
import type { PageLayouts } from '../ui/layouts/page-layouts.js';
import type { Metrics } from '../observability/metrics.js';
import type { TenantDirectory } from './tenant-directory.js';

import type { Clock } from '../model/clock.js';

/**
 * Everything protocol and journey code needs; no Fastify types. Whatever holds state between
 * requests (caches, throttles, counters) lives here, made per app instance by `createDeps`, never in
 * a module: two instances in one process (tests) or in two processes (scale-out) then behave as the
 * design says, and a shared implementation can replace an in-memory one.
 */
export interface Deps {
  config: Config;
  store: Store;
  /** Tenants by the names requests use (URL segments, and hosts of their own), kept briefly and dropped on every change. */
  tenants: TenantDirectory;
  clock: Clock;
  logger: Logger;
  secrets: SecretBox;
  keys: KeyRing;
  policies: PolicyRegistry;
  mailer: Mailer;
  /** Text messages: the operator's SMS gateway (LATCHKEY_SMS_URL), or the outbox. */
  sms: SmsSender;
  audit: Audit;
  passwords: PasswordHasher;
  /** Fixed-window counters behind every shared limit (memory, the database, or Redis). */
  counters: Counters;
  /** Failed client authentications at the token endpoint. */
  clientAuthThrottle: ClientAuthThrottle;
  /** Upstream identity providers (openid-client), with their discovered configurations. */
  federation: FederationClient;
  /** Calls to old identity providers for just-in-time password migration, per tenant. */
  legacyCalls: LegacyCallLimiter;
  /** B2C's API connectors (the customer's REST endpoints called during sign-up and before tokens). */
  connectors: ApiConnectors;
  /** Custom page layouts (templates fetched, sanitized and cached) around hosted pages. */
  layouts: PageLayouts;
  /**
   * The one HTTP client for everything Latchkey fetches (layouts, connectors, upstream providers,
   * legacy ROPC): private addresses refused after DNS, redirects checked per hop (LATCHKEY_OUTBOUND_ALLOW).
   */
  outbound: OutboundClient;
  /** Prometheus counters of this instance (served at /metrics when enabled). */
  metrics: Metrics;
  /** Stops watching files and closes the store and connections. */
  close(): Promise<void>;
}

/** What the operator's operations (services/tenants, apps, users, keys) need: the CLI, first start and the admin API build it from Deps. */
export interface ProvisionDeps {
  store: Store;
  secrets: SecretBox;
  clock: Clock;
  policiesDir: string;
  passwordCost: number;
  audit: Audit;
}

/** What provisioning needs, taken from the server's (or the CLI's) dependencies. */
export function provisionDeps(deps: Pick<Deps, 'store' | 'secrets' | 'clock' | 'audit' | 'config'>): ProvisionDeps {
  return { store: deps.store, secrets: deps.secrets, clock: deps.clock, policiesDir: deps.config.policiesDir, passwordCost: deps.config.passwordCost, audit: deps.audit };
}
