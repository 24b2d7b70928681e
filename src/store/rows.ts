import { safeEqual } from '../crypto/secrets.js';
import { normalizeEmail, normalizeLocalName } from './normalize.js';
import type { App, AppPermission, DirectoryRole, EmailDomain, EnterpriseApp, SamlApp, AppGrant, AuditEvent, Authenticator, Consent, AuthCodeRecord, ImportedUser, JourneyRecord, LoginThrottle, OutboxMessage, RefreshTokenRecord, SessionClient, LocalIdentity, SigningKey, SsoSession, Tenant, TenantDomain, TenantSecret, TenantSettings, User, UserIdentity, UserProfileUpdate, UserSignIn } from '../model/entities.js';

/**
 * Rows to records and back, for every engine: SQLite and PostgreSQL store the same columns (times as
 * epoch milliseconds, flags as 0/1, structured values as JSON text), so each table is described once
 * here, column by column, and neither engine maps a value itself. A table writes a record (an engine's
 * INSERT is built from its column names, see schema.ts, and takes `values()` in the same order) and
 * reads a row back (`read`).
 */
export type Row = Record<string, unknown>;

export const str = (v: unknown): string => v as string;
export const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
export const num = (v: unknown): number => v as number;
export const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : (v as number));

/** One column: how it is written from a record, and the record field it reads back into. */
export interface Column<T> {
  /** The field it reads back into; none for a column only written (a normalized copy, a constant). */
  readonly field?: keyof T & string;
  /** The value written for a record; undefined leaves the column out (a partial update). None: never written (an id the database numbers). */
  readonly write?: (record: T) => unknown;
  readonly read: (value: unknown) => unknown;
}

/** Fields of T whose values are V. */
type FieldOf<T, V> = { [K in keyof T]-?: Exclude<T[K], undefined> extends V ? K : never }[keyof T] & string;

/** Column builders for records of type T. */
function builders<T>() {
  return {
    /** Text as it is (or, written, passed through `normalize`). */
    text: <K extends FieldOf<T, string | null>>(field: K, normalize?: (v: string) => string) => ({
      field,
      write: (r: T) => {
        const v = r[field] as string | null | undefined;
        return normalize && typeof v === 'string' ? normalize(v) : v;
      },
      read: optStr,
    }),
    int: <K extends FieldOf<T, number | null>>(field: K) => ({ field, write: (r: T) => r[field], read: optNum }),
    flag: <K extends FieldOf<T, boolean>>(field: K) => ({ field, write: (r: T) => (r[field] ? 1 : 0), read: (v: unknown) => v === 1 }),
    /** JSON text; `empty` is read where a row from before the column has none. */
    json: <K extends keyof T & string>(field: K, empty = 'null') => ({
      field,
      write: (r: T) => JSON.stringify(r[field]),
      read: (v: unknown) => JSON.parse(str(v ?? empty)) as unknown,
    }),
    /** JSON text, or NULL for a null value. */
    optJson: <K extends keyof T & string>(field: K) => ({
      field,
      write: (r: T) => (r[field] === undefined ? undefined : r[field] === null ? null : JSON.stringify(r[field])),
      read: (v: unknown) => (v ? (JSON.parse(str(v)) as unknown) : null),
    }),
    /** One of `values`; anything else reads as `fallback`. */
    oneOf: <K extends FieldOf<T, string | null>>(field: K, values: readonly T[K][], fallback: T[K]) => ({
      field,
      write: (r: T) => r[field],
      read: (v: unknown) => (values.includes(v as T[K]) ? v : fallback),
    }),
    /** Written from the record, never read back (a normalized copy for lookups, a constant of new rows). */
    written: (write: (r: T) => unknown): Column<T> => ({ write, read: () => undefined }),
  };
}

type Builders<T> = ReturnType<typeof builders<T>>;
type ReadFields<C> = C extends { field: infer K } ? K : never;
/** The columns, if every field of T is read from one of them; otherwise a type naming the fields left out. */
type Covering<T, S> = [Exclude<keyof T, ReadFields<S[keyof S]>>] extends [never] ? S : { fieldsWithoutColumn: Exclude<keyof T, ReadFields<S[keyof S]>> };

