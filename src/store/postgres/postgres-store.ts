import { createHash } from 'node:crypto';
import pg from 'pg';
import { postgresMigrationsDir } from '../../paths.js';
import { normalizeEmail, normalizeLookupName } from '../normalize.js';
import {
  APPS, APP_SETTINGS, AUDIT, AUTHENTICATORS, EMAIL_DOMAINS, ENTERPRISE_APPS, PERMISSIONS, USER_ROLES, CODES, CONSENTS, FAMILIES, GRANTS, IDENTITIES, JOURNEYS, KEYS, OUTBOX, PROFILE, REPLACED_USER_COLUMNS, ROTATION, SESSIONS, SESSION_CLIENTS, SIGN_IN, SIGN_IN_NAMES, TENANTS, TENANT_DOMAINS, TENANT_SECRETS, TENANT_SETTINGS, USERS,
  SAML_APP_COLUMNS, samlAppValues, toSamlApp,
  num, signInNameRows, storedUsers, toJoinedUser, str, toAuditEvent, toCounter, toFamily, toOutboxMessage, toScopeDescriptions, toThrottle, type Row,
} from '../rows.js';
import { EXPIRING, ON_CONFLICT, endSessionsSql, hitCounterSql, insertSql, purgeSql, revokeFamiliesSql, setThrottleSql, updateSql, userQuerySql, countUsersSql, auditQuerySql, auditCountSql, type Placeholder, type UserQueryDialect } from '../schema.js';
import { StoreConflictError, type AuditCount, type AuditCountQuery, type AuditFilter, type CodeRedemption, type ConfigChange, type ImportWrite, type ImportWriteOutcome, type MigrationResult, type RefreshRotation, type RefreshTokenRef, type StoreEngine, type UserFilterQuery, type UserQuery } from '../store.js';
import type { App, AppPermission, DirectoryRole, EmailDomain, EnterpriseApp, SamlApp, AppSecret, AppGrant, AuditEvent, AuthCodeRecord, Authenticator, AuthenticatorKind, Consent, ImportedUser, JourneyRecord, LoginThrottle, OutboxMessage, RefreshTokenRecord, SessionClient, SigningKey, SsoSession, Tenant, TenantDomain, TenantSecret, TenantSettings, User, UserIdentity, UserProfileUpdate, UserSignIn } from '../../model/entities.js';
import { migratePostgres } from './migrate.js';
import { TurnBatch, uniqueRounds } from './turn-batch.js';

const $: Placeholder = (n) => `$${n}`;

/** ILIKE ignores case; the "C" collation orders text by code point, as SQLite's default does. */
const DIALECT: UserQueryDialect = { like: 'ILIKE', binary: ' COLLATE "C"' };

/** Statements built from the shared descriptions (schema.ts), once. */
const SQL = {
  insertTenant: insertSql(TENANTS, $),
  insertApp: insertSql(APPS, $),
  setAppSettings: updateSql('apps', APP_SETTINGS.names, ['tenant_id', 'client_id'], $),
  insertTenantDomain: insertSql(TENANT_DOMAINS, $),
  insertSamlApp: insertSql(SAML_APP_COLUMNS, $),
  insertGrant: insertSql(GRANTS, $, ON_CONFLICT.ignore),
  setTenantSecret: insertSql(TENANT_SECRETS, $, ON_CONFLICT.tenantSecret),
  saveConsent: insertSql(CONSENTS, $, ON_CONFLICT.consent),
  insertUser: insertSql(USERS, $),
  replaceUser: updateSql('users', REPLACED_USER_COLUMNS, ['tenant_id', 'id'], $),
  setSignIn: updateSql('users', [...SIGN_IN.names, 'updated_at'], ['tenant_id', 'id'], $),
  insertIdentity: insertSql(IDENTITIES, $),
  insertSignInName: insertSql(SIGN_IN_NAMES, $),
  endSessions: endSessionsSql($),
  insertKey: insertSql(KEYS, $),
  insertSession: insertSql(SESSIONS, $),
  addSessionClient: insertSql(SESSION_CLIENTS, $, ON_CONFLICT.sessionClient),
  insertAuthenticator: insertSql(AUTHENTICATORS, $),
  insertJourney: insertSql(JOURNEYS, $),
  insertCode: insertSql(CODES, $),
  insertFamily: insertSql(FAMILIES, $),
  revokeFamily: revokeFamiliesSql('family', $),
  revokeUserFamilies: revokeFamiliesSql('user', $),
  revokeConsentFamilies: revokeFamiliesSql('consent', $),
  revokeAppFamilies: revokeFamiliesSql('app', $),
  insertPermission: insertSql(PERMISSIONS, $, ON_CONFLICT.ignore),
  saveEnterpriseApp: insertSql(ENTERPRISE_APPS, $, ON_CONFLICT.enterpriseApp),
  insertEmailDomain: insertSql(EMAIL_DOMAINS, $),
  insertUserRole: insertSql(USER_ROLES, $, ON_CONFLICT.ignore),
  promoteKey: insertSql(KEYS, $, "ON CONFLICT (kid) DO UPDATE SET status = 'active', publish_until = NULL"),
  insertOutbox: insertSql(OUTBOX, $),
  insertAudit: insertSql(AUDIT, $),
  setThrottle: setThrottleSql($),
  hitCounter: hitCounterSql($),
  purge: EXPIRING.map((e) => purgeSql(e, $)),
};

/** The refresh_families columns' types, for the batched statements' arrays (unnest). */
const FAMILY_TYPES: Record<string, string> = {
  family_id: 'text', secret_hash: 'text', tenant_id: 'text', client_id: 'text', user_id: 'text', data: 'text', created_at: 'bigint',
  expires_at: 'bigint', family_expires_at: 'bigint', rotated_at: 'bigint', revoked_at: 'bigint', generation: 'integer', origin_code_hash: 'text',
};
/** Array parameters `$from…` for columns, typed for unnest. */
const arrays = (names: readonly string[], from: number): string => names.map((c, i) => `$${from + i}::${FAMILY_TYPES[c]}[]`).join(', ');

/**
 * The turn's redemptions as one statement: a conditional UPDATE consumes each code not consumed yet
 * (the row lock orders instances racing for one code: one wins) and, for the codes it consumed, the
 * refresh families they start are inserted in the same statement, so both commit together.
 * Parameters: code hashes, nows, jtis, then the new families' columns (null where a code starts none).
 */
