import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { get, request, type RequestOptions } from 'node:https';

export interface TestCert {
  certPath: string;
  keyPath: string;
  cert: Buffer;
  key: Buffer;
}

/** The suite's certificate (vitest.config.ts makes it and puts it in NODE_EXTRA_CA_CERTS). */
export function suiteCert(): TestCert {
  const dir = process.env.LATCHKEY_TEST_CERT_DIR;
  if (!dir) throw new Error('LATCHKEY_TEST_CERT_DIR is not set: run the tests through vitest');
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

/** A self-signed certificate for localhost and 127.0.0.1, made with the machine's openssl. */
export function makeCert(dir: string): TestCert {
  const certPath = join(dir, 'cert.pem');
  const keyPath = join(dir, 'key.pem');
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', keyPath, '-out', certPath,
  ], { stdio: 'ignore' });
  return { certPath, keyPath, cert: readFileSync(certPath), key: readFileSync(keyPath) };
}

export interface HttpsResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** An https request that trusts `ca` (node's fetch takes no CA option). */
export function httpsRequest(url: string, ca: Buffer, opts: RequestOptions & { body?: string } = {}): Promise<HttpsResponse> {
  return new Promise((resolve, reject) => {
    const req = (opts.body === undefined && (opts.method ?? 'GET') === 'GET' ? get : request)(url, { ...opts, ca }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.end(opts.body);
    else if ((opts.method ?? 'GET') !== 'GET') req.end();
  });
}