/** A table's columns, in the order its statements list them. */
export class Table<T> {
  /** The written columns. */
  readonly names: readonly string[];
  private readonly writers: readonly ((record: T) => unknown)[];
  private readonly readers: readonly (readonly [column: string, field: string, read: (v: unknown) => unknown])[];

  constructor(
    readonly table: string,
    columns: Record<string, Column<T>>,
  ) {
    const written = Object.entries(columns).filter(([, c]) => c.write !== undefined);
    this.names = written.map(([name]) => name);
    this.writers = written.map(([, c]) => c.write!);
    this.readers = Object.entries(columns).flatMap(([name, c]) => (c.field === undefined ? [] : [[name, c.field, c.read] as const]));
  }

  /** The record's values in the written columns' order. */
  values(record: T): unknown[] {
    return this.writers.map((write) => write(record));
  }

  /** How one field is written, alone (an update of that column only). */
  value<K extends keyof T & string>(field: K, value: T[K]): unknown {
    const column = this.readers.findIndex(([, f]) => f === field);
    return this.writers[this.names.indexOf(this.readers[column]![0])]!({ [field]: value } as T);
  }

  /** The record as a row (column name → value). */
  row(record: T): Row {
    const row: Row = {};
    this.names.forEach((name, i) => (row[name] = this.writers[i]!(record)));
    return row;
  }

  /** Only the columns the record sets (a partial update leaves out those whose writer answers undefined). */
  given(record: T): { names: string[]; values: unknown[] } {
    const names: string[] = [];
    const values: unknown[] = [];
    this.names.forEach((name, i) => {
      const value = this.writers[i]!(record);
      if (value === undefined) return;
      names.push(name);
      values.push(value);
    });
    return { names, values };
  }

  /** The record a row holds (a column the statement did not select is left out of it). */
  readonly read = (row: Row): T => {
    const record: Record<string, unknown> = {};
    for (const [column, field, read] of this.readers) if (column in row) record[field] = read(row[column]);
    return record as T;
  };
}

/** A table whose columns hold every field of T (one left out fails to compile). */
function table<T>() {
  return <S extends Record<string, Column<T>>>(name: string, columns: (c: Builders<T>) => S & Covering<T, S>): Table<T> => new Table<T>(name, columns(builders<T>()));
}
/** Some of T's fields (a partial update, or a table whose records hold more than its columns). */
function partial<T>(name: string, columns: (c: Builders<T>) => Record<string, Column<T>>): Table<T> {
  return new Table<T>(name, columns(builders<T>()));
}

export const TENANTS = table<Tenant>()('tenants', (c) => ({
  id: c.text('id'),
  slug: c.text('slug'),
  display_name: c.text('displayName'),
  default_policy: c.text('defaultPolicy'),
  issuer_pattern: c.oneOf('issuerPattern', ['tenant', 'tfp'], 'tenant'),
  config_version: c.int('configVersion'),
  created_at: c.int('createdAt'),
  legacy_ropc: c.optJson('legacyRopc'),
  extensions_app_id: c.text('extensionsAppId'),
  b2c_name: c.text('b2cName'),
  legacy_rate: c.int('legacyRate'),
}));

/** The settings a change names (the others stay). */
export const TENANT_SETTINGS = table<TenantSettings>()('tenants', (c) => ({
  legacy_ropc: c.optJson('legacyRopc'),
  extensions_app_id: c.text('extensionsAppId'),
  b2c_name: c.text('b2cName'),
  legacy_rate: c.int('legacyRate'),
}));

export const TENANT_SECRETS = table<TenantSecret>()('tenant_secrets', (c) => ({
  tenant_id: c.text('tenantId'),
  name: c.text('name'),
  sealed_value: c.text('sealedValue'),
  created_at: c.int('createdAt'),
  updated_at: c.int('updatedAt'),
}));

