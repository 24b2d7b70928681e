import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { finishFlow, newPage, startFlow as startBrowserFlow, type Flow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { waitForPolicy, writePolicy } from '../helpers/policies.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { MfaService } from '../../src/services/mfa.js';
import { createApp, requireApp } from '../../src/services/apps.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { sendSmsCode } from '../../src/services/sms-codes.js';
import { createTenant } from '../../src/services/tenants.js';

/**
 * Phone numbers and text messages through the hosted pages in headless Chromium, with an SMS gateway
 * of our own on 127.0.0.1 (LATCHKEY_SMS_URL) that records every message it receives: phone sign-up and
 * sign-in, an imported phoneNumber identity signing in, the SMS second factor under a required policy
 * (tokens checked by openid-client), the lock after ten wrong codes, the hourly limits, and a country
 * the policy does not allow. Graph's phoneMethods over HTTP.
 */
const root = join(import.meta.dirname, '..', '..');
const GATEWAY_TOKEN = 'gateway-token-0123456789';
const PASSWORD = 'phone-password-1';

interface Received {
  authorization: string | undefined;
  contentType: string | undefined;
  body: { to: string; text: string; locale: string; tenant: string };
}

let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let appId: string;
let gateway: Server;
const received: Received[] = [];

function flow(policy: string, extra?: Record<string, string>): Promise<Flow> {
  return startBrowserFlow({ baseUrl: s.baseUrl, policy, clientId: appId, redirectUri: `${rp.url}/cb`, clockSkewSeconds: Math.round(s.clock.offset / 1000), ...(extra ? { extra } : {}) });
}

const to = (number: string) => received.filter((r) => r.body.to === number);

/** The code in the last text message to `number`, once the gateway has it. */
async function lastCode(number: string, count: number): Promise<string> {
  await expect.poll(() => to(number).length).toBe(count);
  return /(\d{6})/.exec(to(number).at(-1)!.body.text)![1]!;
}

/** Waits until the first element `selector` finds on the page says `text`. */
async function says(page: Page, selector: string, text: string): Promise<void> {
  await expect.poll(() => page.locator(selector).first().textContent({ timeout: 10_000 }).catch(() => ''), { timeout: 10_000 }).toContain(text);
}

async function claimsAfter(page: Page, f: Flow): Promise<Record<string, unknown>> {
  return (await finishFlow(page, f)).claims() as Record<string, unknown>;
}

/** The phone page: a number typed and "Send verification code". */
async function sendTo(page: Page, f: Flow, typed: string): Promise<void> {
  await page.goto(f.url.toString());
  await page.locator('#phoneNumber').fill(typed);
  await page.locator('#sendCode').click();
}

async function enterCode(page: Page, code: string): Promise<void> {
  await page.locator('#email_ver_input').fill(code);
  await page.locator('#verifyCode').click();
}

function cli(args: string[]): string {
  const env = { ...process.env, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies') };
  return execFileSync(process.execPath, [join(root, 'dist', 'cli', 'latchkey.js'), ...args], { env, encoding: 'utf8' });
}

beforeAll(async () => {
  gateway = createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString('utf8')));
    req.on('end', () => {
      received.push({ authorization: req.headers.authorization, contentType: req.headers['content-type'], body: JSON.parse(data) as Received['body'] });
      res.writeHead(202, { 'content-type': 'application/json' }).end('{"status":"queued"}');
    });
  });
  await new Promise<void>((resolve) => gateway.listen(0, '127.0.0.1', resolve));
  s = await startServer({
    env: {
      LATCHKEY_SMS_URL: `http://127.0.0.1:${(gateway.address() as AddressInfo).port}/send`,
      LATCHKEY_SMS_TOKEN: GATEWAY_TOKEN,
      LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1',
      LATCHKEY_FORM_RATE_LIMIT: '1000',
      // Every page of this file asks from 127.0.0.1: the per-address limit is tested on its own below.
      LATCHKEY_SMS_PER_ADDRESS_HOURLY: '1000',
    },
  });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  appId = (await s.createApp({ name: 'phone-app', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
  const phone = { localAccount: { signInName: 'phone' }, signUp: { attributes: [{ claim: 'name', label: 'Display name', required: true }] } };
  writePolicy(s, 'B2C_1_phone', phone);
  writePolicy(s, 'B2C_1_phone_signin', { localAccount: { signInName: 'phone' } }, 'B2C_1_signin');
  writePolicy(s, 'B2C_1_phone_nl', { ...phone, phone: { allowedCountries: ['NL'] } });
  writePolicy(s, 'B2C_1_sms_mfa', { mfa: { mode: 'required', methods: ['sms'] } }, 'B2C_1_signin');
  writePolicy(s, 'B2C_1_sms_profile', { mfa: { mode: 'optional', methods: ['sms'] } }, 'B2C_1_profileedit');
  writePolicy(s, 'B2C_1_totp_profile', { mfa: { mode: 'optional', methods: ['totp'] } }, 'B2C_1_profileedit');
  for (const id of ['B2C_1_phone', 'B2C_1_phone_signin', 'B2C_1_phone_nl', 'B2C_1_sms_mfa', 'B2C_1_sms_profile', 'B2C_1_totp_profile']) await waitForPolicy(s, id);
  for (const who of ['sara', 'lock', 'pete']) await s.createUser(`${who}@example.com`, PASSWORD, { displayName: who });
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await s?.close();
  await new Promise((resolve) => gateway?.close(resolve));
});

describe('phone sign-up and sign-in', () => {
  it('signs a new number up with a code by text message (no password), and signs it in again; the gateway gets {to, text, locale, tenant} with the bearer token', async () => {
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_phone');
    await sendTo(page, f, '+31 6 1234 5678');
    const code = await lastCode('+31612345678', 1);
    const message = to('+31612345678')[0]!;
    expect(message.authorization).toBe(`Bearer ${GATEWAY_TOKEN}`);
    expect(message.contentType).toBe('application/json');
    expect(message.body).toEqual({ to: '+31612345678', text: `${code} is your Demo verification code. It expires in 10 minutes.`, locale: 'en', tenant: 'demo' });
    expect(await page.locator('#password').count()).toBe(0);
    await enterCode(page, code);
    await page.locator('#displayName').fill('Pia Phone');
    await page.locator('#continue').click();
    const claims = await claimsAfter(page, f);
    expect(claims.amr).toEqual(['sms']);
    expect(claims.newUser).toBe(true);
    expect(claims.name).toBe('Pia Phone');
    await context.close();

    // Signed in again, in another browser and in Dutch: the same account, and the message in Dutch.
    const again = await newPage(browser);
    const f2 = await flow('B2C_1_phone', { ui_locales: 'nl' });
    await sendTo(again.page, f2, '0031612345678');
    const code2 = await lastCode('+31612345678', 2);
    expect(to('+31612345678')[1]!.body).toMatchObject({ locale: 'nl', text: `${code2} is uw verificatiecode voor Demo. De code verloopt over 10 minuten.` });
    await enterCode(again.page, code2);
    const claims2 = await claimsAfter(again.page, f2);
    expect(claims2.sub).toBe(claims.sub);
    expect(claims2.amr).toEqual(['sms']);
    expect(claims2.newUser).not.toBe(true);
    await again.context.close();

    const shown = JSON.parse(cli(['user', 'show', '--tenant', 'demo', '--user', '+31 6 12345678', '--json'])) as { id: string; identities: { signInType: string; issuerAssignedId: string }[] };
    expect(shown.id).toBe(claims.sub);
    expect(shown.identities).toEqual([{ signInType: 'phoneNumber', issuer: 'demo.onmicrosoft.com', issuerAssignedId: '+31612345678' }]);
  });

  it('signs in an imported phoneNumber identity; a number without an account is told so only after its code', async () => {
    const file = join(s.dir, 'phone-users.jsonl');
    const id = '5b0a9b3e-6f0e-4c2a-9d59-2f8a3c7e1a11';
    writeFileSync(file, JSON.stringify({ id, displayName: 'Imported Ivo', identities: [{ signInType: 'phoneNumber', issuer: 'demo.onmicrosoft.com', issuerAssignedId: '+31 6 5555 0000' }] }) + '\n');
    expect(JSON.parse(cli(['user', 'import', '--tenant', 'demo', file, '--json']))).toMatchObject({ imported: 1, failed: 0 });

    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_phone_signin');
    await sendTo(page, f, '+31655550000');
    await enterCode(page, await lastCode('+31655550000', 1));
    const claims = await claimsAfter(page, f);
    expect(claims.sub).toBe(id);
    expect(claims.name).toBe('Imported Ivo');
    expect(claims.amr).toEqual(['sms']);

    // A sign-in policy makes no accounts: an unknown number gets its code, then the page says there is none.
    const unknown = await flow('B2C_1_phone_signin', { prompt: 'login' });
    await sendTo(page, unknown, '+31 6 4444 0000');
    await page.locator('#email_ver_input').waitFor();
    await enterCode(page, await lastCode('+31644440000', 1));
    await says(page, '.error.pageLevel', 'There is no account with this phone number.');
    await context.close();
  });

  it('refuses a number of a country the policy does not allow, says why, and sends it nothing', async () => {
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_phone_nl');
    await sendTo(page, f, '+1 206 555 0100');
    await says(page, '#phoneNumber-error', 'Phone numbers from this country cannot be used here.');
    expect(await page.locator('#email_ver_input').count()).toBe(0);
    // An invalid number is refused before anything else; a Dutch one (national form: the policy has one country) goes through.
    await page.locator('#phoneNumber').fill('+31 6 12');
    await page.locator('#sendCode').click();
    await says(page, '#phoneNumber-error', 'Please enter a valid phone number');
    await page.locator('#phoneNumber').fill('06 8888 0000');
    await page.locator('#sendCode').click();
    await page.locator('#email_ver_input').waitFor();
    expect(to('+12065550100')).toHaveLength(0);
    expect(to('+31688880000')).toHaveLength(1);
    const refused = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'sms_code', outcome: 'failure' });
    expect(refused.some((e) => e.detail?.includes('country US not allowed by B2C_1_phone_nl'))).toBe(true);
    expect((await s.deps.metrics.text()).body).toMatch(/latchkey_sms_total\{result="refused_country"\} 1/);
    await context.close();
  });

  it('sends at most 5 codes to a number an hour, across journeys: the sixth request says so and the gateway gets nothing', async () => {
    const number = '+31611110000';
    const { context, page } = await newPage(browser);
    const first = await flow('B2C_1_phone');
    await sendTo(page, first, '+31 6 1111 0000');
    for (let i = 0; i < 2; i++) {
      await page.locator('#sendNewCode').click();
      await says(page, '.notice, [role=status]', 'A new verification code has been sent');
    }
    await expect.poll(() => to(number).length).toBe(3);
    const second = await flow('B2C_1_phone', { prompt: 'login' });
    await sendTo(page, second, number);
    await page.locator('#sendNewCode').click();
    await expect.poll(() => to(number).length).toBe(5);
    await page.locator('#sendNewCode').click();
    await says(page, '.error.pageLevel', 'Too many codes have been sent to this number');
    await page.locator('#sendNewCode').click();
    await says(page, '.error.pageLevel', 'No code was sent');
    expect(to(number)).toHaveLength(5);
    expect((await s.deps.metrics.text()).body).toMatch(/latchkey_sms_total\{result="limited_number"\} 2/);
    await context.close();
  });
});

