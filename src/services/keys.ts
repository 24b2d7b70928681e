import { conflict, invalid, notFound } from '../model/errors.js';
import { COMMON_KEY_SET, type SigningKey, type Tenant } from '../model/entities.js';
import { StoreConflictError } from '../store/store.js';
import { createSigningKey, DEFAULT_GRACE_MS } from '../tokens/keyring.js';
import type { ProvisionDeps } from './deps.js';

/**
 * Signing keys: rotated with a grace period in which the old key stays published, and retired. A
 * rotation may take two steps: `prepare` publishes the next key (JWKS, SAML metadata) without signing
 * with it, so SAML apps and clients that pin keys learn it first; the next rotation makes it active.
 * The same operations apply to a tenant's keys and to the instance's (COMMON_KEY_SET), which sign
 * multi-tenant apps' tokens.
 */

/** Whose keys: a tenant's, or the instance's. */
export type KeyOwner = Tenant | typeof COMMON_KEY_SET;

const ownerId = (o: KeyOwner): string => (o === COMMON_KEY_SET ? COMMON_KEY_SET : o.id);
const ownerName = (o: KeyOwner): string => (o === COMMON_KEY_SET ? 'the instance (--common)' : `tenant '${o.slug}'`);
const auditTenant = (o: KeyOwner): string | null => (o === COMMON_KEY_SET ? null : o.id);

export interface RotateOptions {
  /** How long the replaced key stays published (48 h by default). */
  graceMs?: number;
  /** Publish the next key only; the next rotation (without it) makes it active. */
  prepare?: boolean;
}

/**
 * Rotates: a prepared (next) key becomes active, or a new one does; the previous active key stays
 * published for the grace period. With `prepare`, publishes a new next key and signs with nothing new.
 */
export async function rotateKeys(d: ProvisionDeps, owner: KeyOwner, opts: RotateOptions = {}): Promise<SigningKey> {
  const now = d.clock.now();
  const id = ownerId(owner);
  const next = (await d.store.listSigningKeys(id)).find((k) => k.status === 'next');
  if (opts.prepare) {
    if (opts.graceMs !== undefined) throw invalid('--grace-hours goes with the rotation that makes the key active, not with --prepare');
    if (next) throw conflict(`${ownerName(owner)} has a next key published already (${next.kid}): rotate to make it active first`);
    const key = { ...(await createSigningKey(id, d.secrets, now)), status: 'next' as const };
    try {
      await d.store.addNextSigningKey(key);
    } catch (err) {
      if (err instanceof StoreConflictError) throw conflict(`${ownerName(owner)} has a next key published already: rotate to make it active first`);
      throw err;
    }
    await d.audit.record({ tenantId: auditTenant(owner), event: 'key_prepared', outcome: 'success', detail: owner === COMMON_KEY_SET ? `common ${key.kid}` : key.kid });
    return key;
  }
  const key: SigningKey = next ? { ...next, status: 'active', publishUntil: null } : await createSigningKey(id, d.secrets, now);
  await d.store.rotateSigningKey(key, now + (opts.graceMs ?? DEFAULT_GRACE_MS));
  const detail = `${owner === COMMON_KEY_SET ? 'common ' : ''}${key.kid}${next ? ' (prepared)' : ''}`;
  await d.audit.record({ tenantId: auditTenant(owner), event: 'key_rotated', outcome: 'success', detail });
  return key;
}

/** The instance's key set, made when it has no active key yet (the first multi-tenant app). */
export async function ensureCommonKeys(d: ProvisionDeps): Promise<void> {
  if ((await d.store.listSigningKeys(COMMON_KEY_SET)).some((k) => k.status === 'active')) return;
  const now = d.clock.now();
  // A grace period, not none: another process making one at the same moment keeps its key published.
  await d.store.rotateSigningKey(await createSigningKey(COMMON_KEY_SET, d.secrets, now), now + DEFAULT_GRACE_MS);
  await d.audit.record({ tenantId: null, event: 'key_rotated', outcome: 'success', detail: 'common (first key)' });
}

/** Removes replaced keys from the JWKS: one by kid, or all of them. The active and the next key cannot be retired. */
export async function retireKeys(d: ProvisionDeps, owner: KeyOwner, kid?: string): Promise<string[]> {
  const id = ownerId(owner);
  const keys = await d.store.listSigningKeys(id);
  if (kid) {
    const key = keys.find((k) => k.kid === kid);
    if (!key) throw notFound(`no key '${kid}' in ${ownerName(owner)}`);
    if (key.status === 'active') throw invalid(`key '${kid}' is the active key: rotate first, then retire it`);
    if (key.status === 'next') throw invalid(`key '${kid}' is the next key: rotate to make it active (it cannot be retired before it was used)`);
  }
  const retired: string[] = [];
  for (const k of keys) {
    if (k.status === 'grace' && (!kid || k.kid === kid) && (await d.store.deleteSigningKey(id, k.kid))) retired.push(k.kid);
  }
  for (const k of retired) await d.audit.record({ tenantId: auditTenant(owner), event: 'key_retired', outcome: 'success', detail: k });
  return retired;
}
