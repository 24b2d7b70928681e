import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUser } from '../../src/services/users.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';
import { freePort, startServer, type TestServer } from '../helpers/server.js';
import { startUpstreamOp, type UpstreamOp } from '../helpers/upstream-op.js';

/**
 * Moving a realistic B2C tenant, end to end, as its team would: `contosob2c.onmicrosoft.com` (slug
 * `contoso`, the same tenant id and client id), its users exported from Microsoft Graph — once as a
 * script paging through `GET /v1.0/users` writes them (one Graph page a line), once as PowerShell's
 * `Get-MgUser | ConvertTo-Json` writes them — and imported with the built CLI. Passwords move just in
 * time: B2C never exports them, so the "old B2C" is a second Latchkey answering ROPC. An imported
 * federated user signs in through a generic OpenID provider (node-oidc-provider) whose issuer is
 * Entra ID's, and an API connector sees B2C's own request bodies.
 */
const TENANT_ID = '5f0c3a9e-8b1d-4c2e-9a7f-2d6e1b4c8a90';
const CLIENT_ID = 'f3c1e0a2-7b4d-4e8f-9a6c-1d2e3f4a5b6c';
/** The b2c-extensions-app's id, as extension attributes are named in the export. */
const APP_ID = 'a1b2c3d4e5f60718293a4b5c6d7e8f90';
const ENTRA_ISSUER = 'https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/v2.0';
const LOCAL = 'contosob2c.onmicrosoft.com';

const ids = {
  ann: '0b6d5a0e-1f2c-4a8b-9c3d-111111111111',
  jo: '0b6d5a0e-1f2c-4a8b-9c3d-222222222222',
  fred: '0b6d5a0e-1f2c-4a8b-9c3d-333333333333',
  erin: '0b6d5a0e-1f2c-4a8b-9c3d-444444444444',
  sam: '0b6d5a0e-1f2c-4a8b-9c3d-555555555555',
  april: '0b6d5a0e-1f2c-4a8b-9c3d-666666666666',
  pat: '0b6d5a0e-1f2c-4a8b-9c3d-777777777777',
  dana: '0b6d5a0e-1f2c-4a8b-9c3d-888888888888',
};

const upn = (id: string) => ({ signInType: 'userPrincipalName', issuer: LOCAL, issuerAssignedId: `${id}@${LOCAL}` });
const local = (signInType: string, issuerAssignedId: string) => ({ signInType, issuer: LOCAL, issuerAssignedId });
const federated = (issuer: string, issuerAssignedId: string) => ({ signInType: 'federated', issuer, issuerAssignedId });