describe('text messages as the second factor', () => {
  it('under a required policy, enrols the phone with a code, shows recovery codes, and asks for a code at the next sign-in (amr pwd, sms, mfa)', async () => {
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_sms_mfa');
    await page.goto(f.url.toString());
    await page.locator('#signInName').fill('sara@example.com');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#next').click();
    await page.locator('#phoneNumber').fill('+31 6 2222 0000');
    await page.locator('#sendCode').click();
    await enterCode(page, await lastCode('+31622220000', 1));
    await page.locator('#recoveryCodes').waitFor();
    await page.locator('#continue').click();
    const claims = await claimsAfter(page, f);
    expect(claims.amr).toEqual(['pwd', 'sms', 'mfa']);
    expect(claims.acr).toBe('mfa');
    await context.close();

    const again = await newPage(browser);
    const f2 = await flow('B2C_1_sms_mfa');
    await again.page.goto(f2.url.toString());
    await again.page.locator('#signInName').fill('sara@example.com');
    await again.page.locator('#password').fill(PASSWORD);
    await again.page.locator('#next').click();
    await says(again.page, '.intro', '•••••••••00');
    await enterCode(again.page, await lastCode('+31622220000', 2));
    expect((await claimsAfter(again.page, f2)).amr).toEqual(['pwd', 'sms', 'mfa']);
    await again.context.close();

    const shown = JSON.parse(cli(['user', 'show', '--tenant', 'demo', '--user', 'sara@example.com', '--json'])) as { smsPhoneNumber?: string };
    expect(shown.smsPhoneNumber).toBe('+31622220000');
  });

  it('locks the factor after ten wrong codes, as the other factors: the right code is refused then', async () => {
    const user = (await s.deps.store.findUserBySignInName(s.tenant.id, 'lock@example.com'))!;
    await new MfaService(s.deps).enrolSms(s.tenant, user, '+31633330000', { ip: null, clientId: null });
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_sms_mfa');
    await page.goto(f.url.toString());
    await page.locator('#signInName').fill('lock@example.com');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#next').click();
    const code = await lastCode('+31633330000', 1);
    const wrong = code === '000000' ? '111111' : '000000';
    for (let i = 1; i <= 10; i++) {
      await enterCode(page, wrong);
      await says(page, '.error.pageLevel', i < 10 ? (i <= 5 ? 'does not match our records' : 'too many incorrect attempts') : 'Too many wrong codes');
    }
    await enterCode(page, code);
    await says(page, '.error.pageLevel', 'Too many wrong codes');
    expect(new URL(page.url()).origin).toBe(s.baseUrl);
    const lockouts = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'lockout' });
    expect(lockouts.some((e) => e.subject === user.id && e.detail?.startsWith('second factor locked'))).toBe(true);
    await context.close();
  });
});

