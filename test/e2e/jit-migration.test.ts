import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { setTenantSettings } from '../../src/services/tenants.js';
import { authenticateLocal } from '../../src/services/local-auth.js';
import { graphFromUser } from '../../src/services/graph-users.js';
import { importUsers } from '../../src/services/user-import.js';
import { finishFlow, newPage, startFlow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';

/**
 * Just-in-time password migration, end to end. The "old B2C" is a second Latchkey with an ROPC policy;
 * its users are exported in Graph's shape (no hashes, as B2C exports them) and imported here. At each
 * user's first sign-in the typed password is checked at the old ROPC endpoint and, when right, hashed
 * here; from then on the old provider is not needed.
 */
let oldIdp: TestServer | undefined;
let here: TestServer;
let rp: RelyingParty;
let browser: Browser;
let appId: string;
const ids = new Map<string, string>();

beforeAll(async () => {
  oldIdp = await startServer();
  // The old identity provider runs on this machine: the operator allows it.
  here = await startServer({ env: { LATCHKEY_OUTBOUND_ALLOW: LOOPBACK_ALLOWED } });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  writeFileSync(join(oldIdp.dir, 'policies', 'demo', 'B2C_1_ROPC.json'), JSON.stringify({ id: 'B2C_1_ROPC', kind: 'ropc' }));
  const ropcApp = (await oldIdp.createApp({ name: 'migration', type: 'native', redirectUris: ['http://127.0.0.1:9/unused'], allowRopc: true })).app.clientId;
  for (const [email, password] of [['ann@example.com', 'ann-old-password-1'], ['ben@example.com', 'ben-old-password-1'], ['cid@example.com', 'cid-old-password-1']] as const) {
    ids.set(email, (await oldIdp.createUser(email, password, { displayName: email.split('@')[0] })).id);
  }
  for (let i = 0; i < 100 && oldIdp.deps.policies.get('demo', 'B2C_1_ROPC') === undefined; i++) await new Promise((r) => setTimeout(r, 50));

  // The old tenant's users in Graph's shape, without hashes: what an export from B2C gives.
  const rows = [];
  for (const u of await oldIdp.deps.store.listUsers(oldIdp.tenant.id)) rows.push(JSON.stringify(graphFromUser(oldIdp.tenant, u, [])));
  const file = join(here.dir, 'from-b2c.jsonl');
  writeFileSync(file, rows.join('\n'));
  expect(await importUsers(here.provision, here.tenant, file, { reportPath: join(here.dir, 'report.jsonl') })).toMatchObject({ imported: 3, failed: 0 });
  await setTenantSettings(here.provision, here.tenant, { legacyRopc: { tokenUrl: `${oldIdp.baseUrl}/demo/B2C_1_ROPC/oauth2/v2.0/token`, clientId: ropcApp } });
  appId = (await here.createApp({ name: 'app', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await oldIdp?.close();
  await here?.close();
});

async function signIn(page: Page, email: string, password: string) {
  await page.getByLabel('Email Address').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

const flow = () => startFlow({ baseUrl: here.baseUrl, policy: 'B2C_1_signin', clientId: appId, redirectUri: `${rp.url}/cb`, scope: 'openid' });

describe('just-in-time password migration', () => {
  it('imported users have no hash and wait for their first sign-in', async () => {
    const ann = (await here.deps.store.findUser(here.tenant.id, ids.get('ann@example.com')!))!;
    expect(ann.passwordHash).toBeNull();
    expect(ann.passwordAtLegacy).toBe(true);
  });

  it('refuses a wrong password without storing anything, then takes the right one and keeps its own hash', async () => {
    const { context, page } = await newPage(browser);
    const f = await flow();
    await page.goto(f.url.toString());
    await signIn(page, 'ann@example.com', 'not-her-password');
    await page.getByText('Invalid username or password.').waitFor();
    let ann = (await here.deps.store.findUser(here.tenant.id, ids.get('ann@example.com')!))!;
    expect(ann.passwordHash).toBeNull();
    expect(ann.passwordAtLegacy).toBe(true);

    await signIn(page, 'ann@example.com', 'ann-old-password-1');
    const claims = (await finishFlow(page, f)).claims()!;
    // The same object id as at the old provider: nothing changes for the app.
    expect(claims.sub).toBe(ids.get('ann@example.com'));
    ann = (await here.deps.store.findUser(here.tenant.id, ann.id))!;
    expect(ann.passwordHash).toMatch(/^scrypt\$/);
    expect(ann.passwordAtLegacy).toBe(false);
    const events = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id });
    expect(events.filter((e) => e.event === 'password_migrated' && e.outcome === 'success').map((e) => e.subject)).toEqual([ann.id]);
    await context.close();
  });

  it("calls the old provider no more often than the tenant's rate allows (tenant set --legacy-rate)", async () => {
    const tenant = await setTenantSettings(here.provision, here.tenant, { legacyRate: 1 });
    const attempt = () => authenticateLocal(here.deps, tenant, { signInName: 'cid@example.com', password: 'cid-old-password-1', clientId: null, ip: '127.0.0.1', via: 'test', accepts: ['emailAddress'] });
    // Six first sign-ins at once: one call a second goes out, the others are told to try again in a moment.
    // (The default, 20 a second, would let all six through.)
    const outcomes = await Promise.all(Array.from({ length: 6 }, attempt));
    expect(outcomes.every((o) => o.ok || o.reason === 'legacy_busy')).toBe(true);
    // At most one a second: this second's and, had the window just turned, the next one's.
    expect(outcomes.filter((o) => !o.ok).length).toBeGreaterThanOrEqual(4);
    // A moment later a call goes out again.
    let later = await attempt();
    for (let i = 0; i < 50 && !later.ok; i++) {
      await new Promise((r) => setTimeout(r, 100));
      later = await attempt();
    }
    expect(later.ok).toBe(true);
    const refused = await here.deps.store.listAuditEvents({ tenantId: here.tenant.id, event: 'password_migrated', outcome: 'failure' });
    expect(refused.some((e) => e.detail === 'too many calls to the old identity provider; not called')).toBe(true);
    await setTenantSettings(here.provision, here.tenant, { legacyRate: null });
  });

  it('signs the migrated user in with the old provider stopped; a user not migrated yet gets a clear page', async () => {
    await oldIdp!.close();
    oldIdp = undefined;

    const first = await newPage(browser);
    const f = await flow();
    await first.page.goto(f.url.toString());
    await signIn(first.page, 'ann@example.com', 'ann-old-password-1');
    expect((await finishFlow(first.page, f)).claims()!.sub).toBe(ids.get('ann@example.com'));
    await first.context.close();

    const second = await newPage(browser);
    await second.page.goto((await flow()).url.toString());
    await signIn(second.page, 'ben@example.com', 'ben-old-password-1');
    await second.page.getByText("We can't check your password right now. Please try again in a few minutes.").waitFor();
    const ben = (await here.deps.store.findUser(here.tenant.id, ids.get('ben@example.com')!))!;
    expect(ben.passwordHash).toBeNull();
    expect(ben.passwordAtLegacy).toBe(true);
    // Not counted as a wrong password: the old provider being down is nobody's failed attempt.
    expect((await here.deps.store.getLoginThrottle(here.tenant.id, 'ben@example.com')).failures).toBe(0);
    await second.context.close();
  });
});