/**
 * What an update of an app registration writes (`updateApp`, APP_SETTINGS): its name, platforms'
 * redirect URIs, logout URIs, exposed API and flags. Its id, tenant, type, creation time, whether it is
 * multi-tenant and its secrets (changed by `updateAppSecrets` alone) stay.
 */
function appSettings(c: Builders<App>) {
  return {
    name: c.text('name'),
    web_redirect_uris: c.json('webRedirectUris', '[]'),
    spa_redirect_uris: c.json('spaRedirectUris', '[]'),
    public_client_redirect_uris: c.json('publicClientRedirectUris', '[]'),
    post_logout_redirect_uris: c.json('postLogoutRedirectUris'),
    identifier_uri: c.text('identifierUri'),
    allow_implicit: c.flag('allowImplicit'),
    allow_ropc: c.flag('allowRopc'),
    logout_url: c.text('logoutUrl'),
    third_party: c.flag('thirdParty'),
  };
}

export const APPS = table<App>()('apps', (c) => ({
  client_id: c.text('clientId'),
  tenant_id: c.text('tenantId'),
  type: c.text('type'),
  secrets: c.json('secrets', '[]'),
  ...appSettings(c),
  multi_tenant: c.flag('multiTenant'),
  created_at: c.int('createdAt'),
}));

/** What a multi-tenant app declares it needs. */
export const PERMISSIONS = table<AppPermission>()('app_permissions', (c) => ({
  client_id: c.text('clientId'),
  api: c.text('api'),
  kind: c.oneOf('kind', ['scope', 'role'], 'scope'),
  name: c.text('name'),
}));

/** A multi-tenant app in a tenant other than its home; what an administrator consented to as one JSON column. */
export const ENTERPRISE_APPS = table<EnterpriseApp>()('enterprise_apps', (c) => ({
  tenant_id: c.text('tenantId'),
  client_id: c.text('clientId'),
  home_tenant_id: c.text('homeTenantId'),
  admin_consent: c.optJson('adminConsent'),
  created_at: c.int('createdAt'),
}));

export const EMAIL_DOMAINS = table<EmailDomain>()('tenant_email_domains', (c) => ({
  domain: c.text('domain', (d) => d.toLowerCase()),
  tenant_id: c.text('tenantId'),
  created_at: c.int('createdAt'),
}));

/** A user's directory role (listed by role name only). */
export const USER_ROLES = table<{ tenantId: string; userId: string; role: DirectoryRole; createdAt: number }>()('user_directory_roles', (c) => ({
  tenant_id: c.text('tenantId'),
  user_id: c.text('userId'),
  role: c.oneOf('role', ['GlobalAdministrator', 'GlobalReader'], 'GlobalReader'),
  created_at: c.int('createdAt'),
}));

/** The columns `updateApp` writes (appSettings above). */
export const APP_SETTINGS = partial<App>('apps', appSettings);

export const GRANTS = table<AppGrant>()('app_grants', (c) => ({
  client_id: c.text('clientId'),
  api_client_id: c.text('apiClientId'),
  kind: c.oneOf('kind', ['scope', 'role'], 'scope'),
  name: c.text('name'),
}));

export const CONSENTS = table<Consent>()('user_consents', (c) => ({
  tenant_id: c.text('tenantId'),
  user_id: c.text('userId'),
  client_id: c.text('clientId'),
  scopes: c.json('scopes'),
  granted_at: c.int('grantedAt'),
}));

/**
 * The contact email is stored beside its normalized form, and the local identities as given (JSON):
 * their normalized names, which sign-ins look users up by, are rows of user_sign_in_names (SIGN_IN_NAMES).
 */