describe('the SMS factor in security settings', () => {
  it('is set up in profile edit with a code, listed masked, and asked for as a step-up before settings change', async () => {
    const { context, page } = await newPage(browser);
    const f = await flow('B2C_1_sms_profile');
    await page.goto(f.url.toString());
    await page.locator('#signInName').fill('pete@example.com');
    await page.locator('#password').fill(PASSWORD);
    await page.locator('#next').click();
    await page.locator('#securitySettings').click();
    await says(page, '#smsStatus', 'Off');
    await page.locator('#enrol-sms').click();
    await page.locator('#phoneNumber').fill('+31 6 4321 0000');
    await page.locator('#sendCode').click();
    await enterCode(page, await lastCode('+31643210000', 1));
    await page.locator('#recoveryCodes').waitFor();
    await page.locator('#continue').click();
    await says(page, '#smsStatus', '•••••••••00');
    await context.close();

    // Signed in with the password alone (a policy that does not ask for sms): settings need the SMS code first.
    const later = await newPage(browser);
    const plain = await flow('B2C_1_signin');
    await later.page.goto(plain.url.toString());
    await later.page.locator('#signInName').fill('pete@example.com');
    await later.page.locator('#password').fill(PASSWORD);
    await later.page.locator('#next').click();
    expect((await claimsAfter(later.page, plain)).amr).toEqual(['pwd']);
    const profile = await flow('B2C_1_totp_profile');
    await later.page.goto(profile.url.toString());
    await later.page.locator('#securitySettings').click();
    await says(later.page, '.intro', 'We sent a verification code by text message to •••••••••00');
    expect(await later.page.locator('#smsStatus').count()).toBe(0);
    await enterCode(later.page, await lastCode('+31643210000', 2));
    await later.page.locator('#done').waitFor();
    expect(await later.page.locator('#totpStatus').count()).toBe(1);
    await later.context.close();
  });
});

