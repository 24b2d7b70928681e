import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { generate } from 'otplib';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishFlow, newPage, startFlow as startBrowserFlow, type Flow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { waitForPolicy, writePolicy } from '../helpers/policies.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { MfaService, newTotpSecret } from '../../src/services/mfa.js';

/**
 * Multi-factor authentication and passkeys through the hosted pages in headless Chromium: e-mail
 * codes, an authenticator app (codes computed here with otplib on the server's clock), recovery codes,
 * passkeys with Chromium's virtual authenticator (DevTools WebAuthn domain), and a required policy that
 * never answers after a password alone. The server's base URL is http://localhost (WebAuthn refuses an
 * IP address as relying-party id).
 */
const root = join(import.meta.dirname, '..', '..');
let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let appId: string;

const PASSWORD = 'mfa-password-1';

function flow(policy: string, extra?: Record<string, string>): Promise<Flow> {
  return startBrowserFlow({ baseUrl: s.baseUrl, policy, clientId: appId, redirectUri: `${rp.url}/cb`, clockSkewSeconds: Math.round(s.clock.offset / 1000), ...(extra ? { extra } : {}) });
}

async function signIn(page: Page, f: Flow, email: string): Promise<void> {
  await page.goto(f.url.toString());
  await page.locator('#signInName').fill(email);
  await page.locator('#password').fill(PASSWORD);
  await page.locator('#next').click();
}

/** The last code mailed to `to`. */
async function mailedCode(to: string): Promise<string> {
  const mail = (await s.deps.store.listOutbox(s.tenant.id, to)).at(-1);
  return /code is: (\d{6})/.exec(mail?.body ?? '')?.[1] ?? '';
}

/** A TOTP code on the server's (test) clock, `offsetSteps` periods from now. */
function totp(secret: string, offsetSteps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(s.clock.now() / 1000) + offsetSteps * 30 });
}

async function claimsAfter(page: Page, f: Flow): Promise<Record<string, unknown>> {
  return (await finishFlow(page, f)).claims() as Record<string, unknown>;
}

/** Chromium's virtual authenticator: a platform authenticator with resident keys that verifies the user. */
async function virtualAuthenticator(context: BrowserContext, page: Page): Promise<(present: boolean) => Promise<void>> {
  const cdp = await context.newCDPSession(page);
  await cdp.send('WebAuthn.enable');
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'internal', hasResidentKey: true, hasUserVerification: true, isUserVerified: true, automaticPresenceSimulation: true },
  });
  // With presence off, a request waits as for a user who has not touched the authenticator yet (the
  // sign-in page's autofill request then stays open instead of signing in at once).
  return async (present) => {
    await cdp.send('WebAuthn.setAutomaticPresenceSimulation', { authenticatorId, enabled: present });
  };
}

