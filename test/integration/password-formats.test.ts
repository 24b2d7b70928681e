import { pbkdf2Sync, randomBytes, randomUUID, scryptSync } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { argon2id, bcrypt } from 'hash-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importUsers } from '../../src/services/user-import.js';
import { Agent, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Users moved from other systems keep their passwords: each foreign hash format is imported, signs in
 * on the sign-in page, and is replaced by Latchkey's own scrypt hash after that first sign-in.
 */
const CB = 'http://127.0.0.1:9/cb';
let s: TestServer;
let app: string;

/** passlib's "adapted base64": standard base64 without padding, '.' for '+'. */
const ab64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '').replace(/\+/g, '.');
const b64 = (b: Buffer) => b.toString('base64');

interface Case {
  format: string;
  email: string;
  password: string;
  hash: () => Promise<unknown>;
}

const cases: Case[] = [
  {
    format: 'bcrypt ($2b$, as Node and most libraries write it)',
    email: 'bea@example.com',
    password: 'bea-old-password',
    hash: async () => (await bcrypt({ password: 'bea-old-password', salt: randomBytes(16), costFactor: 6, outputType: 'encoded' })).replace(/^\$2a\$/, '$2b$'),
  },
  {
    format: 'bcrypt ($2y$, as PHP writes it)',
    email: 'yann@example.com',
    password: 'yann-old-password',
    hash: async () => (await bcrypt({ password: 'yann-old-password', salt: randomBytes(16), costFactor: 6, outputType: 'encoded' })).replace(/^\$2a\$/, '$2y$'),
  },
  {
    format: 'argon2id (PHC string)',
    email: 'ari@example.com',
    password: 'ari-old-password',
    hash: () => argon2id({ password: 'ari-old-password', salt: randomBytes(16), parallelism: 1, iterations: 2, memorySize: 4096, hashLength: 32, outputType: 'encoded' }),
  },
  {
    format: "PBKDF2-SHA256 (Keycloak's credential)",
    email: 'kay@example.com',
    password: 'kay-old-password',
    hash: async () => {
      const salt = randomBytes(16);
      return {
        type: 'password',
        secretData: JSON.stringify({ value: b64(pbkdf2Sync('kay-old-password', salt, 27_500, 64, 'sha256')), salt: b64(salt), additionalParameters: {} }),
        credentialData: JSON.stringify({ hashIterations: 27_500, algorithm: 'pbkdf2-sha256', additionalParameters: {} }),
      };
    },
  },
  {
    format: "PBKDF2-SHA512 (Keycloak's credential)",
    email: 'kit@example.com',
    password: 'kit-old-password',
    hash: async () => {
      const salt = randomBytes(16);
      return {
        type: 'password',
        secretData: JSON.stringify({ value: b64(pbkdf2Sync('kit-old-password', salt, 30_000, 64, 'sha512')), salt: b64(salt), additionalParameters: {} }),
        credentialData: JSON.stringify({ hashIterations: 30_000, algorithm: 'pbkdf2-sha512', additionalParameters: {} }),
      };
    },
  },
  {
    format: 'PBKDF2-SHA512 (PHC string, passlib)',
    email: 'pat@example.com',
    password: 'pat-old-password',
    hash: async () => {
      const salt = randomBytes(16);
      return `$pbkdf2-sha512$25000$${ab64(salt)}$${ab64(pbkdf2Sync('pat-old-password', salt, 25_000, 64, 'sha512'))}`;
    },
  },
  {
    format: 'PBKDF2-SHA256 (PHC string with i=)',
    email: 'phil@example.com',
    password: 'phil-old-password',
    hash: async () => {
      const salt = randomBytes(16);
      return `$pbkdf2-sha256$i=29000$${ab64(salt)}$${ab64(pbkdf2Sync('phil-old-password', salt, 29_000, 32, 'sha256'))}`;
    },
  },
  {
    format: 'scrypt (PHC string)',
    email: 'sky@example.com',
    password: 'sky-old-password',
    hash: async () => {
      const salt = randomBytes(16);
      return `$scrypt$ln=14,r=8,p=1$${ab64(salt)}$${ab64(scryptSync('sky-old-password', salt, 32, { N: 2 ** 14, r: 8, p: 1 }))}`;
    },
  },
  {
    format: "argon2 (Keycloak's credential)",
    email: 'kora@example.com',
    password: 'kora-old-password',
    hash: async () => {
      const salt = randomBytes(16);
      const raw = Buffer.from(await argon2id({ password: 'kora-old-password', salt, parallelism: 1, iterations: 3, memorySize: 7168, hashLength: 32, outputType: 'binary' }));
      return {
        type: 'password',
        secretData: JSON.stringify({ value: b64(raw), salt: b64(salt), additionalParameters: {} }),
        credentialData: JSON.stringify({ hashIterations: 3, algorithm: 'argon2', additionalParameters: { hashLength: ['32'], memory: ['7168'], type: ['id'], version: ['1.3'], parallelism: ['1'] } }),
      };
    },
  },
];

