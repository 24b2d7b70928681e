import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort } from '../helpers/server.js';
import { httpsRequest, makeCert, type TestCert } from '../helpers/tls.js';
import { issueHostCertificate, makeHostCertificates, presentedCertificate } from '../helpers/hosts.js';

/** LATCHKEY_TLS_CERT / LATCHKEY_TLS_KEY: the built server serves https itself. */
const main = join(import.meta.dirname, '..', '..', 'dist', 'main.js');
let dir: string;
let cert: TestCert;
let base: string;
let child: ReturnType<typeof spawn>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'latchkey-tls-'));
  cert = makeCert(dir);
  const port = await freePort();
  base = `https://localhost:${port}`;
  child = spawn(process.execPath, [main], {
    env: {
      PATH: process.env.PATH,
      PORT: String(port),
      HOST: '127.0.0.1',
      LATCHKEY_BASE_URL: base,
      LATCHKEY_DB: join(dir, 'l.db'),
      LATCHKEY_POLICIES_DIR: join(dir, 'policies'),
      LATCHKEY_TLS_CERT: cert.certPath,
      LATCHKEY_TLS_KEY: cert.keyPath,
      LATCHKEY_LOG_LEVEL: 'warn',
    },
    stdio: 'ignore',
  });
  for (let i = 0; ; i++) {
    try {
      if ((await httpsRequest(`${base}/health`, cert.cert)).status === 200) break;
    } catch {
      if (i > 400) throw new Error('https server did not start');
      await new Promise((r) => setTimeout(r, 25));
    }
  }
});

afterAll(async () => {
  child.kill('SIGTERM');
  await new Promise((r) => child.once('exit', r));
  rmSync(dir, { recursive: true, force: true });
});

describe('https', () => {
  it('serves metadata with https endpoints', async () => {
    const res = await httpsRequest(`${base}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`, cert.cert);
    expect(res.status).toBe(200);
    const doc = JSON.parse(res.body) as { issuer: string; token_endpoint: string };
    expect(doc.issuer).toMatch(/^https:\/\/localhost:\d+\/[0-9a-f-]{36}\/v2\.0\/$/);
    expect(doc.token_endpoint).toBe(`${base}/demo/b2c_1_signin/oauth2/v2.0/token`);
  });

  it('sets Secure cookies with the __Host- prefix', async () => {
    const page = await httpsRequest(`${base}/playground/run?tenant=demo&p=B2C_1_signin`, cert.cert);
    const authorize = await httpsRequest(page.headers.location as string, cert.cert);
    const cookies = [authorize.headers['set-cookie'] ?? []].flat();
    expect(cookies.some((c) => /^__Host-lk_browser=.*; Path=\/; HttpOnly; Secure; SameSite=Lax/.test(c))).toBe(true);
  });
});

/** LATCHKEY_TLS_DIR: a certificate per host name by SNI, read again when its files change. */
describe('certificates by host name (LATCHKEY_TLS_DIR)', () => {
  let tlsDir: string;
  let caDir: string;
  let ca: Buffer;
  let dirPort: number;
  let server: ReturnType<typeof spawn>;

  beforeAll(async () => {
    tlsDir = mkdtempSync(join(tmpdir(), 'latchkey-tls-dir-'));
    caDir = mkdtempSync(join(tmpdir(), 'latchkey-tls-ca-'));
    ({ ca } = makeHostCertificates(tlsDir, caDir, ['login.contoso.test', '*.id.example.test']));
    dirPort = await freePort();
    server = spawn(process.execPath, [main], {
      env: {
        PATH: process.env.PATH,
        PORT: String(dirPort),
        HOST: '127.0.0.1',
        LATCHKEY_BASE_URL: `https://localhost:${dirPort}`,
        LATCHKEY_DB: join(tlsDir, 'l.db'),
        LATCHKEY_POLICIES_DIR: join(tlsDir, 'policies'),
        LATCHKEY_TLS_DIR: tlsDir,
        LATCHKEY_TLS_CERT: cert.certPath,
        LATCHKEY_TLS_KEY: cert.keyPath,
        LATCHKEY_LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    for (let i = 0; ; i++) {
      try {
        if ((await httpsRequest(`https://localhost:${dirPort}/health`, cert.cert)).status === 200) break;
      } catch {
        if (i > 400) throw new Error('https server did not start');
        await new Promise((r) => setTimeout(r, 25));
      }
    }
  });

  afterAll(async () => {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    rmSync(tlsDir, { recursive: true, force: true });
    rmSync(caDir, { recursive: true, force: true });
  });

  it("answers each name with its own certificate, a wildcard's, or the default one", async () => {
    const contoso = await presentedCertificate(dirPort, 'login.contoso.test', [ca]);
    expect([contoso.subject.CN, contoso.authorized]).toEqual(['login.contoso.test', true]);
    const patterned = await presentedCertificate(dirPort, 'fabrikam.id.example.test', [ca]);
    expect([patterned.subject.CN, patterned.authorized]).toEqual(['*.id.example.test', true]);
    // A name with no files, and a name that is no host name (nothing of it reaches the file system): the default.
    for (const name of ['other.test', '..', 'a/../../etc']) expect((await presentedCertificate(dirPort, name, [cert.cert])).subject.CN, name).toBe('localhost');
  });

  it('serves a renewed certificate without a restart', async () => {
    const before = await presentedCertificate(dirPort, 'login.contoso.test', [ca]);
    issueHostCertificate(tlsDir, caDir, 'login.contoso.test');
    for (let i = 0; ; i++) {
      const now = await presentedCertificate(dirPort, 'login.contoso.test', [ca]);
      if (now.fingerprint256 !== before.fingerprint256) {
        expect(now.authorized).toBe(true);
        break;
      }
      if (i > 200) throw new Error('the renewed certificate was not served');
      await new Promise((r) => setTimeout(r, 50));
    }
  });
});
