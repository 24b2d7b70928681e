import { readFileSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { parseAllowList, type OutboundAllowList } from './outbound/address-policy.js';
import { DEFAULT_DB_PATH } from './paths.js';
import { parseTenantHostPattern, type TenantHostPattern } from './model/host-pattern.js';

const logLevels = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

const envSchema = z.object({
  PORT: z.coerce.number().int().min(0).max(65535).default(3000),
  HOST: z.string().min(1).default('localhost'),
  LATCHKEY_BASE_URL: z
    .url({ protocol: /^https?$/ })
    .optional()
    .transform((u) => (u === undefined ? undefined : u.replace(/\/+$/, ''))),
  LATCHKEY_DB: z.string().min(1).default(DEFAULT_DB_PATH),
  /** postgres://…: PostgreSQL for several instances (SQLite at LATCHKEY_DB otherwise). */
  LATCHKEY_DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/, error: 'must be a postgres:// URL' }).optional(),
  /** redis://…: shared counters (throttles, per-address limits) for several instances. */
  LATCHKEY_REDIS_URL: z.url({ protocol: /^rediss?$/, error: 'must be a redis:// or rediss:// URL' }).optional(),
  LATCHKEY_POLICIES_DIR: z.string().min(1).default('./policies'),
  LATCHKEY_LOG_LEVEL: z.enum(logLevels).default('info'),
  LATCHKEY_MASTER_KEY: z.string().min(32, 'must be at least 32 characters').optional(),
  LATCHKEY_TLS_CERT: z.string().min(1).optional(),
  LATCHKEY_TLS_KEY: z.string().min(1).optional(),
  /** A folder of `{host}.crt` / `{host}.key` PEM pairs, chosen by SNI (custom domains on one server). */
  LATCHKEY_TLS_DIR: z.string().min(1).optional(),
  /** `{tenant}.login.example.com`: every tenant gets a host of its own (its slug in place of {tenant}). */
  LATCHKEY_TENANT_HOST_PATTERN: z
    .string()
    .superRefine((v, ctx) => {
      try {
        parseTenantHostPattern(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .optional(),
  LATCHKEY_SMTP_URL: z.url().optional(),
  /** The SMS gateway: receives `POST {to, text, locale, tenant}` as JSON. Without it, text messages go to the log and the outbox. */
  LATCHKEY_SMS_URL: z.url({ protocol: /^https?$/, error: 'must be an http(s) URL' }).optional(),
  /** Sent to the SMS gateway as `Authorization: Bearer …` when set. */
  LATCHKEY_SMS_TOKEN: z.string().min(8, 'must be at least 8 characters').max(4096).optional(),
  /** Text-message codes per phone number per hour (B2C and SMS products cap them; 5 by default). */
  LATCHKEY_SMS_PER_NUMBER_HOURLY: z.coerce.number().int().min(1).max(100).default(5),
  /** Text-message codes asked for from one client address per hour. */
  LATCHKEY_SMS_PER_ADDRESS_HOURLY: z.coerce.number().int().min(1).max(100_000).default(20),
  /** Text messages per tenant per hour: a cap on what one tenant's pages can cost at the gateway. */
  LATCHKEY_SMS_PER_TENANT_HOURLY: z.coerce.number().int().min(1).max(10_000_000).default(1000),
  /** log2 of scrypt's N for new password hashes; 17 is OWASP's recommendation (128 MiB, r=8, p=1). */
  LATCHKEY_PASSWORD_COST: z.coerce.number().int().min(10).max(20).default(17),
  /**
   * Behind a reverse proxy: whose X-Forwarded-For to believe for the client's address ('true' for any,
   * a number of proxy hops, or addresses and CIDR ranges separated by commas). Off by default.
   */
  LATCHKEY_TRUST_PROXY: z
    .string()
    .regex(/^(true|false|\d{1,2}|[0-9a-fA-F.:/]+(,\s*[0-9a-fA-F.:/]+)*)$/, "must be 'true', 'false', a number of hops, or addresses/CIDR ranges separated by commas")
    .optional(),
  /** Form posts (sign-in, sign-up, codes, reset) per client address per minute. */
  LATCHKEY_FORM_RATE_LIMIT: z.coerce.number().int().min(1).max(100_000).default(60),
  /** Prometheus metrics at /metrics on the main port ('1'); off by default. */
  LATCHKEY_METRICS: z.enum(['0', '1', 'true', 'false'], { error: "must be '1' or '0'" }).optional(),
  /** Prometheus metrics on a port of their own (only /metrics there); implies LATCHKEY_METRICS. */
  LATCHKEY_METRICS_PORT: z.coerce.number().int().min(1).max(65535).optional(),
  /**
   * Hosts (exact names) and IP addresses or CIDR ranges that outbound calls (page layouts, API
   * connectors, upstream identity providers, legacy ROPC) may reach although they are loopback,
   * private, link-local or unique-local: `127.0.0.1,10.0.0.0/8,idp.internal`. Nothing by default.
   */
  LATCHKEY_OUTBOUND_ALLOW: z
    .string()
    .superRefine((v, ctx) => {
      try {
        parseAllowList(v);
      } catch (err) {
        ctx.addIssue({ code: 'custom', message: (err as Error).message });
      }
    })
    .optional(),
});

export interface Config {
  port: number;
  host: string;
  baseUrl: string;
  dbPath: string;
  databaseUrl: string | undefined;
  redisUrl: string | undefined;
  policiesDir: string;
  logLevel: (typeof logLevels)[number];
  masterKey: string | undefined;
  /** LATCHKEY_TLS_CERT / LATCHKEY_TLS_KEY as read at start, and their paths (read again when they change, with LATCHKEY_TLS_DIR). */
  tls: { cert: Buffer; key: Buffer; files?: { cert: string; key: string } } | undefined;
  /** LATCHKEY_TLS_DIR: certificates by host name, chosen by SNI and read again when they change. */
  tlsDir: string | undefined;
  /** LATCHKEY_TENANT_HOST_PATTERN: a host of its own for every tenant. */
  tenantHostPattern: TenantHostPattern | undefined;
  smtpUrl: string | undefined;
  /** Text messages: the gateway (none: the outbox), its token, and the hourly limits on codes sent. */
  sms: { url: string | undefined; token: string | undefined; perNumberHourly: number; perAddressHourly: number; perTenantHourly: number };
  passwordCost: number;
  formRateLimit: number;
  /** Fastify's trustProxy: false, true, a hop count, or addresses/CIDR ranges. */
  trustProxy: boolean | number | string;
  /** Where /metrics is served: not at all, on the main port, or on a port of its own. */
  metrics: { enabled: false } | { enabled: true; port: number | undefined };
  /** What outbound calls may reach beyond public addresses (LATCHKEY_OUTBOUND_ALLOW). */
  outboundAllow: OutboundAllowList;
}

/** A configuration problem, reported as one line naming the variable. */
export class ConfigError extends Error {}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = envSchema.safeParse(
    Object.fromEntries(Object.entries(env).filter(([k, v]) => k in envSchema.shape && v !== '')),
  );
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const name = String(issue.path[0] ?? 'environment');
    throw new ConfigError(`invalid ${name}: ${issue.message} (got ${JSON.stringify(env[name] ?? '')})`);
  }
  const e = parsed.data;
  if ((e.LATCHKEY_TLS_CERT === undefined) !== (e.LATCHKEY_TLS_KEY === undefined)) {
    throw new ConfigError('invalid LATCHKEY_TLS_CERT/LATCHKEY_TLS_KEY: set both or neither');
  }
  let tls: Config['tls'];
  if (e.LATCHKEY_TLS_CERT && e.LATCHKEY_TLS_KEY) {
    tls = {
      cert: readPem('LATCHKEY_TLS_CERT', e.LATCHKEY_TLS_CERT),
      key: readPem('LATCHKEY_TLS_KEY', e.LATCHKEY_TLS_KEY),
      files: { cert: resolve(e.LATCHKEY_TLS_CERT), key: resolve(e.LATCHKEY_TLS_KEY) },
    };
  }
  const tlsDir = e.LATCHKEY_TLS_DIR === undefined ? undefined : readableDir('LATCHKEY_TLS_DIR', e.LATCHKEY_TLS_DIR);
  const scheme = tls || tlsDir ? 'https' : 'http';
  const shownHost = e.HOST === '0.0.0.0' || e.HOST === '::' ? 'localhost' : e.HOST;
  const baseUrl = e.LATCHKEY_BASE_URL ?? `${scheme}://${shownHost}:${e.PORT}`;
  const tenantHostPattern = e.LATCHKEY_TENANT_HOST_PATTERN === undefined ? undefined : parseTenantHostPattern(e.LATCHKEY_TENANT_HOST_PATTERN);
  if (tenantHostPattern?.slugOf(new URL(baseUrl).hostname) !== undefined) {
    // The shared host would be taken for one tenant's own host, and serve that tenant only.
    throw new ConfigError(`invalid LATCHKEY_TENANT_HOST_PATTERN: the host of LATCHKEY_BASE_URL (${new URL(baseUrl).hostname}) matches it; the shared host must not look like a tenant's`);
  }
  return {
    port: e.PORT,
    host: e.HOST,
    baseUrl,
    dbPath: resolve(e.LATCHKEY_DB),
    databaseUrl: e.LATCHKEY_DATABASE_URL,
    redisUrl: e.LATCHKEY_REDIS_URL,
    policiesDir: resolve(e.LATCHKEY_POLICIES_DIR),
    logLevel: e.LATCHKEY_LOG_LEVEL,
    masterKey: e.LATCHKEY_MASTER_KEY,
    tls,
    tlsDir,
    tenantHostPattern,
    smtpUrl: e.LATCHKEY_SMTP_URL,
    sms: {
      url: e.LATCHKEY_SMS_URL,
      token: e.LATCHKEY_SMS_TOKEN,
      perNumberHourly: e.LATCHKEY_SMS_PER_NUMBER_HOURLY,
      perAddressHourly: e.LATCHKEY_SMS_PER_ADDRESS_HOURLY,
      perTenantHourly: e.LATCHKEY_SMS_PER_TENANT_HOURLY,
    },
    passwordCost: e.LATCHKEY_PASSWORD_COST,
    formRateLimit: e.LATCHKEY_FORM_RATE_LIMIT,
    trustProxy: parseTrustProxy(e.LATCHKEY_TRUST_PROXY),
    metrics:
      e.LATCHKEY_METRICS_PORT !== undefined
        ? { enabled: true, port: e.LATCHKEY_METRICS_PORT }
        : e.LATCHKEY_METRICS === '1' || e.LATCHKEY_METRICS === 'true'
          ? { enabled: true, port: undefined }
          : { enabled: false },
    outboundAllow: parseAllowList(e.LATCHKEY_OUTBOUND_ALLOW ?? ''),
  };
}

function parseTrustProxy(v: string | undefined): boolean | number | string {
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  if (/^\d+$/.test(v)) return Number(v);
  return v.replace(/\s+/g, '');
}

function readableDir(name: string, path: string): string {
  const dir = resolve(path);
  let isDir = false;
  try {
    isDir = statSync(dir).isDirectory();
  } catch (err) {
    throw new ConfigError(`invalid ${name}: cannot read ${dir} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
  if (!isDir) throw new ConfigError(`invalid ${name}: ${dir} is not a folder`);
  return dir;
}

function readPem(name: string, path: string): Buffer {
  try {
    const pem = readFileSync(path);
    if (!pem.toString('utf8').includes('-----BEGIN')) throw new ConfigError(`invalid ${name}: ${path} is not a PEM file`);
    return pem;
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError(`invalid ${name}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
  }
}
