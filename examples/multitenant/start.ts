import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { loadConfig } from '../../src/config.js';
import { type ProvisionDeps } from '../../src/services/deps.js';
import { createApp } from '../../src/services/apps.js';
import { addEmailDomain } from '../../src/services/email-domains.js';
import { createTenant, ensureDemo } from '../../src/services/tenants.js';
import { createDeps } from '../../src/runtime.js';
import { buildWebApp } from './web-app.js';

/**
 * One command for the multi-tenant sample: Latchkey (its own database under `dir`) with three tenants —
 * `saas`, the publisher of the Timesheets app, and two customer organizations, `contoso` and
 * `fabrikam`, whose email domains route their people to them at /common — the multi-tenant app
 * (registered once, remembered in apps.json), and the web app.
 */
export interface MultitenantOptions {
  dir: string;
  ports: { latchkey: number; web: number };
  host?: string;
  log?: boolean;
}

export interface RunningMultitenant {
  latchkeyUrl: string;
  webUrl: string;
  dbPath: string;
  policiesDir: string;
  apps: SampleApps;
  close(): Promise<void>;
}

export interface SampleApps {
  publisher: string;
  webClientId: string;
  webClientSecret: string;
  customers: { slug: string; id: string; domain: string }[];
}

export async function startMultitenant(o: MultitenantOptions): Promise<RunningMultitenant> {
  const host = o.host ?? 'localhost';
  const latchkeyUrl = `http://${host}:${o.ports.latchkey}`;
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
  const apps = await provisionSample(provision, join(o.dir, 'apps.json'), webUrl);
  const latchkey = await buildApp(deps);
  await latchkey.listen({ port: o.ports.latchkey, host: '127.0.0.1' });
  const web = await buildWebApp({ latchkeyUrl, clientId: apps.webClientId, clientSecret: apps.webClientSecret, baseUrl: webUrl, insecure: true });
  await web.listen({ port: o.ports.web, host: '127.0.0.1' });
  return {
    latchkeyUrl,
    webUrl,
    dbPath: config.dbPath,
    policiesDir: config.policiesDir,
    apps,
    async close() {
      await web.close();
      await latchkey.close();
      await deps.close();
    },
  };
}

/** The publisher with its multi-tenant web app, and two customer organizations with their email domains. */
async function provisionSample(d: ProvisionDeps, file: string, webUrl: string): Promise<SampleApps> {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as SampleApps;
  const saas = await createTenant(d, 'saas', { displayName: 'Timesheets Inc.' });
  const web = await createApp(d, saas, { name: 'Timesheets', type: 'web', redirectUris: [`${webUrl}/signin-oidc`], postLogoutRedirectUris: [`${webUrl}/`], multiTenant: true });
  const customers: SampleApps['customers'] = [];
  for (const [slug, name, domain] of [['contoso', 'Contoso', 'contoso.example'], ['fabrikam', 'Fabrikam', 'fabrikam.example']] as const) {
    const t = await createTenant(d, slug, { displayName: name });
    await addEmailDomain(d, t, domain);
    customers.push({ slug, id: t.id, domain });
  }
  const apps: SampleApps = { publisher: 'saas', webClientId: web.app.clientId, webClientSecret: web.clientSecret!, customers };
  writeFileSync(file, JSON.stringify(apps, null, 2));
  return apps;
}

// `npm run example:multitenant` starts everything on the usual ports.
if (process.argv[1] && import.meta.url.endsWith(process.argv[1].replace(/\\/g, '/'))) {
  const dir = join(import.meta.dirname, '.data');
  startMultitenant({ dir, ports: { latchkey: 3000, web: 5003 }, log: true }).then(
    (m) => {
      const db = `LATCHKEY_DB=${m.dbPath} LATCHKEY_POLICIES_DIR=${m.policiesDir}`;
      process.stdout.write(`Latchkey    ${m.latchkeyUrl}\nTimesheets  ${m.webUrl}   <- open this\n`);
      process.stdout.write(`People of each organization: echo 'ann-password-1' | ${db} npx latchkey user create --tenant contoso --email ann@contoso.example --display-name Ann --password-stdin\n`);
      process.stdout.write(`                              echo 'ben-password-1' | ${db} npx latchkey user create --tenant fabrikam --email ben@fabrikam.example --display-name Ben --password-stdin\n`);
      process.stdout.write(`The app in an organization:  ${db} npx latchkey app list --tenant contoso\n`);
    },
    (err: unknown) => {
      process.stderr.write(`multi-tenant sample: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