describe('without a gateway', () => {
  it('keeps text messages in the outbox and the log, as mail without SMTP', async () => {
    const { recordingLogger } = await import('../helpers/outbound.js');
    const { createSmsSender } = await import('../../src/sms/sms-sender.js');
    const { logger, lines } = recordingLogger();
    const sender = createSmsSender({ url: undefined, token: undefined, outbound: s.deps.outbound, store: s.deps.store, logger, clock: s.clock });
    const before = received.length;
    await expect(sender.send({ tenantId: s.tenant.id, tenantSlug: 'demo', to: '+31699990000', text: '654321 is your code', locale: 'en' })).resolves.toBe('outbox');
    expect(received.length).toBe(before);
    expect((await s.deps.store.listOutbox(s.tenant.id, '+31699990000')).map((m) => [m.body, m.transport])).toEqual([['654321 is your code', 'sms-outbox']]);
    expect(lines.find((l) => l.msg === 'text message (no LATCHKEY_SMS_URL: kept in the outbox)')).toMatchObject({ to: '+31699990000', text: '654321 is your code' });
    const listed = JSON.parse(cli(['outbox', 'list', '--tenant', 'demo', '--to', '+31699990000', '--json'])) as { transport: string }[];
    expect(listed.map((m) => m.transport)).toEqual(['sms-outbox']);
  });
});

