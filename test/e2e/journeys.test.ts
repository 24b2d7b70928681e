import { writeFileSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as client from 'openid-client';
import type { Browser, Page } from 'playwright-core';
import { finishFlow, newPage as newBrowserPage, startFlow as startBrowserFlow, type Flow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Every policy kind, run the way a user runs it: openid-client builds the request, the user works
 * through the hosted pages in headless Chromium, openid-client redeems and validates the tokens.
 */
let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let appId: string;

beforeAll(async () => {
  s = await startServer();
  rp = await startRelyingParty();
  browser = await launchBrowser();
  appId = (await s.createApp({ name: 'app', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
  // An extra policy that runs the password reset inline instead of returning AADB2C90118.
  const demo = JSON.parse(readFileSync(join(s.dir, 'policies', 'demo', 'B2C_1_signupsignin.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(s.dir, 'policies', 'demo', 'B2C_1_susi_inline.json'), JSON.stringify({ ...demo, id: 'B2C_1_susi_inline', forgotPassword: 'inline' }));
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await s?.close();
});

function startFlow(policy: string, scope = 'openid offline_access profile'): Promise<Flow> {
  return startBrowserFlow({ baseUrl: s.baseUrl, policy, clientId: appId, redirectUri: `${rp.url}/cb`, scope });
}

const finish = finishFlow;

async function lastCode(email: string): Promise<string> {
  const mail = await s.deps.store.listOutbox(s.tenant.id, email);
  const m = /Your code is: (\d{6})/.exec(mail.at(-1)?.body ?? '');
  if (!m) throw new Error(`no code mailed to ${email}`);
  return m[1]!;
}

const newPage = () => newBrowserPage(browser);

async function signInOnPage(page: Page, email: string, password: string) {
  await page.getByLabel('Email Address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

async function signUp(page: Page, email: string, password: string, given: string, display: string) {
  await page.getByLabel('Email Address').fill(email);
  await page.getByRole('button', { name: 'Send verification code' }).click();
  await page.getByLabel('Verification code').fill(await lastCode(email));
  await page.getByRole('button', { name: 'Verify code' }).click();
  await page.getByLabel('New Password', { exact: true }).fill(password);
  await page.getByLabel('Confirm New Password').fill(password);
  await page.getByLabel('Given name').fill(given);
  await page.getByLabel('Display name').fill(display);
  await page.getByRole('button', { name: 'Create' }).click();
}

describe('journeys in a browser', () => {
  it('signs up from the sign-in page with a verified email; the id_token says newUser', async () => {
    const flow = await startFlow('B2C_1_signupsignin');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Sign up now' }).click();
    await signUp(page, 'gus@example.com', 'gus-password-1', 'Gus', 'Gus G');
    const tokens = await finish(page, flow);
    const claims = tokens.claims()!;
    expect(claims).toMatchObject({ newUser: true, given_name: 'Gus', name: 'Gus G', emails: ['gus@example.com'], idp: 'local', tfp: 'B2C_1_signupsignin' });
    const user = await s.deps.store.findUserBySignInName(s.tenant.id, 'gus@example.com');
    expect(user?.emailVerified).toBe(true);

    // The next sign-in of the same user is not new.
    const again = await startFlow('B2C_1_signin');
    await page.goto(again.url.toString());
    expect((await finish(page, again)).claims()!.newUser).toBeUndefined();
    await context.close();
  });

  it('runs the sign-up policy on its own', async () => {
    const flow = await startFlow('B2C_1_signup');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await signUp(page, 'hal@example.com', 'hal-password-1', 'Hal', 'Hal H');
    expect((await finish(page, flow)).claims()!.newUser).toBe(true);
    await context.close();
  });

  it('sends "Forgot your password?" back to the app as AADB2C90118 by default', async () => {
    const flow = await startFlow('B2C_1_signupsignin');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await page.waitForURL(`${rp.url}/**`);
    const p = new URL(page.url()).searchParams;
    expect(p.get('error')).toBe('access_denied');
    expect(p.get('error_description')).toMatch(/^AADB2C90118: The user has forgotten their password\./);
    await context.close();
  });

  it('resets the password inline when the policy says so, and revokes the old refresh tokens', async () => {
    await s.createUser('ida@example.com', 'ida-password-1', { givenName: 'Ida' });
    // A refresh token from before the reset…
    const before = await startFlow('B2C_1_signin');
    const first = await newPage();
    await first.page.goto(before.url.toString());
    await signInOnPage(first.page, 'ida@example.com', 'ida-password-1');
    const oldTokens = await finish(first.page, before);
    await first.context.close();

    const flow = await startFlow('B2C_1_susi_inline');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Forgot your password?' }).click();
    await page.getByLabel('Email Address').fill('ida@example.com');
    await page.getByRole('button', { name: 'Send verification code' }).click();
    await page.getByLabel('Verification code').fill(await lastCode('ida@example.com'));
    await page.getByRole('button', { name: 'Verify code' }).click();
    await page.getByLabel('New Password', { exact: true }).fill('ida-password-2');
    await page.getByLabel('Confirm New Password').fill('ida-password-2');
    await page.getByRole('button', { name: 'Continue' }).click();
    const tokens = await finish(page, flow);
    expect(tokens.claims()!.emails).toEqual(['ida@example.com']);
    await expect(client.refreshTokenGrant(before.config, oldTokens.refresh_token!)).rejects.toMatchObject({ error: 'invalid_grant' });
    // …while the new one works, and so does the new password.
    expect((await client.refreshTokenGrant(flow.config, tokens.refresh_token!)).access_token).toBeTruthy();
    await context.close();
  });

  it('runs the password-reset policy and signs in with the new password afterwards', async () => {
    await s.createUser('jo@example.com', 'jo-password-1');
    const flow = await startFlow('B2C_1_passwordreset');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await page.getByLabel('Email Address').fill('jo@example.com');
    await page.getByRole('button', { name: 'Send verification code' }).click();
    await page.getByLabel('Verification code').fill(await lastCode('jo@example.com'));
    await page.getByRole('button', { name: 'Verify code' }).click();
    await page.getByLabel('New Password', { exact: true }).fill('jo-password-2');
    await page.getByLabel('Confirm New Password').fill('jo-password-2');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect((await finish(page, flow)).claims()!.tfp).toBe('B2C_1_passwordreset');
    await context.close();

    const signIn = await startFlow('B2C_1_signin');
    const second = await newPage();
    await second.page.goto(signIn.url.toString());
    await signInOnPage(second.page, 'jo@example.com', 'jo-password-2');
    expect((await finish(second.page, signIn)).claims()!.emails).toEqual(['jo@example.com']);
    await second.context.close();
  });

  it('edits the profile on the SSO session; the new id_token carries the new name', async () => {
    await s.createUser('kim@example.com', 'kim-password-1', { givenName: 'Kim', displayName: 'Kim K' });
    const { context, page } = await newPage();
    const signIn = await startFlow('B2C_1_signin');
    await page.goto(signIn.url.toString());
    await signInOnPage(page, 'kim@example.com', 'kim-password-1');
    await finish(page, signIn);

    const edit = await startFlow('B2C_1_profileedit');
    await page.goto(edit.url.toString());
    // No sign-in page: the session is used; the current values are shown.
    await expect(page.getByLabel('Given name').inputValue()).resolves.toBe('Kim');
    await page.getByLabel('Display name').fill('Kimberly K');
    await page.getByRole('button', { name: 'Continue' }).click();
    const claims = (await finish(page, edit)).claims()!;
    expect(claims.name).toBe('Kimberly K');
    expect(claims.tfp).toBe('B2C_1_profileedit');
    await context.close();
  });

  it('sends Cancel back to the app as AADB2C90091 from any page', async () => {
    const flow = await startFlow('B2C_1_signup');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.waitForURL(`${rp.url}/**`);
    const p = new URL(page.url()).searchParams;
    expect(p.get('error')).toBe('access_denied');
    expect(p.get('error_description')).toMatch(/^AADB2C90091: /);
    expect(p.get('state')).toBe(flow.state);
    await context.close();
  });

  it('answers bad input on the page, keeps what was typed, and creates nothing half-made', async () => {
    await s.createUser('taken@example.com', 'taken-password-1');
    const flow = await startFlow('B2C_1_signup');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Send verification code' }).click();
    await expect(page.locator('#email-error').textContent()).resolves.toContain('Please enter your Email Address.');
    await page.getByLabel('Email Address').fill('no-at-sign');
    await page.getByRole('button', { name: 'Send verification code' }).click();
    await expect(page.locator('#email-error').textContent()).resolves.toContain('valid email address');
    await expect(page.getByLabel('Email Address').inputValue()).resolves.toBe('no-at-sign');

    await page.getByLabel('Email Address').fill('taken@example.com');
    await page.getByRole('button', { name: 'Send verification code' }).click();
    await page.getByLabel('Verification code').fill('000000' === (await lastCode('taken@example.com')) ? '111111' : '000000');
    await page.getByRole('button', { name: 'Verify code' }).click();
    await expect(page.locator('#email_ver_input-error').textContent()).resolves.toContain('does not match our records');
    await page.getByLabel('Verification code').fill(await lastCode('taken@example.com'));
    await page.getByRole('button', { name: 'Verify code' }).click();

    await page.getByLabel('New Password', { exact: true }).fill('short');
    await page.getByLabel('Confirm New Password').fill('short');
    await page.getByLabel('Given name').fill('Tess');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.locator('#newPassword-error').textContent()).resolves.toContain('at least 8 characters');
    await expect(page.getByLabel('Given name').inputValue()).resolves.toBe('Tess');
    await expect(page.locator('#displayName-error').textContent()).resolves.toContain('Please enter your Display name.');

    await page.getByLabel('New Password', { exact: true }).fill('long-enough-1');
    await page.getByLabel('Confirm New Password').fill('long-enough-2');
    await page.getByLabel('Display name').fill('T');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.locator('#reenterPassword-error').textContent()).resolves.toContain('do not match');

    await page.getByLabel('New Password', { exact: true }).fill('long-enough-1');
    await page.getByLabel('Confirm New Password').fill('long-enough-1');
    await page.getByRole('button', { name: 'Create' }).click();
    await expect(page.locator('.error.pageLevel').textContent()).resolves.toContain('A user with the specified ID already exists');
    // The existing account is untouched and no second one was made.
    const users = (await s.deps.store.listUsers(s.tenant.id)).filter((u) => u.email === 'taken@example.com');
    expect(users).toHaveLength(1);
    expect(users[0]!.givenName).toBeNull();
    await context.close();
  });

  it('limits wrong verification codes', async () => {
    const flow = await startFlow('B2C_1_signup');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await page.getByLabel('Email Address').fill('lou@example.com');
    await page.getByRole('button', { name: 'Send verification code' }).click();
    const right = await lastCode('lou@example.com');
    const wrong = right === '123456' ? '654321' : '123456';
    for (let i = 0; i < 5; i++) {
      await page.getByLabel('Verification code').fill(wrong);
      await page.getByRole('button', { name: 'Verify code' }).click();
    }
    await page.getByLabel('Verification code').fill(right);
    await page.getByRole('button', { name: 'Verify code' }).click();
    await expect(page.locator('#email_ver_input-error').textContent()).resolves.toContain('too many incorrect attempts');
    await context.close();
  });
});

/** An app's own server: records what reaches `/cb` (query or form body), then answers as `answer` says. */
async function startApp(answer: (req: IncomingMessage, res: ServerResponse, body: string) => void): Promise<{ url: string; hits: { method: string; url: string; body: string }[]; close(): Promise<void> }> {
  const hits: { method: string; url: string; body: string }[] = [];
  const server = createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8').on('data', (c: string) => (body += c)).on('end', () => {
      hits.push({ method: req.method!, url: req.url!, body });
      answer(req, res, body);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

describe('going back to the app (form-action checks every redirect after a post)', () => {
  it('reaches an app whose callback redirects on to another site: the journey goes on through a page, not a redirect chain', async () => {
    await s.createUser('chain@example.com', 'chain-password-1');
    const landing = await startApp((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end('<title>Landing</title>'));
    const front = await startApp((req, res) => res.writeHead(302, { location: `${landing.url}/landing${req.url!.slice(req.url!.indexOf('?'))}` }).end());
    try {
      const id = (await s.createApp({ name: 'chained', type: 'native', redirectUris: [`${front.url}/cb`] })).app.clientId;
      const flow = await startBrowserFlow({ baseUrl: s.baseUrl, policy: 'B2C_1_signupsignin', clientId: id, redirectUri: `${front.url}/cb` });
      const { context, page } = await newPage();
      await page.goto(flow.url.toString());
      await signInOnPage(page, 'chain@example.com', 'chain-password-1');
      await page.waitForURL(`${landing.url}/landing?**`);
      const back = new URL(page.url());
      const tokens = await client.authorizationCodeGrant(flow.config, new URL(`${front.url}/cb${back.search}`), { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
      expect(tokens.claims()!.emails).toEqual(['chain@example.com']);
      await context.close();
    } finally {
      await front.close();
      await landing.close();
    }
  });

  it("delivers response_mode=form_post to the app's redirect URI, which the page's form-action names", async () => {
    await s.createUser('posted@example.com', 'posted-password-1');
    const app = await startApp((req, res) => {
      if (req.method === 'POST') res.writeHead(303, { location: '/signed-in' }).end();
      else res.writeHead(200, { 'content-type': 'text/html' }).end('<title>Signed in</title>');
    });
    try {
      const id = (await s.createApp({ name: 'posted', type: 'native', redirectUris: [`${app.url}/cb`] })).app.clientId;
      const flow = await startBrowserFlow({ baseUrl: s.baseUrl, policy: 'B2C_1_signupsignin', clientId: id, redirectUri: `${app.url}/cb`, extra: { response_mode: 'form_post' } });
      const { context, page } = await newPage();
      await page.goto(flow.url.toString());
      // Latchkey's pages: the one that posts the answer names the app's redirect URI in its form-action.
      const csps: string[] = [];
      page.on('response', (r) => {
        if (r.url().startsWith(s.baseUrl) && r.request().resourceType() === 'document' && r.status() === 200) csps.push(r.headers()['content-security-policy'] ?? '');
      });
      await signInOnPage(page, 'posted@example.com', 'posted-password-1');
      await page.waitForURL(`${app.url}/signed-in`);
      expect(csps.at(-1)).toContain(`form-action 'self' ${app.url}/cb;`);
      const posted = app.hits.find((h) => h.method === 'POST' && h.url === '/cb')!;
      const callback = new Request(`${app.url}/cb`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: posted.body });
      const tokens = await client.authorizationCodeGrant(flow.config, callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
      expect(tokens.claims()!.emails).toEqual(['posted@example.com']);
      await context.close();
    } finally {
      await app.close();
    }
  });
});

describe('keyboard use', () => {
  it('signs in when the user presses Enter in the password field', async () => {
    await s.createUser('enter@example.com', 'enter-password-1');
    const flow = await startFlow('B2C_1_signupsignin');
    const { context, page } = await newPage();
    await page.goto(flow.url.toString());
    await page.getByLabel('Email Address').fill('enter@example.com');
    await page.getByLabel('Password').fill('enter-password-1');
    await page.getByLabel('Password').press('Enter');
    expect((await finish(page, flow)).claims()!.emails).toEqual(['enter@example.com']);
    await context.close();
  });
});
