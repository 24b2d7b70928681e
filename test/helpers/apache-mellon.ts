import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './ports.js';
import { suiteCert } from './tls.js';

/**
 * Apache httpd with Debian's mod_auth_mellon protecting a page: a SAML service provider nobody on this
 * project wrote. Runs in the foreground on https://127.0.0.1 (the suite's certificate: mellon's cookie
 * test cookie is SameSite=None, which browsers keep only when Secure) with a config of its own in a temp folder; its SP
 * key, certificate and metadata come from Debian's `mellon_create_metadata`, and the page under
 * /protected/ shows what mellon got from the IdP (server-side includes of mellon's variables).
 */
export interface MellonSp {
  url: string;
  entityId: string;
  /** mellon's SP metadata (what the IdP registers). */
  metadata: string;
  errorLog(): string;
  close(): Promise<void>;
}

const MODULES = '/usr/lib/apache2/modules';

export function apacheAvailable(): boolean {
  return spawnSync('/usr/sbin/apache2', ['-v']).status === 0 && readdirSync(MODULES).includes('mod_auth_mellon.so');
}

export async function startMellon(idpMetadataXml: string): Promise<MellonSp> {
  const dir = mkdtempSync(join(tmpdir(), 'latchkey-mellon-'));
  const port = await freePort();
  const url = `https://127.0.0.1:${port}`;
  const tls = suiteCert();
  const entityId = `${url}/mellon/metadata`;
  const made = spawnSync('/usr/sbin/mellon_create_metadata', [entityId, `${url}/mellon`], { cwd: dir, encoding: 'utf8' });
  if (made.status !== 0) throw new Error(`mellon_create_metadata failed: ${made.stderr}`);
  const base = entityId.replace(/[^0-9A-Za-z.]/g, '_').replace(/__+/g, '_');
  // Lasso asks for the first NameIDFormat of the SP's metadata (transient without one): ask for the user's id.
  const spMetadata = join(dir, `${base}.xml`);
  writeFileSync(spMetadata, readFileSync(spMetadata, 'utf8').replace('<AssertionConsumerService', '<NameIDFormat>urn:oasis:names:tc:SAML:2.0:nameid-format:persistent</NameIDFormat>\n    <AssertionConsumerService'));
  writeFileSync(join(dir, 'idp.xml'), idpMetadataXml);
  mkdirSync(join(dir, 'htdocs', 'protected'), { recursive: true });
  writeFileSync(join(dir, 'htdocs', 'index.html'), '<!doctype html><title>Intranet</title><h1>Public</h1>');
  writeFileSync(
    join(dir, 'htdocs', 'protected', 'index.shtml'),
    '<!doctype html><title>Intranet</title><h1>Protected</h1><p id="user"><!--#echo var="REMOTE_USER" --></p><p id="email"><!--#echo var="MELLON_email" --></p><p id="given"><!--#echo var="MELLON_given_name" --></p>\n',
  );
  const root = process.getuid?.() === 0;
  const conf = `ServerRoot "${dir}"
DefaultRuntimeDir "${dir}"
PidFile "${dir}/httpd.pid"
ErrorLog "${dir}/error.log"
LogLevel warn auth_mellon:info
Listen 127.0.0.1:${port}
ServerName 127.0.0.1
${root ? 'User nobody\nGroup nogroup' : ''}
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
LoadModule authn_core_module ${MODULES}/mod_authn_core.so
LoadModule authz_core_module ${MODULES}/mod_authz_core.so
LoadModule authz_user_module ${MODULES}/mod_authz_user.so
LoadModule mime_module ${MODULES}/mod_mime.so
LoadModule dir_module ${MODULES}/mod_dir.so
LoadModule include_module ${MODULES}/mod_include.so
LoadModule auth_mellon_module ${MODULES}/mod_auth_mellon.so
LoadModule socache_shmcb_module ${MODULES}/mod_socache_shmcb.so
LoadModule ssl_module ${MODULES}/mod_ssl.so
SSLEngine on
SSLCertificateFile "${tls.certPath}"
SSLCertificateKeyFile "${tls.keyPath}"
TypesConfig /etc/mime.types
DocumentRoot "${dir}/htdocs"
DirectoryIndex index.shtml index.html
<Directory "${dir}/htdocs">
  Options +Includes
  AddType text/html .shtml
  AddOutputFilter INCLUDES .shtml
  Require all granted
</Directory>
<Location />
  MellonEndpointPath /mellon
  MellonSPMetadataFile "${dir}/${base}.xml"
  MellonSPPrivateKeyFile "${dir}/${base}.key"
  MellonSPCertFile "${dir}/${base}.cert"
  MellonIdPMetadataFile "${dir}/idp.xml"
  MellonSignatureMethod rsa-sha256
  MellonSecureCookie On
</Location>
<Location /protected>
  AuthType Mellon
  MellonEnable auth
  Require valid-user
</Location>
`;
  writeFileSync(join(dir, 'httpd.conf'), conf);
  // The workers run as nobody: they read mellon's files (made 0600 by the script) and the pages.
  chmodSync(dir, 0o755);
  for (const f of readdirSync(dir)) if (f !== 'htdocs') chmodSync(join(dir, f), 0o644);
  const output: string[] = [];
  const child: ChildProcess = spawn('/usr/sbin/apache2', ['-f', join(dir, 'httpd.conf'), '-DFOREGROUND'], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  child.stdout!.on('data', (b: Buffer) => output.push(b.toString()));
  child.stderr!.on('data', (b: Buffer) => output.push(b.toString()));
  const errorLog = () => {
    try {
      return readFileSync(join(dir, 'error.log'), 'utf8');
    } catch {
      return '';
    }
  };
  const t0 = Date.now();
  for (;;) {
    if (child.exitCode !== null) throw new Error(`apache2 exited with ${child.exitCode}: ${output.join('')} ${errorLog()}`);
    try {
      if ((await fetch(`${url}/`)).status === 200) break;
    } catch {
      // not listening yet
    }
    if (Date.now() - t0 > 30_000) throw new Error(`apache2 did not answer: ${output.join('')} ${errorLog()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    entityId,
    metadata: readFileSync(join(dir, `${base}.xml`), 'utf8'),
    errorLog,
    async close() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