describe('hourly limits per client address and per tenant', () => {
  it('holds them: the gateway receives no more than they allow, and each refusal is audited', async () => {
    const tenant = await createTenant(s.provision, 'capped');
    const policy = s.deps.policies.get('demo', 'B2C_1_phone')!;
    const limitedTo = (sms: Partial<TestServer['deps']['config']['sms']>) => ({ ...s.deps, config: { ...s.deps.config, sms: { ...s.deps.config.sms, ...sms } } });
    const perTenant = limitedTo({ perTenantHourly: 2 });
    const perAddress = limitedTo({ perAddressHourly: 3 });
    const send = (deps: typeof perTenant, t: typeof tenant, number: string, ip: string) =>
      sendSmsCode(deps, { tenant: t, policy, to: number, text: '123456 is your code', locale: 'en', ip, clientId: null, userId: null, purpose: 'test' });
    const before = received.length;
    // Per tenant: two an hour in 'capped', whatever the number or address.
    expect(await send(perTenant, tenant, '+31640000001', '198.51.100.1')).toEqual({ ok: true });
    expect(await send(perTenant, tenant, '+31640000002', '198.51.100.2')).toEqual({ ok: true });
    expect(await send(perTenant, tenant, '+31640000003', '198.51.100.3')).toEqual({ ok: false, reason: 'tenant_limit' });
    // Per address: three an hour from one address, across tenants.
    for (const n of ['+31650000001', '+31650000002', '+31650000003']) expect(await send(perAddress, s.tenant, n, '203.0.113.9')).toEqual({ ok: true });
    expect(await send(perAddress, tenant, '+31650000004', '203.0.113.9')).toEqual({ ok: false, reason: 'address_limit' });
    // The same address as a dual-stack listener writes it, and an IPv6 client's /64, are one address each.
    expect(await send(perAddress, tenant, '+31650000005', '::ffff:203.0.113.9')).toEqual({ ok: false, reason: 'address_limit' });
    for (const ip of ['2001:db8:7:8::1', '2001:db8:7:8::2', '2001:db8:7:8:aaaa::3']) expect(await send(perAddress, s.tenant, `+3166000000${ip.slice(-1)}`, ip)).toEqual({ ok: true });
    expect(await send(perAddress, tenant, '+31660000009', '2001:db8:7:8:ffff:ffff:ffff:9')).toEqual({ ok: false, reason: 'address_limit' });
    expect(await send(perAddress, s.tenant, '+31660000008', '2001:db8:7:9::1')).toEqual({ ok: true });
    await expect.poll(() => received.length).toBe(before + 9);
    expect(received.slice(before).map((r) => r.body.tenant)).toEqual(['capped', 'capped', 'demo', 'demo', 'demo', 'demo', 'demo', 'demo', 'demo']);
    expect(to('+31640000003')).toHaveLength(0);
    expect(to('+31650000004')).toHaveLength(0);
    // An hour later the windows are new.
    s.clock.advance(3_600_000);
    expect(await send(perTenant, tenant, '+31640000003', '198.51.100.3')).toEqual({ ok: true });
    const audit = await s.deps.store.listAuditEvents({ tenantId: tenant.id, event: 'sms_code', outcome: 'failure' });
    expect(audit.map((e) => e.detail)).toEqual([
      expect.stringContaining('address limit of 3 an hour reached'),
      expect.stringContaining('address limit of 3 an hour reached'),
      expect.stringContaining('address limit of 3 an hour reached'),
      expect.stringContaining('tenant limit of 2 an hour reached'),
    ]);
  });
});