/** The tenant's users as B2C's Graph returns them (`$select` with identities, otherMails and the extension attributes). */
const graphUsers: Record<string, unknown>[] = [
  {
    id: ids.ann, displayName: 'Ann Andersen', givenName: 'Ann', surname: 'Andersen', mail: null, otherMails: [], accountEnabled: true,
    createdDateTime: '2021-03-04T10:11:12Z', country: 'NL', identities: [local('emailAddress', 'ann@contoso.com'), upn(ids.ann)],
    [`extension_${APP_ID}_loyaltyNumber`]: 'LN-1001',
  },
  {
    id: ids.jo, displayName: 'Jo Doe', givenName: 'Jo', surname: 'Doe', mail: null, otherMails: [], accountEnabled: true,
    createdDateTime: '2021-05-06T07:08:09Z', identities: [local('emailAddress', 'Jo.Doe@contoso.com'), local('userName', 'jdoe'), upn(ids.jo)],
    [`extension_${APP_ID}_loyaltyNumber`]: 'LN-1002',
  },
  {
    // The operator marked this user: the next sign-in must choose a new password.
    id: ids.fred, displayName: 'Fred Field', givenName: 'Fred', surname: 'Field', mail: null, otherMails: [], accountEnabled: true,
    createdDateTime: '2022-01-02T03:04:05Z', identities: [local('emailAddress', 'fred@contoso.com'), upn(ids.fred)],
    passwordProfile: { forceChangePasswordNextSignIn: true },
  },
  {
    // A work account of another company, through a custom OpenID Connect provider: B2C stored Entra ID's issuer URL.
    id: ids.erin, displayName: 'Erin Example', givenName: 'Erin', surname: null, mail: null, otherMails: ['erin@fabrikam.example'], accountEnabled: true,
    createdDateTime: '2022-02-03T04:05:06Z', identities: [federated(ENTRA_ISSUER, 'erin-entra-oid'), upn(ids.erin)],
  },
  {
    // A social account: B2C keeps its address in otherMails.
    id: ids.sam, displayName: 'Sam Social', givenName: 'Sam', surname: null, mail: null, otherMails: ['sam.social@gmail.com'], accountEnabled: true,
    createdDateTime: '2022-03-04T05:06:07Z', identities: [federated('google.com', '104552879812345678901'), upn(ids.sam)],
  },
  {
    id: ids.april, displayName: 'April Apple', givenName: null, surname: null, mail: null, otherMails: ['x7y8z9@privaterelay.appleid.com'], accountEnabled: true,
    createdDateTime: '2022-04-05T06:07:08Z', identities: [federated('https://appleid.apple.com', '001234.0a1b2c3d4e5f60718293a4b5c6d7e8f9.0456'), upn(ids.april)],
  },
  {
    id: ids.pat, displayName: 'Pat Phone', givenName: 'Pat', surname: null, mail: null, otherMails: [], accountEnabled: true,
    createdDateTime: '2023-05-06T07:08:09Z', identities: [local('phoneNumber', '+31612345678'), local('emailAddress', 'pat@contoso.com'), upn(ids.pat)],
  },
  {
    id: ids.dana, displayName: 'Dana Disabled', givenName: 'Dana', surname: null, mail: 'dana.contact@contoso.com', otherMails: [], accountEnabled: false,
    createdDateTime: '2023-06-07T08:09:10Z', identities: [local('emailAddress', 'dana@contoso.com'), upn(ids.dana)],
  },
];

const SELECT = `id,displayName,givenName,surname,mail,otherMails,accountEnabled,createdDateTime,country,identities,extension_${APP_ID}_loyaltyNumber`;

/** Two Graph pages, one a line, as a script following @odata.nextLink writes them. */
function graphPages(): string {
  const page = (value: Record<string, unknown>[], next?: string) => JSON.stringify({
    '@odata.context': `https://graph.microsoft.com/v1.0/$metadata#users(${SELECT})`,
    value,
    ...(next ? { '@odata.nextLink': next } : {}),
  });
  return `${page(graphUsers.slice(0, 4), `https://graph.microsoft.com/v1.0/users?$select=${SELECT}&$top=4&$skiptoken=RFNwdAIAAQAAAA`)}\n${page(graphUsers.slice(4))}\n`;
}

const pascal = (key: string) => key.charAt(0).toUpperCase() + key.slice(1);

/**
 * The same users as Windows PowerShell writes `Get-MgUser -All -Property … | ConvertTo-Json -Depth 5 |
 * Out-File users.json`: PascalCase properties with the SDK's nulls, extension attributes under
 * AdditionalProperties, dates as /Date(ms)/, the file in UTF-16 with its byte-order mark.
 */
function powerShellFile(): Buffer {
  const users = graphUsers.map((u) => {
    const out: Record<string, unknown> = { AboutMe: null, AgeGroup: null, BusinessPhones: [], Department: null, UserPrincipalName: `${String(u.id)}@${LOCAL}` };
    const extra: Record<string, unknown> = { '@odata.type': '#microsoft.graph.user' };
    for (const [key, value] of Object.entries(u)) {
      if (key.startsWith('extension_')) extra[key] = value;
      else if (key === 'identities') out.Identities = (value as Record<string, string>[]).map((i) => ({ Issuer: i.issuer, IssuerAssignedId: i.issuerAssignedId, SignInType: i.signInType, AdditionalProperties: {} }));
      else if (key === 'createdDateTime') out.CreatedDateTime = `/Date(${Date.parse(value as string)})/`;
      else if (key === 'passwordProfile') out.PasswordProfile = { ForceChangePasswordNextSignIn: true, ForceChangePasswordNextSignInWithMfa: null, Password: null, AdditionalProperties: {} };
      else out[pascal(key)] = value;
    }
    out.PasswordProfile ??= null;
    out.AdditionalProperties = extra;
    return out;
  });
  return Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(JSON.stringify(users, null, 4).replace(/\n/g, '\r\n'), 'utf16le')]);
}

