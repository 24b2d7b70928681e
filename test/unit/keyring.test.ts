import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secrets.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { KeyRing, createSigningKey } from '../../src/tokens/keyring.js';

describe('KeyRing', () => {
  it('drops a replaced key from the JWKS when its grace period ends, without a version change', async () => {
    const store = new SqliteStore(':memory:');
    let now = 1_000_000;
    const clock = { now: () => now };
    const secrets = new SecretBox(undefined);
    await store.createTenant({ id: 't1', slug: 'acme', displayName: 'Acme', defaultPolicy: 'p', issuerPattern: 'tenant', configVersion: 0, createdAt: now, legacyRopc: null, extensionsAppId: null, b2cName: null, legacyRate: null });
    await store.rotateSigningKey(await createSigningKey('t1', secrets, now), now);
    await store.rotateSigningKey(await createSigningKey('t1', secrets, now), now + 10_000);
    const ring = new KeyRing(store, secrets, clock);
    expect(JSON.parse((await ring.forTenant('t1')).jwksJson).keys).toHaveLength(2);
    now += 10_001;
    expect(JSON.parse((await ring.forTenant('t1')).jwksJson).keys).toHaveLength(1);
    await store.close();
  });

  it('seals private keys under the master key and refuses to open them with another', async () => {
    const box = new SecretBox('a'.repeat(40));
    const key = await createSigningKey('t1', box, 0);
    expect(key.privateKey).toMatch(/^aesgcm:/);
    expect(key.privateKey).not.toContain('PRIVATE KEY');
    expect(box.open(key.privateKey)).toContain('BEGIN PRIVATE KEY');
    expect(() => new SecretBox('b'.repeat(40)).open(key.privateKey)).toThrow(/not the key it was sealed with/);
  });
});
