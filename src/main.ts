#!/usr/bin/env node
// First, so that what it starts runs while the imports below load.
import './start-early.js';
import { buildApp } from './app.js';
import { ConfigError, loadConfig } from './config.js';
import { provisionDeps } from './services/deps.js';
import { ensureDemo, syncPlayground } from './services/tenants.js';
import { ensureAdminApi } from './services/admin-api.js';
import { startMetricsServer } from './http/metrics-server.js';
import { httpsOptions } from './http/certificates.js';
import { createDeps } from './runtime.js';
import { prioritizeEventLoop } from './thread-priorities.js';

/** Start-up: config → store (migrate) → demo tenant on first start → app → listen; graceful shutdown. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`latchkey: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const deps = await createDeps(config);
  const { logger } = deps;
  if (!config.masterKey) logger.warn('LATCHKEY_MASTER_KEY is not set: private keys are stored unencrypted');
  if (deps.store.migration.applied.length > 0) logger.info({ applied: deps.store.migration.applied }, 'database migrated');
  const provision = provisionDeps(deps);
  const demo = await ensureDemo(provision, config.baseUrl);
  if (demo) logger.info({ tenant: demo.slug, id: demo.id }, 'first start: created the demo tenant and the playground app');
  await syncPlayground(provision, config.baseUrl);
  // Load (and start watching) every tenant's policies now, so mistakes show in the log at start.
  for (const t of await deps.store.listTenants()) {
    logger.info({ tenant: t.slug, policies: deps.policies.list(t.slug).map((p) => p.id) }, 'policies loaded');
    // Tenants made before the built-in admin API existed get it now.
    await ensureAdminApi(deps, t);
  }

  const app = await buildApp(deps, { https: httpsOptions(config, logger) });
  const purge = setInterval(() => {
    deps.store.purgeExpired(deps.clock.now()).then(
      (n) => n > 0 && logger.debug({ rows: n }, 'expired rows removed'),
      (err: unknown) => logger.error({ err }, 'purge failed'),
    );
  }, 10 * 60_000);
  purge.unref();

  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.info({ signal }, 'shutting down: draining requests');
    clearInterval(purge);
    app.beginDrain();
    // Requests still running after 20 s are cut off rather than holding the process forever.
    setTimeout(() => app.server.closeAllConnections(), 20_000).unref();
    app
      .close()
      .then(() => deps.close())
      .then(() => process.exit(0), (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      });
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));

  await app.listen({ port: config.port, host: config.host });
  if (config.metrics.enabled && config.metrics.port !== undefined) {
    const metricsServer = await startMetricsServer(deps, config.metrics.port, config.host);
    metricsServer.unref();
    logger.info({ port: config.metrics.port }, 'metrics at /metrics on their own port');
  }
  deps.store.startBackgroundWork((m: string) => logger.warn(m));
  const { lowered } = await prioritizeEventLoop();
  logger.debug({ threads: lowered }, 'helper threads run at a lower priority than the event loop');
  logger.info({ url: config.baseUrl }, `Latchkey is listening; open ${config.baseUrl}/`);
}

main().catch((err: unknown) => {
  process.stderr.write(`latchkey: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