const root = join(import.meta.dirname, '..', '..');
const cli = join(root, 'dist', 'cli', 'latchkey.js');

let old: TestServer;
let here: TestServer;
let entra: UpstreamOp;
let rp: RelyingParty;
let browser: Browser;
let api: Server;
let apiUrl: string;
let work: string;
/** The CLI against the running server's database and policies, as the operator runs it on that machine. */
let hereEnv: NodeJS.ProcessEnv;
/** Another database, for the PowerShell-shaped file. */
let otherEnv: NodeJS.ProcessEnv;
const connectorCalls: { authorization: string | undefined; body: Record<string, unknown> }[] = [];

function run(env: NodeJS.ProcessEnv, args: string[]) {
  const r = spawnSync(process.execPath, [cli, ...args], { env, encoding: 'utf8', cwd: work, maxBuffer: 16 * 1024 * 1024 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

function json<T = Record<string, unknown>>(env: NodeJS.ProcessEnv, args: string[]): T {
  const r = run(env, [...args, '--json']);
  if (r.code !== 0) throw new Error(`latchkey ${args.join(' ')} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as T;
}

async function readBody(req: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
}

beforeAll(async () => {
  work = mkdtempSync(join(tmpdir(), 'latchkey-b2c-move-'));
  process.env.TEST_MOVE_CONNECTOR_PASSWORD = 'connector-password';
  process.env.TEST_MOVE_ENTRA_SECRET = 'entra-client-secret';

  // The old B2C: answers ROPC for the users whose passwords move at their first sign-in.
  old = await startServer();
  writeFileSync(join(old.dir, 'policies', 'demo', 'B2C_1_ROPC.json'), JSON.stringify({ id: 'B2C_1_ROPC', kind: 'ropc', localAccount: { signInName: 'emailOrUsername' } }));
  const ropcApp = (await old.createApp({ name: 'migration', type: 'native', redirectUris: ['http://127.0.0.1:9/unused'], allowRopc: true })).app.clientId;
  const oldUser = (identities: [string, string][], password: string) =>
    createUser(old.provision, old.tenant, { localIdentities: identities.map(([signInType, issuerAssignedId]) => ({ signInType: signInType as 'emailAddress', issuerAssignedId })), password, displayName: 'old' }, { by: 'cli' });
  await oldUser([['emailAddress', 'ann@contoso.com']], 'Ann-b2c-pass-1');
  await oldUser([['emailAddress', 'jo.doe@contoso.com'], ['userName', 'jdoe']], 'Jo-b2c-pass-1');
  await oldUser([['emailAddress', 'fred@contoso.com']], 'Fred-b2c-pass-1');
  for (let i = 0; i < 100 && old.deps.policies.get('demo', 'B2C_1_ROPC') === undefined; i++) await new Promise((r) => setTimeout(r, 50));

  // The API connector B2C's user flow called: records what it is sent, adds a claim before the token.
  api = createServer(async (req, res) => {
    const body = await readBody(req);
    connectorCalls.push({ authorization: req.headers.authorization, body });
    const extra = body.step === 'PreTokenApplicationClaims' ? { [`extension_${APP_ID}_loyaltyTier`]: 'gold' } : {};
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ version: '1.0.0', action: 'Continue', ...extra }));
  });
  const apiPort = await freePort();
  await new Promise<void>((r) => api.listen(apiPort, '127.0.0.1', () => r()));
  apiUrl = `http://127.0.0.1:${apiPort}`;

  // The identity provider, the connector and the old B2C run on this machine: the operator allows it.
  here = await startServer({ env: { LATCHKEY_OUTBOUND_ALLOW: LOOPBACK_ALLOWED } });
  entra = await startUpstreamOp([{ clientId: 'latchkey-entra', secret: 'entra-client-secret', redirectUri: `${here.baseUrl}/contoso/federation/entra/callback` }]);
  entra.accounts.set('erin-entra-oid', { email: 'erin@fabrikam.example', email_verified: true, given_name: 'Erin' });
  entra.accounts.set('newbie-entra-oid', { email: 'newbie@fabrikam.example', email_verified: true, given_name: 'Newbie' });
  rp = await startRelyingParty();
  browser = await launchBrowser();

  const base = { PATH: process.env.PATH, LATCHKEY_LOG_LEVEL: 'silent', LATCHKEY_PASSWORD_COST: '12' };
  hereEnv = { ...base, LATCHKEY_DB: join(here.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(here.dir, 'policies'), LATCHKEY_BASE_URL: here.baseUrl };
  otherEnv = { ...base, LATCHKEY_DB: join(work, 'powershell.db'), LATCHKEY_POLICIES_DIR: join(work, 'powershell-policies') };

  // The operator's commands: the tenant with B2C's id and name, the app with its client id, the old ROPC endpoint.
  for (const env of [hereEnv, otherEnv]) json(env, ['tenant', 'create', 'contoso', '--id', TENANT_ID, '--b2c-name', 'contosob2c']);
  json(hereEnv, ['app', 'create', '--tenant', 'contoso', '--name', 'Contoso web', '--type', 'native', '--client-id', CLIENT_ID, '--redirect-uri', `${rp.url}/cb`]);
  json(hereEnv, ['tenant', 'set', '--tenant', 'contoso', '--legacy-ropc-url', `${old.baseUrl}/demo/B2C_1_ROPC/oauth2/v2.0/token`, '--legacy-client-id', ropcApp, '--legacy-rate', '50']);

  const folder = join(here.dir, 'policies', 'contoso');
  writeFileSync(join(folder, 'identity-providers.json'), JSON.stringify({
    providers: [{
      id: 'entra', type: 'oidc', displayName: 'Contoso Entra ID', discoveryUrl: entra.discoveryUrl, clientId: 'latchkey-entra',
      clientSecret: { env: 'TEST_MOVE_ENTRA_SECRET' }, identityIssuer: ENTRA_ISSUER,
    }],
  }));
  const connector = (path: string) => ({ url: `${apiUrl}${path}`, auth: { type: 'basic', username: 'b2c', password: { env: 'TEST_MOVE_CONNECTOR_PASSWORD' } } });
  const policy = JSON.parse(readFileSync(join(folder, 'B2C_1_signupsignin.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(folder, 'B2C_1_signupsignin.json'), JSON.stringify({
    ...policy,
    identityProviders: ['local', 'entra'],
    localAccount: { signInName: 'emailOrUsername' },
    signUp: { attributes: [{ claim: 'given_name', label: 'Given name', required: true }, { claim: 'country', label: 'Country', type: 'select', options: ['NL', 'NZ'], required: true }] },
    // As the B2C user flow's application claims name the custom attributes.
    outputClaims: ['oid', 'emails', 'name', 'given_name', 'family_name', 'idp', 'newUser', 'tfp', 'extension_loyaltyNumber', 'extension_loyaltyTier'],
    apiConnectors: { postFederationSignup: connector('/after-federating'), postAttributeCollection: connector('/before-creating'), preTokenIssuance: connector('/before-token') },
  }));

  writeFileSync(join(work, 'graph-users.jsonl'), graphPages());
  writeFileSync(join(work, 'users.json'), powerShellFile());
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await entra?.close();
  await new Promise((r) => (api ? api.close(r) : r(undefined)));
  await here?.close();
  await old?.close();
  rmSync(work, { recursive: true, force: true });
});

function exportOf(env: NodeJS.ProcessEnv): Map<string, Record<string, unknown>> {
  const r = run(env, ['user', 'export', '--tenant', 'contoso']);
  expect(r.code).toBe(0);
  return new Map(r.stdout.trim().split('\n').map((l) => {
    const u = JSON.parse(l) as Record<string, unknown>;
    return [u.id as string, u];
  }));
}

/** An app of the tenant signing in, as MSAL or openid-client does: metadata at the B2C tenant's name. */
async function startFlow(extra: Record<string, string> = {}) {
  const config = await client.discovery(new URL(`${here.baseUrl}/${LOCAL}/B2C_1_signupsignin/v2.0/.well-known/openid-configuration`), CLIENT_ID, undefined, client.None(), { execute: [client.allowInsecureRequests] });
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: `${rp.url}/cb`, scope: 'openid', state, nonce, code_challenge: await client.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...extra,
  });
  const finish = async (page: Page) => {
    await page.waitForURL(`${rp.url}/**`);
    return (await client.authorizationCodeGrant(config, new URL(page.url()), { pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce })).claims()!;
  };
  return { url, finish };
}

async function fresh(): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext({ locale: 'en-US' });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  return { context, page };
}

async function signInLocal(page: Page, name: string, password: string) {
  await page.getByLabel('Email Address or Username').fill(name);
  await page.getByLabel('Password', { exact: true }).fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signInAtEntra(page: Page, login: string) {
  await page.getByRole('button', { name: 'Contoso Entra ID' }).click();
  await page.waitForURL(`${entra.issuer}/**`);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

const bodiesAt = (step: string) => connectorCalls.filter((c) => c.body.step === step).map((c) => c.body);

describe('moving a B2C tenant, nothing lost', () => {
  it("imports every user with its id from B2C's Graph pages, and the same from PowerShell's output", () => {
    const graph = json(hereEnv, ['user', 'import', '--tenant', 'contoso', join(work, 'graph-users.jsonl')]);
    expect(graph).toEqual({ imported: 8, updated: 0, skipped: 0, failed: 0 });
    const powershell = json(otherEnv, ['user', 'import', '--tenant', 'contoso', join(work, 'users.json')]);
    expect(powershell).toEqual({ imported: 8, updated: 0, skipped: 0, failed: 0 });

    const fromGraph = exportOf(hereEnv);
    const fromPowerShell = exportOf(otherEnv);
    expect([...fromGraph.keys()].sort()).toEqual(Object.values(ids).sort());
    // Both shapes brought in the same users, field for field.
    for (const id of Object.values(ids)) expect(fromPowerShell.get(id), id).toEqual(fromGraph.get(id));

    const jo = fromGraph.get(ids.jo)!;
    expect(jo.identities).toEqual([local('emailAddress', 'Jo.Doe@contoso.com'), local('userName', 'jdoe')]);
    expect(jo[`extension_${APP_ID}_loyaltyNumber`]).toBe('LN-1002');
    expect(fromGraph.get(ids.sam)).toMatchObject({ mail: null, otherMails: ['sam.social@gmail.com'], identities: [federated('google.com', '104552879812345678901')] });
    expect(fromGraph.get(ids.pat)!.identities).toEqual([local('phoneNumber', '+31612345678'), local('emailAddress', 'pat@contoso.com')]);
    expect(fromGraph.get(ids.fred)!.passwordProfile).toEqual({ forceChangePasswordNextSignIn: true });
    expect(fromGraph.get(ids.dana)).toMatchObject({ accountEnabled: false, mail: 'dana@contoso.com', createdDateTime: '2023-06-07T08:09:10.000Z' });

    // The operator finds users by user name, by an upstream identity (issuer:id, a URL issuer too), by phone.
    expect(json(hereEnv, ['user', 'show', '--tenant', 'contoso', 'jdoe']).id).toBe(ids.jo);
    const april = json(hereEnv, ['user', 'show', '--tenant', 'contoso', '--identity', 'https://appleid.apple.com:001234.0a1b2c3d4e5f60718293a4b5c6d7e8f9.0456']);
    expect(april).toMatchObject({ id: ids.april, otherMails: ['x7y8z9@privaterelay.appleid.com'] });
    expect(json(hereEnv, ['user', 'show', '--tenant', 'contoso', '--user', '+31 6 1234 5678']).id).toBe(ids.pat);
    // Every attribute, under Graph's names.
    expect(json(hereEnv, ['user', 'show', '--tenant', 'contoso', 'ann@contoso.com'])).toMatchObject({ id: ids.ann, country: 'NL', [`extension_${APP_ID}_loyaltyNumber`]: 'LN-1001', otherMails: [] });

    const [tenant] = json<Record<string, unknown>[]>(hereEnv, ['tenant', 'list']).filter((t) => t.slug === 'contoso');
    expect(tenant).toMatchObject({ id: TENANT_ID, b2c_name: 'contosob2c', domain_name: LOCAL, legacy_rate: 50, extensions_app_id: APP_ID });
  });

  it('signs the user with an email address and a user name in with either, as one account', async () => {
    const first = await fresh();
    const byName = await startFlow();
    await first.page.goto(byName.url.toString());
    // Its password moves from the old B2C at this first sign-in, asked about the user name it was typed with.
    await signInLocal(first.page, 'jdoe', 'Jo-b2c-pass-1');
    const claims = await byName.finish(first.page);
    expect(claims).toMatchObject({ oid: ids.jo, sub: ids.jo, iss: `${here.baseUrl}/${TENANT_ID}/v2.0/`, aud: CLIENT_ID, emails: ['Jo.Doe@contoso.com'], extension_loyaltyNumber: 'LN-1002', idp: 'local' });
    await first.context.close();

    const second = await fresh();
    const byEmail = await startFlow();
    await second.page.goto(byEmail.url.toString());
    await signInLocal(second.page, 'jo.doe@CONTOSO.com', 'Jo-b2c-pass-1');
    expect((await byEmail.finish(second.page)).oid).toBe(ids.jo);
    await second.context.close();
    const events = await here.deps.store.listAuditEvents({ tenantId: TENANT_ID, event: 'password_migrated', outcome: 'success' });
    expect(events.map((e) => e.subject)).toEqual([ids.jo]);
  });

  it('puts custom attributes in the id_token as B2C user flows name them; the connector before the token gets B2C\'s body', async () => {
    const { context, page } = await fresh();
    const flow = await startFlow();
    await page.goto(flow.url.toString());
    await signInLocal(page, 'ann@contoso.com', 'Ann-b2c-pass-1');
    const claims = await flow.finish(page);
    expect(claims).toMatchObject({ oid: ids.ann, extension_loyaltyNumber: 'LN-1001', extension_loyaltyTier: 'gold', emails: ['ann@contoso.com'] });
    expect(claims.loyaltyNumber).toBeUndefined();
    const call = connectorCalls.filter((c) => c.body.objectId === ids.ann).at(-1)!;
    expect(call.authorization).toBe(`Basic ${Buffer.from('b2c:connector-password').toString('base64')}`);
    expect(call.body).toEqual({
      clientId: CLIENT_ID,
      step: 'PreTokenApplicationClaims',
      ui_locales: 'en',
      email: 'ann@contoso.com',
      identities: [local('emailAddress', 'ann@contoso.com')],
      givenName: 'Ann',
      surname: 'Andersen',
      displayName: 'Ann Andersen',
      country: 'NL',
      [`extension_${APP_ID}_loyaltyNumber`]: 'LN-1001',
      objectId: ids.ann,
    });
    expect(Object.keys(call.body).slice(0, 3)).toEqual(['clientId', 'step', 'ui_locales']);
    await context.close();
  });

  it('asks a user whose password must change for a new one before any token', async () => {
    const { context, page } = await fresh();
    const flow = await startFlow();
    const before = rp.received.length;
    await page.goto(flow.url.toString());
    await signInLocal(page, 'fred@contoso.com', 'Fred-b2c-pass-1');
    await page.getByRole('heading', { name: 'Change your password' }).waitFor();
    expect(rp.received.length).toBe(before);
    await page.getByLabel('New Password', { exact: true }).fill('Fred-new-pass-2');
    await page.getByLabel('Confirm New Password').fill('Fred-new-pass-2');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect((await flow.finish(page)).oid).toBe(ids.fred);
    await context.close();
    expect((await here.deps.store.findUser(TENANT_ID, ids.fred))?.mustChangePassword).toBe(false);

    // The new password signs in without the page; the old one no longer does.
    const again = await fresh();
    const second = await startFlow();
    await again.page.goto(second.url.toString());
    await signInLocal(again.page, 'fred@contoso.com', 'Fred-b2c-pass-1');
    await again.page.getByText('Invalid username or password.').waitFor();
    await signInLocal(again.page, 'fred@contoso.com', 'Fred-new-pass-2');
    expect((await second.finish(again.page)).oid).toBe(ids.fred);
    await again.context.close();
  });

  it('signs an imported federated user in through the generic provider whose issuer B2C stored: its oid, idp and addresses', async () => {
    const { context, page } = await fresh();
    const flow = await startFlow();
    await page.goto(flow.url.toString());
    await signInAtEntra(page, 'erin-entra-oid');
    const claims = await flow.finish(page);
    expect(claims).toMatchObject({ oid: ids.erin, idp: ENTRA_ISSUER, emails: ['erin@fabrikam.example'] });
    expect(claims.newUser).toBeUndefined();
    await context.close();
    // domain_hint as B2C's policies write it (here the provider's issuer URL) skips the choice.
    const hinted = await fresh();
    const direct = await startFlow({ domain_hint: ENTRA_ISSUER });
    await hinted.page.goto(direct.url.toString());
    await hinted.page.waitForURL(`${entra.issuer}/**`);
    await hinted.context.close();
  });

  it("calls the connector with B2C's bodies after federating and before creating a new user", async () => {
    const { context, page } = await fresh();
    const flow = await startFlow();
    await page.goto(flow.url.toString());
    await signInAtEntra(page, 'newbie-entra-oid');
    await page.getByLabel('Country').selectOption('NL');
    await page.getByRole('button', { name: 'Continue' }).click();
    const claims = await flow.finish(page);
    expect(claims).toMatchObject({ idp: ENTRA_ISSUER, newUser: true, emails: ['newbie@fabrikam.example'] });
    const identities = [federated(ENTRA_ISSUER, 'newbie-entra-oid')];
    const [afterFederating] = bodiesAt('PostFederationSignup');
    expect(afterFederating).toEqual({ email: 'newbie@fabrikam.example', identities, givenName: 'Newbie', step: 'PostFederationSignup', client_id: CLIENT_ID, ui_locales: 'en' });
    expect(Object.keys(afterFederating!).slice(-3)).toEqual(['step', 'client_id', 'ui_locales']);
    const [beforeCreating] = bodiesAt('PostAttributeCollection');
    expect(beforeCreating).toEqual({ email: 'newbie@fabrikam.example', identities, givenName: 'Newbie', country: 'NL', step: 'PostAttributeCollection', client_id: CLIENT_ID, ui_locales: 'en' });
    const beforeToken = bodiesAt('PreTokenApplicationClaims').find((b) => b.objectId === claims.oid);
    expect(beforeToken).toEqual({ clientId: CLIENT_ID, step: 'PreTokenApplicationClaims', ui_locales: 'en', email: 'newbie@fabrikam.example', identities, givenName: 'Newbie', displayName: 'Newbie', country: 'NL', objectId: claims.oid });
    await context.close();
  });
});
