import pino, { type Logger } from 'pino';
import type { Config } from './config.js';
import { PasswordHasher } from './crypto/password.js';
import { SecretBox } from './crypto/secrets.js';
import { systemClock, type Clock, type Deps } from './deps.js';
import { FederationClient } from './federation/upstream.js';
import { PolicyRegistry } from './journeys/loader.js';
import { LegacyCallLimiter } from './migration/legacy-ropc.js';
import { createMailer } from './mail/mailer.js';
import { Audit } from './security/audit.js';
import { MemoryClientAuthThrottle } from './security/client-auth-limiter.js';
import { SqliteStore } from './store/sqlite/sqlite-store.js';
import { KeyRing } from './tokens/keyring.js';

/** Wires the dependencies from a config; shared by the server, the CLI and tests. */
export function createDeps(config: Config, opts: { logger?: Logger; clock?: Clock; watchPolicies?: boolean } = {}): Deps & { store: SqliteStore } {
  const logger = opts.logger ?? pino({ level: config.logLevel });
  const clock = opts.clock ?? systemClock;
  const store = new SqliteStore(config.dbPath);
  const secrets = new SecretBox(config.masterKey);
  return {
    config,
    store,
    clock,
    logger,
    secrets,
    keys: new KeyRing(store, secrets, clock),
    policies: new PolicyRegistry(config.policiesDir, logger, opts.watchPolicies ?? true),
    mailer: createMailer({ smtpUrl: config.smtpUrl, store, logger, clock }),
    audit: new Audit(store, clock, logger),
    passwords: new PasswordHasher(config.passwordCost),
    clientAuthThrottle: new MemoryClientAuthThrottle(),
    federation: new FederationClient(clock),
    legacyCalls: new LegacyCallLimiter(),
  };
}
