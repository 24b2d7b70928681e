import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { createApp } from '../../src/services/apps.js';
import { declarePermission, grantAdminConsent, provision } from '../../src/services/enterprise-apps.js';
import { createTenant } from '../../src/services/tenants.js';
import { addDirectoryRole } from '../../src/services/users-roles.js';
import { COMMON_KEY_SET, type DirectoryRole } from '../../src/model/entities.js';
import { launchBrowser } from '../helpers/browser.js';
import { newPage } from '../helpers/browser-flow.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * The web console as an operator uses it, in Chromium against a real server: a Global Administrator
 * signs in through the tenant's own policy, finds and creates users, disables one (who then cannot
 * sign in), registers a web app and sees its secret once, edits a policy (an invalid edit shows the
 * problem at its JSON path and changes nothing; a valid one is live at once), rotates a key (the JWKS
 * shows both), and finds all of it in the audit view under their name. A Global Reader sees but cannot
 * change (the built CLI shows nothing changed), a user without a role is refused, and a cross-site
 * POST without the page's token is refused. Organizations too: a multi-tenant app registered here, the
 * tenant's email domains (the operator's to add, the console's to list and remove), directory roles given and taken on a user's page, and
 * the enterprise apps other tenants' consented apps become. Screenshots go to test-results/console/.
 */
const root = join(import.meta.dirname, '..', '..');
const shots = join(root, 'test-results', 'console');
const PASSWORD = 'Console-Passw0rd!';
let s: TestServer;
let browser: Browser;
let console_ = '';
let adminId = '';

function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const env = { ...process.env, LATCHKEY_DB: join(s.dir, 'latchkey.db'), LATCHKEY_POLICIES_DIR: join(s.dir, 'policies') };
  const r = spawnSync(process.execPath, [join(root, 'dist', 'cli', 'latchkey.js'), ...args], { env, encoding: 'utf8' });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

async function userWithRoles(email: string, roles: DirectoryRole[], name: string) {
  const user = await s.createUser(email, PASSWORD, { displayName: name });
  for (const role of roles) await addDirectoryRole(s.provision, s.tenant, user, role, { by: 'cli' });
  return user;
}

