import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { setTenantSecret } from '../../src/services/tenant-secrets.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { finishFlow, newPage as newBrowserPage, startFlow as startBrowserFlow, type Flow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { freePort, startServer, type TestServer } from '../helpers/server.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';
import { startSilentServer, startUpstreamOp, type UpstreamOp } from '../helpers/upstream-op.js';

/**
 * Federated sign-in end to end, in headless Chromium. Latchkey ("here") offers two real upstream
 * providers: node-oidc-provider, and a second Latchkey with its own database. openid-client plays the
 * app; the user clicks through the real pages of all three.
 */
let here: TestServer;
let partner: TestServer;
let op: UpstreamOp;
/** A second node-oidc-provider, named localhost (another site), answering by form post. */
let postal: UpstreamOp;
let silent: { url: string; close(): Promise<void> };
let rp: RelyingParty;
let browser: Browser;
let appId: string;
/** A customer's API connector endpoint: what it was sent, by step. */
let connector: Server;
const connectorCalls: Record<string, unknown>[] = [];

const callback = (id: string) => `${here.baseUrl}/demo/federation/${id}/callback`;

beforeAll(async () => {
  // Latchkey fetches from the upstream providers, the partner Latchkey and the connector on this machine.
  here = await startServer({ env: { LATCHKEY_OUTBOUND_ALLOW: LOOPBACK_ALLOWED } });
  partner = await startServer();
  rp = await startRelyingParty();
  browser = await launchBrowser();
  silent = await startSilentServer();
  op = await startUpstreamOp([
    { clientId: 'latchkey', secret: 'op-client-secret', redirectUri: callback('contoso') },
    // Signs its id_tokens with the shared secret (HS256), not a published key: refused where RS256 is expected.
    { clientId: 'latchkey-hs', secret: 'op-client-secret-that-is-long-enough-for-hs256', redirectUri: callback('odd'), idTokenAlg: 'HS256' },
  ]);
  postal = await startUpstreamOp([{ clientId: 'latchkey-post', secret: 'postal-client-secret', redirectUri: callback('postal') }], { host: 'localhost' });
  process.env.TEST_POSTAL_SECRET = 'postal-client-secret';
  // The second Latchkey knows "here" as a web app, as B2C knows an app registration.
  const partnerApp = await partner.createApp({ name: 'here', type: 'web', redirectUris: [callback('partner')] });
  await partner.createUser('pat@partner.example', 'pat-password-1', { givenName: 'Pat', familyName: 'Partner', displayName: 'Pat Partner' });
  process.env.TEST_CONTOSO_SECRET = 'op-client-secret';
  process.env.TEST_ODD_SECRET = 'op-client-secret-that-is-long-enough-for-hs256';
  // The partner's client secret is a tenant secret (as a tenant's administrator would set it), the others the operator's environment.
  await setTenantSecret(here.deps, here.tenant, 'partner-client', partnerApp.clientSecret!, 'test');

  const folder = join(here.dir, 'policies', 'demo');
  writeFileSync(join(folder, 'identity-providers.json'), JSON.stringify({
    providers: [
      { id: 'contoso', type: 'oidc', displayName: 'Contoso', discoveryUrl: op.discoveryUrl, clientId: 'latchkey', clientSecret: { env: 'TEST_CONTOSO_SECRET' }, domainHint: 'contoso.example' },
      { id: 'partner', type: 'oidc', displayName: 'Partner', discoveryUrl: `${partner.baseUrl}/demo/B2C_1_signupsignin/v2.0/.well-known/openid-configuration`, clientId: partnerApp.app.clientId, clientSecret: { secret: 'partner-client' }, clientAuthentication: 'client_secret_basic', domainHint: 'partner.example' },
      { id: 'sleepy', type: 'oidc', displayName: 'Sleepy', discoveryUrl: `${silent.url}/.well-known/openid-configuration`, clientId: 'x', timeoutSeconds: 2 },
      { id: 'odd', type: 'oidc', displayName: 'Odd', discoveryUrl: op.discoveryUrl, clientId: 'latchkey-hs', clientSecret: { env: 'TEST_ODD_SECRET' } },
      { id: 'postal', type: 'oidc', displayName: 'Postal', discoveryUrl: postal.discoveryUrl, clientId: 'latchkey-post', clientSecret: { env: 'TEST_POSTAL_SECRET' }, responseMode: 'form_post' },
    ],
  }));
  const social = {
    id: 'B2C_1_social',
    kind: 'signUpOrSignIn',
    identityProviders: ['local', 'contoso', 'partner', 'sleepy', 'odd', 'postal'],
    signUp: {
      attributes: [
        { claim: 'given_name', label: 'Given name', required: true },
        { claim: 'country', label: 'Country', type: 'select', options: ['NL', 'NZ'], required: true },
      ],
    },
    outputClaims: ['oid', 'emails', 'name', 'given_name', 'idp', 'idp_access_token', 'newUser', 'tfp', 'country'],
  };
  writeFileSync(join(folder, 'B2C_1_social.json'), JSON.stringify(social));
  // The same journey with B2C's API connectors: after federating (pre-fills the country) and after the form.
  connector = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
      connectorCalls.push(body);
      const answer = body.step === 'PostFederationSignup' ? { version: '1.0.0', action: 'Continue', country: 'NL' } : { version: '1.0.0', action: 'Continue', givenName: `${String(body.givenName)}!` };
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(answer));
    });
  });
  const connectorPort = await freePort();
  await new Promise<void>((r) => connector.listen(connectorPort, '127.0.0.1', () => r()));
  process.env.TEST_CONNECTOR_TOKEN = 'federation-connector-token';
  const auth = { type: 'bearer', token: { env: 'TEST_CONNECTOR_TOKEN' } };
  writeFileSync(join(folder, 'B2C_1_social_api.json'), JSON.stringify({
    ...social,
    id: 'B2C_1_social_api',
    identityProviders: ['local', 'contoso'],
    apiConnectors: { postFederationSignup: { url: `http://127.0.0.1:${connectorPort}/prefill`, auth }, postAttributeCollection: { url: `http://127.0.0.1:${connectorPort}/check`, auth } },
  }));
  writeFileSync(join(folder, 'B2C_1_partner_only.json'), JSON.stringify({ id: 'B2C_1_partner_only', kind: 'signIn', identityProviders: ['partner'] }));
  appId = (await here.createApp({ name: 'app', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
  // The server sees new files within a moment (the folder is watched).
  for (let i = 0; i < 100 && (here.deps.policies.get('demo', 'B2C_1_partner_only') === undefined || here.deps.policies.get('demo', 'B2C_1_social_api') === undefined); i++) await new Promise((r) => setTimeout(r, 50));
});

afterAll(async () => {
  await new Promise((r) => (connector ? connector.close(r) : r(undefined)));
  await browser?.close();
  await rp?.close();
  await op?.close();
  await postal?.close();
  await silent?.close();
  await partner?.close();
  await here?.close();
});

function startFlow(policy: string, extra: Record<string, string> = {}): Promise<Flow> {
  return startBrowserFlow({ baseUrl: here.baseUrl, policy, clientId: appId, redirectUri: `${rp.url}/cb`, scope: 'openid profile', extra });
}

const finish = finishFlow;

const newPage = () => newBrowserPage(browser);

/** node-oidc-provider's development sign-in page: any login name is the account id. */
async function signInAtOp(page: Page, login: string, at: UpstreamOp = op) {
  await page.waitForURL(`${at.issuer}/**`);
  await page.locator('input[name="login"]').fill(login);
  await page.locator('input[name="password"]').fill('anything');
  await page.getByRole('button', { name: 'Sign-in' }).click();
}

describe('federated sign-in with node-oidc-provider', () => {
  it('creates the account on the first sign-in, collecting what the provider did not send; the second sign-in finds it', async () => {
    op.accounts.set('ada', { email: 'ada@contoso.example', email_verified: true, given_name: 'Ada', family_name: 'Lovelace', name: 'Ada Lovelace' });
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Contoso' }).click();
    await signInAtOp(page, 'ada');
    // Back here: the provider sent no country, which the policy requires; the given name is pre-filled.
    await page.getByLabel('Country').waitFor();
    expect(await page.getByLabel('Given name').inputValue()).toBe('Ada');
    await page.getByLabel('Country').selectOption('NZ');
    await page.getByRole('button', { name: 'Continue' }).click();
    const first = (await finish(page, flow)).claims()!;
    expect(first.idp).toBe('contoso.example');
    expect(first.newUser).toBe(true);
    expect(first.country).toBe('NZ');
    expect(first.emails).toEqual(['ada@contoso.example']);
    expect(typeof first.idp_access_token).toBe('string');
    await context.close();

    const again = await newPage();
    const flow2 = await startFlow('B2C_1_social');
    await again.page.goto(flow2.url.toString());
    await again.page.getByRole('button', { name: 'Contoso' }).click();
    await signInAtOp(again.page, 'ada');
    const second = (await finish(again.page, flow2)).claims()!;
    expect(second.oid).toBe(first.oid);
    expect(second.newUser).toBeUndefined();
    await again.context.close();

    const user = await here.deps.store.findUser(here.tenant.id, first.oid as string);
    expect(user?.localIdentities).toEqual([]);
    expect(await here.deps.store.listUserIdentities(here.tenant.id, user!.id)).toEqual([{ issuer: 'contoso.example', issuerAssignedId: 'ada' }]);
    const audit = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id });
    expect(audit.some((e) => e.event === 'federated_signin' && e.outcome === 'success' && e.subject === user!.id)).toBe(true);
  });

  it('links a verified address to the existing account only after the account is proven, and keeps its oid', async () => {
    const local = await here.createUser('lin@example.com', 'lin-password-1', { givenName: 'Lin' });
    op.accounts.set('lin-at-contoso', { email: 'lin@example.com', email_verified: true, given_name: 'Lin' });
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Contoso' }).click();
    await signInAtOp(page, 'lin-at-contoso');
    await page.getByRole('heading', { name: 'Link your Contoso account' }).waitFor();
    // Not linked yet: proof first.
    expect(await here.deps.store.listUserIdentities(here.tenant.id, local.id)).toEqual([]);
    await page.getByLabel('Password').fill('not-her-password');
    await page.getByRole('button', { name: 'Link account' }).click();
    await page.getByText('Invalid password.').waitFor();
    expect(await here.deps.store.listUserIdentities(here.tenant.id, local.id)).toEqual([]);
    await page.getByLabel('Password').fill('lin-password-1');
    await page.getByRole('button', { name: 'Link account' }).click();
    const claims = (await finish(page, flow)).claims()!;
    expect(claims.oid).toBe(local.id);
    expect(claims.idp).toBe('contoso.example');
    expect(await here.deps.store.listUserIdentities(here.tenant.id, local.id)).toEqual([{ issuer: 'contoso.example', issuerAssignedId: 'lin-at-contoso' }]);
    await context.close();
  });

  it('links with a code mailed to the account when the user prefers', async () => {
    const local = await here.createUser('cody@example.com', 'cody-password-1');
    op.accounts.set('cody-upstream', { email: 'cody@example.com', email_verified: true, given_name: 'Cody' });
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Contoso' }).click();
    await signInAtOp(page, 'cody-upstream');
    await page.getByRole('button', { name: 'Email me a code instead' }).click();
    const mail = await here.deps.store.listOutbox(here.tenant.id, 'cody@example.com');
    const code = /Your code is: (\d{6})/.exec(mail.at(-1)!.body)![1]!;
    await page.getByLabel('Verification code').fill(code);
    await page.getByRole('button', { name: 'Verify code' }).click();
    expect((await finish(page, flow)).claims()!.oid).toBe(local.id);
    await context.close();
  });

  it('never links on an address the provider does not vouch for: a separate account is made', async () => {
    const local = await here.createUser('una@example.com', 'una-password-1');
    op.accounts.set('una-unverified', { email: 'una@example.com', email_verified: false, given_name: 'Una' });
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Contoso' }).click();
    await signInAtOp(page, 'una-unverified');
    await page.getByLabel('Country').selectOption('NL');
    await page.getByRole('button', { name: 'Continue' }).click();
    const claims = (await finish(page, flow)).claims()!;
    expect(claims.oid).not.toBe(local.id);
    expect(await here.deps.store.listUserIdentities(here.tenant.id, local.id)).toEqual([]);
    await context.close();
  });

  it('returns access_denied to the app when the user cancels at the provider, and leaves nothing behind', async () => {
    const before = (await here.deps.store.listUsers(here.tenant.id)).length;
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Contoso' }).click();
    await page.waitForURL(`${op.issuer}/**`);
    await page.getByText('[ Cancel ]').click();
    await page.waitForURL(`${rp.url}/**`);
    const back = new URL(page.url());
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/^AADB2C90091: The sign-in at Contoso was cancelled\./);
    expect(back.searchParams.get('state')).toBe(flow.state);
    expect((await here.deps.store.listUsers(here.tenant.id)).length).toBe(before);
    await context.close();
  });

  it('refuses an id_token signed otherwise than the provider is configured for (HS256 where RS256 is expected) with a clear error to the app', async () => {
    op.accounts.set('odd-one', { email: 'odd@contoso.example', email_verified: true, given_name: 'Odd' });
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Odd' }).click();
    await signInAtOp(page, 'odd-one');
    await page.waitForURL(`${rp.url}/**`);
    const back = new URL(page.url());
    expect(back.searchParams.get('error')).toBe('server_error');
    expect(back.searchParams.get('error_description')).toMatch(/^AADB2C90273: Odd sent an invalid answer/);
    expect(await here.deps.store.findUserByIdentity(here.tenant.id, { issuer: 'odd', issuerAssignedId: 'odd-one' })).toBeUndefined();
    await context.close();
  });

  it('refuses a callback whose state was tampered with, and a replayed one', async () => {
    op.accounts.set('rex', { email: 'rex@contoso.example', email_verified: true, given_name: 'Rex' });
    const { context, page } = await newPage();
    // Hold the callback: the sign-in form's post to the provider is made here, its redirects followed by
    // hand up to the callback URL, which the browser is sent to only when the test says so.
    let held: string | undefined;
    await page.route(`${op.issuer}/interaction/**`, async (route) => {
      if (route.request().method() !== 'POST') return route.continue();
      const posted = await route.fetch({ maxRedirects: 0 });
      const resumed = await page.request.get(new URL(posted.headers().location!, op.issuer).toString(), { maxRedirects: 0 });
      held = resumed.headers().location;
      await route.fulfill({ status: 200, contentType: 'text/html', body: '<title>held</title>' });
    });
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Contoso' }).click();
    await signInAtOp(page, 'rex');
    await expect.poll(() => held).toMatch(/\/demo\/federation\/contoso\/callback\?/);
    await page.unroute(`${op.issuer}/interaction/**`);
    const tampered = new URL(held!);
    tampered.searchParams.set('state', `${tampered.searchParams.get('state')!.split('.')[0]}.forged-part`);
    await page.goto(tampered.toString());
    await page.waitForURL(`${rp.url}/**`);
    const back = new URL(page.url());
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/does not belong to this sign-in/);
    // The journey is over: the genuine callback, replayed now, is refused and redirects nowhere.
    const replay = await page.goto(held!);
    expect(replay!.status()).toBeGreaterThanOrEqual(400);
    expect(page.url()).toBe(held);
    await context.close();
  });

  it("takes a provider's answer by form post from another site (re-posted once to bring the browser cookie)", async () => {
    postal.accounts.set('poppy', { email: 'poppy@postal.example', email_verified: true, given_name: 'Poppy' });
    const { context, page } = await newPage();
    const callbacks: string[] = [];
    page.on('request', (r) => {
      if (r.url().startsWith(callback('postal'))) callbacks.push(r.method());
    });
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Postal' }).click();
    await signInAtOp(page, 'poppy', postal);
    await page.getByLabel('Country').selectOption('NL');
    await page.getByRole('button', { name: 'Continue' }).click();
    const claims = (await finish(page, flow)).claims()!;
    // A generic provider without a domain hint: its users' identities (and idp) are its issuer's host.
    expect(claims.idp).toBe(new URL(postal.discoveryUrl).host);
    // Cross-site, the SameSite=Lax cookie stayed behind; our own page posted the answer again, with it.
    expect(callbacks).toEqual(['POST', 'POST']);
    await context.close();
  });

  it('finds a user stored under the issuer a provider had before identityIssuer (its id), and gives it the one it has now', async () => {
    postal.accounts.set('olga', { email: 'olga@postal.example', email_verified: true, given_name: 'Olga' });
    const { createFederatedUser } = await import('../../src/services/users.js');
    const olga = await createFederatedUser(here.provision, here.tenant, { identity: { issuer: 'postal', issuerAssignedId: 'olga' }, email: 'olga@postal.example', emailVerified: true, givenName: 'Olga' }, { by: 'cli' });
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Postal' }).click();
    await signInAtOp(page, 'olga', postal);
    const claims = (await finish(page, flow)).claims()!;
    expect(claims.oid).toBe(olga.id);
    expect(claims.newUser).toBeUndefined();
    expect(claims.idp).toBe(new URL(postal.discoveryUrl).host);
    expect(await here.deps.store.listUserIdentities(here.tenant.id, olga.id)).toEqual([
      { issuer: 'postal', issuerAssignedId: 'olga' },
      { issuer: new URL(postal.discoveryUrl).host, issuerAssignedId: 'olga' },
    ]);
    await context.close();
  });

  it('shows a clear message within the timeout when a provider does not answer, and nothing is lost', async () => {
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social');
    await page.goto(flow.url.toString());
    const t0 = Date.now();
    await page.getByRole('button', { name: 'Sleepy' }).click();
    await page.getByText('Sleepy did not answer within 2 seconds.').waitFor();
    expect(Date.now() - t0).toBeLessThan(6000);
    // Still on the sign-in page, which works.
    const user = await here.createUser('sol@example.com', 'sol-password-1');
    await page.getByLabel('Email Address').fill('sol@example.com');
    await page.getByLabel('Password').fill('sol-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await finish(page, flow)).claims()!.oid).toBe(user.id);
    await context.close();
  });
});