describe("Graph's phoneMethods", () => {
  async function token(role: string, slug = 'demo'): Promise<string> {
    const tenant = (await s.deps.store.findTenant(slug))!;
    const { app, clientSecret } = await createApp(s.provision, tenant, { name: `phones-${role}`, type: 'daemon' });
    const api = await requireApp(s.provision, tenant, ADMIN_API_URI);
    await s.deps.store.addGrant({ clientId: app.clientId, apiClientId: api.clientId, kind: 'role', name: role });
    const res = await fetch(`${s.baseUrl}/${slug}/B2C_1_signin/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${clientSecret!}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${ADMIN_API_URI}/.default` }),
    });
    return ((await res.json()) as { access_token: string }).access_token;
  }

  it('lists, adds, reads, changes and deletes a user\'s phones in Graph\'s shape; the mobile phone is the SMS factor', async () => {
    const writer = await token('User.ReadWrite.All');
    const reader = await token('User.Read.All');
    const user = await s.createUser('graph-phone@example.com', PASSWORD);
    const base = `${s.baseUrl}/demo/graph/v1.0/users/${user.id}/authentication/phoneMethods`;
    const call = (method: string, url: string, t: string, body?: unknown) =>
      fetch(url, { method, headers: { authorization: `Bearer ${t}`, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });

    expect(((await (await call('GET', base, reader)).json()) as { value: unknown[] }).value).toEqual([]);
    const created = await call('POST', base, writer, { phoneNumber: '+31 612345679', phoneType: 'mobile' });
    expect(created.status).toBe(201);
    expect(await created.json()).toMatchObject({ id: '3179e48a-750b-4051-897c-87b9720928f7', phoneNumber: '+31 612345679', phoneType: 'mobile' });
    // One phone of each type (Graph answers a second one as it answers any taken value: 400).
    const second = await call('POST', base, writer, { phoneNumber: '+31 612345670', phoneType: 'mobile' });
    expect(second.status).toBe(400);
    expect(((await second.json()) as { error: { message: string } }).error.message).toBe("The user already has a phone of type 'mobile'.");
    expect((await call('POST', base, writer, { phoneNumber: '612345670', phoneType: 'office' })).status).toBe(400);
    expect((await call('POST', base, writer, { phoneNumber: '+1 2065550100', phoneType: 'pager' })).status).toBe(400);
    expect((await call('POST', base, reader, { phoneNumber: '+1 2065550100', phoneType: 'office' })).status).toBe(403);
    expect((await call('POST', base, writer, { phoneNumber: '+1 2065550100', phoneType: 'office' })).status).toBe(201);

    const listed = (await (await call('GET', base, reader)).json()) as { value: { id: string; phoneType: string; phoneNumber: string }[] };
    expect(listed.value.map((p) => [p.phoneType, p.phoneNumber])).toEqual([['mobile', '+31 612345679'], ['office', '+1 2065550100']]);
    const mobileUrl = `${base}/3179e48a-750b-4051-897c-87b9720928f7`;
    expect((await call('PATCH', mobileUrl, writer, { phoneNumber: '+31 687654321' })).status).toBe(204);
    expect(await (await call('GET', mobileUrl, reader)).json()).toMatchObject({ phoneNumber: '+31 687654321', phoneType: 'mobile' });
    const shown = JSON.parse(cli(['user', 'show', '--tenant', 'demo', '--user', 'graph-phone@example.com', '--json'])) as { smsPhoneNumber?: string };
    expect(shown.smsPhoneNumber).toBe('+31687654321');

    expect((await call('DELETE', mobileUrl, writer)).status).toBe(204);
    const gone = await call('GET', mobileUrl, reader);
    expect(gone.status).toBe(404);
    expect(((await gone.json()) as { error: { code: string } }).error.code).toBe('Request_ResourceNotFound');

    // Tenant-scoped as the rest of Graph: another tenant's token does not reach this tenant's users.
    await createTenant(s.provision, 'elsewhere');
    const stranger = await token('User.ReadWrite.All', 'elsewhere');
    expect((await call('GET', base, stranger)).status).toBe(401);
    expect((await call('GET', `${s.baseUrl}/elsewhere/graph/v1.0/users/${user.id}/authentication/phoneMethods`, stranger)).status).toBe(404);
  });
});
