import { copyFileSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function tempDb(): string {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-ckpt-'));
  dirs.push(dir);
  return join(dir, 'latchkey.db');
}

/** Rows visible in the database file alone, without its write-ahead log (what checkpoints copied). */
function tenantsInMainFile(path: string): number {
  const copy = `${path}.copy`;
  for (const f of [copy, `${copy}-wal`, `${copy}-shm`]) rmSync(f, { force: true });
  copyFileSync(path, copy);
  const db = new Database(copy, { readonly: true });
  try {
    const known = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'tenants'").get();
    return known ? (db.prepare('SELECT count(*) AS n FROM tenants').get() as { n: number }).n : 0;
  } finally {
    db.close();
  }
}

async function addTenants(store: SqliteStore, n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await store.createTenant({ id: crypto.randomUUID(), slug: `t${i}-${Math.random().toString(36).slice(2, 8)}`, displayName: 'T', defaultPolicy: 'B2C_1_signin', issuerPattern: 'tenant', configVersion: 1, createdAt: Date.now(), legacyRopc: null, extensionsAppId: null, b2cName: null, legacyRate: null });
  }
}

describe('background WAL checkpoints', () => {
  it('copies committed rows into the database file from another thread, and the last close folds the log in', async () => {
    const path = tempDb();
    const store = new SqliteStore(path);
    store.startBackgroundWork((m) => {
      throw new Error(m);
    });
    // The thread starts with the first grouped write (the token endpoint's); tenants are not grouped.
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await store.createAuthCode({ codeHash: 'h', tenantId: 'none', clientId: 'c', userId: 'u', data: {}, createdAt: 0, expiresAt: 1, consumedAt: null, issuedJti: null }).catch(() => undefined);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(4000);
    // Far below the 4,000 pages at which the server's own connection would checkpoint.
    await addTenants(store, 50);
    const deadline = Date.now() + 5000;
    while (tenantsInMainFile(path) < 50 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(tenantsInMainFile(path)).toBe(50);
    await store.close();
    expect(statSync(`${path}-wal`, { throwIfNoEntry: false })).toBeUndefined();
  });

  it('leaves checkpoints to SQLite when not asked for (the CLI)', async () => {
    const path = tempDb();
    const store = new SqliteStore(path);
    await addTenants(store, 5);
    expect(store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    await new Promise((r) => setTimeout(r, 600));
    expect(tenantsInMainFile(path)).toBe(0);
    await store.close();
  });
});