describe('API connectors in federated sign-up', () => {
  it('fills in what postFederationSignup returns (here all that was missing, so no form), and takes what postAttributeCollection corrects', async () => {
    op.accounts.set('cyd', { email: 'cyd@contoso.example', email_verified: true, given_name: 'Cyd' });
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social_api');
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Contoso' }).click();
    await signInAtOp(page, 'cyd');
    // The provider sent no country, which the policy requires; the connector supplied it.
    const claims = (await finish(page, flow)).claims()!;
    expect(claims.country).toBe('NL');
    expect(claims.given_name).toBe('Cyd!');
    expect(connectorCalls.map((c) => c.step)).toEqual(['PostFederationSignup', 'PostAttributeCollection']);
    expect(connectorCalls[0]).toMatchObject({ email: 'cyd@contoso.example', identities: [{ signInType: 'federated', issuer: 'contoso.example', issuerAssignedId: 'cyd' }], givenName: 'Cyd' });
    expect(connectorCalls[1]).toMatchObject({ givenName: 'Cyd', country: 'NL', step: 'PostAttributeCollection' });
    await context.close();
  });
});

describe('federated sign-in with a second Latchkey', () => {
  it('signs up a partner user, sets idp to the partner domain, and skips the choice with domain_hint', async () => {
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_social', { domain_hint: 'partner.example' });
    await page.goto(flow.url.toString());
    // domain_hint went straight to the partner's own sign-in page.
    await page.waitForURL(`${partner.baseUrl}/**`);
    await page.getByLabel('Email Address').fill('pat@partner.example');
    await page.getByLabel('Password').fill('pat-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByLabel('Country').selectOption('NL');
    expect(await page.getByLabel('Given name').inputValue()).toBe('Pat');
    await page.getByRole('button', { name: 'Continue' }).click();
    const claims = (await finish(page, flow)).claims()!;
    expect(claims.idp).toBe('partner.example');
    expect(claims.name).toBe('Pat Partner');
    const partnerUser = await partner.deps.store.findUserBySignInName(partner.tenant.id, 'pat@partner.example');
    expect(await here.deps.store.listUserIdentities(here.tenant.id, claims.oid as string)).toEqual([{ issuer: 'partner.example', issuerAssignedId: partnerUser!.id }]);
    await context.close();
  });

  it('goes straight to the only provider of a policy without local accounts; the second sign-in is the same user', async () => {
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_partner_only');
    await page.goto(flow.url.toString());
    await page.waitForURL(`${partner.baseUrl}/**`);
    await page.getByLabel('Email Address').fill('pat@partner.example');
    await page.getByLabel('Password').fill('pat-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    const claims = (await finish(page, flow)).claims()!;
    const known = await here.deps.store.findUserByIdentity(here.tenant.id, { issuer: 'partner.example', issuerAssignedId: (await partner.deps.store.findUserBySignInName(partner.tenant.id, 'pat@partner.example'))!.id });
    expect(claims.oid).toBe(known!.id);
    expect(claims.idp).toBe('partner.example');
    await context.close();
  });

  it('returns access_denied when the user cancels on the partner page', async () => {
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_partner_only');
    await page.goto(flow.url.toString());
    await page.waitForURL(`${partner.baseUrl}/**`);
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(`${rp.url}/**`);
    const back = new URL(page.url());
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/^AADB2C90091: /);
    await context.close();
  });

  it('refuses a new user in a sign-in policy (no sign-up): AADB2C99002', async () => {
    await partner.createUser('new@partner.example', 'new-password-1');
    const { context, page } = await newPage();
    const flow = await startFlow('B2C_1_partner_only');
    await page.goto(flow.url.toString());
    await page.waitForURL(`${partner.baseUrl}/**`);
    await page.getByLabel('Email Address').fill('new@partner.example');
    await page.getByLabel('Password').fill('new-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${rp.url}/**`);
    const back = new URL(page.url());
    expect(back.searchParams.get('error')).toBe('access_denied');
    expect(back.searchParams.get('error_description')).toMatch(/^AADB2C99002: User does not exist/);
    await context.close();
  });
});
