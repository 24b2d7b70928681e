import { writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, absolute, csrfOf, pkce } from '../helpers/browserless.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';
import { waitForPolicy, writePolicy } from '../helpers/policies.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { suiteCert } from '../helpers/tls.js';

/**
 * Server-side request forgery, tried as a tenant's administrator would: templates, connectors and
 * providers on a host the operator allowed (here `localhost`, with LATCHKEY_OUTBOUND_ALLOW
 * `127.0.0.1,localhost`) that redirect to an address nobody allowed (127.0.0.2, where a listener counts
 * every TCP connection), or that name the cloud's metadata service and private addresses directly.
 * Nothing may arrive there; each call fails as an unreachable host does.
 */
const CB = 'http://127.0.0.1:9/cb';
const TEMPLATE = '<!doctype html><html><head><title>Allowed template</title></head><body><p id="allowed-template">ok</p><div id="api"></div></body></html>';
const DEFAULT_LAYOUT = '<link rel="stylesheet" href="/static/latchkey.css">';

let s: TestServer;
let app: string;
/** The address nobody allowed: counts the connections that reach it. */
let forbidden: NetServer;
let forbiddenPort: number;
let connections = 0;
/** The attacker's servers on an allowed host: redirect wherever `?to=` says (`&status=` the code). */
let redirector: Server;
let tlsRedirector: HttpsServer;
let http: string;
let https: string;

function redirect(req: IncomingMessage, res: ServerResponse): void {
  const u = new URL(req.url!, 'http://x');
  const to = u.searchParams.get('to');
  if (to) res.writeHead(Number(u.searchParams.get('status') ?? 302), { location: to }).end();
  else res.writeHead(200, { 'content-type': 'text/html' }).end(TEMPLATE);
}

beforeAll(async () => {
  process.env.TEST_OUTBOUND_TOKEN = 'connector-token';
  process.env.TEST_OUTBOUND_IDP_SECRET = 'idp-secret';
  s = await startServer({ env: { LATCHKEY_OUTBOUND_ALLOW: LOOPBACK_ALLOWED } });
  app = (await s.createApp({ name: 'app', type: 'native', redirectUris: [CB] })).app.clientId;
  await s.createUser('ann@example.com', 'ann-password-1');
  forbidden = createNetServer((socket) => {
    connections++;
    socket.destroy();
  });
  await new Promise<void>((r) => forbidden.listen(0, '127.0.0.2', r));
  forbiddenPort = (forbidden.address() as { port: number }).port;
  redirector = createServer(redirect);
  await new Promise<void>((r) => redirector.listen(0, '127.0.0.1', r));
  http = `http://localhost:${(redirector.address() as { port: number }).port}`;
  const cert = suiteCert();
  tlsRedirector = createHttpsServer({ cert: cert.cert, key: cert.key }, redirect);
  await new Promise<void>((r) => tlsRedirector.listen(0, '127.0.0.1', r));
  https = `https://localhost:${(tlsRedirector.address() as { port: number }).port}`;
});

afterAll(async () => {
  await s?.close();
  redirector?.closeAllConnections();
  tlsRedirector?.closeAllConnections();
  await Promise.all([forbidden, redirector, tlsRedirector].map((x) => new Promise((r) => x?.close(r))));
});

const via = (base: string, to: string, status = 302) => `${base}/to?${new URLSearchParams({ to, status: String(status) })}`;
const refusalsOf = (address: string) => s.logs.filter((l) => l.level === 40 && l.address === address && String(l.msg).includes('LATCHKEY_OUTBOUND_ALLOW'));

function authorizeUrl(policy: string): string {
  return `${s.baseUrl}/demo/${policy}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: app, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: pkce().challenge, code_challenge_method: 'S256' })}`;
}

/** The sign-in page of `policy`, as a browser gets it. */
async function signInPage(policy: string, agent = new Agent()): Promise<{ agent: Agent; journey: string; html: string }> {
  const res = await agent.fetch(authorizeUrl(policy));
  const journey = absolute(s.baseUrl, res.headers.get('location')!);
  return { agent, journey, html: await (await agent.fetch(journey)).text() };
}

/** Signs Ann in through the pages of `policy`, following the journey's redirects, to the app's answer. */
async function signIn(policy: string): Promise<URL> {
  const { agent, journey, html } = await signInPage(policy);
  let res = await agent.post(journey, { csrf: csrfOf(html), email: 'ann@example.com', password: 'ann-password-1', action: 'signin' });
  for (let i = 0; i < 5; i++) {
    const location = absolute(s.baseUrl, res.headers.get('location') ?? '');
    if (res.status < 300 || res.status >= 400) throw new Error(`sign-in answered ${res.status}: ${(await res.text()).slice(0, 300)}`);
    if (location.startsWith(CB)) return new URL(location);
    res = await agent.fetch(location);
  }
  throw new Error('the sign-in did not come back to the app');
}

