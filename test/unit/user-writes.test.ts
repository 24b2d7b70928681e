import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * One owner for every write of a user: services/users*.ts creates and changes users, their
 * identities, passwords, profiles and enabled state (user-import.ts writes imported batches). A
 * journey step, the Graph API, the admin API or the CLI that called the store for one of these would
 * skip the checks and the audit event the services make, so this test names it.
 */
const USER_WRITES = ['createUser', 'addUserIdentity', 'removeUserIdentity', 'updateUserProfile', 'setUserSignIn', 'setUserPassword', 'setUserDisabled', 'deleteUser', 'importUsers', 'addUserRole', 'removeUserRole'];

const OWNERS = [
  /^services\/users(-[a-z-]+)?\.ts$/,
  /^services\/user-import\.ts$/,
];

const src = join(import.meta.dirname, '..', '..', 'src');

function* sources(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) yield* sources(path);
    else if (name.endsWith('.ts')) yield path;
  }
}

describe('user writes', () => {
  it('go through services/users*.ts only (the store itself aside)', () => {
    const call = new RegExp(String.raw`\bstore\s*\.\s*(${USER_WRITES.join('|')})\s*\(`, 'g');
    const elsewhere: string[] = [];
    for (const file of sources(src)) {
      const path = relative(src, file);
      if (path.startsWith('store/') || OWNERS.some((o) => o.test(path))) continue;
      for (const m of readFileSync(file, 'utf8').matchAll(call)) elsewhere.push(`${path}: store.${m[1]}`);
    }
    expect(elsewhere).toEqual([]);
  });
});