const REDEEM_BATCH = `WITH v AS (
    SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], ${arrays(FAMILIES.names, 4)}) AS v(code_hash, now, jti, ${FAMILIES.names.join(', ')})
  ), consumed AS (
    UPDATE auth_codes a SET consumed_at = v.now, issued_jti = v.jti, family_id = v.family_id
    FROM v WHERE a.code_hash = v.code_hash AND a.consumed_at IS NULL RETURNING a.code_hash
  ), families AS (
    INSERT INTO refresh_families (${FAMILIES.names.join(', ')})
    SELECT ${FAMILIES.names.map((c) => `v.${c}`).join(', ')} FROM v JOIN consumed c ON c.code_hash = v.code_hash WHERE v.family_id IS NOT NULL
  )
  SELECT code_hash FROM consumed`;

/** The turn's rotations as one conditional UPDATE over the list: each row changes only if its presented secret is the current one. Parameters: family ids, presented hashes, then the next tokens' columns. */
const ROTATE_BATCH = `UPDATE refresh_families f SET ${ROTATION.names.map((c) => `${c} = v.${c}`).join(', ')}, rotated_at = v.created_at, generation = f.generation + 1
  FROM unnest($1::text[], $2::text[], ${arrays(ROTATION.names, 3)}) AS v(family_id, old_hash, ${ROTATION.names.join(', ')})
  WHERE f.family_id = v.family_id AND f.secret_hash = v.old_hash AND f.revoked_at IS NULL
  RETURNING f.family_id`;

/** Rows of values as the columns' arrays (what unnest takes). */
function transpose(rows: unknown[][], width: number): unknown[][] {
  return Array.from({ length: width }, (_, c) => rows.map((r) => r[c]));
}

/** A user's columns beside a token's, prefixed (u_id, u_email…), to read both in one statement. */
const USER_PREFIX = 'u_';
const USER_COLUMNS = USERS.names.map((f) => `u.${f} AS ${USER_PREFIX}${f}`).join(', ');

/** Prepared statements' names, by their SQL: a pure function of the text, so shared by every store. */
const statementNames = new Map<string, string>();

/**
 * The channel instances tell each other about changes on. Payload: a tenant id (or '*') for a change
 * of its settings or keys; `apps:`, `users:` or `domains:` before it for its apps, users or custom domains.
 */
const CHANNEL = 'latchkey_config';
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

function payloadOf(change: ConfigChange): string {
  return change.what === 'tenant' ? change.tenantId : `${change.what}:${change.tenantId}`;
}
function changeOf(payload: string): ConfigChange {
  const m = /^(apps|users|domains):(.*)$/s.exec(payload);
  return m ? { what: m[1] as 'apps' | 'users' | 'domains', tenantId: m[2]! } : { what: 'tenant', tenantId: payload || '*' };
}

function pgCode(err: unknown): string | undefined {
  return err && typeof err === 'object' && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** BIGINT columns hold epoch milliseconds, well inside a double: read them as numbers (node-pg reads strings). */
const types = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
    oid === 20 ? (v: string) => Number(v) : pg.types.getTypeParser(oid, format)) as typeof pg.types.getTypeParser,
};

type Queryable = Pick<pg.PoolClient, 'query'>;

/**
 * PostgreSQL implementation of the Store, for several Latchkey instances on one database. Every state
 * between requests lives here; single use and rotation hold across instances because each is one
 * conditional UPDATE (row locks decide the one winner). Instances tell each other about changes
 * through LISTEN/NOTIFY (announce, onConfigChange), which the caching layer in front listens to.
 */
export class PostgresStore implements StoreEngine {
  private readonly listeners: ((change: ConfigChange) => void)[] = [];
  private listenClient: pg.Client | undefined;
  private closed = false;
  readonly usersReadAlong = new WeakMap<object, User>();

  private constructor(
    private readonly pool: pg.Pool,
    private readonly url: string,
    readonly migration: MigrationResult,
  ) {}

  /** Reads and writes of the token endpoint, batched per event-loop turn (turn-batch.ts). */
  // A refresh family or a code is read with its user, which the grant reads next: one statement for both.
  private readonly families = new TurnBatch<string, Row | undefined>((ids) =>
    this.byKey(`SELECT f.*, ${USER_COLUMNS} FROM refresh_families f LEFT JOIN users u ON u.id = f.user_id WHERE f.family_id = ANY($1)`, ids, 'family_id'),
  );
  private readonly codes = new TurnBatch<string, Row | undefined>((hashes) =>
    this.byKey(`SELECT a.*, ${USER_COLUMNS} FROM auth_codes a LEFT JOIN users u ON u.id = a.user_id WHERE a.code_hash = ANY($1)`, hashes, 'code_hash'),
  );
  private readonly users = new TurnBatch<string, Row | undefined>((ids) => this.byKey('SELECT * FROM users WHERE id = ANY($1)', ids, 'id'));
  private readonly rotations = new TurnBatch<{ ref: { familyId: string; secretHash: string }; now: number; next: RefreshTokenRecord }, RefreshRotation>((items) => this.rotateBatch(items));
  private readonly redemptions = new TurnBatch<{ codeHash: string; now: number; issued?: { jti: string; refresh?: RefreshTokenRecord } }, CodeRedemption>((items) => this.redeemBatch(items));

  /** Rows for a batch of keys, in the keys' order (one statement with `= ANY($1)`). */
  private async byKey(sql: string, keys: string[], column: string): Promise<(Row | undefined)[]> {
    const found = new Map((await this.rows(sql, [[...new Set(keys)]])).map((r) => [str(r[column]), r]));
    return keys.map((k) => found.get(k));
  }

  /** The record, remembering the user its row was read with for the cache (usersReadAlong). */
  private withUser<T extends object>(row: Row, record: T): T {
    const user = toJoinedUser(row, USER_PREFIX);
    if (user) this.usersReadAlong.set(record, user);
    return record;
  }

  /** Connects, applies migrations under an advisory lock (instances starting together do not race), and returns the store. */
  static async open(url: string, opts: { max?: number } = {}): Promise<PostgresStore> {
    const pool = new pg.Pool({ connectionString: url, max: opts.max ?? 10, types, connectionTimeoutMillis: 10_000 });
    // A dropped idle connection is not fatal: the pool makes a new one.
    pool.on('error', () => undefined);
    try {
      const migration = await migratePostgres(pool, postgresMigrationsDir);
      return new PostgresStore(pool, url, migration);
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw err;
    }
  }

  /**
   * Every statement runs as a named prepared statement: each connection parses and plans it once, not
   * on every call (on the token endpoint that was a good part of the database's CPU).
   */
  private query(sql: string, params: unknown[], on: Queryable): Promise<pg.QueryResult> {
    let name = statementNames.get(sql);
    if (name === undefined) {
      name = `lk_${createHash('sha1').update(sql).digest('hex').slice(0, 16)}`;
      statementNames.set(sql, name);
    }
    return on.query({ name, text: sql, values: params });
  }

