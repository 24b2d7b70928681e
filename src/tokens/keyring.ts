import { generateKeyPair, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { Clock } from '../model/clock.js';
import type { SecretBox } from '../crypto/secrets.js';
import type { Store } from '../store/store.js';
import type { SigningKey } from '../model/entities.js';
import { takeFirstStartKey } from './first-start-key.js';

const generateRsa = promisify(generateKeyPair);

export const SIGNING_ALG = 'RS256';
/** How long a replaced key stays in the JWKS by default: B2C tells clients to refresh keys daily. */
export const DEFAULT_GRACE_MS = 48 * 3600_000;
/** How often a server re-reads a tenant's key version, so CLI rotations are seen without restart. */
const RECHECK_MS = 1000;

export interface TenantKeySet {
  version: number;
  active: { kid: string; key: KeyObject };
  /** Public keys by kid, for verifying our own tokens (id_token_hint, userinfo). */
  verifyKeys: Map<string, KeyObject>;
  /** The JWKS document, serialized once per change. */
  jwksJson: string;
  /** When a replaced key's grace ends and the set must be rebuilt without it. */
  staleAt: number;
}

interface CacheEntry {
  set: TenantKeySet;
  checkedAt: number;
}

/** Creates a new RSA-2048 key ready to store (private key sealed under the master key). */
export async function createSigningKey(tenantId: string, secrets: SecretBox, now: number): Promise<SigningKey> {
  const { privateKey, publicKey } = await (takeFirstStartKey() ?? generateRsa('rsa', { modulusLength: 2048 }));
  const jwk = await exportJWK(publicKey);
  const kid = await calculateJwkThumbprint(jwk);
  return {
    kid,
    tenantId,
    alg: SIGNING_ALG,
    publicJwk: { ...jwk, kid, use: 'sig', alg: SIGNING_ALG },
    privateKey: secrets.seal(privateKey.export({ type: 'pkcs8', format: 'pem' }) as string),
    status: 'active',
    createdAt: now,
    publishUntil: null,
  };
}

/** Keys the JWKS publishes: the active one and replaced ones still inside their grace period. */
export function publishedKeys(keys: SigningKey[], now: number): SigningKey[] {
  return keys.filter((k) => k.status === 'active' || (k.publishUntil !== null && k.publishUntil > now));
}

/**
 * Per-tenant signing keys, imported once and cached in memory with the serialized JWKS. A change by
 * another process (the CLI's `keys rotate`) bumps the tenant's config version, noticed within a second.
 */
export class KeyRing {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, Promise<TenantKeySet>>();

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
  ) {}

  async forTenant(tenantId: string): Promise<TenantKeySet> {
    const now = this.clock.now();
    const entry = this.cache.get(tenantId);
    if (entry && now - entry.checkedAt < RECHECK_MS && now < entry.set.staleAt) return entry.set;
    if (entry && now < entry.set.staleAt) {
      const version = await this.store.tenantConfigVersion(tenantId);
      if (version === entry.set.version) {
        entry.checkedAt = now;
        return entry.set;
      }
    }
    let pending = this.loading.get(tenantId);
    if (!pending) {
      pending = this.load(tenantId).finally(() => this.loading.delete(tenantId));
      this.loading.set(tenantId, pending);
    }
    return pending;
  }

  /** Forgets cached keys of one tenant, or of all (a rotation made here or announced by another instance). */
  invalidate(tenantId?: string): void {
    if (tenantId === undefined) this.cache.clear();
    else this.cache.delete(tenantId);
  }

  private async load(tenantId: string): Promise<TenantKeySet> {
    const version = (await this.store.tenantConfigVersion(tenantId)) ?? 0;
    const now = this.clock.now();
    const keys = publishedKeys(await this.store.listSigningKeys(tenantId), now);
    const active = keys.find((k) => k.status === 'active');
    if (!active) throw new Error(`tenant ${tenantId} has no active signing key`);
    const verifyKeys = new Map<string, KeyObject>();
    for (const k of keys) verifyKeys.set(k.kid, createPublicKey({ key: k.publicJwk as JWK & { kty: string }, format: 'jwk' }));
    const set: TenantKeySet = {
      version,
      active: { kid: active.kid, key: createPrivateKey(this.secrets.open(active.privateKey)) },
      verifyKeys,
      jwksJson: JSON.stringify({ keys: keys.map((k) => k.publicJwk) }),
      staleAt: Math.min(Infinity, ...keys.map((k) => k.publishUntil ?? Infinity)),
    };
    this.cache.set(tenantId, { set, checkedAt: now });
    return set;
  }
}
