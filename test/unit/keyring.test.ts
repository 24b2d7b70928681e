import { describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/crypto/secrets.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { KeyRing, createSigningKey } from '../../src/tokens/keyring.js';
import { COMMON_KEY_SET, type Tenant } from '../../src/model/entities.js';

/** The tenant every case keys: made at `createdAt`. */
const acme = (createdAt: number): Tenant => ({ id: 't1', slug: 'acme', displayName: 'Acme', defaultPolicy: 'p', issuerPattern: 'tenant', configVersion: 0, createdAt, legacyRopc: null, extensionsAppId: null, b2cName: null, legacyRate: null });

describe('KeyRing', () => {
  it('drops a replaced key from the JWKS when its grace period ends, without a version change', async () => {
    const store = new SqliteStore(':memory:');
    let now = 1_000_000;
    const clock = { now: () => now };
    const secrets = new SecretBox(undefined);
    await store.createTenant(acme(now));
    await store.rotateSigningKey(await createSigningKey('t1', secrets, now), now);
    await store.rotateSigningKey(await createSigningKey('t1', secrets, now), now + 10_000);
    const ring = new KeyRing(store, secrets, clock);
    expect(JSON.parse((await ring.forTenant('t1')).jwksJson).keys).toHaveLength(2);
    now += 10_001;
    expect(JSON.parse((await ring.forTenant('t1')).jwksJson).keys).toHaveLength(1);
    await store.close();
  });

  it('publishes a next key beside the active one and keeps signing with the active one until a rotation promotes it', async () => {
    const store = new SqliteStore(':memory:');
    let now = 1_000_000;
    const clock = { now: () => now };
    const secrets = new SecretBox(undefined);
    await store.createTenant(acme(now));
    const first = await createSigningKey('t1', secrets, now);
    await store.rotateSigningKey(first, now);
    const ring = new KeyRing(store, secrets, clock);
    expect((await ring.forTenant('t1')).active.kid).toBe(first.kid);
    const next = { ...(await createSigningKey('t1', secrets, now)), status: 'next' as const };
    await store.addNextSigningKey(next);
    // Seen at the next check of the tenant's version (a second later), as a CLI rotation is.
    now += 1001;
    const prepared = await ring.forTenant('t1');
    expect(prepared.active.kid).toBe(first.kid);
    expect((JSON.parse(prepared.jwksJson) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([first.kid, next.kid]);
    expect(prepared.verifyKeys.has(next.kid)).toBe(true);
    await store.rotateSigningKey({ ...next, status: 'active' }, now + 10_000);
    now += 1001;
    expect((await ring.forTenant('t1')).active.kid).toBe(next.kid);
    await store.close();
  });

  it("adds the instance's keys (multi-tenant apps' tokens) to every tenant's set, makes them on first use, and looks for them at most once a second", async () => {
    const engine = new SqliteStore(':memory:');
    let lookups = 0;
    const store = new Proxy(engine, {
      get(target, name, receiver) {
        if (name === 'listSigningKeys') return (tenantId: string) => ((lookups += tenantId === COMMON_KEY_SET ? 1 : 0), target.listSigningKeys(tenantId));
        const v = Reflect.get(target, name, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    let now = 1_000_000;
    const clock = { now: () => now };
    const secrets = new SecretBox(undefined);
    await store.createTenant(acme(now));
    const own = await createSigningKey('t1', secrets, now);
    await store.rotateSigningKey(own, now);
    const ring = new KeyRing(store, secrets, clock);
    for (let i = 0; i < 50; i += 1) expect(JSON.parse((await ring.forTenant('t1')).jwksJson).keys).toHaveLength(1);
    expect(lookups).toBe(1);
    const common = await ring.common();
    expect((await store.listSigningKeys(COMMON_KEY_SET)).map((k) => k.kid)).toEqual([common.active.kid]);
    const merged = await ring.forTenant('t1');
    expect(merged.active.kid).toBe(own.kid);
    expect((JSON.parse(merged.jwksJson) as { keys: { kid: string }[] }).keys.map((k) => k.kid)).toEqual([own.kid, common.active.kid]);
    expect(merged.verifyKeys.has(common.active.kid)).toBe(true);
    await engine.close();
  });

  it('answers from memory (forTenantNow) only what forTenant would, and defers to it when a check is due or a key changed', async () => {
    const store = new SqliteStore(':memory:');
    let now = 1_000_000;
    const clock = { now: () => now };
    const secrets = new SecretBox(undefined);
    await store.createTenant(acme(now));
    await store.rotateSigningKey(await createSigningKey('t1', secrets, now), now);
    const ring = new KeyRing(store, secrets, clock);
    expect(ring.forTenantNow('t1')).toBeUndefined();
    const own = await ring.forTenant('t1');
    expect(ring.forTenantNow('t1')).toBe(own);
    // With the instance's keys: the merged set, once forTenant has made it.
    await ring.common();
    expect(ring.forTenantNow('t1')).toBeUndefined();
    const merged = await ring.forTenant('t1');
    expect(JSON.parse(merged.jwksJson).keys).toHaveLength(2);
    expect(ring.forTenantNow('t1')).toBe(merged);
    // A check of the version is due a second later: memory does not answer, forTenant does (and sees a rotation).
    const rotated = await createSigningKey('t1', secrets, now);
    await store.rotateSigningKey(rotated, now + 60_000);
    now += 1000;
    expect(ring.forTenantNow('t1')).toBeUndefined();
    expect((await ring.forTenant('t1')).active.kid).toBe(rotated.kid);
    expect(ring.forTenantNow('t1')?.active.kid).toBe(rotated.kid);
    // A rotation announced (invalidate) is not answered from memory either.
    ring.invalidate('t1');
    expect(ring.forTenantNow('t1')).toBeUndefined();
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
