import type { TestProject } from 'vitest/node';
import { startPostgres } from '../helpers/postgres-cluster.js';

/**
 * One PostgreSQL cluster for the whole run (each test file makes its own database on it). With
 * LATCHKEY_TEST_POSTGRES=off it is not started and the PostgreSQL tests are skipped; otherwise a
 * missing PostgreSQL fails the run, so CI cannot pass without testing it.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  if (process.env.LATCHKEY_TEST_POSTGRES === 'off') {
    project.provide('postgresUrl', '');
    return async () => undefined;
  }
  const cluster = await startPostgres();
  project.provide('postgresUrl', cluster.url);
  return () => cluster.stop();
}

declare module 'vitest' {
  export interface ProvidedContext {
    postgresUrl: string;
  }
}
