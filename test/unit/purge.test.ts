import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('purgeExpired', () => {
  it('removes expired codes and refresh families, across sweep ranges, and keeps live ones', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'latchkey-purge-'));
    dirs.push(dir);
    const store = new SqliteStore(join(dir, 'db.sqlite'));
    const db = store.db;
    db.prepare(`INSERT INTO tenants (id, slug, display_name, default_policy, issuer_pattern, config_version, created_at) VALUES ('t', 'demo', 'Demo', 'B2C_1_signin', 'tenant', 1, 0)`).run();
    db.prepare(`INSERT INTO users (id, tenant_id, email, email_normalized, email_verified, password_hash, given_name, family_name, display_name, attributes, disabled, created_at, updated_at)
      VALUES ('u', 't', 'a@example.com', 'a@example.com', 1, NULL, NULL, NULL, NULL, '{}', 0, 0, 0)`).run();
    const now = 1_000_000;
    // 10,000 families (more than two sweep ranges): every third one expired.
    const family = db.prepare(`INSERT INTO refresh_families (family_id, secret_hash, tenant_id, client_id, user_id, data, created_at, expires_at, family_expires_at)
      VALUES (?, 'h', 't', 'c', 'u', '{}', 0, ?, NULL)`);
    const code = db.prepare(`INSERT INTO auth_codes (code_hash, tenant_id, client_id, user_id, data, created_at, expires_at, consumed_at, issued_jti) VALUES (?, 't', 'c', 'u', '{}', 0, ?, NULL, NULL)`);
    db.transaction(() => {
      for (let i = 0; i < 10_000; i++) family.run(`f${i}`, i % 3 === 0 ? now - 1 : now + 1);
      code.run('old', now - 1);
      code.run('new', now + 600_000);
    })();
    // A family deleted in the middle leaves a gap in the rowids; the sweep goes past it.
    db.prepare(`DELETE FROM refresh_families WHERE family_id = 'f5000'`).run();

    const removed = await store.purgeExpired(now);
    const expiredFamilies = Math.ceil(10_000 / 3);
    expect(removed).toBe(expiredFamilies + 1);
    expect(db.prepare('SELECT count(*) FROM refresh_families').pluck().get()).toBe(10_000 - 1 - expiredFamilies);
    expect(db.prepare('SELECT count(*) FROM refresh_families WHERE expires_at < ?').pluck().get(now)).toBe(0);
    expect(db.prepare('SELECT code_hash FROM auth_codes').pluck().all()).toEqual(['new']);
    expect(await store.purgeExpired(now)).toBe(0);
    await store.close();
  });
});
