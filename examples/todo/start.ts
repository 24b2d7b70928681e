import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { type ProvisionDeps } from '../../src/services/deps.js';
import { createApp } from '../../src/services/apps.js';
import { ensureDemo, requireTenant } from '../../src/services/tenants.js';
import { createDeps } from '../../src/runtime.js';
import { buildTaskApi } from './task-api.js';
import { buildWebApp } from './web-app.js';

/**
 * One command for the to-do sample: Latchkey (its own database under `dir`), the apps it needs
 * (registered once and remembered in apps.json), the task API and the web app.
 */
export interface TodoOptions {
  dir: string;
  ports: { latchkey: number; api: number; web: number };
  host?: string;
  log?: boolean;
}

export interface RunningTodo {
  latchkeyUrl: string;
  apiUrl: string;
  webUrl: string;
  dbPath: string;
  apps: SampleApps;
  close(): Promise<void>;
}

export interface SampleApps {
  tenant: string;
  webClientId: string;
  webClientSecret: string;
  apiClientId: string;
  identifierUri: string;
}

const IDENTIFIER_URI = 'https://demo.onmicrosoft.com/tasks';

export async function startTodo(o: TodoOptions): Promise<RunningTodo> {
  const host = o.host ?? 'localhost';
  const latchkeyUrl = `http://${host}:${o.ports.latchkey}`;
  const apiUrl = `http://${host}:${o.ports.api}`;
  const webUrl = `http://${host}:${o.ports.web}`;
  mkdirSync(o.dir, { recursive: true });
  const config = loadConfig({
    PORT: String(o.ports.latchkey),
    HOST: '127.0.0.1',
    LATCHKEY_BASE_URL: latchkeyUrl,
    LATCHKEY_DB: join(o.dir, 'latchkey.db'),
    LATCHKEY_POLICIES_DIR: join(o.dir, 'policies'),
    LATCHKEY_PASSWORD_COST: process.env.LATCHKEY_PASSWORD_COST ?? '14',
  });
  const deps = await createDeps(config, { logger: pino({ level: o.log ? 'info' : 'warn' }) });
  const provision: ProvisionDeps = { store: deps.store, secrets: deps.secrets, clock: deps.clock, policiesDir: config.policiesDir, passwordCost: config.passwordCost, audit: deps.audit };
  await ensureDemo(provision, latchkeyUrl);
  const apps = await provisionApps(provision, join(o.dir, 'apps.json'), webUrl);
  const latchkey = await buildApp(deps);
  await latchkey.listen({ port: o.ports.latchkey, host: '127.0.0.1' });

  const api = await buildTaskApi({ issuer: `${latchkeyUrl}/${(await requireTenant(provision, 'demo')).id}/v2.0/`, audience: apps.apiClientId });
  await api.listen({ port: o.ports.api, host: '127.0.0.1' });
  const web = await buildWebApp({
    authority: `${latchkeyUrl}/demo.onmicrosoft.com`,
    clientId: apps.webClientId,
    clientSecret: apps.webClientSecret,
    baseUrl: webUrl,
    apiUrl,
    apiScopes: [`${IDENTIFIER_URI}/tasks.read`, `${IDENTIFIER_URI}/tasks.write`],
    policies: { signUpSignIn: 'B2C_1_signupsignin', profileEdit: 'B2C_1_profileedit', passwordReset: 'B2C_1_passwordreset' },
    insecure: true,
  });
  await web.listen({ port: o.ports.web, host: '127.0.0.1' });
  return {
    latchkeyUrl,
    apiUrl,
    webUrl,
    dbPath: config.dbPath,
    apps,
    async close() {
      await web.close();
      await api.close();
      await latchkey.close();
      await deps.close();
    },
  };
}

/** Registers the task API (scopes tasks.read, tasks.write) and the web app with both granted. */
async function provisionApps(d: ProvisionDeps, file: string, webUrl: string): Promise<SampleApps> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SampleApps;
  const tenant = await requireTenant(d, 'demo');
  const api = await createApp(d, tenant, { name: 'TaskService', type: 'api', identifierUri: IDENTIFIER_URI });
  for (const scope of ['tasks.read', 'tasks.write']) await d.store.addAppScope(api.app.clientId, scope);
  const web = await createApp(d, tenant, { name: 'TaskWebApp', type: 'web', redirectUris: [`${webUrl}/signin-oidc`], postLogoutRedirectUris: [`${webUrl}/`] });
  for (const scope of ['tasks.read', 'tasks.write']) await d.store.addGrant({ clientId: web.app.clientId, apiClientId: api.app.clientId, kind: 'scope', name: scope });
  const apps: SampleApps = { tenant: 'demo', webClientId: web.app.clientId, webClientSecret: web.clientSecret!, apiClientId: api.app.clientId, identifierUri: IDENTIFIER_URI };
  writeFileSync(file, JSON.stringify(apps, null, 2));
  return apps;
}

// `npm run example:todo` starts everything on the usual ports.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const dir = join(import.meta.dirname, '.data');
  startTodo({ dir, ports: { latchkey: 3000, api: 5001, web: 5002 }, log: true }).then(
    (t) => {
      process.stdout.write(`Latchkey   ${t.latchkeyUrl}\nTask API   ${t.apiUrl}\nTo-do app  ${t.webUrl}   <- open this\n`);
      process.stdout.write(`Verification codes: LATCHKEY_DB=${t.dbPath} npx latchkey outbox list --tenant demo\n`);
      process.stdout.write(`Revoke writing:     LATCHKEY_DB=${t.dbPath} npx latchkey app revoke --tenant demo --app ${t.apps.webClientId} --api ${t.apps.apiClientId} --scope tasks.write\n`);
    },
    (err: unknown) => {
      process.stderr.write(`to-do sample: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
