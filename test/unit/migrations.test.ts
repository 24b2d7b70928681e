import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { migrationsDir, postgresMigrationsDir } from '../../src/paths.js';
import { migrate } from '../../src/store/sqlite/migrate.js';
import { migratePostgres } from '../../src/store/postgres/migrate.js';
import { createDatabase } from '../helpers/postgres-cluster.js';

const dir = mkdtempSync(join(tmpdir(), 'latchkey-migrations-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A folder of the migrations before `version` (an older Latchkey's). */
function migrationsBefore(version: string): string {
  const before = join(dir, `upto-${version}`);
  rmSync(before, { recursive: true, force: true });
  mkdirSync(before);
  for (const f of readdirSync(migrationsDir).filter((f) => f < version)) copyFileSync(join(migrationsDir, f), join(before, f));
  return before;
}

/** A database migrated up to (not including) `version`, with one tenant and one user, as an older Latchkey left it. */
function databaseBefore(version: string): Database.Database {
  const db = new Database(':memory:');
  db.pragma('foreign_keys = ON');
  migrate(db, migrationsBefore(version));
  db.prepare(`INSERT INTO tenants (id, slug, display_name, default_policy, issuer_pattern, config_version, created_at) VALUES ('t', 'demo', 'Demo', 'B2C_1_signin', 'tenant', 1, 0)`).run();
  db.prepare(`INSERT INTO users (id, tenant_id, email, email_normalized, email_verified, password_hash, given_name, family_name, display_name, attributes, disabled, created_at, updated_at)
    VALUES ('u', 't', 'a@example.com', 'a@example.com', 1, NULL, NULL, NULL, NULL, '{}', 0, 0, 0)`).run();
  return db;
}

describe('migration 0004 (a redeemed code names its refresh-token family)', () => {
  it('gives codes redeemed before it their family, so a later replay still revokes it', () => {
    const db = databaseBefore('0004');
    const code = db.prepare(`INSERT INTO auth_codes (code_hash, tenant_id, client_id, user_id, data, created_at, expires_at, consumed_at, issued_jti) VALUES (?, 't', 'c', 'u', '{}', 0, 1, ?, NULL)`);
    code.run('spent', 5);
    code.run('fresh', null);
    db.prepare(`INSERT INTO refresh_tokens (token_hash, family_id, tenant_id, client_id, user_id, data, created_at, expires_at, family_expires_at, consumed_at, revoked_at, origin_code_hash)
      VALUES ('rt', 'fam-1', 't', 'c', 'u', '{}', 0, 1, NULL, NULL, NULL, 'spent')`).run();

    expect(migrate(db, migrationsDir).applied).toEqual(readdirSync(migrationsDir).filter((f) => f >= '0004' && f.endsWith('.sql')).sort());
    const family = db.prepare('SELECT family_id FROM auth_codes WHERE code_hash = ?').pluck();
    expect(family.get('spent')).toBe('fam-1');
    expect(family.get('fresh')).toBeNull();
    expect(db.prepare(`SELECT name FROM sqlite_master WHERE name = 'refresh_tokens_code'`).get()).toBeUndefined();
    db.close();
  });
});

describe('migration 0007 (front-channel logout)', () => {
  it('gives SSO sessions begun before it a sid of their own, and sessions remember their apps', () => {
    const db = databaseBefore('0007');
    const session = db.prepare(`INSERT INTO sso_sessions (id_hash, tenant_id, user_id, policy_id, client_id, idp, auth_time, created_at, expires_at) VALUES (?, 't', 'u', 'p', 'c', 'local', 0, 0, 1)`);
    session.run('s1');
    session.run('s2');
    migrate(db, migrationsDir);
    const sids = db.prepare('SELECT sid FROM sso_sessions ORDER BY id_hash').pluck().all() as string[];
    expect(sids.every((sid) => /^[0-9a-f]{32}$/.test(sid))).toBe(true);
    expect(new Set(sids).size).toBe(2);
    db.prepare(`INSERT INTO sso_session_clients (session_hash, client_id, policy_id) VALUES ('s1', 'c', 'p')`).run();
    db.prepare(`DELETE FROM sso_sessions WHERE id_hash = 's1'`).run();
    expect(db.prepare('SELECT count(*) FROM sso_session_clients').pluck().get()).toBe(0);
    db.close();
  });
});

describe('migration 0008 (users with identities)', () => {
  it('keeps every user, its local account and what refers to it, and lets accounts without a local sign-in share an address', () => {
    const db = databaseBefore('0008');
    db.prepare(`INSERT INTO sso_sessions (id_hash, sid, tenant_id, user_id, policy_id, client_id, idp, auth_time, created_at, expires_at) VALUES ('s', 'x', 't', 'u', 'p', 'c', 'local', 0, 0, 1)`).run();
    // Up to the schema that had one sign-in name per user (0016 replaced it with local identities, tested below).
    expect(migrate(db, migrationsBefore('0016')).applied).toEqual(readdirSync(migrationsDir).filter((f) => f >= '0008' && f < '0016' && f.endsWith('.sql')).sort());
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const user = db.prepare('SELECT * FROM users WHERE id = ?').get('u') as Record<string, unknown>;
    expect(user).toMatchObject({ email: 'a@example.com', sign_in_name: 'a@example.com', sign_in_type: 'emailAddress' });
    // The session survived the rebuild (no cascade), and still cascades from the new table.
    expect(db.prepare('SELECT count(*) FROM sso_sessions').pluck().get()).toBe(1);
    db.prepare(`INSERT INTO users (id, tenant_id, email, email_normalized, sign_in_name, sign_in_type, created_at, updated_at) VALUES ('f', 't', 'a@example.com', 'a@example.com', NULL, NULL, 0, 0)`).run();
    db.prepare(`INSERT INTO user_identities (tenant_id, issuer, issuer_assigned_id, user_id, created_at) VALUES ('t', 'google.com', '1', 'f', 0)`).run();
    expect(() => db.prepare(`INSERT INTO users (id, tenant_id, sign_in_name, created_at, updated_at) VALUES ('g', 't', 'a@example.com', 0, 0)`).run()).toThrow(/UNIQUE/);
    db.prepare(`DELETE FROM users WHERE id = 'u'`).run();
    expect(db.prepare('SELECT count(*) FROM sso_sessions').pluck().get()).toBe(0);
    db.prepare(`DELETE FROM users WHERE id = 'f'`).run();
    expect(db.prepare('SELECT count(*) FROM user_identities').pluck().get()).toBe(0);
    db.close();
  });
});

/** Apps of every type as an older Latchkey left them: one list of redirect URIs each. */
const OLD_APPS = [
  ['w', 'web', '["https://web.example/cb"]'],
  ['s', 'spa', '["https://spa.example/","http://localhost:5173/"]'],
  ['n', 'native', '["msauth.com.contoso://auth","http://127.0.0.1/cb"]'],
  ['a', 'api', '[]'],
  ['d', 'daemon', '[]'],
] as const;
/** What each becomes: its redirect URIs are its type's platform's. */
const PLATFORMS_AFTER = {
  w: { web: ['https://web.example/cb'], spa: [], publicClient: [] },
  s: { web: [], spa: ['https://spa.example/', 'http://localhost:5173/'], publicClient: [] },
  n: { web: [], spa: [], publicClient: ['msauth.com.contoso://auth', 'http://127.0.0.1/cb'] },
  a: { web: [], spa: [], publicClient: [] },
  d: { web: [], spa: [], publicClient: [] },
};
const platformsOf = (rows: Record<string, unknown>[]) =>
  Object.fromEntries(rows.map((r) => [r.client_id, { web: JSON.parse(String(r.web_redirect_uris)), spa: JSON.parse(String(r.spa_redirect_uris)), publicClient: JSON.parse(String(r.public_client_redirect_uris)) }]));

describe('migration 0017 (app registrations with platforms)', () => {
  it("moves each app's redirect URIs to its type's platform (SQLite)", () => {
    const db = databaseBefore('0017');
    const insert = db.prepare(`INSERT INTO apps (client_id, tenant_id, name, type, redirect_uris, created_at) VALUES (?, 't', ?, ?, ?, 0)`);
    for (const [id, type, uris] of OLD_APPS) insert.run(id, type, type, uris);
    migrate(db, migrationsDir);
    const rows = db.prepare('SELECT * FROM apps ORDER BY client_id').all() as Record<string, unknown>[];
    expect(platformsOf(rows)).toEqual(PLATFORMS_AFTER);
    expect(rows[0]).not.toHaveProperty('redirect_uris');
    db.close();
  });

  const postgresUrl = inject('postgresUrl');
  it.runIf(postgresUrl !== '')("moves each app's redirect URIs to its type's platform (PostgreSQL, its migration 0008)", async () => {
    const before = join(dir, 'pg-upto-0008');
    mkdirSync(before);
    for (const f of readdirSync(postgresMigrationsDir).filter((f) => f < '0008')) copyFileSync(join(postgresMigrationsDir, f), join(before, f));
    const pool = new pg.Pool({ connectionString: await createDatabase(postgresUrl, `migrations_${Date.now()}`), max: 1 });
    try {
      await migratePostgres(pool, before);
      await pool.query(`INSERT INTO tenants (id, slug, display_name, default_policy, issuer_pattern, config_version, created_at) VALUES ('t', 'demo', 'Demo', 'B2C_1_signin', 'tenant', 1, 0)`);
      for (const [id, type, uris] of OLD_APPS) {
        await pool.query(`INSERT INTO apps (client_id, tenant_id, name, type, redirect_uris, created_at) VALUES ($1, 't', $2, $3, $4, 0)`, [id, type, type, uris]);
      }
      expect((await migratePostgres(pool, postgresMigrationsDir)).applied).toContain('0008_app_platforms.sql');
      const rows = (await pool.query('SELECT * FROM apps ORDER BY client_id')).rows as Record<string, unknown>[];
      expect(platformsOf(rows)).toEqual(PLATFORMS_AFTER);
      expect(rows[0]).not.toHaveProperty('redirect_uris');
    } finally {
      await pool.end();
    }
  });
});

describe('migration 0016 (several local identities per user)', () => {
  it('gives every user the one sign-in name it had as its local identity, found by sign-ins, with what refers to it kept', () => {
    const db = databaseBefore('0016');
    db.prepare(`UPDATE users SET email = 'A@Example.com', sign_in_name = 'a@example.com', sign_in_type = 'emailAddress' WHERE id = 'u'`).run();
    db.prepare(`INSERT INTO users (id, tenant_id, email, email_normalized, sign_in_name, sign_in_type, password_hash, password_at_legacy, created_at, updated_at) VALUES ('n', 't', NULL, NULL, 'jdoe', 'userName', NULL, 1, 0, 0)`).run();
    db.prepare(`INSERT INTO users (id, tenant_id, email, email_normalized, sign_in_name, sign_in_type, created_at, updated_at) VALUES ('f', 't', 'b@example.com', 'b@example.com', NULL, NULL, 0, 0)`).run();
    db.prepare(`INSERT INTO user_identities (tenant_id, issuer, issuer_assigned_id, user_id, created_at) VALUES ('t', 'google.com', '1', 'f', 0)`).run();
    db.prepare(`INSERT INTO sso_sessions (id_hash, sid, tenant_id, user_id, policy_id, client_id, idp, auth_time, created_at, expires_at) VALUES ('s', 'x', 't', 'u', 'p', 'c', 'local', 0, 0, 1)`).run();

    expect(migrate(db, migrationsDir).applied).toEqual(readdirSync(migrationsDir).filter((f) => f >= '0016' && f.endsWith('.sql')).sort());
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    const identities = (id: string) => JSON.parse(db.prepare('SELECT local_identities FROM users WHERE id = ?').pluck().get(id) as string) as unknown;
    // The email keeps the case of the contact address; a user name stays; a social account has none.
    expect(identities('u')).toEqual([{ signInType: 'emailAddress', issuerAssignedId: 'A@Example.com' }]);
    expect(identities('n')).toEqual([{ signInType: 'userName', issuerAssignedId: 'jdoe' }]);
    expect(identities('f')).toEqual([]);
    expect(db.prepare('SELECT password_at_legacy FROM users WHERE id = ?').pluck().get('n')).toBe(1);
    expect(db.prepare('SELECT name, user_id FROM user_sign_in_names ORDER BY name').all()).toEqual([{ name: 'a@example.com', user_id: 'u' }, { name: 'jdoe', user_id: 'n' }]);
    // Names stay unique in the tenant, and go with their user (as sessions and identities do).
    expect(() => db.prepare(`INSERT INTO user_sign_in_names (tenant_id, name, user_id) VALUES ('t', 'jdoe', 'u')`).run()).toThrow(/UNIQUE/);
    db.prepare(`INSERT INTO user_sign_in_names (tenant_id, name, user_id) VALUES ('t', 'ann', 'u')`).run();
    expect(db.prepare('SELECT count(*) FROM sso_sessions').pluck().get()).toBe(1);
    db.prepare(`DELETE FROM users WHERE id = 'u'`).run();
    expect(db.prepare('SELECT count(*) FROM sso_sessions').pluck().get()).toBe(0);
    expect(db.prepare('SELECT name FROM user_sign_in_names').pluck().all()).toEqual(['jdoe']);
    db.prepare(`DELETE FROM users WHERE id = 'f'`).run();
    expect(db.prepare('SELECT count(*) FROM user_identities').pluck().get()).toBe(0);
    db.close();
  });
});

describe('an upgrade from the release before this round (its migrations 0001-0015, 0017 and 0020)', () => {
  it('applies the ones it lacks, in number order after the later ones, and keeps users, sessions and keys', () => {
    // The main branch that was released had SQLite migrations up to 0015, then 0017 and 0020: the
    // numbers between were taken by work that came later. A database it left is brought up to date.
    const released = join(dir, 'released');
    rmSync(released, { recursive: true, force: true });
    mkdirSync(released);
    for (const f of readdirSync(migrationsDir).filter((f) => f < '0016' || f.startsWith('0017_') || f.startsWith('0020_'))) copyFileSync(join(migrationsDir, f), join(released, f));
    const db = new Database(':memory:');
    db.pragma('foreign_keys = ON');
    migrate(db, released);
    db.prepare(`INSERT INTO tenants (id, slug, display_name, default_policy, issuer_pattern, config_version, created_at) VALUES ('t', 'demo', 'Demo', 'B2C_1_signin', 'tenant', 1, 0)`).run();
    db.prepare(`INSERT INTO users (id, tenant_id, email, email_normalized, sign_in_name, sign_in_type, created_at, updated_at) VALUES ('u', 't', 'a@example.com', 'a@example.com', 'a@example.com', 'emailAddress', 0, 0)`).run();
    db.prepare(`INSERT INTO sso_sessions (id_hash, sid, tenant_id, user_id, policy_id, client_id, idp, auth_time, created_at, expires_at) VALUES ('s', 'x', 't', 'u', 'p', 'c', 'local', 0, 0, 1)`).run();
    db.prepare(`INSERT INTO signing_keys (kid, tenant_id, alg, public_jwk, private_key, status, created_at, publish_until) VALUES ('k', 't', 'RS256', '{}', 'x', 'active', 0, NULL)`).run();

    const { applied } = migrate(db, migrationsDir);
    expect(applied).toEqual(readdirSync(migrationsDir).filter((f) => f.endsWith('.sql') && !readdirSync(released).includes(f)).sort());
    expect(applied).toContain('0016_local_identities.sql');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(JSON.parse(db.prepare(`SELECT local_identities FROM users WHERE id = 'u'`).pluck().get() as string)).toEqual([{ signInType: 'emailAddress', issuerAssignedId: 'a@example.com' }]);
    expect(db.prepare('SELECT count(*) FROM sso_sessions').pluck().get()).toBe(1);
    expect(db.prepare(`SELECT status FROM signing_keys WHERE kid = 'k'`).pluck().get()).toBe('active');
    // Applied once: a second start has nothing to do.
    expect(migrate(db, migrationsDir).applied).toEqual([]);
    db.close();
  });
});

describe('an upgrade of PostgreSQL from the release before this round (its migrations 0001-0006, 0008 and 0010)', () => {
  const postgresUrl = inject('postgresUrl');
  it.runIf(postgresUrl !== '')('applies the ones it lacks and keeps users', async () => {
    const released = join(dir, 'pg-released');
    rmSync(released, { recursive: true, force: true });
    mkdirSync(released);
    const keep = (f: string) => f < '0007' || f.startsWith('0008_') || f.startsWith('0010_');
    for (const f of readdirSync(postgresMigrationsDir).filter(keep)) copyFileSync(join(postgresMigrationsDir, f), join(released, f));
    const pool = new pg.Pool({ connectionString: await createDatabase(postgresUrl, `migrations_released_${Date.now()}`), max: 1 });
    try {
      await migratePostgres(pool, released);
      await pool.query(`INSERT INTO tenants (id, slug, display_name, default_policy, issuer_pattern, config_version, created_at) VALUES ('t', 'demo', 'Demo', 'B2C_1_signin', 'tenant', 1, 0)`);
      await pool.query(`INSERT INTO users (id, tenant_id, email, email_normalized, sign_in_name, sign_in_type, created_at, updated_at) VALUES ('u', 't', 'a@example.com', 'a@example.com', 'a@example.com', 'emailAddress', 0, 0)`);
      const { applied } = await migratePostgres(pool, postgresMigrationsDir);
      expect(applied).toEqual(readdirSync(postgresMigrationsDir).filter((f) => f.endsWith('.sql') && !keep(f)).sort());
      expect(JSON.parse((await pool.query(`SELECT local_identities FROM users WHERE id = 'u'`)).rows[0].local_identities as string)).toEqual([{ signInType: 'emailAddress', issuerAssignedId: 'a@example.com' }]);
      expect((await migratePostgres(pool, postgresMigrationsDir)).applied).toEqual([]);
    } finally {
      await pool.end();
    }
  });
});