/** Opens the console in a fresh browser and signs in through the tenant's default policy. */
async function signIn(email: string, path = '/'): Promise<Page> {
  const { page } = await newPage(browser);
  await page.goto(`${console_}${path}`);
  await page.getByLabel('Email Address').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${console_}**`);
  return page;
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
}

/** Local sign-in straight at the policy, as an app would start it: whether this user gets in. */
async function canSignIn(email: string): Promise<boolean> {
  const { page, context } = await newPage(browser);
  try {
    await page.goto(`${s.baseUrl}/playground/run?tenant=demo&p=B2C_1_signupsignin`);
    await page.getByLabel('Email Address').fill(email);
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    // Either the token viewer (signed in) or the sign-in page again with its error.
    const outcome = await Promise.race([
      page.waitForURL('**/playground/callback**').then(() => true),
      page.locator('.error.pageLevel').waitFor().then(() => false),
    ]);
    return outcome;
  } finally {
    await context.close();
  }
}

beforeAll(async () => {
  mkdirSync(shots, { recursive: true });
  s = await startServer();
  console_ = `${s.baseUrl}/console/demo`;
  adminId = (await userWithRoles('ada.admin@contoso.example', ['GlobalAdministrator'], 'Ada Admin')).id;
  await userWithRoles('rita.reader@contoso.example', ['GlobalReader'], 'Rita Reader');
  await userWithRoles('nora.nobody@contoso.example', [], 'Nora Nobody');
  await s.createUser('maria.lopez@fabrikam.example', PASSWORD, { displayName: 'María López', givenName: 'María', familyName: 'López' });
  await s.createUser('mario.rossi@contoso.example', PASSWORD, { displayName: 'Mario Rossi' });
  browser = await launchBrowser();
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await s?.close();
});

describe('the web console', () => {
  it('lets a Global Administrator find, create and disable users (a disabled user cannot sign in)', async () => {
    const page = await signIn('ada.admin@contoso.example');
    await expect(page.getByRole('heading', { level: 1, name: 'Overview' }).isVisible()).resolves.toBe(true);
    await expect(page.getByRole('img', { name: /Sign-ins per hour/ }).isVisible()).resolves.toBe(true);
    // The administrator's own sign-in, counted in its hour.
    await expect(page.locator('#chart-desc').textContent()).resolves.toContain('1 successful and 0 failed sign-ins');
    await shot(page, 'overview');

    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Users' }).click();
    await page.getByLabel('Search by name, email or identity').fill('FABRIKAM');
    await page.getByRole('button', { name: 'Search' }).click();
    const results = page.getByRole('table', { name: /Users matching/ });
    await expect(results.getByRole('link').allTextContents()).resolves.toEqual(['María López']);
    await shot(page, 'users');

    await page.getByRole('link', { name: 'New user' }).click();
    await page.getByLabel('Email address').fill('new.hire@contoso.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByLabel('Display name').fill('New Hire');
    await page.getByRole('button', { name: 'Create user' }).click();
    await page.getByRole('heading', { level: 1, name: 'New Hire' }).waitFor();
    await expect(page.getByRole('status').textContent()).resolves.toContain('The user was created.');
    expect(await canSignIn('new.hire@contoso.example')).toBe(true);

    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Disable' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('The user was disabled');
    await shot(page, 'user');
    expect(await canSignIn('new.hire@contoso.example')).toBe(false);
    await page.context().close();
  });

  it('registers a web app and shows its secret once', async () => {
    const page = await signIn('ada.admin@contoso.example', '/apps');
    await page.getByRole('link', { name: 'Register an app' }).click();
    await page.getByLabel('Name', { exact: true }).fill('Contoso Web');
    await page.getByLabel('Type').selectOption('web');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://contoso.example/signin-oidc');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { level: 1, name: 'Contoso Web' }).waitFor();
    const secret = (await page.locator('#new-secret').textContent())!.trim();
    expect(secret).toMatch(/^[\w-]{40,}$/);
    await shot(page, 'app-secret-once');
    const clientId = (await page.locator('dl.facts dd code').first().textContent())!.trim();
    // The secret authenticates the app at the token endpoint (a code it never got is refused as a grant, not as a client).
    const token = await fetch(`${s.baseUrl}/demo/B2C_1_signupsignin/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: 'none', redirect_uri: 'https://contoso.example/signin-oidc' }),
    });
    expect(((await token.json()) as { error: string }).error).toBe('invalid_grant');
    // Shown once: the app's page never shows it again.
    await page.goto(`${console_}/apps/${clientId}`);
    expect(await page.content()).not.toContain(secret);
    await expect(page.getByRole('table', { name: 'Client secrets' }).getByRole('row').count()).resolves.toBe(2);
    // A single-page app beside the web app on the same registration, as the portal's Authentication blade adds one.
    await page.getByLabel('Single-page application redirect URIs').fill('https://contoso.example/spa');
    await page.getByRole('button', { name: 'Save redirect URIs' }).click();
    await page.waitForURL(/done=app-updated/);
    expect(await page.getByLabel('Single-page application redirect URIs').inputValue()).toBe('https://contoso.example/spa');
    const saved = (await s.deps.store.findApp(s.tenant.id, clientId))!;
    expect(saved).toMatchObject({ webRedirectUris: ['https://contoso.example/signin-oidc'], spaRedirectUris: ['https://contoso.example/spa'], publicClientRedirectUris: [] });
    // A URI is in one platform only: the same one under web too is refused on the page, and nothing changes.
    await page.getByLabel('Web redirect URIs').fill('https://contoso.example/signin-oidc\nhttps://contoso.example/spa');
    await page.getByRole('button', { name: 'Save redirect URIs' }).click();
    await page.getByRole('alert').waitFor();
    expect((await s.deps.store.findApp(s.tenant.id, clientId))!.webRedirectUris).toEqual(['https://contoso.example/signin-oidc']);
    await page.context().close();
  });

  it('saves a policy only when it is valid: an invalid edit shows the problem at its path and leaves the file; a valid one is live at once', async () => {
    const file = join(s.dir, 'policies', 'demo', 'B2C_1_signin.json');
    const before = readFileSync(file, 'utf8');
    const page = await signIn('ada.admin@contoso.example', '/policies');
    await shot(page, 'policies');
    await page.getByRole('link', { name: 'B2C_1_signin', exact: true }).click();
    const editor = page.getByLabel('policies/demo/B2C_1_signin.json');
    const policy = JSON.parse(await editor.inputValue()) as { tokens?: Record<string, unknown>; ui: Record<string, unknown> };

    const invalid = JSON.stringify({ ...policy, tokens: { ...policy.tokens, idTokenMinutes: 2 } }, null, 2);
    await editor.fill(invalid);
    await page.getByRole('button', { name: 'Save policy' }).click();
    const problems = page.getByRole('alert');
    await problems.waitFor();
    const line = invalid.split('\n').findIndex((l) => l.includes('"idTokenMinutes"')) + 1;
    await expect(problems.textContent()).resolves.toContain('$.tokens.idTokenMinutes');
    await expect(problems.getByRole('link', { name: `line ${line}` }).count()).resolves.toBe(1);
    await shot(page, 'policy-invalid');
    expect(readFileSync(file, 'utf8')).toBe(before);
    expect(s.deps.policies.get('demo', 'B2C_1_signin')?.tokens.idTokenMinutes).not.toBe(2);

    const valid = JSON.stringify({ ...policy, ui: { ...policy.ui, title: 'Welcome back to Contoso' } }, null, 2);
    await page.getByLabel('policies/demo/B2C_1_signin.json').fill(valid);
    await page.getByRole('button', { name: 'Save policy' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('saved and is live');
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ ui: { title: 'Welcome back to Contoso' } });
    // Live at once: the next sign-in page of the policy has the new title.
    const fresh = await newPage(browser);
    await fresh.page.goto(`${s.baseUrl}/playground/run?tenant=demo&p=B2C_1_signin`);
    await expect(fresh.page.title()).resolves.toBe('Welcome back to Contoso');
    await fresh.context.close();

    // Run now: the policy's journey (signed in already, so at once) and the tokens it issued.
    await page.getByRole('link', { name: 'Run now' }).click();
    await page.getByRole('heading', { level: 1, name: 'Tokens from B2C_1_signin' }).waitFor();
    await expect(page.getByRole('table', { name: 'Claims of the id_token' }).textContent()).resolves.toContain(adminId);
    await page.context().close();
  });

  it("edits identity providers with the administrator's rules (no environment variables; tenant secrets, set write-only), and registers a SAML app", async () => {
    const page = await signIn('ada.admin@contoso.example', '/identity-providers');
    const provider = (clientSecret: unknown) => JSON.stringify({ providers: [{ id: 'contoso-oidc', type: 'oidc', displayName: 'Contoso', discoveryUrl: 'https://login.contoso.example/.well-known/openid-configuration', clientId: 'latchkey', clientSecret }] }, null, 2);
    const editor = () => page.getByLabel('policies/demo/identity-providers.json');
    await editor().fill(provider({ env: 'CONTOSO_SECRET' }));
    await page.getByRole('button', { name: 'Save identity providers' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toMatch(/\$\.providers\[0\]\.clientSecret.*names an environment variable of the server/s);
    await editor().fill(provider({ secret: 'contoso-oidc' }));
    await page.getByRole('button', { name: 'Save identity providers' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain("the tenant has no secret 'contoso-oidc'");

    await page.getByRole('navigation', { name: 'Console sections' }).getByRole('link', { name: 'Tenant' }).click();
    await page.getByLabel('Name', { exact: true }).fill('contoso-oidc');
    await page.getByLabel('Value').fill('upstream-client-secret-value');
    await page.getByRole('button', { name: 'Set secret' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('its value is not shown again');
    expect(await page.content()).not.toContain('upstream-client-secret-value');

    await page.goto(`${console_}/identity-providers`);
    await editor().fill(provider({ secret: 'contoso-oidc' }));
    await page.getByRole('button', { name: 'Save identity providers' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('saved and are live');
    expect([...s.deps.policies.providers('demo').keys()]).toEqual(['contoso-oidc']);
    await expect(page.getByRole('table', { name: 'Identity providers in use' }).textContent()).resolves.toContain(`${s.baseUrl}/demo/federation/contoso-oidc/callback`);

    await page.goto(`${console_}/apps/new`);
    await page.getByLabel('Name', { exact: true }).fill('Contoso Wiki');
    await page.getByLabel('Type').selectOption('saml');
    await page.getByLabel('Entity id').fill('https://wiki.contoso.example/saml');
    await page.getByLabel('ACS URLs').fill('https://wiki.contoso.example/saml/acs');
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { level: 1, name: 'Contoso Wiki' }).waitFor();
    expect((await s.deps.store.listSamlApps(s.tenant.id)).map((a) => a.entityId)).toEqual(['https://wiki.contoso.example/saml']);
    // Removed from its page, audited as the administrator's change.
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Remove SAML application' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('The SAML application was removed');
    expect(await s.deps.store.listSamlApps(s.tenant.id)).toEqual([]);
    const removed = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'app_removed' });
    expect(removed[0]).toMatchObject({ actor: adminId, detail: expect.stringContaining('https://wiki.contoso.example/saml') });
    await page.context().close();
  });

  it('rotates a signing key in two steps: the next key is published first, then signs; the JWKS publishes both', async () => {
    const page = await signIn('ada.admin@contoso.example', '/keys');
    const before = (await s.deps.store.listSigningKeys(s.tenant.id)).map((k) => k.kid);
    expect(before).toHaveLength(1);
    // The tenant's own keys (the instance's, made once a multi-tenant app exists, are published beside them).
    const common = new Set((await s.deps.store.listSigningKeys(COMMON_KEY_SET)).map((k) => k.kid));
    const jwksKids = async () => ((await (await fetch(`${s.baseUrl}/demo/B2C_1_signupsignin/discovery/v2.0/keys`)).json()) as { keys: { kid: string }[] }).keys.map((k) => k.kid).filter((kid) => !common.has(kid));
    await page.getByRole('button', { name: 'Publish the next key' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('The next signing key is published');
    const prepared = (await s.deps.store.listSigningKeys(s.tenant.id)).find((k) => k.status === 'next')!;
    expect(prepared.kid).not.toBe(before[0]);
    // Published beside the active key, which still signs.
    expect(await jwksKids()).toEqual(expect.arrayContaining([before[0], prepared.kid]));
    expect((await s.deps.store.listSigningKeys(s.tenant.id)).find((k) => k.status === 'active')!.kid).toBe(before[0]);
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Rotate' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('The new signing key is active');
    await shot(page, 'keys');
    // The prepared key signs now; the old one stays published for its grace period.
    expect((await s.deps.store.listSigningKeys(s.tenant.id)).find((k) => k.status === 'active')!.kid).toBe(prepared.kid);
    const kids = await jwksKids();
    expect(kids).toHaveLength(2);
    expect(kids).toEqual(expect.arrayContaining([before[0], prepared.kid]));
    await page.context().close();
  });

  it('lists these actions in the audit view under the administrator who made them', async () => {
    const page = await signIn('ada.admin@contoso.example', '/audit');
    await page.getByLabel('User', { exact: true }).fill('ada.admin@contoso.example');
    await page.getByRole('button', { name: 'Filter' }).click();
    const rows = page.getByRole('table', { name: 'Audit events' }).getByRole('row');
    const byAda = (await rows.allTextContents()).filter((r) => r.includes('ada.admin@contoso.example'));
    for (const event of ['user_created', 'user_disabled', 'app_created', 'policy_written', 'key_rotated']) {
      expect(byAda.some((r) => r.includes(event) && r.includes('console')), event).toBe(true);
    }
    await shot(page, 'audit');
    const audited = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'key_rotated' });
    expect(audited[0]).toMatchObject({ actor: adminId, detail: expect.stringContaining('console') });
    await page.context().close();
  });

  it('registers a multi-tenant app (not a SAML one)', async () => {
    const page = await signIn('ada.admin@contoso.example', '/apps/new');
    const multiTenant = page.getByLabel("Accounts in any organization's directory (multi-tenant)");
    await page.getByLabel('Name', { exact: true }).fill('Contoso Partner Portal');
    await page.getByLabel('Type').selectOption('web');
    await page.getByLabel('Redirect URIs', { exact: true }).fill('https://partners.contoso.example/signin-oidc');
    await multiTenant.check();
    await page.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { level: 1, name: 'Contoso Partner Portal' }).waitFor();
    const clientId = (await page.locator('dl.facts dd code').first().textContent())!.trim();
    expect(await s.deps.store.findApp(s.tenant.id, clientId)).toMatchObject({ multiTenant: true, type: 'web', webRedirectUris: ['https://partners.contoso.example/signin-oidc'] });
    await expect(page.locator('dl.facts').textContent()).resolves.toContain("multi-tenant: accounts in any organization's directory");
    await page.goto(`${console_}/apps`);
    await expect(page.getByRole('row', { name: /Contoso Partner Portal/ }).textContent()).resolves.toContain('web, multi-tenant');

    // A SAML application serves its own tenant: the box is refused with it, and nothing is registered.
    await page.goto(`${console_}/apps/new`);
    await page.getByLabel('Name', { exact: true }).fill('Contoso Intranet');
    await page.getByLabel('Type').selectOption('saml');
    await page.getByLabel('Entity id').fill('https://intranet.contoso.example/saml');
    await page.getByLabel('ACS URLs').fill('https://intranet.contoso.example/saml/acs');
    await multiTenant.check();
    await page.getByRole('button', { name: 'Register' }).click();
    await expect(page.getByRole('alert').textContent()).resolves.toContain('multi-tenant is for OpenID Connect and OAuth apps');
    expect((await s.deps.store.listSamlApps(s.tenant.id)).map((a) => a.entityId)).not.toContain('https://intranet.contoso.example/saml');
    await page.context().close();
  });

  it("lists the tenant's email domains the operator added and removes one; adding one is the operator's alone", async () => {
    const listed = () => (JSON.parse(cli(['tenant', 'email-domain', 'list', '--tenant', 'demo', '--json']).stdout) as { domain: string }[]).map((d) => d.domain);
    expect(cli(['tenant', 'email-domain', 'add', '--tenant', 'demo', '--domain', 'Contoso.Example']).code).toBe(0);
    const page = await signIn('ada.admin@contoso.example', '/tenant');
    await expect(page.getByRole('table', { name: 'Email domains' }).textContent()).resolves.toContain('contoso.example');
    // A domain routes other people's sign-ins at /common: a tenant's administrator cannot claim one.
    await expect(page.getByRole('button', { name: 'Add email domain' }).count()).resolves.toBe(0);
    const csrf = await page.locator('input[name="csrf"]').first().getAttribute('value');
    const claim = await page.request.post(`${console_}/tenant/email-domains`, { form: { csrf: csrf!, domain: 'fabrikam.example' }, maxRedirects: 0 });
    expect(claim.status()).toBe(404);
    expect(listed()).toEqual(['contoso.example']);
    await shot(page, 'tenant');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('table', { name: 'Email domains' }).getByRole('button', { name: 'Remove' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('The email domain was removed');
    expect(listed()).toEqual([]);
    const audited = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'email_domain' });
    expect(audited.map((e) => [e.actor, e.detail])).toEqual(expect.arrayContaining([[adminId, 'removed contoso.example (console)']]));
    await page.context().close();
  });

  it("gives and takes directory roles on a user's page: a new Global Reader opens the console read-only", async () => {
    const gus = await s.createUser('gus.grey@contoso.example', PASSWORD, { displayName: 'Gus Grey' });
    const admin = await signIn('ada.admin@contoso.example', `/users/${gus.id}`);
    await expect(admin.getByRole('table', { name: 'Directory roles' }).count()).resolves.toBe(0);
    await admin.getByLabel('Directory role', { exact: true }).selectOption('GlobalReader');
    await admin.getByRole('button', { name: 'Give role' }).click();
    await expect(admin.getByRole('status').textContent()).resolves.toContain('The directory role was given');
    await expect(admin.getByRole('table', { name: 'Directory roles' }).textContent()).resolves.toContain('Global Reader');
    expect(await s.deps.store.listUserRoles(s.tenant.id, gus.id)).toEqual(['GlobalReader']);
    const given = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'directory_role', user: gus.id });
    expect(given[0]).toMatchObject({ actor: adminId, subject: gus.id, detail: 'added GlobalReader (console)' });

    // Gus opens the console now, read-only: roles shown, no buttons, and a change he sends is refused.
    const reader = await signIn('gus.grey@contoso.example', `/users/${gus.id}`);
    await reader.getByRole('heading', { level: 1, name: 'Gus Grey' }).waitFor();
    await expect(reader.getByText('You have read access (Global Reader)').isVisible()).resolves.toBe(true);
    await expect(reader.getByRole('table', { name: 'Directory roles' }).textContent()).resolves.toContain('Global Reader');
    await expect(reader.getByRole('button', { name: 'Give role' }).count()).resolves.toBe(0);
    await expect(reader.getByRole('button', { name: 'Take away' }).count()).resolves.toBe(0);
    const csrf = await reader.locator('input[name=csrf]').first().getAttribute('value');
    const escalate = await reader.request.post(`${console_}/users/${gus.id}/roles`, { form: { csrf: csrf!, role: 'GlobalAdministrator' }, maxRedirects: 0 });
    expect(escalate.status()).toBe(403);
    expect(await s.deps.store.listUserRoles(s.tenant.id, gus.id)).toEqual(['GlobalReader']);

    // An administrator cannot take their own Global Administrator role (the tenant always keeps one).
    await admin.goto(`${console_}/users/${adminId}`);
    await expect(admin.getByRole('table', { name: 'Directory roles' }).getByRole('button', { name: 'Take away' }).count()).resolves.toBe(0);
    const ownCsrf = await admin.locator('input[name=csrf]').first().getAttribute('value');
    const own = await admin.request.post(`${console_}/users/${adminId}/roles/remove`, { form: { csrf: ownCsrf!, role: 'GlobalAdministrator' }, maxRedirects: 0 });
    expect(own.status()).toBe(400);
    expect(await own.text()).toContain('you cannot take away your own Global Administrator role');
    expect(await s.deps.store.listUserRoles(s.tenant.id, adminId)).toEqual(['GlobalAdministrator']);
    // Nor disable or delete their own account (no buttons; a post is refused and changes nothing).
    await expect(admin.getByRole('button', { name: 'Disable' }).count()).resolves.toBe(0);
    await expect(admin.getByRole('button', { name: 'Delete user' }).count()).resolves.toBe(0);
    for (const action of ['disable', 'delete']) {
      const self = await admin.request.post(`${console_}/users/${adminId}/${action}`, { form: { csrf: ownCsrf! }, maxRedirects: 0 });
      expect(self.status()).toBe(400);
      expect(await self.text()).toContain(`you cannot ${action} your own account here`);
    }
    expect((await s.deps.store.findUser(s.tenant.id, adminId))?.disabled).toBe(false);

    // Taken away: his next request is refused.
    await admin.goto(`${console_}/users/${gus.id}`);
    admin.once('dialog', (d) => void d.accept());
    await admin.getByRole('table', { name: 'Directory roles' }).getByRole('button', { name: 'Take away' }).click();
    await expect(admin.getByRole('status').textContent()).resolves.toContain('The directory role was taken away');
    expect(await s.deps.store.listUserRoles(s.tenant.id, gus.id)).toEqual([]);
    const refused = await reader.goto(`${console_}/users`);
    expect(refused?.status()).toBe(403);
    await reader.getByRole('heading', { level: 1, name: 'Needs an administrator role' }).waitFor();
    await reader.context().close();
    await admin.context().close();
  });

  it("lists the enterprise apps other tenants' consented apps became, and a Global Administrator removes one", async () => {
    const saas = await createTenant(s.provision, 'saas', { displayName: 'SaaS Co' });
    const payroll = (await createApp(s.provision, saas, { name: 'Payroll sync', type: 'daemon', multiTenant: true })).app;
    await declarePermission(s.provision, saas, payroll, ADMIN_API_URI, 'role', 'User.Read.All');
    const timesheets = (await createApp(s.provision, saas, { name: 'Timesheets', type: 'web', redirectUris: ['https://timesheets.saas.example/cb'], multiTenant: true })).app;
    // Ada consents to the daemon for the organization; someone signed in to Timesheets for themselves.
    const ada = (await s.deps.store.findUser(s.tenant.id, adminId))!;
    await grantAdminConsent(s.deps, s.tenant, payroll, { user: ada, isAdmin: true }, [{ api: ADMIN_API_URI, kind: 'role', name: 'User.Read.All' }], '127.0.0.1');
    await provision(s.deps, s.tenant, timesheets, { by: adminId });

    const page = await signIn('ada.admin@contoso.example', '/apps');
    await page.getByRole('link', { name: 'Enterprise apps' }).click();
    await page.getByRole('heading', { level: 1, name: 'Enterprise apps' }).waitFor();
    const table = page.getByRole('table', { name: 'Enterprise apps' });
    const row = (name: string) => table.getByRole('row').filter({ hasText: name });
    const payrollRow = await row('Payroll sync').textContent();
    for (const text of [payroll.clientId, 'saas', `role ${ADMIN_API_URI}/User.Read.All`, 'Ada Admin']) expect(payrollRow).toContain(text);
    await expect(row('Timesheets').textContent()).resolves.toContain('each person consents for themselves');
    await shot(page, 'enterprise-apps');

    page.once('dialog', (d) => void d.accept());
    await row('Payroll sync').getByRole('button', { name: 'Remove' }).click();
    await expect(page.getByRole('status').textContent()).resolves.toContain('The enterprise app was removed');
    await expect(row('Payroll sync').count()).resolves.toBe(0);
    expect(await s.deps.store.findEnterpriseApp(s.tenant.id, payroll.clientId)).toBeUndefined();
    expect(await s.deps.store.findEnterpriseApp(s.tenant.id, timesheets.clientId)).toBeDefined();
    const removed = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'enterprise_app_removed' });
    expect(removed[0]).toMatchObject({ actor: adminId, clientId: payroll.clientId });
    await page.context().close();
  });

  it("shows a Global Reader everything and lets them change nothing (the CLI shows nothing changed)", async () => {
    const before = JSON.parse(cli(['user', 'show', '--tenant', 'demo', '--user', 'mario.rossi@contoso.example', '--json']).stdout) as { id: string; disabled: boolean };
    const keysBefore = cli(['keys', 'list', '--tenant', 'demo', '--json']).stdout;
    const page = await signIn('rita.reader@contoso.example', `/users/${before.id}`);
    await page.getByRole('heading', { level: 1, name: 'Mario Rossi' }).waitFor();
    await expect(page.getByText('You have read access (Global Reader)').isVisible()).resolves.toBe(true);
    await expect(page.getByRole('button', { name: 'Disable' }).count()).resolves.toBe(0);
    await shot(page, 'reader');
    // Even a form sent with the page's own token is refused.
    const csrf = await page.locator('input[name=csrf]').first().getAttribute('value');
    const disable = await page.request.post(`${console_}/users/${before.id}/disable`, { form: { csrf: csrf! }, maxRedirects: 0 });
    expect(disable.status()).toBe(403);
    expect(await disable.text()).toContain('Changes need the Global Administrator role');
    const rotate = await page.request.post(`${console_}/keys/rotate`, { form: { csrf: csrf! }, maxRedirects: 0 });
    expect(rotate.status()).toBe(403);
    await page.goto(`${console_}/keys`);
    await expect(page.getByRole('button', { name: 'Rotate' }).count()).resolves.toBe(0);
    await page.goto(`${console_}/enterprise-apps`);
    await expect(page.getByRole('table', { name: 'Enterprise apps' }).textContent()).resolves.toContain('Timesheets');
    await expect(page.getByRole('button', { name: 'Remove' }).count()).resolves.toBe(0);
    const removeApp = await page.request.post(`${console_}/enterprise-apps/remove`, { form: { csrf: csrf!, clientId: (await s.deps.store.listEnterpriseApps(s.tenant.id))[0]!.clientId }, maxRedirects: 0 });
    expect(removeApp.status()).toBe(403);
    expect(await s.deps.store.listEnterpriseApps(s.tenant.id)).toHaveLength(1);
    await page.goto(`${console_}/tenant`);
    expect(cli(['tenant', 'email-domain', 'add', '--tenant', 'demo', '--domain', 'reader.example']).code).toBe(0);
    await page.reload();
    await expect(page.getByRole('table', { name: 'Email domains' }).getByRole('button', { name: 'Remove' }).count()).resolves.toBe(0);
    const removeDomain = await page.request.post(`${console_}/tenant/email-domains/remove`, { form: { csrf: csrf!, domain: 'reader.example' }, maxRedirects: 0 });
    expect(removeDomain.status()).toBe(403);
    expect(cli(['tenant', 'email-domain', 'list', '--tenant', 'demo', '--json']).stdout).toContain('reader.example');
    expect(cli(['tenant', 'email-domain', 'remove', '--tenant', 'demo', '--domain', 'reader.example']).code).toBe(0);
    expect(JSON.parse(cli(['user', 'show', '--tenant', 'demo', '--user', 'mario.rossi@contoso.example', '--json']).stdout)).toMatchObject({ id: before.id, disabled: false });
    expect(cli(['keys', 'list', '--tenant', 'demo', '--json']).stdout).toBe(keysBefore);
    await page.context().close();
  });

  it('refuses a user without an administrator role', async () => {
    const { page, context } = await newPage(browser);
    await page.goto(`${console_}/`);
    await page.getByLabel('Email Address').fill('nora.nobody@contoso.example');
    await page.getByLabel('Password').fill(PASSWORD);
    const answer = page.waitForResponse((r) => r.url().startsWith(`${console_}/callback`));
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await answer).status()).toBe(403);
    await page.getByRole('heading', { level: 1, name: 'Needs an administrator role' }).waitFor();
    await shot(page, 'refused');
    // No session was made: the console asks to sign in again.
    const again = await page.request.get(`${console_}/users`, { maxRedirects: 0 });
    expect(again.status()).toBe(303);
    expect(again.headers().location).toContain('/signin');
    // Signing out of the tenant lets another person sign in from this browser.
    await page.getByRole('link', { name: 'Sign out, to sign in as someone else' }).click();
    await page.getByRole('heading', { level: 1, name: 'Signed out' }).waitFor();
    await page.getByRole('link', { name: 'Sign in again' }).click();
    await page.getByLabel('Email Address').fill('rita.reader@contoso.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Overview' }).waitFor();
    await context.close();
  });

  it("refuses a cross-site POST that lacks the page's token", async () => {
    const maria = (await s.deps.store.findUserBySignInName(s.tenant.id, 'maria.lopez@fabrikam.example'))!;
    // Another site's page that posts a form to the console as soon as it is opened.
    const evil: Server = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(`<!doctype html><form id="f" method="post" action="${console_}/users/${maria.id}/disable"></form><script>document.getElementById('f').submit()</script>`);
    });
    await new Promise<void>((resolve) => evil.listen(0, '127.0.0.1', resolve));
    try {
      const page = await signIn('ada.admin@contoso.example');
      const answer = page.waitForResponse((r) => r.url().endsWith(`/users/${maria.id}/disable`));
      await page.goto(`http://127.0.0.1:${(evil.address() as { port: number }).port}/`);
      const refused = await answer;
      expect(refused.status()).toBeGreaterThanOrEqual(401);
      expect(refused.status()).toBeLessThanOrEqual(403);
      expect((await s.deps.store.findUser(s.tenant.id, maria.id))?.disabled).toBe(false);
      await page.context().close();
    } finally {
      await new Promise((resolve) => evil.close(resolve));
    }
  });

  it('is usable on a phone', async () => {
    const context = await browser.newContext({ viewport: { width: 390, height: 844 }, isMobile: true, hasTouch: true });
    const page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(`${console_}/users`);
    await page.getByLabel('Email Address').fill('ada.admin@contoso.example');
    await page.getByLabel('Password').fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Users' }).waitFor();
    // Nothing wider than the screen but the tables, which scroll in their own box.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await shot(page, 'phone-users');
    await context.close();
  });
});