export const USERS = table<User>()('users', (c) => ({
  id: c.text('id'),
  tenant_id: c.text('tenantId'),
  email: c.text('email'),
  email_normalized: c.written((u) => (u.email === null ? null : normalizeEmail(u.email))),
  local_identities: c.json('localIdentities', '[]'),
  other_mails: c.json('otherMails', '[]'),
  email_verified: c.flag('emailVerified'),
  password_hash: c.text('passwordHash'),
  password_at_legacy: c.flag('passwordAtLegacy'),
  must_change_password: c.flag('mustChangePassword'),
  given_name: c.text('givenName'),
  family_name: c.text('familyName'),
  display_name: c.text('displayName'),
  attributes: c.json('attributes'),
  disabled: c.flag('disabled'),
  created_at: c.int('createdAt'),
  updated_at: c.int('updatedAt'),
}));

/** What an import's update replaces of a stored user: every column but the key (the import service decided the values). */
export const REPLACED_USER_COLUMNS = USERS.names.filter((c) => c !== 'id' && c !== 'tenant_id');

/** Users as an import finds them: their rows, each with its identities' rows (by user_id). */
export function storedUsers(users: Row[], identities: Row[]): ImportedUser[] {
  const byUser = new Map<string, UserIdentity[]>();
  for (const r of identities) {
    const of = byUser.get(str(r.user_id)) ?? [];
    of.push(IDENTITIES.read(r));
    byUser.set(str(r.user_id), of);
  }
  return users.map((r) => ({ user: USERS.read(r), identities: byUser.get(str(r.id)) ?? [] }));
}

/** A user's columns read beside another row's under a prefix (`u_id`, `u_email`…), if the join found one. */
export function toJoinedUser(r: Row, prefix: string): User | undefined {
  if (typeof r[`${prefix}id`] !== 'string') return undefined;
  const row: Row = {};
  for (const name of USERS.names) row[name] = r[`${prefix}${name}`];
  return USERS.read(row);
}

/** The columns a profile update sets: only those it names. */
export const PROFILE = table<UserProfileUpdate>()('users', (c) => ({
  given_name: c.text('givenName'),
  family_name: c.text('familyName'),
  display_name: c.text('displayName'),
  attributes: c.json('attributes'),
}));

/** The columns of a user's sign-in (local identities and contact email). */
export const SIGN_IN = table<UserSignIn>()('users', (c) => ({
  local_identities: c.json('localIdentities', '[]'),
  email: c.text('email'),
  email_normalized: c.written((s) => (s.email === null ? null : normalizeEmail(s.email))),
  email_verified: c.flag('emailVerified'),
}));

/**
 * The lookup rows of a user's local identities: each normalized name once (an email and a user name
 * that normalize alike are one name), unique in the tenant. Both engines write them with the user, in
 * its transaction, and replace them whenever its local identities change.
 */
export const SIGN_IN_NAMES = { table: 'user_sign_in_names', names: ['tenant_id', 'name', 'user_id'] } as const;

export function signInNameRows(tenantId: string, userId: string, identities: LocalIdentity[]): [string, string, string][] {
  return [...new Set(identities.map(normalizeLocalName))].map((name) => [tenantId, name, userId]);
}

/** A user's identity at an upstream provider, as linked (listed by issuer and id only). */
export const IDENTITIES = table<UserIdentity & { tenantId: string; userId: string; createdAt: number }>()('user_identities', (c) => ({
  tenant_id: c.text('tenantId'),
  issuer: c.text('issuer'),
  issuer_assigned_id: c.text('issuerAssignedId'),
  user_id: c.text('userId'),
  created_at: c.int('createdAt'),
}));

export const KEYS = table<SigningKey>()('signing_keys', (c) => ({
  kid: c.text('kid'),
  tenant_id: c.text('tenantId'),
  alg: c.text('alg'),
  public_jwk: c.json('publicJwk'),
  private_key: c.text('privateKey'),
  status: c.oneOf('status', ['grace', 'active', 'next'], 'grace'),
  created_at: c.int('createdAt'),
  publish_until: c.int('publishUntil'),
}));

export const TENANT_DOMAINS = table<TenantDomain>()('tenant_domains', (c) => ({
  host: c.text('host'),
  tenant_id: c.text('tenantId'),
  created_at: c.int('createdAt'),
}));

