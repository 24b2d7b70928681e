import { invalid, notFound } from '../model/errors.js';
import type { Tenant } from '../model/entities.js';
import { createSigningKey, DEFAULT_GRACE_MS } from '../tokens/keyring.js';
import type { ProvisionDeps } from './deps.js';

/** Signing keys: rotated with a grace period in which the old key stays published, and retired. */

export async function rotateKeys(d: ProvisionDeps, tenant: Tenant, graceMs = DEFAULT_GRACE_MS) {
  const now = d.clock.now();
  const key = await createSigningKey(tenant.id, d.secrets, now);
  await d.store.rotateSigningKey(key, now + graceMs);
  await d.audit.record({ tenantId: tenant.id, event: 'key_rotated', outcome: 'success', detail: key.kid });
  return key;
}

/** Removes replaced keys from the JWKS: one by kid, or all of them. The active key cannot be retired. */
export async function retireKeys(d: ProvisionDeps, tenant: Tenant, kid?: string): Promise<string[]> {
  const keys = await d.store.listSigningKeys(tenant.id);
  if (kid) {
    const key = keys.find((k) => k.kid === kid);
    if (!key) throw notFound(`no key '${kid}' in tenant '${tenant.slug}'`);
    if (key.status === 'active') throw invalid(`key '${kid}' is the active key: rotate first, then retire it`);
  }
  const retired: string[] = [];
  for (const k of keys) {
    if (k.status === 'grace' && (!kid || k.kid === kid) && (await d.store.deleteSigningKey(tenant.id, k.kid))) retired.push(k.kid);
  }
  for (const k of retired) await d.audit.record({ tenantId: tenant.id, event: 'key_retired', outcome: 'success', detail: k });
  return retired;
}
