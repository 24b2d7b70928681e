import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import Database from 'better-sqlite3';
import { startTodo, type RunningTodo } from '../../examples/todo/start.js';
import { launchBrowser } from '../helpers/browser.js';
import { freePort } from '../helpers/server.js';

/** The to-do sample (web app + task API + Latchkey) used the way its README tells a newcomer to. */
const cli = join(import.meta.dirname, '..', '..', 'dist', 'cli', 'latchkey.js');
let dir: string;
let todo: RunningTodo;
let browser: Browser;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-todo-'));
  process.env.LATCHKEY_PASSWORD_COST = '12';
  todo = await startTodo({ dir, ports: { latchkey: await freePort(), api: await freePort(), web: await freePort() } });
  browser = await launchBrowser();
});

afterAll(async () => {
  await browser?.close();
  await todo?.close();
  rmSync(dir, { recursive: true, force: true });
});

function lastCode(email: string): string {
  const db = new Database(todo.dbPath, { readonly: true });
  try {
    const row = db.prepare('SELECT body FROM outbox WHERE to_address = ? ORDER BY id DESC LIMIT 1').get(email) as { body: string } | undefined;
    const m = /Your code is: (\d{6})/.exec(row?.body ?? '');
    if (!m) throw new Error(`no code for ${email}`);
    return m[1]!;
  } finally {
    db.close();
  }
}

async function signUp(page: Page, email: string, name: string): Promise<void> {
  await page.goto(todo.webUrl);
  await page.getByRole('link', { name: 'Sign up or sign in' }).click();
  await page.getByRole('button', { name: 'Sign up now' }).click();
  await page.getByLabel('Email Address').fill(email);
  await page.getByRole('button', { name: 'Send verification code' }).click();
  await page.getByLabel('Verification code').fill(lastCode(email));
  await page.getByRole('button', { name: 'Verify code' }).click();
  await page.getByLabel('New Password', { exact: true }).fill(`${name}-password-1`);
  await page.getByLabel('Confirm New Password').fill(`${name}-password-1`);
  await page.getByLabel('Given name').fill(name);
  await page.getByLabel('Display name').fill(name);
  await page.getByRole('button', { name: 'Create' }).click();
  await page.waitForURL(`${todo.webUrl}/`);
}

async function addTask(page: Page, text: string): Promise<void> {
  await page.getByLabel('New task').fill(text);
  await page.getByRole('button', { name: 'Add task' }).click();
  await page.waitForLoadState();
}

const taskList = (page: Page) => page.locator('#tasks li').allTextContents();

describe('to-do sample', () => {
  it('keeps each user to their own tasks, and shows a refused write once the grant is revoked', async () => {
    const ann = await (await browser.newContext()).newPage();
    const bob = await (await browser.newContext()).newPage();
    ann.setDefaultTimeout(10_000);
    bob.setDefaultTimeout(10_000);

    await signUp(ann, 'ann@todo.example', 'Ann');
    await expect(ann.locator('h1').textContent()).resolves.toBe('To-do list of Ann');
    await addTask(ann, 'Buy milk');
    await addTask(ann, 'Call mum');
    expect(await taskList(ann)).toEqual(['Buy milk', 'Call mum']);

    await signUp(bob, 'bob@todo.example', 'Bob');
    expect(await taskList(bob)).toEqual([]);
    await addTask(bob, 'Fix bike');
    expect(await taskList(bob)).toEqual(['Fix bike']);
    await ann.reload();
    expect(await taskList(ann)).toEqual(['Buy milk', 'Call mum']);

    // An operator takes the write permission away from the web app.
    const r = spawnSync(process.execPath, [cli, 'app', 'revoke', '--tenant', 'demo', '--app', todo.apps.webClientId, '--api', todo.apps.apiClientId, '--scope', 'tasks.write'], {
      env: { PATH: process.env.PATH, LATCHKEY_DB: todo.dbPath, LATCHKEY_POLICIES_DIR: join(dir, 'policies') },
      encoding: 'utf8',
    });
    expect(r.status, r.stderr).toBe(0);

    await addTask(ann, 'Water plants');
    await expect(ann.locator('#message').textContent()).resolves.toBe(
      'The task service refused to add the task: this app is not allowed to write tasks (insufficient_scope).',
    );
    // Listing still works.
    expect(await taskList(ann)).toEqual(['Buy milk', 'Call mum']);
  });
});
