import { decodeJwt } from 'jose';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishFlow, newPage as newBrowserPage, startFlow as startBrowserFlow, type Flow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { waitForPolicy, writePolicy as writePolicyFile } from '../helpers/policies.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';
import { suiteCert } from '../helpers/tls.js';

/**
 * B2C's API connectors against a stub of a customer's REST API (real HTTP on 127.0.0.1, and HTTPS
 * with a client certificate), driven through the hosted pages in headless Chromium.
 */
interface Call {
  path: string;
  authorization: string | undefined;
  body: Record<string, unknown>;
  clientCertificate?: string;
}

const calls: Call[] = [];
type Reply = (body: Record<string, unknown>, res: ServerResponse) => void;
const json = (res: ServerResponse, status: number, body: unknown) => res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));

/** The stub API: one behaviour per path, as a customer's endpoints would have. */
const ROUTES: Record<string, Reply> = {
  '/validate': (body, res) => {
    if (body.givenName === 'Mallory') return json(res, 400, { version: '1.0.0', status: 400, action: 'ValidationError', userMessage: 'Mallory may not sign up here. Please use another name.' });
    json(res, 200, { version: '1.0.0', action: 'Continue', givenName: `${String(body.givenName)} (checked)`, [`extension_${EXT}_loyaltyId`]: 'L-42', jobTitle: 'ignored: not collected' });
  },
  '/block': (_body, res) => json(res, 200, { version: '1.0.0', action: 'ShowBlockPage', userMessage: 'Sign-ups are closed this week.' }),
  '/slow': () => undefined, // never answers
  '/malformed': (_body, res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"action": "Continue",'),
  '/pretoken': (body, res) =>
    json(res, 200, {
      version: '1.0.0',
      action: 'Continue',
      loyaltyTier: body.objectId ? 'gold' : 'none',
      [`extension_${EXT}_segment`]: 'b2b',
      oid: 'someone-else',
      email: 'evil@example.com',
      notListed: 'x',
      // What a hostile connector would add to widen the token: none of it may be taken.
      client_id: 'another-app',
      scope: 'urn:latchkey:admin/Admin.ReadWrite.All',
      amr: ['mfa', 'hwk'],
      acr: 'mfa',
      tid: '00000000-0000-0000-0000-000000000000',
      wids: ['62e90394-69f5-4237-9190-012177145e10'],
    }),
};

let EXT = '';
let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let appId: string;
let api: string;
let closeApi: () => Promise<void>;
let tlsApi: string;
let closeTlsApi: () => Promise<void>;
let certDir: string;

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

function writePolicy(id: string, extra: Record<string, unknown>): void {
  writePolicyFile(s, id, { signUp: { verifyEmail: false, attributes: [{ claim: 'given_name', label: 'Given name', required: true }, { claim: 'loyaltyId', label: 'Loyalty number' }] }, ...extra });
}

const basic = (path: string, timeoutSeconds = 5) => ({ url: `${api}${path}`, auth: { type: 'basic', username: 'latchkey', password: { env: 'TEST_CONNECTOR_PASSWORD' } }, timeoutSeconds });

function startFlow(policy: string): Promise<Flow> {
  return startBrowserFlow({ baseUrl: s.baseUrl, policy, clientId: appId, redirectUri: `${rp.url}/cb` });
}

/** Sign-up through the pages up to the attribute form's submit. */
async function signUp(page: Page, flow: Flow, email: string, given: string): Promise<void> {
  await page.goto(flow.url.toString());
  await page.getByRole('button', { name: 'Sign up now' }).click();
  await page.getByLabel('Email Address').fill(email);
  await page.getByRole('button', { name: 'Continue' }).click();
  await page.getByLabel('New Password', { exact: true }).fill('connector-pw-1');
  await page.getByLabel('Confirm New Password').fill('connector-pw-1');
  await page.getByLabel('Given name').fill(given);
  await page.getByRole('button', { name: 'Create' }).click();
}

beforeAll(async () => {
  process.env.TEST_CONNECTOR_PASSWORD = 'connector-secret';
  process.env.TEST_CONNECTOR_TOKEN = 'bearer-token-value';
  // The connector endpoints run on this machine: the operator allows it.
  s = await startServer({ env: { LATCHKEY_OUTBOUND_ALLOW: LOOPBACK_ALLOWED } });
  EXT = s.tenant.id.replace(/-/g, '');
  rp = await startRelyingParty();
  browser = await launchBrowser();
  appId = (await s.createApp({ name: 'app', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;

  const server = createServer(async (req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const body = await readBody(req);
    calls.push({ path, authorization: req.headers.authorization, body });
    ROUTES[path]?.(body, res);
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  api = `http://127.0.0.1:${port}`;
  closeApi = () => new Promise((r) => { server.closeAllConnections(); server.close(() => r()); });

  // HTTPS that only answers the holder of one client certificate (B2C's certificate authentication).
  certDir = mkdtempSync(join(tmpdir(), 'latchkey-client-cert-'));
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=latchkey-connector', '-keyout', join(certDir, 'client.key'), '-out', join(certDir, 'client.pem')], { stdio: 'ignore' });
  execFileSync('openssl', ['pkcs12', '-export', '-inkey', join(certDir, 'client.key'), '-in', join(certDir, 'client.pem'), '-out', join(certDir, 'client.pfx'), '-passout', 'pass:pfx-pass'], { stdio: 'ignore' });
  process.env.TEST_CONNECTOR_PFX = readFileSync(join(certDir, 'client.pfx')).toString('base64');
  process.env.TEST_CONNECTOR_PFX_PASS = 'pfx-pass';
  const suite = suiteCert();
  const tls = createHttpsServer({ cert: suite.cert, key: suite.key, ca: readFileSync(join(certDir, 'client.pem')), requestCert: true, rejectUnauthorized: true }, async (req, res) => {
    const body = await readBody(req);
    const peer = (req.socket as import('node:tls').TLSSocket).getPeerCertificate();
    calls.push({ path: '/tls', authorization: req.headers.authorization, body, clientCertificate: String(peer.subject?.CN) });
    json(res, 200, { version: '1.0.0', action: 'Continue', loyaltyTier: 'platinum' });
  });
  const tlsPort = await freePort();
  await new Promise<void>((r) => tls.listen(tlsPort, '127.0.0.1', () => r()));
  tlsApi = `https://localhost:${tlsPort}`;
  closeTlsApi = () => new Promise((r) => { tls.closeAllConnections(); tls.close(() => r()); });

  const outputClaims = ['oid', 'emails', 'given_name', 'idp', 'newUser', 'tfp', 'loyaltyId', 'loyaltyTier', 'segment'];
  writePolicy('B2C_1_api_validate', { outputClaims, apiConnectors: { postAttributeCollection: basic('/validate') } });
  writePolicy('B2C_1_api_block', { apiConnectors: { postAttributeCollection: basic('/block') } });
  writePolicy('B2C_1_api_slow', { apiConnectors: { postAttributeCollection: basic('/slow', 1) } });
  writePolicy('B2C_1_api_malformed', { apiConnectors: { postAttributeCollection: basic('/malformed') } });
  // A policy that lists Latchkey's own claims as outputs, as a hostile administrator would write it.
  writePolicy('B2C_1_api_pretoken', { outputClaims: [...outputClaims, 'client_id', 'scope', 'amr', 'acr', 'tid', 'wids'], apiConnectors: { preTokenIssuance: { url: `${api}/pretoken`, auth: { type: 'bearer', token: { env: 'TEST_CONNECTOR_TOKEN' } } } } });
  writePolicy('B2C_1_api_cert', { outputClaims, apiConnectors: { preTokenIssuance: { url: `${tlsApi}/claims`, auth: { type: 'clientCertificate', pfx: { env: 'TEST_CONNECTOR_PFX' }, passphrase: { env: 'TEST_CONNECTOR_PFX_PASS' } } } } });
  for (const id of ['validate', 'block', 'slow', 'malformed', 'pretoken', 'cert']) await waitForPolicy(s, `B2C_1_api_${id}`);
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await closeApi?.();
  await closeTlsApi?.();
  await s?.close();
  if (certDir) rmSync(certDir, { recursive: true, force: true });
});

describe('API connectors', () => {
  it('shows a ValidationError on the form; the corrected sign-up continues with the claims the API returned', async () => {
    const flow = await startFlow('B2C_1_api_validate');
    const { context, page } = await newBrowserPage(browser);
    await signUp(page, flow, 'val@example.com', 'Mallory');
    await expect(page.locator('.error.pageLevel[role=alert]').textContent()).resolves.toContain('Mallory may not sign up here. Please use another name.');
    expect(await s.deps.store.findUserBySignInName(s.tenant.id, 'val@example.com')).toBeUndefined();
    // The request, as B2C sends it: Graph names, identities, step, client_id, ui_locales; Basic auth.
    const first = calls.filter((c) => c.path === '/validate')[0]!;
    expect(first.authorization).toBe(`Basic ${Buffer.from('latchkey:connector-secret').toString('base64')}`);
    expect(first.body).toEqual({
      email: 'val@example.com',
      identities: [{ signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'val@example.com' }],
      givenName: 'Mallory',
      step: 'PostAttributeCollection',
      client_id: appId,
      ui_locales: 'en',
    });

    await page.getByLabel('New Password', { exact: true }).fill('connector-pw-1');
    await page.getByLabel('Confirm New Password').fill('connector-pw-1');
    await page.getByLabel('Given name').fill('Valerie');
    await page.getByRole('button', { name: 'Create' }).click();
    const claims = (await finishFlow(page, flow)).claims()!;
    expect(claims.given_name).toBe('Valerie (checked)');
    expect(claims.loyaltyId).toBe('L-42');
    const user = await s.deps.store.findUserBySignInName(s.tenant.id, 'val@example.com');
    expect(user?.givenName).toBe('Valerie (checked)');
    expect(user?.attributes).toEqual({ loyaltyId: 'L-42' });
    await context.close();
  });

  it('shows ShowBlockPage and creates nothing', async () => {
    const flow = await startFlow('B2C_1_api_block');
    const { context, page } = await newBrowserPage(browser);
    await signUp(page, flow, 'blocked@example.com', 'Bo');
    await expect(page.locator('.error.pageLevel').textContent()).resolves.toContain('Sign-ups are closed this week.');
    expect(await page.locator('form').count()).toBe(0);
    expect(await s.deps.store.findUserBySignInName(s.tenant.id, 'blocked@example.com')).toBeUndefined();
    await context.close();
  });

  it('tries a silent API twice, then tells the app, audited with the attempts; nothing is created', async () => {
    const before = calls.filter((c) => c.path === '/slow').length;
    const flow = await startFlow('B2C_1_api_slow');
    const { context, page } = await newBrowserPage(browser);
    await signUp(page, flow, 'slow@example.com', 'Sam');
    await page.waitForURL(`${rp.url}/**`, { timeout: 10_000 });
    const url = new URL(page.url());
    expect(url.searchParams.get('error')).toBe('temporarily_unavailable');
    expect(url.searchParams.get('error_description')).toContain('did not answer in time');
    // The app is told what kind of failure it was; the connector's address and the details stay in the audit log.
    expect(url.searchParams.get('error_description')).not.toContain('127.0.0.1');
    expect(calls.filter((c) => c.path === '/slow').length - before).toBe(2);
    expect(await s.deps.store.findUserBySignInName(s.tenant.id, 'slow@example.com')).toBeUndefined();
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(audit.some((e) => e.event === 'api_connector' && e.outcome === 'failure' && e.detail?.includes('did not answer within 1 seconds (2 attempts)'))).toBe(true);
    await context.close();
  });

  it('fails the sign-up on a malformed answer, once, and creates nothing', async () => {
    const flow = await startFlow('B2C_1_api_malformed');
    const { context, page } = await newBrowserPage(browser);
    await signUp(page, flow, 'bad-json@example.com', 'Jay');
    await page.waitForURL(`${rp.url}/**`);
    const url = new URL(page.url());
    expect(url.searchParams.get('error')).toBe('server_error');
    expect(url.searchParams.get('error_description')).toContain('sent an answer that could not be used');
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'api_connector', outcome: 'failure' });
    expect(audit.some((e) => e.detail?.includes('body that is not JSON (1 attempt)'))).toBe(true);
    expect(await s.deps.store.findUserBySignInName(s.tenant.id, 'bad-json@example.com')).toBeUndefined();
    await context.close();
  });

  it('adds the claims preTokenIssuance returns to the tokens (bearer auth), never the ones that identify the user', async () => {
    const user = await s.createUser('pre@example.com', 'pre-password-1', { givenName: 'Pre' });
    const flow = await startFlow('B2C_1_api_pretoken');
    const { context, page } = await newBrowserPage(browser);
    await page.goto(flow.url.toString());
    await page.getByLabel('Email Address').fill('pre@example.com');
    await page.getByLabel('Password').fill('pre-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const tokens = await finishFlow(page, flow);
    const claims = tokens.claims()!;
    expect(claims.loyaltyTier).toBe('gold');
    expect(claims.segment).toBe('b2b');
    expect(claims.oid).toBe(user.id);
    expect(claims.sub).toBe(user.id);
    expect(claims.email).toBeUndefined();
    expect(claims.notListed).toBeUndefined();
    expect(claims.amr).toEqual(['pwd']);
    expect(claims.acr).toBe('sfa');
    expect(claims.tid).toBeUndefined();
    expect(claims.wids).toBeUndefined();
    const access = decodeJwt(tokens.access_token);
    expect(access.client_id).toBe(appId);
    expect(access.scope).not.toContain('Admin');
    expect(access.amr).toEqual(['pwd']);
    expect(access.loyaltyTier).toBe('gold');
    const call = calls.filter((c) => c.path === '/pretoken').at(-1)!;
    expect(call.authorization).toBe('Bearer bearer-token-value');
    // B2C's body at this step: clientId (not client_id), step PreTokenApplicationClaims, ui_locales first.
    expect(Object.keys(call.body).slice(0, 3)).toEqual(['clientId', 'step', 'ui_locales']);
    expect(call.body).toMatchObject({ clientId: appId, step: 'PreTokenApplicationClaims', ui_locales: 'en', objectId: user.id, email: 'pre@example.com', givenName: 'Pre' });
    expect(call.body.client_id).toBeUndefined();
    await context.close();
  });

  it('authenticates with a client certificate (PKCS#12 from the environment)', async () => {
    await s.createUser('cert@example.com', 'cert-password-1');
    const flow = await startFlow('B2C_1_api_cert');
    const { context, page } = await newBrowserPage(browser);
    await page.goto(flow.url.toString());
    await page.getByLabel('Email Address').fill('cert@example.com');
    await page.getByLabel('Password').fill('cert-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await finishFlow(page, flow)).claims()!.loyaltyTier).toBe('platinum');
    expect(calls.find((c) => c.path === '/tls')?.clientCertificate).toBe('latchkey-connector');
    await context.close();
  });
});
