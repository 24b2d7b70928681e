import type { Logger } from 'pino';
import type { Config } from './config.js';
import type { SecretBox } from './crypto/secrets.js';
import type { PolicyRegistry } from './journeys/loader.js';
import type { Mailer } from './mail/mailer.js';
import type { Audit } from './security/audit.js';
import type { Store } from './store/store.js';
import type { KeyRing } from './tokens/keyring.js';

/** Injected so that expiry and rotation are tested without sleeping. */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Everything protocol and journey code needs; no Fastify types. */
export interface Deps {
  config: Config;
  store: Store;
  clock: Clock;
  logger: Logger;
  secrets: SecretBox;
  keys: KeyRing;
  policies: PolicyRegistry;
  mailer: Mailer;
  audit: Audit;
}
