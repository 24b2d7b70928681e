import { generateKeyPair, createPrivateKey, createPublicKey, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import type { Clock } from '../model/clock.js';
import type { SecretBox } from '../crypto/secrets.js';
import type { Store } from '../store/store.js';
import { COMMON_KEY_SET, type SigningKey } from '../model/entities.js';
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
  /** The set with the instance's keys added (what the tenant publishes and verifies with), and the instance set it was made with. */
  merged?: { common: TenantKeySet | undefined; set: TenantKeySet };
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

/**
 * Keys the JWKS publishes: the active one, the next one (published before it signs, `keys rotate
 * --prepare`) and replaced ones still inside their grace period.
 */
export function publishedKeys(keys: SigningKey[], now: number): SigningKey[] {
  return keys.filter((k) => k.status === 'active' || k.status === 'next' || (k.publishUntil !== null && k.publishUntil > now));
}

/**
 * Per-tenant signing keys, imported once and cached in memory with the serialized JWKS. A change by
 * another process (the CLI's `keys rotate`) bumps the tenant's config version, noticed within a second.
 *
 * Beside the tenants' keys, the instance's own key set (COMMON_KEY_SET) signs multi-tenant apps' tokens:
 * every tenant's set also publishes and verifies with its keys, so a token of a multi-tenant app checks
 * out at the tenant it names (its issuer says which) and at `/common/discovery/v2.0/keys` alike. It has
 * no tenant row, so its version is a fingerprint of its keys, read again at most once a second.
 */
export class KeyRing {
  private readonly cache = new Map<string, CacheEntry>();
  private readonly loading = new Map<string, Promise<TenantKeySet | undefined>>();
  /** While the instance set has no key, when to look again (tokens of single-tenant apps must not query for it each time). */
  private noCommonUntil = 0;

  constructor(
    private readonly store: Store,
    private readonly secrets: SecretBox,
    private readonly clock: Clock,
  ) {}

  /** The tenant's keys, with the instance's keys published and verified beside them (it signs with its own). */
  async forTenant(tenantId: string): Promise<TenantKeySet> {
    const own = await this.cached(tenantId);
    if (!own) throw new Error(`tenant ${tenantId} has no active signing key`);
    const common = await this.cached(COMMON_KEY_SET);
    const entry = this.cache.get(tenantId);
    if (!common || !entry || entry.set !== own) return own;
    if (entry.merged?.common !== common) entry.merged = { common, set: merge(own, common) };
    return entry.merged.set;
  }

  /**
   * What forTenant answers, from memory and without a promise (the JWKS endpoint asks on every request):
   * undefined when either set is due to be checked again (then ask forTenant).
   */
  forTenantNow(tenantId: string): TenantKeySet | undefined {
    const now = this.clock.now();
    const entry = this.cache.get(tenantId);
    if (!entry || !fresh(entry, now)) return undefined;
    if (now < this.noCommonUntil) return entry.set;
    const common = this.cache.get(COMMON_KEY_SET);
    // The merged set is made by forTenant (which also handles an instance set that changed).
    return common && fresh(common, now) && entry.merged?.common === common.set ? entry.merged.set : undefined;
  }

  /**
   * The instance's key set (multi-tenant apps' tokens), made on first use when it has no key yet. Two
   * instances making it at once both succeed: the earlier key stays published for the grace period.
   */
  async common(): Promise<TenantKeySet> {
    const set = await this.cached(COMMON_KEY_SET);
    if (set) return set;
    const now = this.clock.now();
    await this.store.rotateSigningKey(await createSigningKey(COMMON_KEY_SET, this.secrets, now), now + DEFAULT_GRACE_MS);
    this.invalidate(COMMON_KEY_SET);
    const made = await this.cached(COMMON_KEY_SET);
    if (!made) throw new Error('the instance key set has no active signing key');
    return made;
  }

  /** The instance's JWKS as published: none yet, until its first key is made (nothing is made by reading it). */
  async commonJwks(): Promise<string> {
    return (await this.cached(COMMON_KEY_SET))?.jwksJson ?? '{"keys":[]}';
  }

  /** Forgets cached keys of one tenant (or the instance set), or of all (a rotation made here or announced by another instance). */
  invalidate(tenantId?: string): void {
    if (tenantId === undefined || tenantId === COMMON_KEY_SET) this.noCommonUntil = 0;
    if (tenantId === undefined) this.cache.clear();
    else this.cache.delete(tenantId);
  }

  /** A key set from the cache, re-read when its version moved (checked at most once a second) or a replaced key's grace ended. */
  private async cached(tenantId: string): Promise<TenantKeySet | undefined> {
    const now = this.clock.now();
    if (tenantId === COMMON_KEY_SET && now < this.noCommonUntil) return undefined;
    const entry = this.cache.get(tenantId);
    if (entry && fresh(entry, now)) return entry.set;
    if (entry && now < entry.set.staleAt) {
      const version = await this.version(tenantId);
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

  /** A tenant's config version; the instance set's, a fingerprint of its keys and their states. */
  private async version(tenantId: string, keys?: SigningKey[]): Promise<number> {
    if (tenantId !== COMMON_KEY_SET) return (await this.store.tenantConfigVersion(tenantId)) ?? 0;
    const all = keys ?? (await this.store.listSigningKeys(tenantId));
    let h = all.length;
    for (const k of all) for (const c of `${k.kid}:${k.status}:${k.publishUntil ?? ''};`) h = (Math.imul(h, 31) + c.charCodeAt(0)) | 0;
    return h;
  }

  private async load(tenantId: string): Promise<TenantKeySet | undefined> {
    const all = await this.store.listSigningKeys(tenantId);
    const version = tenantId === COMMON_KEY_SET ? await this.version(tenantId, all) : await this.version(tenantId);
    const now = this.clock.now();
    const keys = publishedKeys(all, now);
    const active = keys.find((k) => k.status === 'active');
    if (!active) {
      // The instance set before its first key: nothing to publish yet (checked again a second later).
      if (tenantId === COMMON_KEY_SET) {
        this.cache.delete(tenantId);
        this.noCommonUntil = now + RECHECK_MS;
      }
      return undefined;
    }
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

/** A set used as it is: checked against its version less than RECHECK_MS ago, and no replaced key's grace ended since. */
function fresh(entry: CacheEntry, now: number): boolean {
  return now - entry.checkedAt < RECHECK_MS && now < entry.set.staleAt;
}

/** A tenant's set with the instance's keys beside its own: it still signs with its own active key. */
function merge(own: TenantKeySet, common: TenantKeySet): TenantKeySet {
  const verifyKeys = new Map(own.verifyKeys);
  for (const [kid, key] of common.verifyKeys) verifyKeys.set(kid, key);
  const keys = [...(JSON.parse(own.jwksJson) as { keys: unknown[] }).keys, ...(JSON.parse(common.jwksJson) as { keys: unknown[] }).keys];
  return { version: own.version, active: own.active, verifyKeys, jwksJson: JSON.stringify({ keys }), staleAt: Math.min(own.staleAt, common.staleAt) };
}