export const SESSIONS = table<SsoSession>()('sso_sessions', (c) => ({
  id_hash: c.text('idHash'),
  sid: c.text('sid'),
  tenant_id: c.text('tenantId'),
  user_id: c.text('userId'),
  policy_id: c.text('policyId'),
  client_id: c.text('clientId'),
  idp: c.text('idp'),
  auth_time: c.int('authTime'),
  amr: c.json('amr', '[]'),
  created_at: c.int('createdAt'),
  expires_at: c.int('expiresAt'),
}));

/** An app that signed in with an SSO session (single sign-out tells it; listed by client and policy only). */
export const SESSION_CLIENTS = table<SessionClient & { sessionHash: string }>()('sso_session_clients', (c) => ({
  session_hash: c.text('sessionHash'),
  client_id: c.text('clientId'),
  policy_id: c.text('policyId'),
}));

export const AUTHENTICATORS = table<Authenticator>()('user_authenticators', (c) => ({
  id: c.text('id'),
  tenant_id: c.text('tenantId'),
  user_id: c.text('userId'),
  kind: c.text('kind'),
  credential_id: c.text('credentialId'),
  label: c.text('label'),
  data: c.json('data'),
  version: c.int('version'),
  created_at: c.int('createdAt'),
  last_used_at: c.int('lastUsedAt'),
}));

export const JOURNEYS = table<JourneyRecord>()('journeys', (c) => ({
  id: c.text('id'),
  tenant_id: c.text('tenantId'),
  policy_id: c.text('policyId'),
  browser_hash: c.text('browserHash'),
  request: c.json('request'),
  state: c.json('state'),
  csrf: c.text('csrf'),
  created_at: c.int('createdAt'),
  expires_at: c.int('expiresAt'),
}));

/** What a code and a refresh family both hold: to whom (tenant, app, user) a grant was issued, what it carries, and how long. */
const ISSUED = ((c: Builders<Pick<AuthCodeRecord, 'tenantId' | 'clientId' | 'userId' | 'data' | 'createdAt' | 'expiresAt'>>) => ({
  tenant_id: c.text('tenantId'),
  client_id: c.text('clientId'),
  user_id: c.text('userId'),
  data: c.json('data'),
  created_at: c.int('createdAt'),
  expires_at: c.int('expiresAt'),
}))(builders());

export const CODES = table<AuthCodeRecord>()('auth_codes', (c) => ({
  code_hash: c.text('codeHash'),
  ...ISSUED,
  consumed_at: c.int('consumedAt'),
  issued_jti: c.text('issuedJti'),
}));

/**
 * A refresh family: one row per chain of rotations, holding the hash of its current secret (a record's
 * `tokenHash` when written: a new family's first token). Which token a record stands for, and whether
 * it was consumed, depend on the secret presented (toFamily).
 */
export const FAMILIES = partial<RefreshTokenRecord>('refresh_families', (c) => ({
  family_id: c.text('familyId'),
  secret_hash: c.written((t) => t.tokenHash),
  ...ISSUED,
  family_expires_at: c.int('familyExpiresAt'),
  rotated_at: c.written(() => null),
  revoked_at: c.int('revokedAt'),
  generation: c.written(() => 0),
  origin_code_hash: c.text('originCodeHash'),
}));

/** What a rotation writes into the family's row: the next token's secret, data and times. */
export const ROTATION = partial<RefreshTokenRecord>('refresh_families', (c) => ({
  secret_hash: c.written((t) => t.tokenHash),
  data: c.json('data'),
  created_at: c.int('createdAt'),
  expires_at: c.int('expiresAt'),
}));

/** A refresh-token record from a row of either table; the token hash and consumption are the caller's. (No spread: this runs on every refresh.) */
export function refreshRecord(r: Row, tokenHash: string, consumedAt: number | null): RefreshTokenRecord {
  const record = FAMILIES.read(r);
  record.tokenHash = tokenHash;
  record.consumedAt = consumedAt;
  return record;
}