  private async rows(sql: string, params: unknown[] = [], on: Queryable = this.pool): Promise<Row[]> {
    return (await this.query(sql, params, on)).rows as Row[];
  }

  private async one(sql: string, params: unknown[] = [], on: Queryable = this.pool): Promise<Row | undefined> {
    return (await this.rows(sql, params, on))[0];
  }

  private async run(sql: string, params: unknown[] = [], on: Queryable = this.pool): Promise<number> {
    return (await this.query(sql, params, on)).rowCount ?? 0;
  }

  private async tx<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const c = await this.pool.connect();
    try {
      await c.query('BEGIN');
      const out = await fn(c);
      await c.query('COMMIT');
      return out;
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      throw err;
    } finally {
      c.release();
    }
  }

  /** Tells every other instance (and this one's listener) about a change; delivered when the statement commits. */
  async announce(change: ConfigChange): Promise<void> {
    await this.pool.query('SELECT pg_notify($1, $2)', [CHANNEL, payloadOf(change)]);
  }

  /** Other instances' changes come as notices (onConfigChange), not through this. */
  changedElsewhere(): boolean {
    return false;
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.listenClient?.end().catch(() => undefined);
    this.listenClient = undefined;
    await this.pool.end();
  }

  async ping(): Promise<void> {
    await this.pool.query('SELECT 1');
  }

  onConfigChange(listener: (change: ConfigChange) => void): void {
    this.listeners.push(listener);
  }

  /** A server listens for other instances' changes on a connection of its own, reconnecting when it drops. */
  startBackgroundWork(onWarning: (message: string) => void): void {
    const connect = async (): Promise<void> => {
      if (this.closed) return;
      const client = new pg.Client({ connectionString: this.url, types });
      client.on('notification', (n) => {
        if (n.channel !== CHANNEL) return;
        const change = changeOf(n.payload ?? '');
        for (const l of this.listeners) l(change);
      });
      client.on('error', (err) => {
        if (this.closed) return;
        onWarning(`change notifications stopped (${err.message}); caches expire within a second meanwhile; reconnecting`);
        this.listenClient = undefined;
        client.end().catch(() => undefined);
        setTimeout(() => void connect().catch(() => undefined), 1000).unref();
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${CHANNEL}`);
        this.listenClient = client;
      } catch (err) {
        client.end().catch(() => undefined);
        if (!this.closed) {
          onWarning(`cannot listen for change notifications (${(err as Error).message}); retrying`);
          setTimeout(() => void connect().catch(() => undefined), 1000).unref();
        }
      }
    };
    void connect();
  }

  // tenants
  async createTenant(t: Tenant): Promise<void> {
    try {
      await this.run(SQL.insertTenant, TENANTS.values(t));
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`tenant ${t.slug} already exists`);
      throw err;
    }
  }
  async findTenant(idOrSlug: string): Promise<Tenant | undefined> {
    const row = await this.one('SELECT * FROM tenants WHERE id = $1 OR slug = $1 OR b2c_name = $1 ORDER BY (id = $1) DESC, (slug = $1) DESC LIMIT 1', [idOrSlug]);
    return row && TENANTS.read(row);
  }
  async listTenants(): Promise<Tenant[]> {
    return (await this.rows('SELECT * FROM tenants ORDER BY created_at, slug')).map(TENANTS.read);
  }
  async bumpTenantConfigVersion(tenantId: string): Promise<void> {
    await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [tenantId]);
  }
  async updateTenantSettings(tenantId: string, settings: TenantSettings): Promise<void> {
    const set = TENANT_SETTINGS.given(settings);
    await this.tx(async (c) => {
      if (set.names.length > 0) await this.run(updateSql('tenants', set.names, ['id'], $), [...set.values, tenantId], c);
      await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [tenantId], c);
    });
  }
  async tenantConfigVersion(tenantId: string): Promise<number | undefined> {
    const row = await this.one('SELECT config_version FROM tenants WHERE id = $1', [tenantId]);
    return row ? num(row.config_version) : undefined;
  }

  // tenant secrets
  // tenant domains
  async addTenantDomain(d: TenantDomain): Promise<void> {
    try {
      await this.run(SQL.insertTenantDomain, TENANT_DOMAINS.values(d));
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`the host ${d.host} is already in use`);
      throw err;
    }
  }
  async removeTenantDomain(tenantId: string, host: string): Promise<boolean> {
    return (await this.run('DELETE FROM tenant_domains WHERE tenant_id = $1 AND host = $2', [tenantId, host])) > 0;
  }
  async listTenantDomains(tenantId?: string): Promise<TenantDomain[]> {
    const rows = tenantId === undefined ? await this.rows('SELECT * FROM tenant_domains ORDER BY host COLLATE "C"') : await this.rows('SELECT * FROM tenant_domains WHERE tenant_id = $1 ORDER BY host COLLATE "C"', [tenantId]);
    return rows.map(TENANT_DOMAINS.read);
  }

  async setTenantSecret(t: TenantSecret): Promise<void> {
    await this.run(SQL.setTenantSecret, TENANT_SECRETS.values(t));
  }
  async findTenantSecret(tenantId: string, name: string): Promise<TenantSecret | undefined> {
    const row = await this.one('SELECT * FROM tenant_secrets WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
    return row && TENANT_SECRETS.read(row);
  }
  async listTenantSecrets(tenantId: string): Promise<TenantSecret[]> {
    return (await this.rows('SELECT * FROM tenant_secrets WHERE tenant_id = $1 ORDER BY name', [tenantId])).map(TENANT_SECRETS.read);
  }
  async removeTenantSecret(tenantId: string, name: string): Promise<boolean> {
    return (await this.run('DELETE FROM tenant_secrets WHERE tenant_id = $1 AND name = $2', [tenantId, name])) > 0;
  }

  // apps
  async createApp(a: App): Promise<void> {
    try {
      await this.run(SQL.insertApp, APPS.values(a));
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) {
        throw new StoreConflictError(String((err as { constraint?: string }).constraint ?? '').includes('identifier') ? `an app with identifier URI ${a.identifierUri} already exists` : `an app with client id ${a.clientId} already exists`);
      }
      throw err;
    }
  }
  async createSamlApp(a: SamlApp): Promise<void> {
    try {
      await this.run(SQL.insertSamlApp, samlAppValues(a));
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) {
        throw new StoreConflictError(String((err as { constraint?: string }).constraint ?? '').includes('entity') ? `a SAML app with entity id ${a.entityId} already exists` : `an app with client id ${a.clientId} already exists`);
      }
      throw err;
    }
  }
  async findSamlApp(tenantId: string, clientId: string): Promise<SamlApp | undefined> {
    const row = await this.one('SELECT * FROM saml_apps WHERE tenant_id = $1 AND client_id = $2', [tenantId, clientId]);
    return row && toSamlApp(row);
  }
  async findSamlAppByEntityId(tenantId: string, entityId: string): Promise<SamlApp | undefined> {
    const row = await this.one('SELECT * FROM saml_apps WHERE tenant_id = $1 AND entity_id = $2', [tenantId, entityId]);
    return row && toSamlApp(row);
  }
  async listSamlApps(tenantId: string): Promise<SamlApp[]> {
    return (await this.rows('SELECT * FROM saml_apps WHERE tenant_id = $1 ORDER BY created_at, name', [tenantId])).map(toSamlApp);
  }
  async removeSamlApp(tenantId: string, clientId: string): Promise<boolean> {
    return (await this.run('DELETE FROM saml_apps WHERE tenant_id = $1 AND client_id = $2', [tenantId, clientId])) > 0;
  }
  async findApp(tenantId: string, clientId: string): Promise<App | undefined> {
    const row = await this.one('SELECT * FROM apps WHERE tenant_id = $1 AND client_id = $2', [tenantId, clientId]);
    return row && APPS.read(row);
  }
  async findAppAnyTenant(clientId: string): Promise<App | undefined> {
    const row = await this.one('SELECT * FROM apps WHERE client_id = $1', [clientId]);
    return row && APPS.read(row);
  }
  async listApps(tenantId: string): Promise<App[]> {
    return (await this.rows('SELECT * FROM apps WHERE tenant_id = $1 ORDER BY created_at, name', [tenantId])).map(APPS.read);
  }
  async findAppByIdentifierUri(tenantId: string, identifierUri: string): Promise<App | undefined> {
    const row = await this.one('SELECT * FROM apps WHERE tenant_id = $1 AND identifier_uri = $2', [tenantId, identifierUri]);
    return row && APPS.read(row);
  }
  async updateApp(tenantId: string, clientId: string, change: (app: App) => App): Promise<App | undefined> {
    try {
      return await this.tx(async (c) => {
        const row = await this.one('SELECT * FROM apps WHERE tenant_id = $1 AND client_id = $2 FOR UPDATE', [tenantId, clientId], c);
        if (!row) return undefined;
        const next = change(APPS.read(row));
        await this.run(SQL.setAppSettings, [...APP_SETTINGS.values(next), tenantId, clientId], c);
        return next;
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError('an app with this identifier URI already exists');
      throw err;
    }
  }
  async updateAppSecrets(tenantId: string, clientId: string, change: (secrets: AppSecret[]) => AppSecret[]): Promise<AppSecret[] | undefined> {
    return this.tx(async (c) => {
      const row = await this.one('SELECT secrets FROM apps WHERE tenant_id = $1 AND client_id = $2 FOR UPDATE', [tenantId, clientId], c);
      if (!row) return undefined;
      const next = change(APPS.read(row).secrets);
      await this.run('UPDATE apps SET secrets = $1 WHERE tenant_id = $2 AND client_id = $3', [APPS.value('secrets', next), tenantId, clientId], c);
      await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [tenantId], c);
      return next;
    });
  }
  async addAppScope(apiClientId: string, name: string, description?: string, adminConsent?: boolean): Promise<void> {
    await this.run(`INSERT INTO app_scopes (api_client_id, name, description, admin_consent) VALUES ($1, $2, $3, $4) ${ON_CONFLICT.scope}`, [apiClientId, name, description ?? null, adminConsent ? 1 : 0]);
  }
  async adminConsentScopes(apiClientId: string): Promise<string[]> {
    return (await this.rows('SELECT name FROM app_scopes WHERE api_client_id = $1 AND admin_consent = 1 ORDER BY name', [apiClientId])).map((r) => str(r.name));
  }
  async listAppScopes(apiClientId: string): Promise<string[]> {
    return (await this.rows('SELECT name FROM app_scopes WHERE api_client_id = $1 ORDER BY name', [apiClientId])).map((r) => str(r.name));
  }
  async scopeDescriptions(apiClientId: string): Promise<Record<string, string>> {
    return toScopeDescriptions(await this.rows('SELECT name, description FROM app_scopes WHERE api_client_id = $1 AND description IS NOT NULL', [apiClientId]));
  }
  async addAppRole(apiClientId: string, name: string): Promise<void> {
    await this.run(`INSERT INTO app_roles (api_client_id, name) VALUES ($1, $2) ${ON_CONFLICT.ignore}`, [apiClientId, name]);
  }
  async listAppRoles(apiClientId: string): Promise<string[]> {
    return (await this.rows('SELECT name FROM app_roles WHERE api_client_id = $1 ORDER BY name', [apiClientId])).map((r) => str(r.name));
  }
  async addGrant(g: AppGrant): Promise<void> {
    await this.run(SQL.insertGrant, GRANTS.values(g));
  }
  async removeGrant(g: AppGrant): Promise<boolean> {
    return (await this.run('DELETE FROM app_grants WHERE client_id = $1 AND api_client_id = $2 AND kind = $3 AND name = $4', GRANTS.values(g))) > 0;
  }
  async listGrants(clientId: string, apiClientId?: string): Promise<AppGrant[]> {
    const rows = apiClientId
      ? await this.rows('SELECT * FROM app_grants WHERE client_id = $1 AND api_client_id = $2 ORDER BY kind, name', [clientId, apiClientId])
      : await this.rows('SELECT * FROM app_grants WHERE client_id = $1 ORDER BY api_client_id, kind, name', [clientId]);
    return rows.map(GRANTS.read);
  }

  // organizations
  async addAppPermission(p: AppPermission): Promise<void> {
    await this.run(SQL.insertPermission, PERMISSIONS.values(p));
  }
  async removeAppPermission(p: AppPermission): Promise<boolean> {
    return (await this.run('DELETE FROM app_permissions WHERE client_id = $1 AND api = $2 AND kind = $3 AND name = $4', PERMISSIONS.values(p))) > 0;
  }
  async listAppPermissions(clientId: string): Promise<AppPermission[]> {
    return (await this.rows('SELECT * FROM app_permissions WHERE client_id = $1 ORDER BY api, kind, name', [clientId])).map(PERMISSIONS.read);
  }
  async saveEnterpriseApp(e: EnterpriseApp): Promise<boolean> {
    // xmax = 0: the row was inserted by this statement, not updated.
    const row = await this.one(`${SQL.saveEnterpriseApp} RETURNING (xmax = 0) AS created`, ENTERPRISE_APPS.values(e));
    return row?.created === true;
  }
  async findEnterpriseApp(tenantId: string, clientId: string): Promise<EnterpriseApp | undefined> {
    const row = await this.one('SELECT * FROM enterprise_apps WHERE tenant_id = $1 AND client_id = $2', [tenantId, clientId]);
    return row && ENTERPRISE_APPS.read(row);
  }
  async listEnterpriseApps(tenantId: string): Promise<EnterpriseApp[]> {
    return (await this.rows('SELECT * FROM enterprise_apps WHERE tenant_id = $1 ORDER BY created_at, client_id', [tenantId])).map(ENTERPRISE_APPS.read);
  }
  async removeEnterpriseApp(tenantId: string, clientId: string, now: number): Promise<boolean> {
    return this.tx(async (c) => {
      const gone = (await this.run('DELETE FROM enterprise_apps WHERE tenant_id = $1 AND client_id = $2', [tenantId, clientId], c)) > 0;
      if (gone) {
        await this.run('DELETE FROM user_consents WHERE tenant_id = $1 AND client_id = $2', [tenantId, clientId], c);
        await this.run(SQL.revokeAppFamilies, [now, tenantId, clientId], c);
      }
      return gone;
    });
  }
  async addEmailDomain(d: EmailDomain): Promise<void> {
    try {
      await this.run(SQL.insertEmailDomain, EMAIL_DOMAINS.values(d));
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`the email domain ${d.domain} already belongs to a tenant`);
      throw err;
    }
  }
  async removeEmailDomain(tenantId: string, domain: string): Promise<boolean> {
    return (await this.run('DELETE FROM tenant_email_domains WHERE tenant_id = $1 AND domain = $2', [tenantId, domain.toLowerCase()])) > 0;
  }
  async listEmailDomains(tenantId: string): Promise<EmailDomain[]> {
    return (await this.rows('SELECT * FROM tenant_email_domains WHERE tenant_id = $1 ORDER BY domain', [tenantId])).map(EMAIL_DOMAINS.read);
  }
  async findEmailDomain(domain: string): Promise<EmailDomain | undefined> {
    const row = await this.one('SELECT * FROM tenant_email_domains WHERE domain = $1', [domain.toLowerCase()]);
    return row && EMAIL_DOMAINS.read(row);
  }
  async listUserRoles(tenantId: string, userId: string): Promise<DirectoryRole[]> {
    return (await this.rows('SELECT role FROM user_directory_roles WHERE tenant_id = $1 AND user_id = $2 ORDER BY role', [tenantId, userId])).map((r) => str(r.role) as DirectoryRole);
  }
  async addUserRole(tenantId: string, userId: string, role: DirectoryRole, now: number): Promise<void> {
    await this.run(SQL.insertUserRole, USER_ROLES.values({ tenantId, userId, role, createdAt: now }));
  }
  async removeUserRole(tenantId: string, userId: string, role: DirectoryRole): Promise<boolean> {
    return (await this.run('DELETE FROM user_directory_roles WHERE tenant_id = $1 AND user_id = $2 AND role = $3', [tenantId, userId, role])) > 0;
  }

  // consent
  async findConsent(tenantId: string, userId: string, clientId: string): Promise<Consent | undefined> {
    const row = await this.one('SELECT * FROM user_consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3', [tenantId, userId, clientId]);
    return row && CONSENTS.read(row);
  }
  async listConsents(tenantId: string, userId: string): Promise<Consent[]> {
    return (await this.rows('SELECT * FROM user_consents WHERE tenant_id = $1 AND user_id = $2 ORDER BY granted_at', [tenantId, userId])).map(CONSENTS.read);
  }
  async saveConsent(c: Consent): Promise<void> {
    await this.run(SQL.saveConsent, CONSENTS.values(c));
  }
  async removeConsent(tenantId: string, userId: string, clientId: string, now: number): Promise<boolean> {
    return this.tx(async (c) => {
      const gone = (await this.run('DELETE FROM user_consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3', [tenantId, userId, clientId], c)) > 0;
      if (gone) await this.run(SQL.revokeConsentFamilies, [now, tenantId, userId, clientId], c);
      return gone;
    });
  }

  // users
  async createUser(u: User, identities: UserIdentity[] = []): Promise<void> {
    try {
      await this.tx(async (c) => {
        await this.run(SQL.insertUser, USERS.values(u), c);
        await this.writeSignInNames(u, false, c);
        for (const i of identities) await this.run(SQL.insertIdentity, IDENTITIES.values({ ...i, tenantId: u.tenantId, userId: u.id, createdAt: u.createdAt }), c);
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) {
        const onIdentity = String((err as { table?: string }).table ?? '') === 'user_identities';
        throw new StoreConflictError(onIdentity ? 'one of the identities already belongs to a user' : `a user with sign-in name ${u.localIdentities.map((l) => l.issuerAssignedId).join(' or ')} already exists`);
      }
      throw err;
    }
  }
  async importUsers(_tenantId: string, ids: string[], plan: (stored: ImportedUser[]) => ImportWrite[], now: number): Promise<ImportWriteOutcome[]> {
    return this.tx(async (c) => {
      // Locked until the batch commits: a user changed meanwhile waits, and the plan sees what it replaces.
      const users = await this.rows('SELECT * FROM users WHERE id = ANY($1) FOR UPDATE', [ids], c);
      const identities = await this.rows('SELECT user_id, issuer, issuer_assigned_id FROM user_identities WHERE user_id = ANY($1) ORDER BY created_at, issuer', [ids], c);
      const outcomes: ImportWriteOutcome[] = [];
      for (const w of plan(storedUsers(users, identities))) {
        // Each row in a savepoint of its own: one refused leaves the others.
        await c.query('SAVEPOINT row');
        try {
          if (w.exists) {
            const row = USERS.row(w.user);
            await this.run(SQL.replaceUser, [...REPLACED_USER_COLUMNS.map((col) => row[col]), w.user.tenantId, w.user.id], c);
          } else {
            await this.run(SQL.insertUser, USERS.values(w.user), c);
          }
          await this.writeSignInNames(w.user, w.exists, c);
          for (const i of w.addIdentities) await this.run(SQL.insertIdentity, IDENTITIES.values({ ...i, tenantId: w.user.tenantId, userId: w.user.id, createdAt: now }), c);
          await c.query('RELEASE SAVEPOINT row');
          outcomes.push('written');
        } catch (err) {
          await c.query('ROLLBACK TO SAVEPOINT row');
          if (pgCode(err) !== UNIQUE_VIOLATION) throw err;
          outcomes.push(String((err as { table?: string }).table ?? '') === 'user_identities' ? 'identity_taken' : 'sign_in_name_taken');
        }
      }
      return outcomes;
    });
  }
  /** The lookup rows of the user's local identities (rows.ts's SIGN_IN_NAMES), replacing its old ones. */
  private async writeSignInNames(u: Pick<User, 'tenantId' | 'id' | 'localIdentities'>, replace: boolean, c: Queryable): Promise<void> {
    if (replace) await this.run('DELETE FROM user_sign_in_names WHERE tenant_id = $1 AND user_id = $2', [u.tenantId, u.id], c);
    for (const row of signInNameRows(u.tenantId, u.id, u.localIdentities)) await this.run(SQL.insertSignInName, row, c);
  }
  async findUser(tenantId: string, id: string): Promise<User | undefined> {
    const row = await this.users.add(id);
    const user = row && USERS.read(row);
    return user?.tenantId === tenantId ? user : undefined;
  }
  async findUserBySignInName(tenantId: string, signInName: string): Promise<User | undefined> {
    const row = await this.one('SELECT u.* FROM user_sign_in_names n JOIN users u ON u.id = n.user_id WHERE n.tenant_id = $1 AND n.name = $2', [tenantId, normalizeLookupName(signInName)]);
    return row && USERS.read(row);
  }
  async findUsersByEmail(tenantId: string, email: string): Promise<User[]> {
    return (await this.rows('SELECT * FROM users WHERE tenant_id = $1 AND email_normalized = $2 ORDER BY created_at', [tenantId, normalizeEmail(email)])).map(USERS.read);
  }
  async findUserByIdentity(tenantId: string, identity: UserIdentity): Promise<User | undefined> {
    const row = await this.one(
      'SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.tenant_id = $1 AND i.issuer = $2 AND i.issuer_assigned_id = $3',
      [tenantId, identity.issuer, identity.issuerAssignedId],
    );
    return row && USERS.read(row);
  }
  async listUserIdentities(tenantId: string, userId: string): Promise<UserIdentity[]> {
    return (await this.rows('SELECT issuer, issuer_assigned_id FROM user_identities WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, issuer', [tenantId, userId])).map(IDENTITIES.read);
  }
  async addUserIdentity(tenantId: string, userId: string, identity: UserIdentity, now: number): Promise<void> {
    try {
      await this.run(SQL.insertIdentity, IDENTITIES.values({ ...identity, tenantId, userId, createdAt: now }));
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`the identity ${identity.issuer}/${identity.issuerAssignedId} already belongs to a user`);
      throw err;
    }
  }
  async removeUserIdentity(tenantId: string, userId: string, identity: UserIdentity): Promise<boolean> {
    return (await this.run('DELETE FROM user_identities WHERE tenant_id = $1 AND user_id = $2 AND issuer = $3 AND issuer_assigned_id = $4', [tenantId, userId, identity.issuer, identity.issuerAssignedId])) > 0;
  }
  async listUsers(tenantId: string): Promise<User[]> {
    return (await this.rows('SELECT * FROM users WHERE tenant_id = $1 ORDER BY created_at, email', [tenantId])).map(USERS.read);
  }
  async queryUsers(tenantId: string, q: UserQuery): Promise<User[]> {
    const { sql, params } = userQuerySql(tenantId, q, $, DIALECT);
    return (await this.rows(sql, params)).map(USERS.read);
  }
  async countUsers(tenantId: string, q: UserFilterQuery): Promise<number> {
    const { sql, params } = countUsersSql(tenantId, q, $, DIALECT);
    return Number((await this.one(sql, params))!.n);
  }
  async setUserSignIn(tenantId: string, id: string, s: UserSignIn, now: number): Promise<void> {
    try {
      await this.tx(async (c) => {
        if ((await this.run(SQL.setSignIn, [...SIGN_IN.values(s), now, tenantId, id], c)) > 0) await this.writeSignInNames({ tenantId, id, localIdentities: s.localIdentities }, true, c);
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`another user already signs in with ${s.localIdentities.map((l) => l.issuerAssignedId).join(' or ')}`);
      throw err;
    }
  }
  async updateUserProfile(tenantId: string, id: string, update: UserProfileUpdate, now: number): Promise<void> {
    const set = PROFILE.given(update);
    await this.run(updateSql('users', [...set.names, 'updated_at'], ['tenant_id', 'id'], $), [...set.values, now, tenantId, id]);
  }
  async setUserPassword(tenantId: string, id: string, passwordHash: string, now: number, opts: { mustChange?: boolean } = {}): Promise<void> {
    const mustChange = opts.mustChange === undefined ? null : USERS.value('mustChangePassword', opts.mustChange);
    await this.run('UPDATE users SET password_hash = $1, password_at_legacy = 0, must_change_password = COALESCE($2, must_change_password), updated_at = $3 WHERE tenant_id = $4 AND id = $5', [passwordHash, mustChange, now, tenantId, id]);
  }
  async setUserOtherMails(tenantId: string, id: string, otherMails: string[], now: number): Promise<void> {
    await this.run('UPDATE users SET other_mails = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4', [USERS.value('otherMails', otherMails), now, tenantId, id]);
  }
  async setUserDisabled(tenantId: string, id: string, disabled: boolean, now: number): Promise<boolean> {
    return this.tx(async (c) => {
      const changed = (await this.run('UPDATE users SET disabled = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4', [USERS.value('disabled', disabled), now, tenantId, id], c)) > 0;
      if (changed && disabled) await this.endSessions(tenantId, id, now, c);
      return changed;
    });
  }
  async revokeUserSessions(tenantId: string, userId: string, now: number): Promise<void> {
    await this.tx((c) => this.endSessions(tenantId, userId, now, c));
  }
  /** A user's sessions end (schema.ts): its SSO sessions go and its refresh families are revoked. */
  private async endSessions(tenantId: string, userId: string, now: number, c: Queryable): Promise<void> {
    await this.run(SQL.endSessions, [tenantId, userId], c);
    await this.run(SQL.revokeUserFamilies, [now, tenantId, userId], c);
  }
  async deleteUser(tenantId: string, id: string): Promise<boolean> {
    return (await this.run('DELETE FROM users WHERE tenant_id = $1 AND id = $2', [tenantId, id])) > 0;
  }

  // signing keys
  async listSigningKeys(tenantId: string): Promise<SigningKey[]> {
    return (await this.rows("SELECT * FROM signing_keys WHERE tenant_id = $1 ORDER BY status = 'active' DESC, created_at DESC", [tenantId])).map(KEYS.read);
  }
  async rotateSigningKey(key: SigningKey, graceUntil: number): Promise<void> {
    await this.tx(async (c) => {
      await this.run("UPDATE signing_keys SET status = 'grace', publish_until = $1 WHERE tenant_id = $2 AND status = 'active'", [graceUntil, key.tenantId], c);
      await this.run(SQL.promoteKey, KEYS.values({ ...key, status: 'active', publishUntil: null }), c);
      await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [key.tenantId], c);
    });
  }
  async addNextSigningKey(key: SigningKey): Promise<void> {
    try {
      await this.tx(async (c) => {
        await this.run(SQL.insertKey, KEYS.values({ ...key, status: 'next', publishUntil: null }), c);
        await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [key.tenantId], c);
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError('a next key is published already: rotate to make it active first');
      throw err;
    }
  }
  async deleteSigningKey(tenantId: string, kid: string): Promise<boolean> {
    return this.tx(async (c) => {
      const gone = (await this.run("DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2 AND status = 'grace'", [tenantId, kid], c)) > 0;
      if (gone) await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [tenantId], c);
      return gone;
    });
  }

  // second factors and passkeys
  async listAuthenticators(tenantId: string, userId: string): Promise<Authenticator[]> {
    return (await this.rows('SELECT * FROM user_authenticators WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id', [tenantId, userId])).map(AUTHENTICATORS.read);
  }
  async findAuthenticatorByCredential(tenantId: string, credentialId: string): Promise<Authenticator | undefined> {
    const row = await this.one('SELECT * FROM user_authenticators WHERE tenant_id = $1 AND credential_id = $2', [tenantId, credentialId]);
    return row && AUTHENTICATORS.read(row);
  }
  async replaceAuthenticators(tenantId: string, userId: string, kinds: AuthenticatorKind[], add: Authenticator[]): Promise<void> {
    try {
      await this.tx(async (c) => {
        if (kinds.length > 0) await this.run('DELETE FROM user_authenticators WHERE tenant_id = $1 AND user_id = $2 AND kind = ANY($3)', [tenantId, userId, kinds], c);
        for (const a of add) await this.run(SQL.insertAuthenticator, AUTHENTICATORS.values(a), c);
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError('this passkey is already registered');
      throw err;
    }
  }
  async useAuthenticator(tenantId: string, id: string, version: number, data: Record<string, unknown>, now: number): Promise<boolean> {
    return (await this.run('UPDATE user_authenticators SET data = $1, last_used_at = $2, version = version + 1 WHERE tenant_id = $3 AND id = $4 AND version = $5', [AUTHENTICATORS.value('data', data), now, tenantId, id, version])) > 0;
  }
  async removeAuthenticators(tenantId: string, userId: string, id?: string): Promise<number> {
    return id === undefined
      ? this.run('DELETE FROM user_authenticators WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId])
      : this.run('DELETE FROM user_authenticators WHERE tenant_id = $1 AND user_id = $2 AND id = $3', [tenantId, userId, id]);
  }

  // SSO sessions
  async createSsoSession(s: SsoSession): Promise<void> {
    await this.run(SQL.insertSession, SESSIONS.values(s));
  }
  async findSsoSession(idHash: string): Promise<SsoSession | undefined> {
    const row = await this.one('SELECT * FROM sso_sessions WHERE id_hash = $1', [idHash]);
    return row && SESSIONS.read(row);
  }
  async touchSsoSession(idHash: string, expiresAt: number): Promise<void> {
    await this.run('UPDATE sso_sessions SET expires_at = $1 WHERE id_hash = $2', [expiresAt, idHash]);
  }
  async addSsoSessionClient(idHash: string, client: SessionClient): Promise<void> {
    try {
      await this.run(SQL.addSessionClient, SESSION_CLIENTS.values({ ...client, sessionHash: idHash }));
    } catch (err) {
      // The session ended meanwhile: nothing is left to sign out of.
      if (pgCode(err) !== FOREIGN_KEY_VIOLATION) throw err;
    }
  }
  async endSsoSession(idHash: string): Promise<{ session: SsoSession; clients: SessionClient[] } | undefined> {
    return this.tx(async (c) => {
      // The row lock makes an app joining at this moment wait, then find the session gone.
      if (!(await this.one('SELECT 1 AS one FROM sso_sessions WHERE id_hash = $1 FOR UPDATE', [idHash], c))) return undefined;
      const clients = (await this.rows('SELECT client_id, policy_id FROM sso_session_clients WHERE session_hash = $1 ORDER BY added_at', [idHash], c)).map(SESSION_CLIENTS.read);
      const row = (await this.one('DELETE FROM sso_sessions WHERE id_hash = $1 RETURNING *', [idHash], c))!;
      return { session: SESSIONS.read(row), clients };
    });
  }

  // journeys
  async createJourney(j: JourneyRecord): Promise<void> {
    await this.run(SQL.insertJourney, JOURNEYS.values(j));
  }
  async findJourney(id: string): Promise<JourneyRecord | undefined> {
    const row = await this.one('SELECT * FROM journeys WHERE id = $1', [id]);
    return row && JOURNEYS.read(row);
  }
  async updateJourney(id: string, state: unknown, csrf: string): Promise<void> {
    await this.run('UPDATE journeys SET state = $1, csrf = $2 WHERE id = $3', [JOURNEYS.value('state', state), csrf, id]);
  }
  async deleteJourney(id: string): Promise<void> {
    await this.run('DELETE FROM journeys WHERE id = $1', [id]);
  }

  // authorization codes
  async createAuthCode(c: AuthCodeRecord): Promise<void> {
    await this.run(SQL.insertCode, CODES.values(c));
  }
  async findAuthCode(codeHash: string): Promise<AuthCodeRecord | undefined> {
    const row = await this.codes.add(codeHash);
    return row && this.withUser(row, CODES.read(row));
  }
  async redeemAuthCode(codeHash: string, now: number, issued?: { jti: string; refresh?: RefreshTokenRecord }): Promise<CodeRedemption> {
    return this.redemptions.add({ codeHash, now, ...(issued ? { issued } : {}) });
  }

  private async redeemBatch(items: { codeHash: string; now: number; issued?: { jti: string; refresh?: RefreshTokenRecord } }[]): Promise<CodeRedemption[]> {
    const out: CodeRedemption[] = new Array(items.length);
    const none = FAMILIES.names.map(() => null);
    for (const round of uniqueRounds(items, (i) => i.codeHash)) {
      const families = round.map(({ item }) => (item.issued?.refresh ? FAMILIES.values(item.issued.refresh) : none));
      const params = [round.map((r) => r.item.codeHash), round.map((r) => r.item.now), round.map((r) => r.item.issued?.jti ?? null), ...transpose(families, FAMILIES.names.length)];
      const consumed = new Set((await this.rows(REDEEM_BATCH, params)).map((r) => str(r.code_hash)));
      for (const { index, item } of round) {
        if (consumed.has(item.codeHash)) {
          out[index] = { ok: true };
          continue;
        }
        const row = await this.one('SELECT * FROM auth_codes WHERE code_hash = $1', [item.codeHash]);
        out[index] = row ? { ok: false, reason: 'replayed', code: CODES.read(row) } : { ok: false, reason: 'unknown' };
      }
    }
    return out;
  }

  // refresh tokens
  async createRefreshToken(t: RefreshTokenRecord): Promise<void> {
    await this.run(SQL.insertFamily, FAMILIES.values(t));
  }
  async findRefreshToken(ref: RefreshTokenRef): Promise<RefreshTokenRecord | undefined> {
    // Tokens from before refresh families were one row exist only in SQLite databases.
    if ('legacyHash' in ref) return undefined;
    const row = await this.families.add(ref.familyId);
    return row && this.withUser(row, toFamily(row, ref.secretHash));
  }
  /**
   * One conditional UPDATE: it changes the row only if the presented secret is the current one. Of two
   * instances presenting the same token at once, the second waits for the first's row lock, then finds
   * the secret replaced: a reuse, which revokes the family.
   */
  async rotateRefreshToken(ref: RefreshTokenRef, now: number, next: RefreshTokenRecord): Promise<RefreshRotation> {
    if ('legacyHash' in ref) return { ok: false, reason: 'unknown' };
    return this.rotations.add({ ref, now, next });
  }

  /** The turn's rotations as one statement (ROTATE_BATCH); those that did not change are reuses, which revoke their families. */
  private async rotateBatch(items: { ref: { familyId: string; secretHash: string }; now: number; next: RefreshTokenRecord }[]): Promise<RefreshRotation[]> {
    const out: RefreshRotation[] = new Array(items.length);
    for (const round of uniqueRounds(items, (i) => i.ref.familyId)) {
      const next = round.map(({ item }) => ROTATION.values(item.next));
      const params = [round.map((r) => r.item.ref.familyId), round.map((r) => r.item.ref.secretHash), ...transpose(next, ROTATION.names.length)];
      const rotated = new Set((await this.rows(ROTATE_BATCH, params)).map((r) => str(r.family_id)));
      for (const { index, item } of round) {
        if (rotated.has(item.ref.familyId)) {
          out[index] = { ok: true };
          continue;
        }
        // Not the current secret, or the family was revoked: a reuse revokes the family (the winner's token too).
        const revoked = await this.one(`${SQL.revokeFamily} RETURNING *`, [item.now, item.ref.familyId]);
        if (revoked) out[index] = { ok: false, reason: 'reused', old: toFamily(revoked, item.ref.secretHash) };
        else {
          const row = await this.one('SELECT * FROM refresh_families WHERE family_id = $1', [item.ref.familyId]);
          out[index] = row ? { ok: false, reason: 'revoked', old: toFamily(row, item.ref.secretHash) } : { ok: false, reason: 'unknown' };
        }
      }
    }
    return out;
  }
  async revokeRefreshFamily(familyId: string, now: number): Promise<void> {
    await this.run(SQL.revokeFamily, [now, familyId]);
  }
  async revokeRefreshTokensFromCode(codeHash: string, now: number): Promise<void> {
    await this.run('UPDATE refresh_families SET revoked_at = $1 WHERE family_id = (SELECT family_id FROM auth_codes WHERE code_hash = $2) AND revoked_at IS NULL', [now, codeHash]);
  }
  async revokeUserRefreshTokens(tenantId: string, userId: string, now: number): Promise<number> {
    return this.run(SQL.revokeUserFamilies, [now, tenantId, userId]);
  }

  // revoked access tokens
  async revokeAccessToken(jti: string, expiresAt: number): Promise<void> {
    await this.run(`INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ${ON_CONFLICT.ignore}`, [jti, expiresAt]);
  }
  async isAccessTokenRevoked(jti: string): Promise<boolean> {
    return (await this.one('SELECT 1 AS one FROM revoked_access_tokens WHERE jti = $1', [jti])) !== undefined;
  }

  async addOutboxMessage(m: Omit<OutboxMessage, 'id'>): Promise<void> {
    await this.run(SQL.insertOutbox, OUTBOX.values(m));
  }
  async listOutbox(tenantId: string, to?: string): Promise<OutboxMessage[]> {
    const rows = to
      ? await this.rows('SELECT * FROM outbox WHERE tenant_id = $1 AND lower(to_address) = lower($2) ORDER BY id', [tenantId, to])
      : await this.rows('SELECT * FROM outbox WHERE tenant_id = $1 ORDER BY id', [tenantId]);
    return rows.map(toOutboxMessage);
  }

  async addAuditEvent(e: Omit<AuditEvent, 'id'>): Promise<void> {
    await this.run(SQL.insertAudit, AUDIT.values(e));
  }
  async countAuditEvents(q: AuditCountQuery): Promise<AuditCount[]> {
    const { sql, params } = auditCountSql(q, $, '::bigint');
    return (await this.rows(sql, params)).map((r) => ({ at: Number(r.bucket) * q.bucketMs, event: String(r.event), outcome: r.outcome === 'success' ? 'success' : 'failure', count: Number(r.n) }));
  }
  async listAuditEvents(filter: AuditFilter): Promise<AuditEvent[]> {
    const { sql, params } = auditQuerySql(filter, $);
    const rows = await this.rows(sql, params);
    return rows.map(toAuditEvent);
  }

  async getLoginThrottle(tenantId: string, name: string): Promise<LoginThrottle> {
    return toThrottle(await this.one('SELECT failures, lockouts, locked_until FROM login_throttle WHERE tenant_id = $1 AND name = $2', [tenantId, name]));
  }
  /** One statement: of two instances counting the same name at once, the second finds the counts changed and is told so. */
  async setLoginThrottle(tenantId: string, name: string, expected: LoginThrottle, next: LoginThrottle, now: number): Promise<boolean> {
    return (await this.run(SQL.setThrottle, [tenantId, name, next.failures, next.lockouts, next.lockedUntil, now, expected.failures, expected.lockouts, expected.lockedUntil])) > 0;
  }
  async clearLoginFailures(tenantId: string, name: string): Promise<void> {
    await this.run('UPDATE login_throttle SET failures = 0 WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  }

  async hitCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return toCounter((await this.one(SQL.hitCounter, [key, now + windowMs, now]))!);
  }

  async purgeExpired(now: number): Promise<number> {
    let removed = 0;
    for (const sql of SQL.purge) removed += await this.run(sql, [now]);
    return removed;
  }
}
