import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import type { MigrationResult } from '../store.js';


/**
 * A migration that rebuilds a table other tables refer to starts with this line: it runs with foreign
 * keys off (so dropping the old table cascades nowhere) and is checked with `foreign_key_check` before
 * it commits. SQLite ignores `PRAGMA foreign_keys` inside a transaction, so it is set around it.
 */
const FOREIGN_KEYS_OFF = /^-- foreign-keys: off\s*$/m;

/** Applies numbered `NNNN_name.sql` files from `dir` that the database has not seen, each in a transaction. */
export function migrate(db: Database.Database, dir: string, now = Date.now()): MigrationResult {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL)`);
  const done = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const files = readdirSync(dir)
    .filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f))
    .sort();
  const applied: string[] = [];
  for (const file of files) {
    const version = Number(file.slice(0, 4));
    if (done.has(version)) continue;
    const sql = readFileSync(join(dir, file), 'utf8');
    const fkOff = FOREIGN_KEYS_OFF.test(sql.split('\n', 1)[0] ?? '');
    const fkWasOn = db.pragma('foreign_keys', { simple: true }) === 1;
    if (fkOff && fkWasOn) db.pragma('foreign_keys = OFF');
    try {
      db.transaction(() => {
        db.exec(sql);
        if (fkOff) {
          const broken = db.pragma('foreign_key_check') as unknown[];
          if (broken.length > 0) throw new Error(`migration ${file} leaves ${broken.length} broken foreign keys`);
        }
        db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(version, file, now);
      })();
    } finally {
      if (fkOff && fkWasOn) db.pragma('foreign_keys = ON');
    }
    applied.push(file);
  }
  const current = (db.prepare('SELECT MAX(version) AS v FROM schema_migrations').get() as { v: number | null }).v ?? 0;
  return { applied, current };
}
