import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder holding Latchkey's package.json, whether running from src/ (tests) or dist/. */
function findPackageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'migrations'))) return dir;
    const parent = dirname(dir);
    if (parent === dir) throw new Error('cannot find the Latchkey package root');
    dir = parent;
  }
}

export const packageRoot = findPackageRoot();
/** Each engine's migrations, side by side: SQLite's and PostgreSQL's schemas are written for each. */
export const migrationsDir = join(packageRoot, 'migrations', 'sqlite');
export const postgresMigrationsDir = join(packageRoot, 'migrations', 'postgres');
/** Policies shipped with the package; copied for new tenants. */
export const bundledPoliciesDir = join(packageRoot, 'policies');
export const staticDir = join(packageRoot, 'static');

/** Where the SQLite database is when LATCHKEY_DB does not say. */
export const DEFAULT_DB_PATH = './data/latchkey.db';
