import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { ConfidentialClientApplication, CryptoProvider, LogLevel, type INetworkModule, type NetworkRequestOptions, type NetworkResponse } from '@azure/msal-node';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Tenant } from '../../src/model/entities.js';
import { MfaService } from '../../src/services/mfa.js';
import { createTenant } from '../../src/services/tenants.js';
import { createLocalUser } from '../../src/services/users.js';
import { addDirectoryRole } from '../../src/services/users-roles.js';
import { createApp } from '../../src/services/apps.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { chromiumHostArgs, hostFetch, makeHostCertificates, presentedCertificate, spkiHash, type HostCertificates } from '../helpers/hosts.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { suiteCert, type TestCert } from '../helpers/tls.js';
import { startUpstreamOp, type UpstreamOp } from '../helpers/upstream-op.js';

/**
 * Custom domains, as B2C tenants have them: two tenants on two host names of their own on one server,
 * each with its own certificate chosen by SNI, and a third tenant on LATCHKEY_TENANT_HOST_PATTERN's host.
 * The names are mapped to 127.0.0.1 by the clients (an undici Agent's lookup for openid-client and
 * msal-node, --host-resolver-rules for Chromium); the shared host is https://localhost:{port}.
 */
const root = join(import.meta.dirname, '..', '..');
const exec = promisify(execFile);
const CONTOSO_HOST = 'login.contoso.com';
const FABRIKAM_HOST = 'login.fabrikam.com';
const PATTERN = '{tenant}.id.example.test';
const NORTHWIND_HOST = 'northwind.id.example.test';
/** Contoso moved from B2C and kept its tenant id (so its issuer path is B2C's). */
const CONTOSO_ID = '775527ff-9a37-4307-8b3d-cc311f58d925';
const PASSWORD = 'domain-password-1';
const testHosts = new Set([CONTOSO_HOST, FABRIKAM_HOST, NORTHWIND_HOST, 'nobody.id.example.test', 'localhost']);

let s: TestServer;
let port: number;
let certDir: string;
let caDir: string;
let certs: HostCertificates;
let suite: TestCert;
let rp: RelyingParty;
let browser: Browser;
let op: UpstreamOp;
let nodeFetch: typeof fetch;
let contoso: Tenant;
let fabrikam: Tenant;
const apps: Record<string, string> = {};

const origin = (host: string) => `https://${host}:${port}`;
const issuerOn = (host: string, t: Tenant) => `${origin(host)}/${t.id}/v2.0/`;