/** A row of refresh_tokens, the table of tokens issued before families were one row (SQLite only). */
export function toRefresh(r: Row): RefreshTokenRecord {
  return refreshRecord(r, str(r.token_hash), optNum(r.consumed_at));
}

/** A family row as the record of the presented secret: consumed (rotated away, or never issued) if it is not the family's current one. */
export function toFamily(r: Row, presentedHash: string): RefreshTokenRecord {
  const current = safeEqual(str(r.secret_hash), presentedHash);
  return refreshRecord(r, presentedHash, current ? null : (optNum(r.rotated_at) ?? num(r.created_at)));
}

/** Mail as queued (its id is the database's). */
export const OUTBOX = table<Omit<OutboxMessage, 'id'>>()('outbox', (c) => ({
  tenant_id: c.text('tenantId'),
  to_address: c.text('to'),
  subject: c.text('subject'),
  body: c.text('body'),
  transport: c.oneOf('transport', ['outbox', 'smtp', 'sms', 'sms-outbox'], 'outbox'),
  created_at: c.int('createdAt'),
}));

export function toOutboxMessage(r: Row): OutboxMessage {
  return { id: num(r.id), ...OUTBOX.read(r) };
}

/** An audit event as recorded (its id is the database's). */
export const AUDIT = table<Omit<AuditEvent, 'id'>>()('audit_events', (c) => ({
  at: c.int('at'),
  tenant_id: c.text('tenantId'),
  event: c.text('event'),
  outcome: c.oneOf('outcome', ['failure', 'success'], 'failure'),
  subject: c.text('subject'),
  client_id: c.text('clientId'),
  ip: c.text('ip'),
  detail: c.text('detail'),
  actor: c.text('actor'),
}));

export function toAuditEvent(r: Row): AuditEvent {
  return { id: num(r.id), ...AUDIT.read(r) };
}

/** An API's scope descriptions by name, from its app_scopes rows. */
export function toScopeDescriptions(rows: Row[]): Record<string, string> {
  return Object.fromEntries(rows.map((r) => [str(r.name), str(r.description)]));
}

/** A sign-in name's failure count and lock; a name without a row has none. */
export function toThrottle(r: Row | undefined): LoginThrottle {
  return r ? { failures: num(r.failures), lockouts: num(r.lockouts), lockedUntil: num(r.locked_until) } : { failures: 0, lockouts: 0, lockedUntil: 0 };
}

export function toCounter(r: Row): { count: number; resetAt: number } {
  return { count: num(r.count), resetAt: num(r.reset_at) };
}

/**
 * A SAML app's row: the settings (ACS, SLO, NameID format, certificates…) are one JSON column, read and
 * written together, so this table is mapped by hand rather than column by column.
 */
export function toSamlApp(r: Row): SamlApp {
  const settings = JSON.parse(str(r.settings)) as Pick<SamlApp, 'acs' | 'slo' | 'nameIdFormat' | 'requireSignedRequests' | 'certificates' | 'metadataUrl'>;
  return {
    clientId: str(r.client_id),
    tenantId: str(r.tenant_id),
    name: str(r.name),
    entityId: str(r.entity_id),
    acs: settings.acs,
    slo: settings.slo ?? null,
    nameIdFormat: settings.nameIdFormat,
    requireSignedRequests: settings.requireSignedRequests,
    certificates: settings.certificates,
    metadataUrl: settings.metadataUrl ?? null,
    createdAt: num(r.created_at),
  };
}

/** A SAML app's row values, in the order of SAML_APP_COLUMNS. */
export function samlAppValues(a: SamlApp): unknown[] {
  const settings = JSON.stringify({ acs: a.acs, slo: a.slo, nameIdFormat: a.nameIdFormat, requireSignedRequests: a.requireSignedRequests, certificates: a.certificates, metadataUrl: a.metadataUrl });
  return [a.clientId, a.tenantId, a.entityId, a.name, settings, a.createdAt];
}

export const SAML_APP_COLUMNS = { table: 'saml_apps', names: ['client_id', 'tenant_id', 'entity_id', 'name', 'settings', 'created_at'] } as const;
