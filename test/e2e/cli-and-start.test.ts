import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Agent, absolute, csrfOf } from '../helpers/browserless.js';
import { freePort } from '../helpers/server.js';

/** The built server and CLI (`npm ci` builds dist/), run as an operator runs them. */
const root = join(import.meta.dirname, '..', '..');
const main = join(root, 'dist', 'main.js');
const cli = join(root, 'dist', 'cli', 'latchkey.js');

let dir: string;
let env: NodeJS.ProcessEnv;
let server: ChildProcess;
let baseUrl: string;
let startedInMs: number;

function run(args: string[], input?: string) {
  const r = spawnSync(process.execPath, [cli, ...args], { env, input, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function runJson<T>(args: string[], input?: string): T {
  const r = run([...args, '--json'], input);
  if (r.code !== 0) throw new Error(`latchkey ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-cli-'));
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  env = {
    PATH: process.env.PATH,
    PORT: String(port),
    HOST: '127.0.0.1',
    LATCHKEY_BASE_URL: baseUrl,
    LATCHKEY_DB: join(dir, 'data', 'latchkey.db'),
    LATCHKEY_POLICIES_DIR: join(dir, 'policies'),
    LATCHKEY_PASSWORD_COST: '12',
    LATCHKEY_LOG_LEVEL: 'warn',
  };
  const t0 = Date.now();
  server = spawn(process.execPath, [main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  for (;;) {
    try {
      if ((await fetch(`${baseUrl}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 20_000) throw new Error('server did not start');
    await new Promise((r) => setTimeout(r, 20));
  }
  startedInMs = Date.now() - t0;
});

// The tests run the CLI synchronously, which blocks this worker's event loop. A turn of the loop after
// each test lets the worker read the runner's replies before their 60-second timeout counts them lost
// (vitest's "Timeout calling onTaskUpdate" on a loaded machine).
afterEach(() => new Promise<void>((resolve) => setImmediate(resolve)));

afterAll(async () => {
  server?.kill('SIGTERM');
  await new Promise((r) => server?.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

describe('first start', () => {
  it('creates the demo tenant with the five standard policies and links them from /', async () => {
    expect(startedInMs).toBeGreaterThan(0);
    expect(readdirSync(join(dir, 'policies', 'demo')).sort()).toEqual([
      'B2C_1_passwordreset.json', 'B2C_1_profileedit.json', 'B2C_1_signin.json', 'B2C_1_signup.json', 'B2C_1_signupsignin.json',
    ]);
    const html = await (await fetch(`${baseUrl}/`)).text();
    for (const p of ['B2C_1_signupsignin', 'B2C_1_signin', 'B2C_1_signup', 'B2C_1_profileedit', 'B2C_1_passwordreset']) {
      expect(html).toContain(`/playground/run?tenant=demo&amp;p=${p}`);
    }
  });

  it('runs the sign-in policy for a user made with the CLI and shows the decoded id_token', async () => {
    const user = runJson<{ id: string; email: string }>(['user', 'create', '--tenant', 'demo', '--email', 'erin@example.com', '--password-stdin', '--display-name', 'Erin'], 'erin-password-1\n');
    expect(user.email).toBe('erin@example.com');
    const agent = new Agent();
    const toAuthorize = await agent.fetch(`${baseUrl}/playground/run?tenant=demo&p=B2C_1_signin`);
    const toJourney = await agent.fetch(toAuthorize.headers.get('location')!);
    const journey = absolute(baseUrl, toJourney.headers.get('location')!);
    const page = await (await agent.fetch(journey)).text();
    const back = await agent.post(journey, { csrf: csrfOf(page), email: 'erin@example.com', password: 'erin-password-1', action: 'signin' });
    const viewer = await (await agent.fetch(back.headers.get('location')!)).text();
    expect(viewer).toContain('<h2>id_token</h2>');
    expect(viewer).toContain('Signature verified');
    expect(viewer).toContain(`<th scope="row">oid</th><td>${user.id}</td>`);
    expect(viewer).toContain('<th scope="row">tfp</th><td>B2C_1_signin</td>');
  });

  it.runIf(process.platform === 'linux')('runs its helper threads (signing pool, V8, workers) below the event loop\'s priority', async () => {
    const pid = server.pid!;
    const nice = (tid: string) => Number(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8').replace(/^.*\) /, '').split(' ')[16]);
    // libuv's pool alone has four threads; scrypt workers start later and sit lower still.
    const lowered = () => readdirSync(`/proc/${pid}/task`).filter((t) => t !== String(pid) && nice(t) >= 5).length;
    // Lowered just after the server starts listening.
    for (let i = 0; i < 100 && lowered() < 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(lowered()).toBeGreaterThanOrEqual(4);
    expect(nice(String(pid))).toBe(0);
  });

  it('stops with a one-line message naming a bad variable', () => {
    const r = spawnSync(process.execPath, [main], { env: { ...env, PORT: 'eighty' }, encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/^latchkey: invalid PORT: /);
  });
});

describe('latchkey CLI', () => {
  it('creates and lists tenants with OAuth field names', () => {
    const t = runJson<{ id: string; slug: string; issuer: string }>(['tenant', 'create', 'contoso', '--display-name', 'Contoso']);
    expect(t.slug).toBe('contoso');
    expect(t.issuer).toBe(`${baseUrl}/${t.id}/v2.0/`);
    const list = runJson<{ slug: string }[]>(['tenant', 'list']);
    expect(list.map((x) => x.slug).slice(0, 2)).toEqual(['demo', 'contoso']);
    expect(readdirSync(join(dir, 'policies', 'contoso'))).toContain('B2C_1_signupsignin.json');
  });

  it('keeps a B2C tenant id, and takes the old tenant\'s ROPC endpoint for password migration', () => {
    const t = runJson<{ id: string; issuer: string }>(['tenant', 'create', 'fabrikam', '--id', '775527FF-9A37-4307-8B3D-CC311F58D925']);
    expect(t.id).toBe('775527ff-9a37-4307-8b3d-cc311f58d925');
    expect(t.issuer).toBe(`${baseUrl}/775527ff-9a37-4307-8b3d-cc311f58d925/v2.0/`);
    expect(run(['tenant', 'create', 'fabrikam2', '--id', 'not-a-guid']).stderr).toMatch(/^latchkey: invalid --id 'not-a-guid'/);
    expect(run(['tenant', 'create', 'fabrikam3', '--id', t.id]).stderr).toMatch(/already exists/);
    const url = 'https://fabrikam.b2clogin.com/fabrikam.onmicrosoft.com/B2C_1_ROPC/oauth2/v2.0/token';
    const set = runJson<{ legacy_ropc: unknown }>(['tenant', 'set', '--tenant', 'fabrikam', '--legacy-ropc-url', url, '--legacy-client-id', 'a7e4f2c1-0000-4000-8000-000000000001']);
    expect(set.legacy_ropc).toEqual({ token_url: url, client_id: 'a7e4f2c1-0000-4000-8000-000000000001', scope: 'openid a7e4f2c1-0000-4000-8000-000000000001' });
    expect(run(['tenant', 'set', '--tenant', 'fabrikam', '--legacy-ropc-url', 'https://fabrikam.example/authorize', '--legacy-client-id', 'x']).stderr).toMatch(/^latchkey: invalid --legacy-ropc-url/);
    expect(runJson<{ legacy_ropc: unknown }>(['tenant', 'set', '--tenant', 'fabrikam', '--no-legacy-ropc']).legacy_ropc).toBeNull();
    // Apps keep their B2C application ids, so their configuration does not change.
    const app = runJson<{ client_id: string }>(['app', 'create', '--tenant', 'fabrikam', '--name', 'Web', '--type', 'web', '--redirect-uri', 'https://web.fabrikam.example/signin-oidc', '--client-id', '90C0FE63-BCF2-44D5-8FB7-B8BBC0B29DC6']);
    expect(app.client_id).toBe('90c0fe63-bcf2-44d5-8fb7-b8bbc0b29dc6');
    expect(run(['app', 'create', '--tenant', 'contoso', '--name', 'Again', '--type', 'native', '--redirect-uri', 'http://localhost/cb', '--client-id', app.client_id]).stderr).toMatch(/^latchkey: an app with client id 90c0fe63-bcf2-44d5-8fb7-b8bbc0b29dc6 already exists/);
  });

  it("keeps a B2C tenant's name apart from its slug, names nothing twice, and takes the migration's rate", async () => {
    const t = runJson<{ id: string; domain_name: string; b2c_name: string }>(['tenant', 'create', 'tailspin', '--b2c-name', 'TailspinB2C.onmicrosoft.com']);
    expect([t.b2c_name, t.domain_name]).toEqual(['tailspinb2c', 'tailspinb2c.onmicrosoft.com']);
    // The name answers in URLs, as the slug does.
    const metadata = await fetch(`${baseUrl}/tailspinb2c.onmicrosoft.com/B2C_1_signupsignin/v2.0/.well-known/openid-configuration`);
    expect(metadata.status).toBe(200);
    expect(((await metadata.json()) as { issuer: string }).issuer).toBe(`${baseUrl}/${t.id}/v2.0/`);
    expect(run(['tenant', 'create', 'tailspinb2c']).stderr).toMatch(/^latchkey: 'tailspinb2c' is the B2C name of tenant 'tailspin'/);
    expect(run(['tenant', 'set', '--tenant', 'contoso', '--b2c-name', 'tailspinb2c']).stderr).toMatch(/^latchkey: 'tailspinb2c' already names tenant 'tailspin'/);
    expect(run(['tenant', 'set', '--tenant', 'contoso', '--b2c-name', 'fabrikam']).stderr).toMatch(/already names tenant 'fabrikam'/);
    expect(run(['tenant', 'set', '--tenant', 'contoso', '--b2c-name', 'no spaces']).stderr).toMatch(/^latchkey: invalid --b2c-name 'no spaces'/);
    expect(runJson<{ legacy_rate: number | null }>(['tenant', 'set', '--tenant', 'tailspin', '--legacy-rate', '200']).legacy_rate).toBe(200);
    expect(run(['tenant', 'set', '--tenant', 'tailspin', '--legacy-rate', '0']).stderr).toMatch(/^latchkey: invalid --legacy-rate/);
    expect(runJson<{ b2c_name: string | null; domain_name: string }>(['tenant', 'set', '--tenant', 'tailspinb2c.onmicrosoft.com', '--no-b2c-name'])).toMatchObject({ b2c_name: null, domain_name: 'tailspin.onmicrosoft.com' });
  });

  it('creates apps: a secret shown once for confidential types, none for public ones', () => {
    const web = runJson<Record<string, unknown>>(['app', 'create', '--tenant', 'contoso', '--name', 'Web', '--type', 'web', '--redirect-uri', 'https://app.example/cb', '--redirect-uri', 'http://localhost:5000/cb', '--post-logout-redirect-uri', 'https://app.example/']);
    expect(web.client_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(typeof web.client_secret).toBe('string');
    expect((web.client_secret as string).length).toBeGreaterThanOrEqual(43);
    expect(web.redirect_uris).toEqual(['https://app.example/cb', 'http://localhost:5000/cb']);
    expect(web.post_logout_redirect_uris).toEqual(['https://app.example/']);
    const spa = runJson<Record<string, unknown>>(['app', 'create', '--tenant', 'contoso', '--name', 'SPA', '--type', 'spa', '--redirect-uri', 'https://spa.example/']);
    expect(spa.client_secret).toBeUndefined();
    const listed = runJson<Record<string, unknown>[]>(['app', 'list', '--tenant', 'contoso']);
    // Every tenant has Latchkey's own admin API besides the apps registered.
    expect(listed.map((a) => a.name).sort()).toEqual(['Latchkey admin API', 'SPA', 'Web']);
    expect(listed.find((a) => a.name === 'Latchkey admin API')?.identifier_uri).toBe('urn:latchkey:admin');
    expect(listed.every((a) => a.client_secret === undefined)).toBe(true);
  });

  it('registers an API with scopes and roles and grants them', () => {
    const api = runJson<{ client_id: string; identifier_uri: string }>(['app', 'create', '--tenant', 'contoso', '--name', 'Tasks', '--type', 'api', '--identifier-uri', 'https://contoso.example/tasks']);
    expect(api.identifier_uri).toBe('https://contoso.example/tasks');
    expect(runJson<{ scopes: string[] }>(['app', 'scope', 'add', '--tenant', 'contoso', '--app', api.client_id, '--scope', 'tasks.read']).scopes).toEqual(['tasks.read']);
    runJson(['app', 'role', 'add', '--tenant', 'contoso', '--app', api.client_id, '--role', 'Tasks.Admin']);
    const web = runJson<{ client_id: string }>(['app', 'create', '--tenant', 'contoso', '--name', 'Web2', '--type', 'web', '--redirect-uri', 'https://app.example/cb2']);
    const granted = runJson<{ grants: unknown[] }>(['app', 'grant', '--tenant', 'contoso', '--app', web.client_id, '--api', api.client_id, '--scope', 'tasks.read']);
    expect(granted.grants).toEqual([{ api: api.client_id, kind: 'scope', name: 'tasks.read' }]);
    const notDefined = run(['app', 'grant', '--tenant', 'contoso', '--app', web.client_id, '--api', api.client_id, '--scope', 'tasks.write']);
    expect(notDefined.code).toBe(1);
    expect(notDefined.stderr).toMatch(/^latchkey: the API does not define the scope 'tasks.write'/);
    expect(runJson<{ grants: unknown[] }>(['app', 'revoke', '--tenant', 'contoso', '--app', web.client_id, '--api', api.client_id, '--scope', 'tasks.read']).grants).toEqual([]);
  });

  it('gives an app several platforms and an API of its own (app update), and app show lists them', () => {
    const app = runJson<{ client_id: string }>(['app', 'create', '--tenant', 'contoso', '--name', 'Portal', '--type', 'web', '--redirect-uri', 'https://portal.example/signin-oidc']);
    const id = app.client_id;
    const updated = runJson<Record<string, unknown>>(['app', 'update', '--tenant', 'contoso', '--app', id, '--add-spa-redirect-uri', 'https://portal.example/spa', '--add-spa-redirect-uri', 'http://localhost:5173/',
      '--add-public-client-redirect-uri', 'msauth.com.contoso.portal://auth', '--identifier-uri', 'api://portal']);
    expect(updated).toMatchObject({
      client_id: id,
      type: 'web',
      redirect_uris: ['https://portal.example/signin-oidc', 'https://portal.example/spa', 'http://localhost:5173/', 'msauth.com.contoso.portal://auth'],
      platforms: {
        web: { redirect_uris: ['https://portal.example/signin-oidc'] },
        spa: { redirect_uris: ['https://portal.example/spa', 'http://localhost:5173/'] },
        public_client: { redirect_uris: ['msauth.com.contoso.portal://auth'] },
      },
      identifier_uri: 'api://portal',
      scopes: [],
      roles: [],
    });
    // A web app exposes scopes once it has an identifier URI.
    expect(runJson<{ scopes: string[] }>(['app', 'scope', 'add', '--tenant', 'contoso', '--app', id, '--scope', 'tasks.read']).scopes).toEqual(['tasks.read']);
    const changed = runJson<Record<string, unknown>>(['app', 'update', '--tenant', 'contoso', '--app', id, '--remove-spa-redirect-uri', 'http://localhost:5173/', '--remove-public-client-redirect-uri', 'msauth.com.contoso.portal://auth',
      '--add-web-redirect-uri', 'http://localhost:5000/signin-oidc', '--add-post-logout-redirect-uri', 'https://portal.example/', '--name', 'Portal 2']);
    expect(changed).toMatchObject({
      name: 'Portal 2',
      platforms: { web: { redirect_uris: ['https://portal.example/signin-oidc', 'http://localhost:5000/signin-oidc'] }, spa: { redirect_uris: ['https://portal.example/spa'] } },
      post_logout_redirect_uris: ['https://portal.example/'],
      scopes: ['tasks.read'],
    });
    expect(changed.platforms).not.toHaveProperty('public_client');
    expect(runJson<Record<string, unknown>>(['app', 'show', '--tenant', 'contoso', '--app', id])).toEqual(changed);
    const text = run(['app', 'show', '--tenant', 'contoso', '--app', id]).stdout;
    expect(text).toContain('platform web: https://portal.example/signin-oidc http://localhost:5000/signin-oidc\n');
    expect(text).toContain('platform spa: https://portal.example/spa');

    const daemon = runJson<{ client_id: string }>(['app', 'create', '--tenant', 'contoso', '--name', 'Sync', '--type', 'daemon']);
    const cases: [string[], RegExp][] = [
      [['--add-web-redirect-uri', 'https://portal.example/spa'], /^latchkey: the redirect URI 'https:\/\/portal.example\/spa' is registered as an SPA redirect URI already/],
      [['--remove-spa-redirect-uri', 'https://elsewhere.example/'], /^latchkey: 'https:\/\/elsewhere.example\/' is not a registered SPA redirect URI/],
      [['--add-spa-redirect-uri', 'msauth.com.contoso.portal://auth'], /^latchkey: invalid SPA redirect URI .*an https URL/],
      [['--add-web-redirect-uri', 'http://portal.example/cb'], /^latchkey: invalid web redirect URI .*use https/],
      [['--identifier-uri', 'urn:latchkey:admin'], /^latchkey: the identifier URI 'urn:latchkey:admin' is Latchkey's own admin API/],
      [['--identifier-uri', 'https://contoso.example/tasks'], /^latchkey: an app with identifier URI 'https:\/\/contoso.example\/tasks' already exists/],
      [[], /^latchkey: nothing to change/],
    ];
    for (const [args, re] of cases) {
      const r = run(['app', 'update', '--tenant', 'contoso', '--app', id, ...args]);
      // A command line that asks for nothing is a usage error (2); a refused change, 1.
      expect(r.code, args.join(' ')).toBe(args.length === 0 ? 2 : 1);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
    expect(run(['app', 'update', '--tenant', 'contoso', '--app', daemon.client_id, '--add-web-redirect-uri', 'https://sync.example/cb']).stderr).toMatch(/^latchkey: a daemon app has no redirect URIs/);
    expect(run(['app', 'scope', 'add', '--tenant', 'contoso', '--app', daemon.client_id, '--scope', 'x']).stderr).toMatch(/exposes no API: give it an identifier URI first/);
    // Nothing of the refused changes stuck.
    expect(runJson<Record<string, unknown>>(['app', 'show', '--tenant', 'contoso', '--app', id])).toEqual(changed);
  });

  it('manages users: show, disable, delete', () => {
    const u = runJson<{ id: string }>(['user', 'create', '--tenant', 'contoso', '--email', 'Fay@Example.com', '--password', 'fay-password-1', '--given-name', 'Fay']);
    expect(runJson<{ email: string }>(['user', 'show', '--tenant', 'contoso', '--user', 'fay@example.com']).email).toBe('Fay@Example.com');
    expect(runJson<{ disabled: boolean }>(['user', 'disable', '--tenant', 'contoso', '--user', u.id]).disabled).toBe(true);
    expect(runJson<{ deleted: boolean }>(['user', 'delete', '--tenant', 'contoso', '--user', u.id]).deleted).toBe(true);
    expect(runJson<unknown[]>(['user', 'list', '--tenant', 'contoso'])).toEqual([]);
  });

  it('shows, links and unlinks a user\'s identities at upstream providers (Graph\'s shape)', () => {
    const u = runJson<{ id: string }>(['user', 'create', '--tenant', 'contoso', '--email', 'Ida@Example.com', '--password', 'ida-password-1']);
    const linked = runJson<{ identities: unknown[] }>(['user', 'identity', 'add', '--tenant', 'contoso', '--user', u.id, '--issuer', 'google.com', '--issuer-assigned-id', '110169484474386276334']);
    expect(linked.identities).toEqual([
      { signInType: 'emailAddress', issuer: 'contoso.onmicrosoft.com', issuerAssignedId: 'Ida@Example.com' },
      { signInType: 'federated', issuer: 'google.com', issuerAssignedId: '110169484474386276334' },
    ]);
    expect(runJson<{ identities: unknown[] }>(['user', 'show', '--tenant', 'contoso', '--user', 'ida@example.com']).identities).toEqual(linked.identities);
    expect(run(['user', 'show', '--tenant', 'contoso', '--user', u.id]).stdout).toContain('federated google.com 110169484474386276334');
    const other = runJson<{ id: string }>(['user', 'create', '--tenant', 'contoso', '--email', 'ola@example.com', '--password', 'ola-password-1']);
    const taken = run(['user', 'identity', 'add', '--tenant', 'contoso', '--user', other.id, '--issuer', 'google.com', '--issuer-assigned-id', '110169484474386276334']);
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/^latchkey: the identity google.com 110169484474386276334 already belongs to user /);
    expect(runJson<{ identities: unknown[] }>(['user', 'identity', 'remove', '--tenant', 'contoso', '--user', u.id, '--issuer', 'google.com', '--issuer-assigned-id', '110169484474386276334']).identities).toHaveLength(1);
    expect(run(['user', 'identity', 'remove', '--tenant', 'contoso', '--user', u.id, '--issuer', 'google.com', '--issuer-assigned-id', '110169484474386276334']).stderr).toMatch(/has no identity google.com/);
  });

  it('rotates and retires keys', () => {
    const before = runJson<{ kid: string }[]>(['keys', 'list', '--tenant', 'contoso']);
    expect(before).toHaveLength(1);
    const rotated = runJson<{ kid: string; status: string }>(['keys', 'rotate', '--tenant', 'contoso']);
    expect(rotated.status).toBe('active');
    const during = runJson<{ kid: string; status: string; published: boolean }[]>(['keys', 'list', '--tenant', 'contoso']);
    expect(during.map((k) => [k.status, k.published])).toEqual([['active', true], ['grace', true]]);
    const active = run(['keys', 'retire', '--tenant', 'contoso', '--kid', rotated.kid]);
    expect(active.code).toBe(1);
    expect(active.stderr).toContain('is the active key');
    expect(runJson<{ retired: string[] }>(['keys', 'retire', '--tenant', 'contoso']).retired).toEqual([before[0]!.kid]);
  });

  it('answers bad input with one line and a non-zero exit', () => {
    const cases: [string[], RegExp][] = [
      [['app', 'create', '--tenant', 'contoso', '--name', 'X', '--type', 'robot'], /^latchkey: invalid --type 'robot'/],
      [['app', 'create', '--tenant', 'nowhere', '--name', 'X', '--type', 'web', '--redirect-uri', 'https://x.example/'], /^latchkey: no tenant 'nowhere'/],
      [['app', 'create', '--tenant', 'contoso', '--name', 'X', '--type', 'web', '--redirect-uri', 'http://x.example/cb'], /^latchkey: invalid --redirect-uri .*use https/],
      [['app', 'create', '--tenant', 'contoso', '--name', 'X', '--type', 'web'], /needs at least one --redirect-uri/],
      [['user', 'create', '--tenant', 'contoso', '--email', 'not-an-email', '--password', 'long-enough-1'], /^latchkey: invalid --email/],
      [['user', 'create', '--tenant', 'contoso', '--email', 'g@example.com', '--password', 'short'], /at least 8 characters/],
      [['user', 'list', '--tenant', 'contoso', '--bogus'], /^latchkey: Unknown option '--bogus'/],
      [['tenant', 'create', 'Bad Slug'], /^latchkey: invalid tenant slug/],
      [['tenant', 'create', 'contoso'], /already exists/],
      [['frobnicate'], /^latchkey: unknown command 'frobnicate'/],
      [['app', 'create', '--tenant', 'contoso', '--name', 'X', '--type', 'web', '--redirect-uri', 'https://x.example/cb', '--allow-ropc'], /^latchkey: --allow-ropc is for public clients/],
    ];
    for (const [args, re] of cases) {
      const r = run(args);
      expect(r.code, args.join(' ')).not.toBe(0);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
    }
  });

  it('validates policy files with file and JSON path in every message', () => {
    const bad = join(dir, 'B2C_1_bad.json');
    writeFileSync(bad, JSON.stringify({ id: 'B2C_1_bad', kind: 'signIn', tokens: { idTokenMinutes: 2 } }));
    const r = run(['policy', 'validate', bad]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${bad}: $.tokens.idTokenMinutes: `);
    expect(run(['policy', 'validate']).code).toBe(0);
  });

  it('refuses policy options that would do nothing: MFA where no page can ask, SMS, and identity providers the tenant does not configure', () => {
    const mfa = join(dir, 'B2C_1_mfa.json');
    writeFileSync(mfa, JSON.stringify({ id: 'B2C_1_mfa', kind: 'ropc', mfa: { mode: 'required' } }));
    const r1 = run(['policy', 'validate', mfa]);
    expect(r1.code).toBe(1);
    expect(r1.stdout).toContain(`${mfa}: $.mfa: an ropc policy has no pages to ask for a second factor`);
    writeFileSync(mfa, JSON.stringify({ id: 'B2C_1_mfa', kind: 'signIn', mfa: { mode: 'required', methods: ['sms'] } }));
    expect(run(['policy', 'validate', mfa]).stdout).toContain(`${mfa}: $.mfa.methods[0]: must be 'email', 'totp' or 'passkey' (SMS is not available: it needs a paid gateway)`);
    const idp = join(dir, 'B2C_1_social.json');
    writeFileSync(idp, JSON.stringify({ id: 'B2C_1_social', kind: 'signIn', identityProviders: ['local', 'google'] }));
    const r2 = run(['policy', 'validate', idp]);
    expect(r2.code).toBe(1);
    expect(r2.stdout).toContain(`${idp}: $.identityProviders[1]: 'google' names no identity provider configured for this tenant`);
  });

  it('validates identity-providers.json with the policies, and a policy against the providers beside it', () => {
    const folder = join(dir, 'policies', 'contoso');
    const providers = join(folder, 'identity-providers.json');
    writeFileSync(providers, JSON.stringify({ providers: [{ id: 'google', type: 'google', displayName: 'Google', clientId: 'g', clientSecret: { env: 'CLI_TEST_GOOGLE_SECRET' } }] }));
    const r = run(['policy', 'validate']);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain(`${providers}: $.providers[0].clientSecret: the environment variable CLI_TEST_GOOGLE_SECRET is not set`);
    const social = join(folder, 'B2C_1_social.json');
    writeFileSync(social, JSON.stringify({ id: 'B2C_1_social', kind: 'signUpOrSignIn', identityProviders: ['local', 'google'] }));
    const withSecret = spawnSync(process.execPath, [cli, 'policy', 'validate', providers, social], { env: { ...env, CLI_TEST_GOOGLE_SECRET: 'x' }, encoding: 'utf8' });
    expect(withSecret.stdout).toContain('2 valid, 0 invalid');
    expect(withSecret.status).toBe(0);
    rmSync(providers);
    rmSync(social);
  });

  it.runIf(process.platform !== 'win32')('is executable as built, so `npx latchkey` runs it', () => {
    // tsc writes files without the executable bit; npm runs a package's own bin through the shell.
    expect(statSync(cli).mode & 0o111).not.toBe(0);
  });

  it('migrates idempotently', () => {
    // The schema version is the highest migration's number (numbers may leave gaps).
    const latest = Math.max(...readdirSync(join(root, 'migrations', 'sqlite')).filter((f) => f.endsWith('.sql')).map((f) => Number.parseInt(f, 10)));
    expect(runJson<{ applied: string[]; version: number }>(['migrate'])).toEqual({ applied: [], version: latest });
  });
});