const ids = new Map<string, string>();

beforeAll(async () => {
  s = await startServer();
  app = (await s.createApp({ name: 'app', type: 'native', redirectUris: [CB] })).app.clientId;
  const rows = await Promise.all(
    cases.map(async (c) => {
      const id = randomUUID();
      ids.set(c.email, id);
      return JSON.stringify({ id, displayName: c.email, identities: [{ signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: c.email }], passwordHash: await c.hash() });
    }),
  );
  const file = join(s.dir, 'users.jsonl');
  writeFileSync(file, rows.join('\n'));
  const summary = await importUsers(s.provision, s.tenant, file, { reportPath: join(s.dir, 'report.jsonl') });
  expect(summary).toEqual({ imported: cases.length, updated: 0, skipped: 0, failed: 0 });
});

afterAll(async () => {
  await s.close();
});

function authorizeUrl(): string {
  return `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: app, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: pkce().challenge, code_challenge_method: 'S256' })}`;
}

describe('imported password hashes', () => {
  for (const c of cases) {
    it(`signs in with ${c.format}, then keeps Latchkey's own hash`, async () => {
      const before = (await s.deps.store.findUser(s.tenant.id, ids.get(c.email)!))!;
      expect(before.passwordHash!.startsWith('scrypt$')).toBe(false);
      // A wrong password is refused and changes nothing.
      const wrong = await signInViaPages(new Agent(), s.baseUrl, authorizeUrl(), c.email, 'not-the-password').catch((e: Error) => e);
      expect(wrong).toBeInstanceOf(Error);
      expect((await s.deps.store.findUser(s.tenant.id, before.id))!.passwordHash).toBe(before.passwordHash);

      const back = await signInViaPages(new Agent(), s.baseUrl, authorizeUrl(), c.email, c.password);
      expect(back.searchParams.get('code')).toBeTruthy();
      const after = (await s.deps.store.findUser(s.tenant.id, before.id))!;
      expect(after.passwordHash).toMatch(/^scrypt\$12\$8\$1\$/);
      // The new hash works, and the old format is gone.
      expect((await signInViaPages(new Agent(), s.baseUrl, authorizeUrl(), c.email, c.password)).searchParams.get('code')).toBeTruthy();
    });
  }

  it('refuses a hash in no known format at import, with the reason in the report', async () => {
    const file = join(s.dir, 'bad.jsonl');
    writeFileSync(file, JSON.stringify({ id: randomUUID(), identities: [{ signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: 'md5@example.com' }], passwordHash: '5f4dcc3b5aa765d61d8327deb882cf99' }));
    const summary = await importUsers(s.provision, s.tenant, file, { reportPath: join(s.dir, 'bad-report.jsonl') });
    expect(summary.failed).toBe(1);
    const { readFileSync } = await import('node:fs');
    expect(JSON.parse(readFileSync(summary.report!, 'utf8')).reason).toMatch(/^passwordHash is in no supported format/);
  });

  it('refuses hashes that cost more than Latchkey checks, at import and if one is already stored', async () => {
    const salt = 'c2FsdHNhbHRzYWx0c2FsdA';
    const costly = [
      `$scrypt$ln=40,r=8,p=1$${salt}$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA`,
      `$2b$31$${'a'.repeat(53)}`,
      `$argon2id$v=19$m=4194304,t=3,p=1$${salt}$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA`,
      `$pbkdf2-sha512$99999999$${salt}$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaA`,
    ];
    const file = join(s.dir, 'costly.jsonl');
    writeFileSync(file, costly.map((passwordHash, i) => JSON.stringify({ id: randomUUID(), identities: [{ signInType: 'emailAddress', issuer: 'demo.onmicrosoft.com', issuerAssignedId: `costly${i}@example.com` }], passwordHash })).join('\n'));
    const summary = await importUsers(s.provision, s.tenant, file, { reportPath: join(s.dir, 'costly-report.jsonl') });
    expect(summary.failed).toBe(costly.length);
    const { readFileSync } = await import('node:fs');
    const reasons = readFileSync(summary.report!, 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { reason: string }).reason);
    expect(reasons.every((r) => /^passwordHash: .*(more than|costs more)/.test(r))).toBe(true);
    // One that got in before the limits (written straight into the database) is never computed: the sign-in just fails.
    const u = await s.createUser('stored-costly@example.com', 'some-password-1');
    s.db.prepare('UPDATE users SET password_hash = ? WHERE id = ?').run(costly[0], u.id);
    const started = Date.now();
    const { challenge } = pkce();
    const url = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: app, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    await expect(signInViaPages(new Agent(), s.baseUrl, url, 'stored-costly@example.com', 'some-password-1')).rejects.toThrow(/answered 200/);
    expect(Date.now() - started).toBeLessThan(20_000);
  });
});