function cli(args: string[]): string {
  const env = { ...process.env, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies') };
  return execFileSync(process.execPath, [join(root, 'dist', 'cli', 'latchkey.js'), ...args], { env, encoding: 'utf8' });
}

beforeAll(async () => {
  // Every page of this file posts from 127.0.0.1: more than the default 60 form posts a minute.
  s = await startServer({ host: 'localhost', env: { LATCHKEY_MASTER_KEY: 'mfa-test-master-key-0123456789abcdef', LATCHKEY_FORM_RATE_LIMIT: '1000' } });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  appId = (await s.createApp({ name: 'mfa-app', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
  writePolicy(s, 'B2C_1_mfa_email', { mfa: { mode: 'required', methods: ['email'] } });
  writePolicy(s, 'B2C_1_mfa_totp', { mfa: { mode: 'required', methods: ['totp'] } }, 'B2C_1_signin');
  writePolicy(s, 'B2C_1_mfa_profile', { mfa: { mode: 'optional', methods: ['totp', 'passkey'] } }, 'B2C_1_profileedit');
  writePolicy(s, 'B2C_1_mfa_passkey', { mfa: { mode: 'optional', methods: ['passkey'] } }, 'B2C_1_signin');
  writePolicy(s, 'B2C_1_mfa_optional', { mfa: { mode: 'optional', methods: ['email', 'totp'] } }, 'B2C_1_signin');
  writePolicy(s, 'B2C_1_mfa_optprofile', { mfa: { mode: 'optional', methods: ['email', 'totp'] } }, 'B2C_1_profileedit');
  // A documented set-up: profile edit that offers passkeys only, with no second factor of its own.
  writePolicy(s, 'B2C_1_mfa_pkprofile', { mfa: { mode: 'off', methods: ['passkey'] } }, 'B2C_1_profileedit');
  writePolicy(s, 'B2C_1_mfa_pksignup', { signUp: { verifyEmail: false, attributes: [] }, mfa: { mode: 'off', methods: ['passkey'] } });
  for (const id of ['email', 'totp', 'profile', 'passkey', 'optional', 'optprofile', 'pkprofile', 'pksignup']) await waitForPolicy(s, `B2C_1_mfa_${id}`);
  for (const who of ['ella', 'tom', 'pat', 'lou', 'opal', 'sam']) await s.createUser(`${who}@example.com`, PASSWORD, { displayName: who });
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await s?.close();
});

describe('multi-factor authentication', () => {
  it('asks for an e-mailed code after the password (pages without JavaScript), and not again within the SSO session', async () => {
    const context = await browser.newContext({ javaScriptEnabled: false });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    const f = await flow('B2C_1_mfa_email');
    await signIn(page, f, 'ella@example.com');
    await expect(page.locator('#api').getAttribute('data-name')).resolves.toBe('Phonefactor');
    await expect(page.locator('.intro').textContent()).resolves.toContain('e•••@example.com');
    const code = await mailedCode('ella@example.com');
    expect(code).toMatch(/^\d{6}$/);
    await page.locator('#email_ver_input').fill(code === '000000' ? '111111' : '000000');
    await page.locator('#verifyCode').click();
    await expect(page.locator('.error[role=alert]').first().textContent()).resolves.toContain('does not match our records');
    await page.locator('#email_ver_input').fill(code);
    await page.locator('#verifyCode').click();
    const claims = await claimsAfter(page, f);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('mfa');

    // The SSO session holds the second factor: the next sign-in answers at once, with the same amr.
    const again = await flow('B2C_1_mfa_email');
    await page.goto(again.url.toString());
    const second = await claimsAfter(page, again);
    expect(second.amr).toEqual(['pwd', 'otp', 'mfa']);
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(audit.filter((e) => e.event === 'mfa_challenge' && e.detail?.startsWith('email')).map((e) => e.outcome)).toEqual(expect.arrayContaining(['success', 'failure']));
    await context.close();
  });

  let secret = '';
  let recovery: string[] = [];

  it('asks a signed-in user only for the second factor when a policy needs one the session lacks; prompt=none says interaction_required', async () => {
    const { context, page } = await newPage(browser);
    const plain = await flow('B2C_1_signin');
    await signIn(page, plain, 'sam@example.com');
    expect((await claimsAfter(page, plain)).amr).toEqual(['pwd']);
    const silent = await flow('B2C_1_mfa_email', { prompt: 'none' });
    await page.goto(silent.url.toString());
    await page.waitForURL(`${rp.url}/**`);
    expect(new URL(page.url()).searchParams.get('error')).toBe('interaction_required');
    const stepUp = await flow('B2C_1_mfa_email');
    await page.goto(stepUp.url.toString());
    await expect(page.locator('#signInName').count()).resolves.toBe(0);
    await page.locator('#email_ver_input').fill(await mailedCode('sam@example.com'));
    await page.locator('#verifyCode').click();
    const claims = await claimsAfter(page, stepUp);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    await context.close();
  });

  it('locks the second factor after ten wrong codes, as passwords are locked', async () => {
    const user = (await s.deps.store.findUserBySignInName(s.tenant.id, 'lou@example.com'))!;
    const mfa = new MfaService(s.deps);
    const key = newTotpSecret();
    expect(await mfa.enrolTotp(s.tenant, user, key, await totp(key), { ip: '127.0.0.1', clientId: null })).toBe(true);
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_mfa_totp');
    await signIn(page, f, 'lou@example.com');
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const wrong = (await totp(key, 5)) === '123456' ? '654321' : '123456';
    let last = '';
    for (let i = 0; i < 10; i++) last = await (await page.request.post(page.url(), { form: { csrf, action: 'verify', code: wrong } })).text();
    expect(last).toContain('Too many wrong codes');
    // The next period's code (accepted for clock drift, and not used yet) is refused while locked.
    const refused = await (await page.request.post(page.url(), { form: { csrf, action: 'verify', code: await totp(key, 1) } })).text();
    expect(refused).toContain('Too many wrong codes');
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(audit.some((e) => e.event === 'lockout' && e.subject === user.id && e.detail?.startsWith('second factor locked'))).toBe(true);
    await context.close();
    // The lock ends (a minute the first time): the next sign-in's code is taken.
    s.clock.advance(61_000);
    const later = await newPage(browser);
    const f2 = await flow('B2C_1_mfa_totp');
    await signIn(later.page, f2, 'lou@example.com');
    await later.page.locator('#totpCode').fill(await totp(key));
    await later.page.locator('#verifyCode').click();
    expect((await claimsAfter(later.page, f2)).acr).toBe('mfa');
    await later.context.close();
  });

  it('lets a user turn on e-mail codes in profile edit (optional MFA), then asks for them; new recovery codes replace the old', async () => {
    const { context, page } = await newPage(browser);
    let f = await flow('B2C_1_mfa_optional');
    await signIn(page, f, 'opal@example.com');
    expect((await claimsAfter(page, f)).amr).toEqual(['pwd']);

    f = await flow('B2C_1_mfa_optprofile', { prompt: 'login' });
    await signIn(page, f, 'opal@example.com');
    await page.locator('#securitySettings').click();
    await expect(page.locator('#emailStatus').textContent()).resolves.toBe('Off');
    await page.getByRole('button', { name: /^Turn on: Codes by e-mail/ }).click();
    await expect(page.locator('#emailStatus').textContent()).resolves.toBe('On');
    // She has a factor now: changing factors takes a second factor first (an e-mailed code).
    await page.locator('#enrol-totp').click();
    await expect(page.locator('#email_ver_input').isVisible()).resolves.toBe(true);
    await page.locator('#email_ver_input').fill(await mailedCode('opal@example.com'));
    await page.locator('#verifyCode').click();
    await expect(page.locator('#totpStatus').textContent()).resolves.toBe('Off');
    await page.locator('#enrol-totp').click();
    const key = ((await page.locator('#totpSecret').textContent()) ?? '').replace(/\s/g, '');
    await page.locator('#totpCode').fill(await totp(key));
    await page.locator('#verifyCode').click();
    const first = await page.locator('#recoveryCodes code').allTextContents();
    await page.locator('#continue').click();
    await expect(page.locator('#totpStatus').textContent()).resolves.toBe('On');
    await page.locator('#new-codes').click();
    const second = await page.locator('#recoveryCodes code').allTextContents();
    expect(second).toHaveLength(10);
    expect(second.some((c) => first.includes(c))).toBe(false);
    await page.locator('#continue').click();
    await page.locator('#done').click();
    await page.locator('#givenName').fill('Opal');
    await page.locator('#continue').click();
    await finishFlow(page, f);
    await context.close();

    // A new browser: the optional policy now asks, by e-mail or the app; an old recovery code is refused.
    const fresh = await newPage(browser);
    f = await flow('B2C_1_mfa_optional');
    await signIn(fresh.page, f, 'opal@example.com');
    await fresh.page.locator('#use-recovery').click();
    await fresh.page.locator('#recoveryCode').fill(first[0]!);
    await fresh.page.locator('#verifyCode').click();
    await expect(fresh.page.locator('.error[role=alert]').first().textContent()).resolves.toContain('not right');
    await fresh.page.locator('#use-email').click();
    await fresh.page.locator('#email_ver_input').fill(await mailedCode('opal@example.com'));
    await fresh.page.locator('#verifyCode').click();
    expect((await claimsAfter(fresh.page, f)).amr).toEqual(['pwd', 'otp', 'mfa']);
    await fresh.context.close();
  });

  it('enrols an authenticator app at the first sign-in (QR code, key, first code), then shows recovery codes once', async () => {
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_mfa_totp');
    await signIn(page, f, 'tom@example.com');
    await expect(page.locator('h1').textContent()).resolves.toBe('Set up your authenticator app');
    await expect(page.locator('.qrCode svg path').count()).resolves.toBeGreaterThan(0);
    secret = ((await page.locator('#totpSecret').textContent()) ?? '').replace(/\s/g, '');
    expect(secret).toMatch(/^[A-Z2-7]{32}$/);
    await page.locator('#totpCode').fill(await totp(secret));
    await page.locator('#verifyCode').click();
    await expect(page.locator('h1').textContent()).resolves.toBe('Save your recovery codes');
    recovery = await page.locator('#recoveryCodes code').allTextContents();
    expect(recovery).toHaveLength(10);
    await page.locator('#continue').click();
    const claims = await claimsAfter(page, f);
    expect(claims.amr).toEqual(['pwd', 'otp', 'mfa']);
    expect(claims.acr).toBe('mfa');
    // The secret is sealed at rest, and the codes are kept only as hashes.
    const tom = (await s.deps.store.findUserBySignInName(s.tenant.id, 'tom@example.com'))!;
    const rows = s.db.prepare('SELECT kind, data FROM user_authenticators WHERE user_id = ?').all(tom.id) as { kind: string; data: string }[];
    expect(rows.map((r) => r.kind).sort()).toEqual(['recovery', 'totp']);
    for (const r of rows) {
      expect(r.data).not.toContain(secret);
      for (const c of recovery) expect(r.data).not.toContain(c);
    }
    await context.close();
  });

  it('refuses a replayed authenticator code and accepts the next one; a recovery code works once', async () => {
    let { context, page } = await newPage(browser);
    let f = await flow('B2C_1_mfa_totp');
    await signIn(page, f, 'tom@example.com');
    await expect(page.locator('#totpCode').isVisible()).resolves.toBe(true);
    // The code of the time step the enrolment used: refused as used.
    await page.locator('#totpCode').fill(await totp(secret));
    await page.locator('#verifyCode').click();
    await expect(page.locator('.error[role=alert]').first().textContent()).resolves.toContain('already used');
    // The next period's code (accepted for clock drift) is new.
    await page.locator('#totpCode').fill(await totp(secret, 1));
    await page.locator('#verifyCode').click();
    expect((await claimsAfter(page, f)).amr).toEqual(['pwd', 'otp', 'mfa']);
    await context.close();

    /** A new browser signs in and answers the second step with a recovery code. */
    const withRecoveryCode = async (code: string) => {
      ({ context, page } = await newPage(browser));
      f = await flow('B2C_1_mfa_totp');
      await signIn(page, f, 'tom@example.com');
      await page.locator('#use-recovery').click();
      await page.locator('#recoveryCode').fill(code);
      await page.locator('#verifyCode').click();
    };
    await withRecoveryCode(recovery[0]!);
    expect((await claimsAfter(page, f)).acr).toBe('mfa');
    await context.close();

    await withRecoveryCode(recovery[0]!);
    await expect(page.locator('.error[role=alert]').first().textContent()).resolves.toContain('not right');
    await page.locator('#recoveryCode').fill(recovery[1]!.toUpperCase());
    await page.locator('#verifyCode').click();
    expect((await claimsAfter(page, f)).amr).toContain('mfa');
    await context.close();
  });

  it('never answers a required policy after a password alone, whatever is posted to the journey', async () => {
    const { context, page } = await newPage(browser);
    const received = rp.received.length;
    const f = await flow('B2C_1_mfa_totp');
    await signIn(page, f, 'tom@example.com');
    await expect(page.locator('#totpCode').isVisible()).resolves.toBe(true);
    const journeyUrl = page.url();
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    const attempts: Record<string, string>[] = [
      { action: 'saved' },
      { action: 'continue' },
      { action: 'done' },
      { action: 'verify' },
      { action: 'verify', code: '000000' },
      { action: 'passkey', passkey: '{"id":"x","response":{}}' },
      { action: 'enrol-totp' },
      { action: 'signin', email: 'tom@example.com', password: PASSWORD },
    ];
    for (const form of attempts) {
      const res = await page.request.post(journeyUrl, { form: { csrf, ...form }, maxRedirects: 0 });
      expect(res.status(), JSON.stringify(form)).toBe(200);
      expect(await res.text()).toContain('id="totpCode"');
    }
    // No SSO session was made: a silent request is told to sign in.
    const silent = await flow('B2C_1_mfa_totp', { prompt: 'none' });
    await page.goto(silent.url.toString());
    await page.waitForURL(`${rp.url}/**`);
    expect(new URL(page.url()).searchParams.get('error')).toBe('login_required');
    expect(rp.received.slice(received).every((u) => u.searchParams.get('code') === null)).toBe(true);
    await context.close();
  });

  it('never lets a password alone change factors in profile edit, whatever the profile-edit policy says (the recovery-code bypass)', async () => {
    // Tom has an authenticator app and recovery codes; the attacker knows only his password.
    const tom = (await s.deps.store.findUserBySignInName(s.tenant.id, 'tom@example.com'))!;
    const before = await s.deps.store.listAuthenticators(s.tenant.id, tom.id);
    const codesEvents = async () => (await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'recovery_codes_generated' })).length;
    const eventsBefore = await codesEvents();
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_mfa_pkprofile', { prompt: 'login' });
    await signIn(page, f, 'tom@example.com');
    await page.locator('#securitySettings').click();
    // Not the settings: a second factor of his, although this policy asks for none and offers only passkeys.
    await expect(page.locator('#totpCode').isVisible()).resolves.toBe(true);
    await expect(page.locator('#recoveryStatus').count()).resolves.toBe(0);
    const journeyUrl = page.url();
    const csrf = await page.locator('input[name=csrf]').first().inputValue();
    for (const form of [{ action: 'new-codes' }, { action: `remove:${before.find((a) => a.kind === 'totp')!.id}` }, { action: 'enrol-passkey' }, { action: 'email-on' }, { action: 'done' }, { action: 'back' }]) {
      const res = await page.request.post(journeyUrl, { form: { csrf, ...form }, maxRedirects: 5 });
      expect(await res.text(), JSON.stringify(form)).not.toContain('id="recoveryCodes"');
    }
    expect(await codesEvents()).toBe(eventsBefore);
    expect((await s.deps.store.listAuthenticators(s.tenant.id, tom.id)).map((a) => a.id).sort()).toEqual(before.map((a) => a.id).sort());

    // With his authenticator code the settings open, and what they do then is his doing.
    s.clock.advance(60_000);
    await page.goto(journeyUrl);
    await page.locator('#totpCode').fill(await totp(secret));
    await page.locator('#verifyCode').click();
    await expect(page.locator('#passkeyList').isVisible()).resolves.toBe(true);
    await context.close();
  });

  it('shows and resets a user\'s second factors from the CLI; the next sign-in enrols again', async () => {
    const shown = JSON.parse(cli(['user', 'mfa', 'show', '--tenant', 'demo', '--user', 'tom@example.com', '--json'])) as { authenticators: { kind: string; codesLeft?: number }[] };
    expect(shown.authenticators.map((a) => a.kind).sort()).toEqual(['recovery', 'totp']);
    expect(shown.authenticators.find((a) => a.kind === 'recovery')?.codesLeft).toBe(8);
    expect(cli(['user', 'mfa', 'reset', '--tenant', 'demo', '--user', 'tom@example.com'])).toContain('removed 2 authenticators');
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(audit.some((e) => e.event === 'mfa_reset' && e.detail?.includes('2 authenticators removed by cli'))).toBe(true);

    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_mfa_totp');
    await signIn(page, f, 'tom@example.com');
    await expect(page.locator('h1').textContent()).resolves.toBe('Set up your authenticator app');
    await context.close();
  });
});

describe('passkeys', () => {
  it('registers a passkey from profile edit, signs in with it instead of a password, and uses it as the second factor', async () => {
    const { context, page } = await newPage(browser);
    const presence = await virtualAuthenticator(context, page);

    // Profile edit → Security settings → Create a passkey (the virtual authenticator answers).
    let f = await flow('B2C_1_mfa_profile');
    await signIn(page, f, 'pat@example.com');
    await page.locator('#securitySettings').click();
    await expect(page.locator('#passkeyList').textContent()).resolves.toBe('None yet');
    await page.locator('#enrol-passkey').click();
    await page.locator('#createPasskey').click();
    await page.locator('h1', { hasText: 'Save your recovery codes' }).waitFor();
    await page.locator('#continue').click();
    await expect(page.locator('#passkeyList').textContent()).resolves.toMatch(/^Passkey 1 \(\d{4}-\d{2}-\d{2}, localhost\)$/);
    await page.locator('#done').click();
    await page.locator('#givenName').fill('Pat');
    await page.locator('#continue').click();
    await finishFlow(page, f);
    const audit = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(audit.some((e) => e.event === 'passkey_registered' && e.outcome === 'success')).toBe(true);

    // Signed out (no SSO cookie): the sign-in page offers the passkey in the sign-in name's autofill
    // (conditional UI); the virtual authenticator picks it at once, so the user is in without a password.
    await context.clearCookies();
    f = await flow('B2C_1_mfa_passkey');
    await page.goto(f.url.toString(), { waitUntil: 'commit' });
    const claims = await claimsAfter(page, f);
    expect(claims.amr).toEqual(['hwk', 'mfa']);
    expect(claims.acr).toBe('mfa');
    expect(claims.name).toBe('pat');

    // The "Sign in with a passkey" button, once the page is there and the user touches the key.
    await presence(false);
    await context.clearCookies();
    f = await flow('B2C_1_mfa_passkey');
    await page.goto(f.url.toString());
    await expect(page.locator('#signInName').getAttribute('autocomplete')).resolves.toBe('username webauthn');
    await presence(true);
    await page.locator('#passkeySignIn').click();
    expect((await claimsAfter(page, f)).amr).toEqual(['hwk', 'mfa']);

    // With a passkey enrolled, the optional policy asks for it after the password.
    await presence(false);
    await context.clearCookies();
    f = await flow('B2C_1_mfa_passkey');
    await signIn(page, f, 'pat@example.com');
    await expect(page.locator('#api').getAttribute('data-name')).resolves.toBe('Phonefactor');
    await presence(true);
    await page.locator('#usePasskey').click();
    expect((await claimsAfter(page, f)).amr).toEqual(['pwd', 'hwk', 'mfa']);
    await context.close();
  });

  it('offers a passkey right after sign-up; "Not now" works without JavaScript', async () => {
    const { context, page } = await newPage(browser);
    await virtualAuthenticator(context, page);
    let f = await flow('B2C_1_mfa_pksignup');
    await page.goto(f.url.toString(), { waitUntil: 'domcontentloaded' });
    await page.locator('#createAccount').click();
    await page.locator('#email').fill('newbie@example.com');
    await page.locator('#continue').click();
    await page.locator('#newPassword').fill(PASSWORD);
    await page.locator('#reenterPassword').fill(PASSWORD);
    await page.locator('#continue').click();
    await expect(page.locator('h1').textContent()).resolves.toBe('Create a passkey');
    await page.locator('#createPasskey').click();
    await page.locator('h1', { hasText: 'Save your recovery codes' }).waitFor();
    await page.locator('#continue').click();
    const claims = await claimsAfter(page, f);
    expect(claims.newUser).toBe(true);
    const user = (await s.deps.store.findUserBySignInName(s.tenant.id, 'newbie@example.com'))!;
    expect((await s.deps.store.listAuthenticators(s.tenant.id, user.id)).map((a) => a.kind).sort()).toEqual(['passkey', 'recovery']);
    await context.close();

    const noJs = await browser.newContext({ javaScriptEnabled: false });
    const p2 = await noJs.newPage();
    f = await flow('B2C_1_mfa_pksignup');
    await p2.goto(f.url.toString());
    await p2.locator('#createAccount').click();
    await p2.locator('#email').fill('nojs@example.com');
    await p2.locator('#continue').click();
    await p2.locator('#newPassword').fill(PASSWORD);
    await p2.locator('#reenterPassword').fill(PASSWORD);
    await p2.locator('#continue').click();
    await expect(p2.locator('#createPasskey').isVisible()).resolves.toBe(false);
    await expect(p2.locator('.passkeyNoScript').textContent()).resolves.toContain('Passkeys need JavaScript');
    await p2.locator('#skip').click();
    expect((await claimsAfter(p2, f)).newUser).toBe(true);
    await noJs.close();
  });

  it('does not offer passkeys or ask for a second factor where the policy does not', async () => {
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_signin');
    await signIn(page, f, 'pat@example.com');
    const claims = await claimsAfter(page, f);
    expect(claims.amr).toEqual(['pwd']);
    expect(claims.acr).toBe('sfa');
    await context.close();
  });
});
