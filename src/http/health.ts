import { readdirSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import type { Deps } from '../services/deps.js';
import { migrationsDir, postgresMigrationsDir } from '../paths.js';

/** The newest migration this build has for the configured engine. */
function latestMigration(deps: Deps): number {
  const dir = deps.config.databaseUrl ? postgresMigrationsDir : migrationsDir;
  return Math.max(0, ...readdirSync(dir).filter((f) => /^\d{4}_[\w-]+\.sql$/.test(f)).map((f) => Number(f.slice(0, 4))));
}

/**
 * Probes for load balancers and orchestrators: `/healthz` says the process is up (liveness);
 * `/readyz` says it can serve (readiness): the database answers, its schema is this build's, and
 * every tenant has its policies loaded. Neither is cached or logged as an error.
 */
export function registerHealthRoutes(app: FastifyInstance, deps: Deps): void {
  const latest = latestMigration(deps);
  const alive = async () => ({ status: 'ok' });
  app.get('/healthz', { helmet: false }, alive);
  app.get('/health', { helmet: false }, alive);

  app.get('/readyz', { helmet: false }, async (_req, reply) => {
    const checks: Record<string, string> = {};
    try {
      await deps.store.ping();
      checks.database = 'ok';
      const current = deps.store.migration.current;
      checks.migrations = current >= latest ? 'ok' : `schema version ${current}, this build needs ${latest}`;
      const empty = (await deps.store.listTenants()).filter((t) => deps.policies.list(t.slug).length === 0).map((t) => t.slug);
      checks.policies = empty.length === 0 ? 'ok' : `no policy loaded for ${empty.join(', ')}`;
    } catch (err) {
      checks.database = `unreachable: ${(err as Error).message.split('\n')[0]}`;
    }
    const ready = Object.values(checks).every((v) => v === 'ok') && checks.migrations !== undefined;
    return reply.code(ready ? 200 : 503).header('cache-control', 'no-store').send({ status: ready ? 'ready' : 'unready', checks });
  });
}
