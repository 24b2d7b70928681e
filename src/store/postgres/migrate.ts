import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type pg from 'pg';
import type { MigrationResult } from '../store.js';

/** Any fixed number: the advisory lock every instance takes before migrating. */
const MIGRATION_LOCK = 7_424_011;

/**
 * Applies numbered `NNNN_name.sql` files from `dir` that the database has not seen, each in a
 * transaction, holding an advisory lock: instances that start together take turns, and the later ones
 * find the work done.
 */
export async function migratePostgres(pool: pg.Pool, dir: string, now = Date.now()): Promise<MigrationResult> {
  const c = await pool.connect();
  try {
    await c.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      await c.query('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at BIGINT NOT NULL)');
      const done = new Set((await c.query('SELECT version FROM schema_migrations')).rows.map((r: { version: number }) => r.version));
      const files = readdirSync(dir).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).sort();
      const applied: string[] = [];
      for (const file of files) {
        const version = Number(file.slice(0, 4));
        if (done.has(version)) continue;
        await c.query('BEGIN');
        try {
          await c.query(readFileSync(join(dir, file), 'utf8'));
          await c.query('INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)', [version, file, now]);
          await c.query('COMMIT');
        } catch (err) {
          await c.query('ROLLBACK').catch(() => undefined);
          throw new Error(`migration ${file} failed: ${(err as Error).message}`);
        }
        applied.push(file);
      }
      const current = Number((await c.query('SELECT COALESCE(MAX(version), 0) AS v FROM schema_migrations')).rows[0].v);
      return { applied, current };
    } finally {
      await c.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK]).catch(() => undefined);
    }
  } finally {
    c.release();
  }
}
