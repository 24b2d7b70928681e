import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContext } from 'node:tls';
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { HOST_NAME } from '../model/patterns.js';

/** What the https server is made with: a default certificate, and the one of each host by SNI. */
export interface HttpsOptions {
  cert?: Buffer;
  key?: Buffer;
  SNICallback?: (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void) => void;
}

/** How long a file's modification time is trusted before it is looked at again (per host, on a handshake). */
const RECHECK_MS = 1000;

interface Entry {
  checkedAt: number;
  /** The modification times and sizes of the files the context was made from. */
  stamp?: string;
  context?: SecureContext;
  pending?: Promise<SecureContext | undefined>;
}

/**
 * LATCHKEY_TLS_DIR: a certificate per host, `{host}.crt` and `{host}.key` (PEM; the chain in the .crt),
 * chosen by the name the client asks for (SNI); a wildcard certificate is found as `*.{parent}.crt`
 * (`*.login.example.com.crt` for the host pattern's hosts). A host without one gets LATCHKEY_TLS_CERT
 * and LATCHKEY_TLS_KEY (the default certificate). Files are looked at again when a handshake comes at
 * least a second after the last look, and read again when they changed: a renewed certificate is served
 * without a restart. A pair that cannot be used is logged and the last good one (or the default) serves.
 */
export class CertificateDirectory {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly dir: string,
    private readonly fallback: { cert: string; key: string } | undefined,
    private readonly logger: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** The context for a client's server name: its host's files, a wildcard's, or the default. */
  async contextFor(servername: string): Promise<SecureContext | undefined> {
    const name = servername.toLowerCase().replace(/\.$/, '');
    // Only a host name reaches the file system: nothing the client sends can name another path.
    if (HOST_NAME.test(name)) {
      const parent = name.slice(name.indexOf('.') + 1);
      const candidates = [name, ...(name.includes('.') && parent.includes('.') ? [`*.${parent}`] : [])];
      for (const c of candidates) {
        const context = await this.load(c, { cert: join(this.dir, `${c}.crt`), key: join(this.dir, `${c}.key`) });
        if (context) return context;
      }
    }
    return this.fallback ? this.load('', this.fallback) : undefined;
  }

  /** For https.createServer: answers each handshake with its host's certificate. */
  readonly sniCallback = (servername: string, cb: (err: Error | null, ctx?: SecureContext) => void): void => {
    this.contextFor(servername).then(
      (ctx) => cb(null, ctx),
      (err: unknown) => cb(err instanceof Error ? err : new Error(String(err))),
    );
  };

  private async load(name: string, files: { cert: string; key: string }): Promise<SecureContext | undefined> {
    let entry = this.entries.get(name);
    if (entry?.pending) return entry.pending;
    if (entry && this.now() - entry.checkedAt < RECHECK_MS) return entry.context;
    if (!entry) {
      // Bounded: names come from clients; those without files cost an entry each, forgotten in bulk.
      if (this.entries.size >= 10_000) this.entries.clear();
      entry = { checkedAt: 0 };
      this.entries.set(name, entry);
    }
    const e = entry;
    e.pending = this.refresh(name, files, e).finally(() => {
      e.checkedAt = this.now();
      delete e.pending;
    });
    return e.pending;
  }

  private async refresh(name: string, files: { cert: string; key: string }, e: Entry): Promise<SecureContext | undefined> {
    const [cert, key] = await Promise.all([stat(files.cert).catch(() => undefined), stat(files.key).catch(() => undefined)]);
    if (!cert?.isFile() || !key?.isFile()) {
      if (e.context) this.logger.warn({ host: name || '(default)', files }, 'TLS certificate files are gone: the default certificate serves this host');
      delete e.context;
      delete e.stamp;
      return undefined;
    }
    const stamp = `${cert.mtimeMs}/${cert.size}/${key.mtimeMs}/${key.size}`;
    if (stamp === e.stamp) return e.context;
    try {
      const [certPem, keyPem] = await Promise.all([readFile(files.cert), readFile(files.key)]);
      e.context = createSecureContext({ cert: certPem, key: keyPem });
      this.logger.info({ host: name || '(default)', file: files.cert }, e.stamp ? 'TLS certificate reloaded' : 'TLS certificate loaded');
    } catch (err) {
      this.logger.error({ host: name || '(default)', file: files.cert, reason: (err as Error).message }, 'TLS certificate cannot be used; keeping the last good one (or the default)');
    }
    e.stamp = stamp;
    return e.context;
  }
}

/** The https server's options from the configuration; undefined serves plain http. */
export function httpsOptions(config: Pick<Config, 'tls' | 'tlsDir'>, logger: Logger): HttpsOptions | undefined {
  if (!config.tlsDir) return config.tls ? { cert: config.tls.cert, key: config.tls.key } : undefined;
  const certificates = new CertificateDirectory(config.tlsDir, config.tls?.files, logger);
  return { ...(config.tls ? { cert: config.tls.cert, key: config.tls.key } : {}), SNICallback: certificates.sniCallback };
}
