import { execFileSync } from 'node:child_process';
import { lookup as dnsLookup } from 'node:dns';
import { readFileSync, writeFileSync } from 'node:fs';
import type { LookupFunction } from 'node:net';
import { join } from 'node:path';
import { connect, rootCertificates, type PeerCertificate } from 'node:tls';
import { Agent, fetch as undiciFetch } from 'undici';

/**
 * Host names of tenants' own (custom domains) on one test server: every name is mapped to 127.0.0.1 by
 * the clients themselves (an undici Agent's DNS lookup for Node, `--host-resolver-rules` for Chromium),
 * never by /etc/hosts. Certificates are made with openssl, signed by a test CA of their own.
 */

export interface HostCertificates {
  /** The test CA's certificate (PEM), for Node clients. */
  ca: Buffer;
  /** base64 SHA-256 of each leaf's public key, for Chromium's --ignore-certificate-errors-spki-list. */
  spki: string[];
}

/** base64 SHA-256 of a certificate's public key (Chromium's --ignore-certificate-errors-spki-list). */
export function spkiHash(certPath: string): string {
  const pub = execFileSync('openssl', ['x509', '-in', certPath, '-pubkey', '-noout']);
  const der = execFileSync('openssl', ['pkey', '-pubin', '-outform', 'der'], { input: pub });
  return execFileSync('openssl', ['dgst', '-sha256', '-binary'], { input: der }).toString('base64');
}

/** A CA, and `{host}.crt` / `{host}.key` signed by it in `dir` (as LATCHKEY_TLS_DIR holds them); `*.x.y` names a wildcard. */
export function makeHostCertificates(dir: string, caDir: string, hosts: string[]): HostCertificates {
  const caKey = join(caDir, 'ca.key');
  const caCert = join(caDir, 'ca.crt');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=Latchkey test CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign', '-keyout', caKey, '-out', caCert], { stdio: 'ignore' });
  const spki = hosts.map((host) => issueHostCertificate(dir, caDir, host));
  return { ca: readFileSync(caCert), spki };
}

/** (Re)issues one host's certificate with the test CA; returns its key's SPKI hash. */
export function issueHostCertificate(dir: string, caDir: string, host: string, subject = host): string {
  const key = join(dir, `${host}.key`);
  const cert = join(dir, `${host}.crt`);
  const csr = join(caDir, `${host}.csr`);
  const ext = join(caDir, `${host}.ext`);
  writeFileSync(ext, `subjectAltName=DNS:${host}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  execFileSync('openssl', ['req', '-newkey', 'rsa:2048', '-nodes', '-subj', `/CN=${subject}`, '-keyout', key, '-out', csr], { stdio: 'ignore' });
  execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', join(caDir, 'ca.crt'), '-CAkey', join(caDir, 'ca.key'), '-CAcreateserial', '-days', '2', '-extfile', ext, '-out', cert], { stdio: 'ignore' });
  return spkiHash(cert);
}

/** A DNS lookup that answers 127.0.0.1 for the given names and asks the system for anything else. */
function loopbackLookup(hosts: (name: string) => boolean): LookupFunction {
  return (hostname, options, callback) => {
    if (!hosts(hostname.toLowerCase())) {
      // Not one of ours: what the system says.
      dnsLookup(hostname, options, callback);
      return;
    }
    if (options.all) (callback as unknown as (err: null, addresses: { address: string; family: number }[]) => void)(null, [{ address: '127.0.0.1', family: 4 }]);
    else callback(null, '127.0.0.1', 4);
  };
}

/** `fetch` for Node clients (openid-client, msal-node's network client): test host names reach 127.0.0.1, the test CA is trusted. */
export function hostFetch(isTestHost: (name: string) => boolean, extraCa: Buffer[]): typeof fetch {
  const agent = new Agent({ connect: { lookup: loopbackLookup(isTestHost), ca: [...rootCertificates, ...extraCa.map((c) => c.toString('utf8'))] } });
  return ((input: Parameters<typeof fetch>[0], init?: Parameters<typeof fetch>[1]) =>
    undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: agent })) as unknown as typeof fetch;
}

/** Chromium's flags: the host names to 127.0.0.1, and the test certificates taken as valid (Chromium keeps its own trust store). */
export function chromiumHostArgs(hosts: string[], spki: string[]): string[] {
  return [`--host-resolver-rules=${hosts.map((h) => `MAP ${h} 127.0.0.1`).join(', ')}`, `--ignore-certificate-errors-spki-list=${spki.join(',')}`];
}

/** The certificate a TLS server presents for `servername` (SNI) on 127.0.0.1. */
export function presentedCertificate(port: number, servername: string, ca: Buffer[]): Promise<PeerCertificate & { authorized: boolean }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port, servername, ca, rejectUnauthorized: false }, () => {
      const cert = socket.getPeerCertificate();
      const authorized = socket.authorized;
      socket.end();
      resolve(Object.assign(cert, { authorized }));
    });
    socket.on('error', reject);
  });
}
