import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { defineConfig } from 'vitest/config';

// A self-signed certificate for localhost, made once. Test workers are forked after this runs, so
// NODE_EXTRA_CA_CERTS makes every node client in them (MSAL included) trust Latchkey's https.
const certDir = join(import.meta.dirname, 'node_modules', '.cache', 'latchkey-test-cert');
if (!existsSync(join(certDir, 'cert.pem'))) {
  mkdirSync(certDir, { recursive: true });
  execFileSync('openssl', [
    'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '3650', '-subj', '/CN=localhost',
    '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1',
    '-keyout', join(certDir, 'key.pem'), '-out', join(certDir, 'cert.pem'),
  ], { stdio: 'ignore' });
}
process.env.NODE_EXTRA_CA_CERTS = join(certDir, 'cert.pem');
process.env.LATCHKEY_TEST_CERT_DIR = certDir;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/setup/postgres.ts'],
    // Guards against hangs only: tests wait for conditions. CLI-heavy tests start dozens of processes,
    // which on a 2-core machine loaded by something else take a minute where they take seconds alone.
    testTimeout: 90_000,
    hookTimeout: 90_000,
    pool: 'forks',
    reporters: ['default'],
  },
});