async function cli(args: string[], env: Record<string, string> = {}): Promise<string> {
  const { stdout } = await exec(process.execPath, [join(root, 'dist', 'cli', 'latchkey.js'), ...args], {
    env: { PATH: process.env.PATH, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies'), LATCHKEY_BASE_URL: s.baseUrl, LATCHKEY_TENANT_HOST_PATTERN: PATTERN, LATCHKEY_LOG_LEVEL: 'silent', ...env },
  });
  return stdout;
}

/** Waits until `check` holds (the server reads domains and policy files within a moment). */
async function until(what: string, check: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (await check().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const discoveryStatus = async (url: string) => (await nodeFetch(url)).status;

/**
 * openid-client's configuration: from the issuer alone (strict OIDC Discovery, the issuer validated:
 * the default policy) or from a policy's metadata URL (as B2C apps name a policy).
 */
async function discover(issuerOrMetadata: string, clientId: string, secret: string): Promise<client.Configuration> {
  const config = await client.discovery(new URL(issuerOrMetadata), clientId, secret, undefined, { [client.customFetch]: nodeFetch as client.CustomFetch });
  config[client.customFetch] = nodeFetch as client.CustomFetch;
  return config;
}

interface Flow {
  config: client.Configuration;
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
}

const metadataOf = (base: string, segment: string, policy: string) => `${base}/${segment}/${policy}/v2.0/.well-known/openid-configuration`;

async function startFlow(config: client.Configuration, extra: Record<string, string> = {}): Promise<Flow> {
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: `${rp.url}/cb`,
    scope: 'openid offline_access',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...extra,
  });
  return { config, url, verifier, state, nonce };
}

async function finish(page: Page, flow: Flow) {
  await page.waitForURL(`${rp.url}/**`);
  return client.authorizationCodeGrant(flow.config, new URL(page.url()), { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
}

async function newPage(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

async function signIn(page: Page, url: URL, email: string): Promise<void> {
  await page.goto(url.toString());
  await page.locator('#signInName').fill(email);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#next').click();
}

/** A policy file in a tenant's folder (a copy of one of its standard policies with `extra`). */
function writeTenantPolicy(slug: string, id: string, from: string, extra: Record<string, unknown>): void {
  const folder = join(s.dir, 'policies', slug);
  const base = JSON.parse(readFileSync(join(folder, `${from}.json`), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(folder, `${id}.json`), JSON.stringify({ ...base, id, ...extra }));
}

/** msal-node's network client on the test names (the app's own configuration is B2C's, unchanged). */
function msalNetwork(): INetworkModule {
  const send = async <T,>(url: string, method: 'GET' | 'POST', options?: NetworkRequestOptions): Promise<NetworkResponse<T>> => {
    const res = await nodeFetch(url, { method, headers: options?.headers ?? {}, ...(method === 'POST' ? { body: options?.body ?? '' } : {}) });
    const headers: Record<string, string> = {};
    res.headers.forEach((v, k) => (headers[k] = v));
    return { headers, body: (await res.json()) as T, status: res.status };
  };
  return { sendGetRequestAsync: (url, options) => send(url, 'GET', options), sendPostRequestAsync: (url, options) => send(url, 'POST', options) };
}

beforeAll(async () => {
  certDir = mkdtempSync(join(tmpdir(), 'latchkey-tls-dir-'));
  caDir = mkdtempSync(join(tmpdir(), 'latchkey-test-ca-'));
  certs = makeHostCertificates(certDir, caDir, [CONTOSO_HOST, FABRIKAM_HOST, '*.id.example.test']);
  suite = suiteCert();
  s = await startServer({
    host: 'localhost',
    env: {
      LATCHKEY_TLS_DIR: certDir,
      LATCHKEY_TLS_CERT: suite.certPath,
      LATCHKEY_TLS_KEY: suite.keyPath,
      LATCHKEY_TENANT_HOST_PATTERN: PATTERN,
      LATCHKEY_MASTER_KEY: 'custom-domains-master-key-0123456789abcdef',
      LATCHKEY_FORM_RATE_LIMIT: '1000',
      LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1',
    },
  });
  port = Number(new URL(s.baseUrl).port);
  nodeFetch = hostFetch((name) => testHosts.has(name), [certs.ca, suite.cert]);
  rp = await startRelyingParty();
  browser = await launchBrowser(chromiumHostArgs([CONTOSO_HOST, FABRIKAM_HOST, NORTHWIND_HOST], [...certs.spki, spkiHash(suite.certPath)]));

  contoso = await createTenant(s.provision, 'contoso', { id: CONTOSO_ID, displayName: 'Contoso' });
  fabrikam = await createTenant(s.provision, 'fabrikam', { displayName: 'Fabrikam' });
  for (const t of [contoso, fabrikam]) {
    await createLocalUser(s.provision, t, { email: `ann@${t.slug}.example`, password: PASSWORD, displayName: `Ann of ${t.displayName}` }, { by: 'cli' });
    const web = await createApp(s.provision, t, { name: 'web', type: 'web', redirectUris: [`${rp.url}/cb`] });
    apps[t.slug] = web.app.clientId;
    apps[`${t.slug}:secret`] = web.clientSecret!;
  }
  // The upstream provider knows Contoso's callback on Contoso's own host only.
  op = await startUpstreamOp([{ clientId: 'contoso-at-op', secret: 'op-client-secret', redirectUri: `${origin(CONTOSO_HOST)}/contoso/federation/up/callback` }]);
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await op?.close();
  await s?.close();
  rmSync(certDir, { recursive: true, force: true });
  rmSync(caDir, { recursive: true, force: true });
});

describe('custom domains', () => {
  it('adds hosts by the CLI and the admin API; each host answers with its own certificate (SNI)', async () => {
    // Contoso's domain from the operator's command line, while the server runs.
    const added = JSON.parse(await cli(['tenant', 'domain', 'add', '--tenant', 'contoso', '--host', 'Login.Contoso.com', '--json'])) as Record<string, unknown>;
    expect(added).toMatchObject({ host: CONTOSO_HOST, source: 'domain', issuer: `https://${CONTOSO_HOST}/${CONTOSO_ID}/v2.0/` });

    // Fabrikam's by its administrator, through the admin API on the shared host.
    const adminApi = (await s.deps.store.findAppByIdentifierUri(fabrikam.id, ADMIN_API_URI))!;
    const daemon = await createApp(s.provision, fabrikam, { name: 'automation', type: 'daemon' });
    await s.deps.store.addGrant({ clientId: daemon.app.clientId, apiClientId: adminApi.clientId, kind: 'role', name: 'Admin.ReadWrite.All' });
    const tokenRes = await nodeFetch(`${s.baseUrl}/fabrikam/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: daemon.app.clientId, client_secret: daemon.clientSecret!, scope: `${ADMIN_API_URI}/.default` }).toString(),
    });
    const adminToken = ((await tokenRes.json()) as { access_token: string }).access_token;
    const post = await nodeFetch(`${s.baseUrl}/admin/v1/tenants/fabrikam/domains`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ host: FABRIKAM_HOST }) });
    expect(post.status).toBe(201);
    // A host another tenant has is refused, without saying whose it is.
    const taken = await nodeFetch(`${s.baseUrl}/admin/v1/tenants/fabrikam/domains`, { method: 'POST', headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' }, body: JSON.stringify({ host: CONTOSO_HOST }) });
    expect(taken.status).toBe(409);
    expect(JSON.stringify(await taken.json())).not.toContain('contoso"');

    await until('both hosts served', async () => (await discoveryStatus(`${issuerOn(CONTOSO_HOST, contoso)}.well-known/openid-configuration`)) === 200 && (await discoveryStatus(`${issuerOn(FABRIKAM_HOST, fabrikam)}.well-known/openid-configuration`)) === 200);
    // The same token, on Fabrikam's own host now: the admin API takes tokens from either host of the tenant.
    const listed = await nodeFetch(`${origin(FABRIKAM_HOST)}/admin/v1/tenants/fabrikam/domains`, { headers: { authorization: `Bearer ${adminToken}` } });
    expect(((await listed.json()) as { domains: { host: string; source: string }[] }).domains.map((d) => [d.host, d.source])).toEqual([[FABRIKAM_HOST, 'domain'], ['fabrikam.id.example.test', 'pattern']]);

    for (const [host, cn] of [[CONTOSO_HOST, CONTOSO_HOST], [FABRIKAM_HOST, FABRIKAM_HOST], [NORTHWIND_HOST, '*.id.example.test'], ['localhost', 'localhost']] as const) {
      const cert = await presentedCertificate(port, host, [certs.ca, suite.cert]);
      expect(cert.subject.CN, host).toBe(cn);
      expect(cert.authorized, host).toBe(true);
    }
  });

  it("openid-client validates each tenant's issuer on its own host in a full code flow; its tokens work on either host", async () => {
    for (const [t, host] of [[contoso, CONTOSO_HOST], [fabrikam, FABRIKAM_HOST]] as const) {
      const config = await discover(issuerOn(host, t), apps[t.slug]!, apps[`${t.slug}:secret`]!);
      const meta = config.serverMetadata();
      expect(meta.issuer).toBe(issuerOn(host, t));
      expect(meta.authorization_endpoint).toBe(`${origin(host)}/${t.id}/b2c_1_signupsignin/oauth2/v2.0/authorize`);
      expect(meta.jwks_uri!.startsWith(`${origin(host)}/`)).toBe(true);
      const { context, page } = await newPage();
      const flow = await startFlow(config);
      await signIn(page, flow.url, `ann@${t.slug}.example`);
      const tokens = await finish(page, flow);
      expect(tokens.claims()!.iss).toBe(issuerOn(host, t));
      expect((await client.fetchUserInfo(config, tokens.access_token, tokens.claims()!.sub)).sub).toBe(tokens.claims()!.sub);
      // The shared host's userinfo takes the token issued on the tenant's own host.
      const shared = await nodeFetch(`${s.baseUrl}/${t.slug}/openid/v2.0/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      expect(shared.status).toBe(200);
      // Another tenant's endpoint does not.
      const other = t === contoso ? fabrikam : contoso;
      expect((await nodeFetch(`${s.baseUrl}/${other.slug}/openid/v2.0/userinfo`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status).toBe(401);
      await context.close();
    }
  });

  it("serves a tenant's host in every URL form for that tenant only: another tenant's path there is 404", async () => {
    const on = (path: string) => nodeFetch(`${origin(CONTOSO_HOST)}${path}`);
    for (const segment of ['contoso', CONTOSO_ID, 'contoso.onmicrosoft.com']) {
      for (const path of [`/${segment}/v2.0/.well-known/openid-configuration`, `/${segment}/B2C_1_signin/v2.0/.well-known/openid-configuration`, `/tfp/${segment}/B2C_1_signin/v2.0/.well-known/openid-configuration`, `/${segment}/v2.0/.well-known/openid-configuration?p=B2C_1_signin`]) {
        const res = await on(path);
        expect(res.status, path).toBe(200);
        expect(((await res.json()) as { issuer: string }).issuer, path).toBe(issuerOn(CONTOSO_HOST, contoso));
      }
    }
    for (const segment of ['fabrikam', fabrikam.id, 'fabrikam.onmicrosoft.com', 'demo', s.tenant.id]) {
      for (const path of [`/${segment}/v2.0/.well-known/openid-configuration`, `/${segment}/B2C_1_signin/discovery/v2.0/keys`, `/tfp/${segment}/B2C_1_signin/oauth2/v2.0/authorize?client_id=x`, `/${segment}/oauth2/v2.0/token?p=B2C_1_signin`, `/${segment}/graph/v1.0/users`, `/admin/v1/tenants/${segment}`, `/static/layouts/${segment}/x.css`]) {
        const res = await (path.includes('/token') ? nodeFetch(`${origin(CONTOSO_HOST)}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' }) : on(path));
        expect(res.status, `${segment} ${path}`).toBe(404);
      }
    }
    // The playground belongs to the shared host.
    expect((await on('/playground/run?tenant=demo&p=B2C_1_signin')).status).toBe(404);
    // So do /common and /organizations (multi-tenant apps sign people of any tenant in there): a tenant's
    // own host answers none of their endpoints, while the shared host serves them.
    for (const segment of ['common', 'organizations']) {
      expect((await nodeFetch(`${s.baseUrl}/${segment}/v2.0/.well-known/openid-configuration`)).status, segment).toBe(200);
      for (const path of [`/${segment}/v2.0/.well-known/openid-configuration`, `/${segment}/discovery/v2.0/keys`, `/${segment}/oauth2/v2.0/authorize?client_id=${apps.contoso}&redirect_uri=${encodeURIComponent(`${rp.url}/cb`)}`, `/${segment}/oauth2/v2.0/logout`, `/${segment}/v2.0/adminconsent?client_id=${apps.contoso}`]) {
        expect((await on(path)).status, path).toBe(404);
      }
      const token = await nodeFetch(`${origin(CONTOSO_HOST)}/${segment}/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=authorization_code&code=x' });
      expect(token.status, `${segment} token`).toBe(404);
    }
    const commonOnOwnHost = await on('/common/v2.0/.well-known/openid-configuration');
    expect(((await commonOnOwnHost.json()) as { error: string }).error).toBe('not_found');
    // A name under the pattern that is no tenant's is the shared host's: a Host header nobody registered never shapes a URL.
    const stray = await nodeFetch(`${origin('nobody.id.example.test')}/contoso/v2.0/.well-known/openid-configuration`);
    expect(((await stray.json()) as { issuer: string }).issuer).toBe(`${s.baseUrl}/${CONTOSO_ID}/v2.0/`);
  });

  it('keeps sessions apart: a session made on one host is not used on another (prompt=none → login_required)', async () => {
    const config = await discover(issuerOn(CONTOSO_HOST, contoso), apps.contoso!, apps['contoso:secret']!);
    const { context, page } = await newPage();
    const flow = await startFlow(config);
    await signIn(page, flow.url, 'ann@contoso.example');
    await finish(page, flow);
    // Host-only cookies: no Domain, so no other host (the shared one included) ever gets them.
    const cookies = await context.cookies();
    expect(cookies.filter((c) => c.name.startsWith('__Host-lk_sso_')).map((c) => c.domain)).toEqual([CONTOSO_HOST]);

    // On the same host, the session answers silently.
    const silent = await startFlow(config, { prompt: 'none' });
    await page.goto(silent.url.toString());
    expect((await finish(page, silent)).claims()!.iss).toBe(issuerOn(CONTOSO_HOST, contoso));

    // The same tenant on the shared host has never seen this browser's session.
    const shared = await discover(`${s.baseUrl}/${CONTOSO_ID}/v2.0/`, apps.contoso!, apps['contoso:secret']!);
    const elsewhere = await startFlow(shared, { prompt: 'none' });
    await page.goto(elsewhere.url.toString());
    await page.waitForURL(`${rp.url}/**`);
    const answer = new URL(page.url()).searchParams;
    expect(answer.get('error')).toBe('login_required');
    expect(answer.get('code')).toBeNull();
    await context.close();
  });

  it('gives a tenant on the host pattern its own issuer with no command (and `tenant create` writes its standard policies)', async () => {
    const created = JSON.parse(await cli(['tenant', 'create', 'northwind', '--json'])) as { id: string };
    const folder = join(s.dir, 'policies', 'northwind');
    expect(readdirSync(folder).filter((f) => f.startsWith('B2C_1_')).sort()).toEqual(['B2C_1_passwordreset.json', 'B2C_1_profileedit.json', 'B2C_1_signin.json', 'B2C_1_signup.json', 'B2C_1_signupsignin.json']);
    const northwind = (await s.deps.store.findTenant(created.id))!;
    expect(northwind.defaultPolicy).toBe('B2C_1_signupsignin');
    await createLocalUser(s.provision, northwind, { email: 'ann@northwind.example', password: PASSWORD }, { by: 'cli' });
    const web = await createApp(s.provision, northwind, { name: 'web', type: 'web', redirectUris: [`${rp.url}/cb`] });
    const listed = JSON.parse(await cli(['tenant', 'domain', 'list', '--tenant', 'northwind', '--json'])) as { host: string; source: string }[];
    expect(listed).toEqual([expect.objectContaining({ host: NORTHWIND_HOST, source: 'pattern' })]);

    const config = await discover(issuerOn(NORTHWIND_HOST, northwind), web.app.clientId, web.clientSecret!);
    expect(config.serverMetadata().token_endpoint).toBe(`${origin(NORTHWIND_HOST)}/${northwind.id}/b2c_1_signupsignin/oauth2/v2.0/token`);
    const { context, page } = await newPage();
    const flow = await startFlow(config);
    await signIn(page, flow.url, 'ann@northwind.example');
    expect((await finish(page, flow)).claims()!.iss).toBe(issuerOn(NORTHWIND_HOST, northwind));
    await context.close();
    // Contoso's host does not serve Northwind.
    expect(await discoveryStatus(`${origin(CONTOSO_HOST)}/northwind/v2.0/.well-known/openid-configuration`)).toBe(404);
  });

  it("works with an msal-node app configured for B2C's custom-domain authority, unchanged", async () => {
    const host = `${CONTOSO_HOST}:${port}`;
    const msalLogs: string[] = [];
    const cca = new ConfidentialClientApplication({
      auth: {
        clientId: apps.contoso!,
        clientSecret: apps['contoso:secret']!,
        // As the app had it for B2C: https://login.contoso.com/<tenant id>/B2C_1_signupsignin.
        authority: `https://${host}/${CONTOSO_ID}/B2C_1_signupsignin`,
        knownAuthorities: [host],
      },
      system: { networkClient: msalNetwork(), loggerOptions: { logLevel: LogLevel.Warning, loggerCallback: (_l, m) => msalLogs.push(m), piiLoggingEnabled: false } },
    });
    const { verifier, challenge } = await new CryptoProvider().generatePkceCodes();
    const redirectUri = `${rp.url}/cb`;
    const url = await cca.getAuthCodeUrl({ scopes: [], redirectUri, codeChallenge: challenge, codeChallengeMethod: 'S256', state: 'msal-state' });
    expect(url.startsWith(`https://${host}/${CONTOSO_ID}/b2c_1_signupsignin/oauth2/v2.0/authorize?`)).toBe(true);
    const { context, page } = await newPage();
    await signIn(page, new URL(url), 'ann@contoso.example');
    await page.waitForURL(`${rp.url}/**`);
    const code = new URL(page.url()).searchParams.get('code')!;
    await context.close();
    const result = await cca.acquireTokenByCode({ code, redirectUri, scopes: [], codeVerifier: verifier });
    expect(result.idTokenClaims).toMatchObject({ iss: `https://${host}/${CONTOSO_ID}/v2.0/`, tfp: 'B2C_1_signupsignin', emails: ['ann@contoso.example'] });
    const silent = await cca.acquireTokenSilent({ account: result.account!, scopes: [], forceRefresh: true });
    expect(silent.fromCache).toBe(false);
    expect(silent.idTokenClaims).toMatchObject({ iss: `https://${host}/${CONTOSO_ID}/v2.0/`, oid: result.uniqueId });
    expect(msalLogs.filter((m) => /error/i.test(m))).toEqual([]);
  });

  it('federates through the callback on the host the journey runs on', async () => {
    process.env.TEST_CONTOSO_UPSTREAM_SECRET = 'op-client-secret';
    op.accounts.set('uma', { email: 'uma@upstream.example', email_verified: true, name: 'Uma Upstream' });
    const folder = join(s.dir, 'policies', 'contoso');
    writeFileSync(join(folder, 'identity-providers.json'), JSON.stringify({ providers: [{ id: 'up', type: 'oidc', displayName: 'Upstream', discoveryUrl: op.discoveryUrl, clientId: 'contoso-at-op', clientSecret: { env: 'TEST_CONTOSO_UPSTREAM_SECRET' } }] }));
    writeFileSync(join(folder, 'B2C_1_fed.json'), JSON.stringify({ id: 'B2C_1_fed', kind: 'signUpOrSignIn', identityProviders: ['local', 'up'], signUp: { attributes: [], verifyEmail: false } }));
    await until('B2C_1_fed', async () => (await discoveryStatus(`${origin(CONTOSO_HOST)}/contoso/B2C_1_fed/v2.0/.well-known/openid-configuration`)) === 200);
    const config = await discover(metadataOf(origin(CONTOSO_HOST), 'contoso', 'B2C_1_fed'), apps.contoso!, apps['contoso:secret']!);
    const { context, page } = await newPage();
    const flow = await startFlow(config);
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Upstream' }).click();
    await page.waitForURL(`${op.issuer}/**`);
    await page.locator('input[name="login"]').fill('uma');
    await page.locator('input[name="password"]').fill('anything');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    const claims = (await finish(page, flow)).claims()!;
    expect(claims.iss).toBe(issuerOn(CONTOSO_HOST, contoso));
    expect(claims.newUser).toBe(true);
    await context.close();
  });

  it("serves a tenant's console on its own host: signed in there (its redirect URI registered for that host), a __Host- cookie, and no other tenant's console", async () => {
    const ann = (await s.deps.store.findUserBySignInName(contoso.id, 'ann@contoso.example'))!;
    await addDirectoryRole(s.provision, contoso, ann, 'GlobalAdministrator', { by: 'cli' });
    const { context, page } = await newPage();
    await page.goto(`${origin(CONTOSO_HOST)}/console/contoso/users`);
    expect(new URL(page.url()).host).toBe(`${CONTOSO_HOST}:${port}`);
    await page.locator('#signInName').fill('ann@contoso.example');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#next').click();
    await page.waitForURL(`${origin(CONTOSO_HOST)}/console/contoso/users`);
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    const cookie = (await context.cookies(origin(CONTOSO_HOST))).find((c) => c.name === `__Host-lk_console_${contoso.id.replace(/-/g, '')}`);
    expect(cookie).toMatchObject({ secure: true, httpOnly: true, sameSite: 'Lax', path: '/', domain: CONTOSO_HOST });
    const consoleApp = (await s.deps.store.listApps(contoso.id)).find((a) => a.name === 'Latchkey console')!;
    expect(consoleApp.publicClientRedirectUris).toEqual(expect.arrayContaining([`${origin(CONTOSO_HOST)}/console/contoso/callback`, `${s.baseUrl}/console/contoso/callback`]));
    // The shared host's console of the same tenant has a session of its own (cookies are host-only).
    const shared = await page.request.get(`${s.baseUrl}/console/contoso/users`, { maxRedirects: 0 });
    expect(shared.status()).toBe(303);
    // Another tenant's console is not served on Contoso's host.
    expect((await nodeFetch(`${origin(CONTOSO_HOST)}/console/fabrikam/`, { redirect: 'manual' })).status).toBe(404);
    expect((await nodeFetch(`${origin(CONTOSO_HOST)}/console/contoso/`, { redirect: 'manual' })).status).toBe(303);
    await context.close();
  });
});

describe('passkeys and page scripts on a host of its own', () => {
  /** Chromium's virtual authenticator (a platform authenticator with resident keys, the user verified). */
  async function virtualAuthenticator(context: BrowserContext, page: Page): Promise<(present: boolean) => Promise<void>> {
    const cdp = await context.newCDPSession(page);
    await cdp.send('WebAuthn.enable');
    const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', { options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true } });
    // Without presence a request waits, as for a user who has not touched the authenticator yet.
    return async (present) => {
      await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: present });
    };
  }

  it('offers a passkey only on the host it was made on', async () => {
    writeTenantPolicy('contoso', 'B2C_1_pk_profile', 'B2C_1_profileedit', { mfa: { mode: 'off', methods: ['passkey'] } });
    writeTenantPolicy('contoso', 'B2C_1_pk_signin', 'B2C_1_signin', { mfa: { mode: 'off', methods: ['passkey'] } });
    writeTenantPolicy('contoso', 'B2C_1_pk_required', 'B2C_1_signin', { mfa: { mode: 'required', methods: ['passkey'] } });
    for (const id of ['B2C_1_pk_profile', 'B2C_1_pk_signin', 'B2C_1_pk_required']) await until(id, async () => (await discoveryStatus(`${origin(CONTOSO_HOST)}/contoso/${id}/v2.0/.well-known/openid-configuration`)) === 200);
    const user = (await s.deps.store.findUserBySignInName(contoso.id, 'ann@contoso.example'))!;
    const on = (base: string, policy: string) => discover(metadataOf(base, 'contoso', policy), apps.contoso!, apps['contoso:secret']!);

    const { context, page } = await newPage();
    const presence = await virtualAuthenticator(context, page);
    // Made in profile edit on Contoso's own host.
    let flow = await startFlow(await on(origin(CONTOSO_HOST), 'B2C_1_pk_profile'));
    await signIn(page, flow.url, 'ann@contoso.example');
    await page.locator('#securitySettings').click();
    await page.locator('#enrol-passkey').click();
    await page.locator('#createPasskey').click();
    await page.locator('h1', { hasText: 'Save your recovery codes' }).waitFor();
    await page.locator('#continue').click();
    await expect(page.locator('#passkeyList').textContent()).resolves.toMatch(new RegExp(`^Passkey 1 \\(\\d{4}-\\d{2}-\\d{2}, ${CONTOSO_HOST.replace(/\./g, '\\.')}\\)$`));
    await page.locator('#done').click();
    await page.locator('#givenName').fill('Ann');
    await page.locator('#continue').click();
    await finish(page, flow);

    // Signs in there with the passkey alone: the sign-in page's autofill request finds it at once.
    await context.clearCookies();
    flow = await startFlow(await on(origin(CONTOSO_HOST), 'B2C_1_pk_signin'));
    await page.goto(flow.url.toString(), { waitUntil: 'commit' });
    expect((await finish(page, flow)).claims()!.amr).toEqual(['hwk', 'mfa']);

    // On the shared host the browser has no passkey for the site: the ceremony fails and nobody is signed in.
    await context.clearCookies();
    flow = await startFlow(await on(s.baseUrl, 'B2C_1_pk_signin'));
    await page.goto(flow.url.toString());
    await page.locator('#passkeySignIn').click();
    await page.locator('[data-passkey-error]').waitFor({ state: 'visible' });
    expect(page.url().startsWith(s.baseUrl)).toBe(true);

    // As the second factor after the password: asked for on its own host; on the shared host it is not
    // offered, and a password alone cannot enrol another factor in its place (the recovery codes can stand in).
    await context.clearCookies();
    await presence(false);
    flow = await startFlow(await on(origin(CONTOSO_HOST), 'B2C_1_pk_required'));
    await signIn(page, flow.url, 'ann@contoso.example');
    await page.locator('#usePasskey').waitFor();
    await presence(true);
    await page.locator('#usePasskey').click();
    expect((await finish(page, flow)).claims()!.amr).toEqual(['pwd', 'hwk', 'mfa']);
    await context.clearCookies();
    flow = await startFlow(await on(s.baseUrl, 'B2C_1_pk_required'));
    await signIn(page, flow.url, 'ann@contoso.example');
    await page.locator('#recoveryCode').waitFor();
    expect(await page.locator('#usePasskey, #createPasskey, [data-passkey]').count()).toBe(0);

    // Someone whose only factor is a passkey of Contoso's host, and no recovery codes: told where it works.
    const bo = await createLocalUser(s.provision, contoso, { email: 'bo@contoso.example', password: PASSWORD }, { by: 'cli' });
    await s.deps.store.replaceAuthenticators(contoso.id, bo.id, [], [{ id: randomUUID(), tenantId: contoso.id, userId: bo.id, kind: 'passkey', credentialId: 'bo-credential', label: 'Passkey 1', data: { publicKey: 'AA', counter: 0, transports: [], deviceType: 'singleDevice', backedUp: false, rpId: CONTOSO_HOST }, version: 0, createdAt: Date.now(), lastUsedAt: null }]);
    await context.clearCookies();
    flow = await startFlow(await on(s.baseUrl, 'B2C_1_pk_required'));
    await signIn(page, flow.url, 'bo@contoso.example');
    await expect(page.locator('main').textContent()).resolves.toContain('Your passkey belongs to another address of this sign-in page and works only there.');
    expect(await page.locator('#createPasskey, #totpCode').count()).toBe(0);
    await context.close();

    // And the server lists it as a second factor on its own host only.
    const allowed = async (baseUrl: string) => (await new MfaService(s.deps, baseUrl, 'localhost').passkeyAuthenticationOptions(contoso, user)).allowCredentials ?? [];
    expect(await allowed(origin(CONTOSO_HOST))).toHaveLength(1);
    expect(await allowed(s.baseUrl)).toHaveLength(0);
  });

  it("runs a layout's JavaScript on the tenant's own host, and drops it on the shared host", async () => {
    const folder = join(s.dir, 'policies', 'contoso');
    mkdirSync(join(folder, 'layouts'), { recursive: true });
    writeFileSync(join(folder, 'layouts', 'scripted.html'), "<!doctype html><html><head><title>Contoso</title><script>document.documentElement.setAttribute('data-layout-script', 'ran');</script></head><body><div id=\"api\"></div></body></html>");
    writeTenantPolicy('contoso', 'B2C_1_js', 'B2C_1_signin', { ui: { pageLayouts: { unifiedssp: { template: 'layouts/scripted.html', javaScript: true } } } });
    await until('B2C_1_js', async () => (await discoveryStatus(`${origin(CONTOSO_HOST)}/contoso/B2C_1_js/v2.0/.well-known/openid-configuration`)) === 200);
    const { context, page } = await newPage();
    const own = await startFlow(await discover(metadataOf(origin(CONTOSO_HOST), 'contoso', 'B2C_1_js'), apps.contoso!, apps['contoso:secret']!));
    await page.goto(own.url.toString());
    await page.locator('#signInName').waitFor();
    expect(await page.locator('html').getAttribute('data-layout-script')).toBe('ran');
    const shared = await startFlow(await discover(metadataOf(s.baseUrl, 'contoso', 'B2C_1_js'), apps.contoso!, apps['contoso:secret']!));
    await page.goto(shared.url.toString());
    await page.locator('#signInName').waitFor();
    expect(await page.locator('html').getAttribute('data-layout-script')).toBeNull();
    expect(await page.content()).not.toContain('data-layout-script');
    await context.close();
  });
});
