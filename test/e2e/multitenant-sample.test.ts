import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { startMultitenant, type RunningMultitenant } from '../../examples/multitenant/start.js';
import { launchBrowser } from '../helpers/browser.js';
import { freePort } from '../helpers/server.js';

/** The multi-tenant sample (Timesheets + Latchkey with three tenants) used the way its README tells a newcomer to. */
const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'latchkey.js');
let dir: string;
let sample: RunningMultitenant;
let browser: Browser;

function latchkey(args: string[], input?: string) {
  return spawnSync(process.execPath, [cli, ...args], {
    env: { PATH: process.env.PATH, LATCHKEY_DB: sample.dbPath, LATCHKEY_POLICIES_DIR: sample.policiesDir, LATCHKEY_PASSWORD_COST: '12' },
    encoding: 'utf8',
    ...(input !== undefined ? { input } : {}),
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-multitenant-'));
  process.env.LATCHKEY_PASSWORD_COST = '12';
  sample = await startMultitenant({ dir, ports: { latchkey: await freePort(), web: await freePort() } });
  browser = await launchBrowser();
  // README step 2: a person in each customer organization.
  for (const [tenant, email, name] of [['contoso', 'ann@contoso.example', 'Ann'], ['fabrikam', 'ben@fabrikam.example', 'Ben']]) {
    const r = latchkey(['user', 'create', '--tenant', tenant!, '--email', email!, '--display-name', name!, '--password-stdin'], `${name!.toLowerCase()}-password-1\n`);
    expect(r.status, r.stderr).toBe(0);
  }
});

afterAll(async () => {
  await browser?.close();
  await sample?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function signIn(page: Page, email: string, password: string): Promise<void> {
  await page.goto(sample.webUrl);
  await page.getByRole('link', { name: 'Sign in with your work account' }).click();
  // /common asks which organization; the email's domain answers.
  await page.getByLabel('Email Address').fill(email);
  await page.getByRole('button', { name: 'Next' }).click();
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  // The first person of an organization consents, which adds the app to it.
  await page.getByRole('button', { name: 'Accept' }).click();
  await page.waitForURL(`${sample.webUrl}/`);
}

describe('multi-tenant sample', () => {
  it('signs in people of two organizations through /common and lists the tenants it saw; each organization has the app', async () => {
    const [contoso, fabrikam] = sample.apps.customers;
    const ann = await (await browser.newContext()).newPage();
    ann.setDefaultTimeout(10_000);
    await signIn(ann, 'ann@contoso.example', 'ann-password-1');
    await expect(ann.locator('#who').textContent()).resolves.toBe(`Signed in as Ann (ann@contoso.example) of tenant ${contoso!.id}.`);

    const ben = await (await browser.newContext()).newPage();
    ben.setDefaultTimeout(10_000);
    await signIn(ben, 'ben@fabrikam.example', 'ben-password-1');
    await expect(ben.locator('#tenant').textContent()).resolves.toBe(fabrikam!.id);
    await expect(ben.locator('#organizations li').allTextContents()).resolves.toEqual([`${contoso!.id}: ann@contoso.example`, `${fabrikam!.id}: ben@fabrikam.example`]);

    // README step 4: the app is in each organization, registered by the publisher.
    const listed = latchkey(['app', 'list', '--tenant', 'contoso', '--json']);
    expect(listed.status, listed.stderr).toBe(0);
    expect((JSON.parse(listed.stdout) as { name: string; home_tenant: string }[]).filter((a) => a.home_tenant === 'saas').map((a) => a.name)).toEqual(['Timesheets']);

    // Sign out goes through /common's logout and back to the app.
    await ann.getByRole('link', { name: 'Sign out' }).click();
    await ann.waitForURL(`${sample.webUrl}/`);
    await expect(ann.getByRole('link', { name: 'Sign in with your work account' }).count()).resolves.toBe(1);
  });
});