describe('page layouts', () => {
  it('never fetches a template from where a redirect points unless allowed: the page falls back to the default layout', async () => {
    const attacks = {
      B2C_1_ssrf_http: via(http, `http://127.0.0.2:${forbiddenPort}/steal.html`),
      B2C_1_ssrf_https: via(https, `https://127.0.0.2:${forbiddenPort}/steal.html`),
      B2C_1_ssrf_307: via(https, `https://127.0.0.2:${forbiddenPort}/steal.html`, 307),
      // https down to http is never followed, even to an allowed address serving a good template.
      B2C_1_ssrf_downgrade: via(https, `${http}/ok.html`),
    };
    for (const [id, template] of Object.entries(attacks)) writePolicy(s, id, { ui: { pageLayouts: { unifiedssp: template } } });
    writePolicy(s, 'B2C_1_allowed_layout', { ui: { pageLayouts: { unifiedssp: via(http, `${http}/ok.html`) } } });
    for (const id of [...Object.keys(attacks), 'B2C_1_allowed_layout']) await waitForPolicy(s, id);

    // The control: a redirect between allowed places is followed and the template used.
    expect((await signInPage('B2C_1_allowed_layout')).html).toContain('<p id="allowed-template">ok</p>');
    for (const id of Object.keys(attacks)) {
      const { html } = await signInPage(id);
      expect(html, id).toContain(DEFAULT_LAYOUT);
      expect(html, id).toContain('id="localAccountForm"');
      expect(html, id).not.toContain('allowed-template');
    }
    expect(connections).toBe(0);
    expect(refusalsOf('127.0.0.2').length).toBeGreaterThanOrEqual(3);
    expect(s.logs.some((l) => l.level === 40 && String(l.msg).includes('a redirect from https to http'))).toBe(true);
  });

  it('refuses templates at the metadata service and at private addresses, before connecting', async () => {
    writePolicy(s, 'B2C_1_ssrf_metadata', { ui: { pageLayouts: { unifiedssp: 'https://169.254.169.254/latest/meta-data/iam.html' } } });
    writePolicy(s, 'B2C_1_ssrf_private', { ui: { pageLayouts: { unifiedssp: 'https://10.0.0.1/internal.html' } } });
    for (const id of ['B2C_1_ssrf_metadata', 'B2C_1_ssrf_private']) {
      await waitForPolicy(s, id);
      expect((await signInPage(id)).html, id).toContain(DEFAULT_LAYOUT);
    }
    expect(refusalsOf('169.254.169.254')[0]).toMatchObject({ purpose: 'page layout', reason: 'a link-local address' });
    expect(refusalsOf('10.0.0.1')[0]).toMatchObject({ purpose: 'page layout', reason: 'a private address' });
  });
});

describe('API connectors', () => {
  it('never calls a connector at an address nobody allowed, directly or through a redirect; the app gets a generic error', async () => {
    const auth = { type: 'bearer', token: { env: 'TEST_OUTBOUND_TOKEN' } };
    const connectors = {
      B2C_1_ssrf_connector: `https://127.0.0.2:${forbiddenPort}/claims`,
      B2C_1_ssrf_connector_private: 'https://10.0.0.1/claims',
      B2C_1_ssrf_connector_redirect: via(http, `http://127.0.0.2:${forbiddenPort}/claims`, 307),
    };
    for (const [id, url] of Object.entries(connectors)) writePolicy(s, id, { apiConnectors: { preTokenIssuance: { url, auth, timeoutSeconds: 5 } } });
    for (const id of Object.keys(connectors)) await waitForPolicy(s, id);
    for (const id of Object.keys(connectors)) {
      const back = await signIn(id);
      expect(back.searchParams.get('code'), id).toBeNull();
      expect(['temporarily_unavailable', 'server_error'], id).toContain(back.searchParams.get('error'));
      const description = back.searchParams.get('error_description') ?? '';
      expect(description, id).not.toMatch(/127\.0\.0\.2|10\.0\.0\.1|refused|ECONN/);
    }
    expect(connections).toBe(0);
    expect(refusalsOf('127.0.0.2').some((l) => l.purpose === 'API connector')).toBe(true);
    expect(refusalsOf('10.0.0.1').some((l) => l.purpose === 'API connector')).toBe(true);
  });
});

describe('upstream identity providers', () => {
  it('never discovers a provider at an address nobody allowed, directly or through a redirect; the user is told it cannot be reached', async () => {
    const provider = (id: string, discoveryUrl: string) => ({ id, type: 'oidc', displayName: id, discoveryUrl, clientId: 'latchkey', clientSecret: { env: 'TEST_OUTBOUND_IDP_SECRET' }, timeoutSeconds: 5 });
    writeFileSync(
      join(s.dir, 'policies', 'demo', 'identity-providers.json'),
      JSON.stringify({
        providers: [
          provider('internal', `https://127.0.0.2:${forbiddenPort}/.well-known/openid-configuration`),
          provider('redirected', via(http, `http://127.0.0.2:${forbiddenPort}/.well-known/openid-configuration`)),
          provider('metadata', 'https://169.254.169.254/.well-known/openid-configuration'),
        ],
      }),
    );
    writePolicy(s, 'B2C_1_ssrf_idp', { identityProviders: ['local', 'internal', 'redirected', 'metadata'] });
    await waitForPolicy(s, 'B2C_1_ssrf_idp');
    for (const [id, message] of [
      ['internal', 'internal cannot be reached right now.'],
      ['redirected', 'Signing in with redirected did not work.'],
      ['metadata', 'metadata cannot be reached right now.'],
    ] as const) {
      const { agent, journey, html } = await signInPage('B2C_1_ssrf_idp');
      let res = await agent.post(journey, { csrf: csrfOf(html), action: `idp:${id}` });
      for (let i = 0; i < 3 && res.status >= 300 && res.status < 400; i++) res = await agent.fetch(absolute(s.baseUrl, res.headers.get('location')!));
      const page = await res.text();
      expect(page, id).toContain(message);
      expect(page, id).toContain('id="localAccountForm"');
    }
    expect(connections).toBe(0);
    expect(refusalsOf('127.0.0.2').some((l) => l.purpose === 'identity provider')).toBe(true);
    expect(refusalsOf('169.254.169.254').some((l) => l.purpose === 'identity provider')).toBe(true);
  });
});
