import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrationsDir } from '../../paths.js';
import { StoreConflictError, type AuditCount, type AuditCountQuery, type AuditFilter, type CodeRedemption, type ConfigChange, type ImportWrite, type ImportWriteOutcome, type MigrationResult, type RefreshRotation, type RefreshTokenRef, type StoreEngine, type UserFilterQuery, type UserQuery } from '../store.js';
import type { App, AppPermission, DirectoryRole, EmailDomain, EnterpriseApp, SamlApp, AppSecret, AppGrant, AuthCodeRecord, Authenticator, AuthenticatorKind, Consent, AuditEvent, ImportedUser, LoginThrottle, TenantSettings, JourneyRecord, OutboxMessage, UserProfileUpdate, RefreshTokenRecord, SessionClient, SigningKey, SsoSession, Tenant, TenantDomain, TenantSecret, User, UserIdentity, UserSignIn } from '../../model/entities.js';
import { normalizeEmail, normalizeLookupName } from '../normalize.js';
import {
  APPS, APP_SETTINGS, AUDIT, AUTHENTICATORS, EMAIL_DOMAINS, ENTERPRISE_APPS, PERMISSIONS, USER_ROLES, CODES, CONSENTS, FAMILIES, GRANTS, IDENTITIES, JOURNEYS, KEYS, OUTBOX, PROFILE, REPLACED_USER_COLUMNS, ROTATION, SESSIONS, SESSION_CLIENTS, SIGN_IN, SIGN_IN_NAMES, TENANTS, TENANT_DOMAINS, TENANT_SECRETS, TENANT_SETTINGS, USERS,
  SAML_APP_COLUMNS, samlAppValues, toSamlApp,
  signInNameRows, storedUsers, toAuditEvent, toCounter, toFamily, toOutboxMessage, toRefresh, toScopeDescriptions, toThrottle, type Row,
} from '../rows.js';
import { EXPIRING, ON_CONFLICT, endSessionsSql, hitCounterSql, insertSql, purgeSql, revokeFamiliesSql, setThrottleSql, updateSql, userQuerySql, countUsersSql, auditQuerySql, auditCountSql, type Placeholder, type UserQueryDialect } from '../schema.js';
import { BackgroundCheckpointer } from './checkpointer.js';
import { migrate } from './migrate.js';

/** How one grouped write ended. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Rows of refresh_families one sweep statement looks at: 0.25 ms with the file in the OS cache, about 1.5 ms from disk (measured). */
const SWEEP_ROWS = 2048;

function isForeignKeyViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err as { code: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** SQLite's LIKE ignores ASCII case, and its default collation orders text by code point. */
const DIALECT: UserQueryDialect = { like: 'LIKE', binary: '' };

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

/** Statements that use a parameter twice number them: `$1`, bound by number (see `numbered`). */
const numberedParam: Placeholder = (n) => `$${n}`;
function numbered(values: unknown[]): Record<number, unknown> {
  const out: Record<number, unknown> = {};
  values.forEach((v, i) => (out[i + 1] = v));
  return out;
}

/**
 * SQLite implementation of the Store: WAL journal, foreign keys on, every statement prepared once.
 * better-sqlite3 is synchronous; each call is short (indexed lookups), so the async wrapper costs
 * less than a round trip to a thread would.
 */
export class SqliteStore implements StoreEngine {
  readonly db: Database.Database;
  readonly migration: MigrationResult;
  private readonly s: ReturnType<SqliteStore['prepare']>;

  /**
   * Group commit for the token endpoint's writes: operations queued in the same turn of the event loop
   * run one after another inside one transaction (each in its own savepoint, so one failing leaves the
   * others intact), and every caller is answered only after that transaction committed. A commit costs
   * far more than the statements in it, so under load this multiplies write throughput; each operation
   * keeps its own atomicity because SQLite runs them serially.
   */
  private queue: { run: () => unknown; resolve: (v: unknown) => void; reject: (e: unknown) => void }[] = [];
  private flushScheduled = false;
  private grouped<T>(op: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ run: op, resolve: resolve as (v: unknown) => void, reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }
  /**
   * The group's transaction and each operation's savepoint. Built once: better-sqlite3 makes a new
   * wrapper function per `transaction()` call, which showed in profiles of the token endpoint.
   */
  private savepointTx!: (run: () => unknown) => unknown;
  private groupTx!: (ops: { run: () => unknown }[], outcomes: Outcome[]) => void;
  private prepareGroupCommit(): void {
    this.savepointTx = this.db.transaction((run: () => unknown) => run());
    this.groupTx = this.db.transaction((ops: { run: () => unknown }[], outcomes: Outcome[]) => {
      for (const op of ops) {
        try {
          // Nested in the group's transaction, better-sqlite3 runs this one as a savepoint.
          outcomes.push({ ok: true, value: this.savepointTx(op.run) });
        } catch (error) {
          outcomes.push({ ok: false, error });
        }
      }
    });
  }

  private flush(): void {
    if (this.backgroundCheckpoints) this.launchCheckpointer(this.backgroundCheckpoints);
    const ops = this.queue;
    this.queue = [];
    this.flushScheduled = false;
    const outcomes: Outcome[] = [];
    try {
      this.groupTx(ops, outcomes);
    } catch (error) {
      for (const op of ops) op.reject(error);
      return;
    }
    ops.forEach((op, i) => {
      const o = outcomes[i]!;
      if (o.ok) op.resolve(o.value);
      else op.reject(o.error);
    });
  }

  private checkpointer: BackgroundCheckpointer | undefined;

  private readonly path: string;

  constructor(path: string) {
    this.path = path;
    if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    if (path !== ':memory:') this.fileId = fileIdentity(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    this.db.pragma('busy_timeout = 5000');
    // A log that grew while checkpoints lagged is cut back to this size when it restarts.
    this.db.pragma(`journal_size_limit = ${64 * 1024 * 1024}`);
    this.migration = migrate(this.db, migrationsDir);
    this.s = this.prepare();
    this.prepareGroupCommit();
    this.dataVersion = this.s.dataVersion.get() as number;
  }

  /**
   * For the server: WAL checkpoints run on a worker thread instead of inside a commit on the event
   * loop (see checkpointer.ts). Short-lived processes (the CLI) keep SQLite's own. The thread starts
   * with the first grouped write (token traffic), so an idle server does not carry it.
   */
  private backgroundCheckpoints: ((message: string) => void) | undefined;
  startBackgroundWork(onWarning: (message: string) => void): void {
    if (this.path !== ':memory:') this.backgroundCheckpoints = onWarning;
  }

  /**
   * One SQLite file has no other server to tell or to hear from: no notices. A change another process
   * (the CLI) committed is seen through changedElsewhere() instead.
   */
  onConfigChange(_listener: (change: ConfigChange) => void): void {}
  async announce(_change: ConfigChange): Promise<void> {}

  /**
   * SQLite's data_version moves when another connection commits to the file, never for this one's own
   * writes nor for the checkpoint thread's passive checkpoints (measured), so the cache is not emptied
   * by token traffic.
   */
  private dataVersion: number;
  changedElsewhere(): boolean {
    if (!this.db.open) return false;
    const now = this.s.dataVersion.get() as number;
    if (now === this.dataVersion) return false;
    this.dataVersion = now;
    return true;
  }

  async ping(): Promise<void> {
    this.s.ping.get();
    // The open handle keeps answering when the file was deleted, replaced or made unreadable under it;
    // the next process would not: readiness says so.
    if (this.fileId !== undefined) {
      let now: string;
      try {
        accessSync(this.path, constants.R_OK | constants.W_OK);
        now = fileIdentity(this.path);
      } catch (err) {
        throw new Error(`the database file ${this.path} cannot be read (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
      }
      if (now !== this.fileId) throw new Error(`the database file ${this.path} was replaced after it was opened`);
    }
  }
  private fileId: string | undefined;
  private launchCheckpointer(onWarning: (message: string) => void): void {
    this.backgroundCheckpoints = undefined;
    if (this.checkpointer || !this.db.open) return;
    this.db.pragma(`wal_autocheckpoint = ${BackgroundCheckpointer.mainThreadPages}`);
    this.checkpointer = new BackgroundCheckpointer(this.path, (reason) => {
      onWarning(`background WAL checkpoints stopped (${reason}); checkpointing on the main thread`);
      this.checkpointer = undefined;
      if (this.db.open) this.db.pragma('wal_autocheckpoint = 1000');
    });
  }

  private prepare() {
    const db = this.db;
    const q: Placeholder = () => '?';
    const insert = (columns: { table: string; names: readonly string[] }, tail = '') => db.prepare(insertSql(columns, q, tail));
    const family = EXPIRING.find((e) => e.sweep)!;
    return {
      insertTenant: insert(TENANTS),
      tenantById: db.prepare('SELECT * FROM tenants WHERE id = ?'),
      tenantBySlug: db.prepare('SELECT * FROM tenants WHERE slug = ?'),
      tenantByB2cName: db.prepare('SELECT * FROM tenants WHERE b2c_name = ?'),
      tenants: db.prepare('SELECT * FROM tenants ORDER BY created_at, slug'),
      bumpTenant: db.prepare('UPDATE tenants SET config_version = config_version + 1 WHERE id = ?'),
      tenantVersion: db.prepare('SELECT config_version FROM tenants WHERE id = ?').pluck(),

      insertApp: insert(APPS),
      insertSamlApp: insert(SAML_APP_COLUMNS),
      samlApp: db.prepare('SELECT * FROM saml_apps WHERE tenant_id = ? AND client_id = ?'),
      samlAppByEntity: db.prepare('SELECT * FROM saml_apps WHERE tenant_id = ? AND entity_id = ?'),
      samlApps: db.prepare('SELECT * FROM saml_apps WHERE tenant_id = ? ORDER BY created_at, name'),
      deleteSamlApp: db.prepare('DELETE FROM saml_apps WHERE tenant_id = ? AND client_id = ?'),
      appSecrets: db.prepare('SELECT secrets FROM apps WHERE tenant_id = ? AND client_id = ?'),
      setAppSecrets: db.prepare('UPDATE apps SET secrets = ? WHERE tenant_id = ? AND client_id = ?'),
      app: db.prepare('SELECT * FROM apps WHERE tenant_id = ? AND client_id = ?'),
      appAnyTenant: db.prepare('SELECT * FROM apps WHERE client_id = ?'),
      apps: db.prepare('SELECT * FROM apps WHERE tenant_id = ? ORDER BY created_at, name'),
      setAppSettings: db.prepare(updateSql('apps', APP_SETTINGS.names, ['tenant_id', 'client_id'], q)),
      appByIdentifier: db.prepare('SELECT * FROM apps WHERE tenant_id = ? AND identifier_uri = ?'),
      insertScope: db.prepare(`INSERT INTO app_scopes (api_client_id, name, description, admin_consent) VALUES (?, ?, ?, ?) ${ON_CONFLICT.scope}`),
      adminScopes: db.prepare('SELECT name FROM app_scopes WHERE api_client_id = ? AND admin_consent = 1 ORDER BY name').pluck(),
      insertPermission: insert(PERMISSIONS, ON_CONFLICT.ignore),
      deletePermission: db.prepare('DELETE FROM app_permissions WHERE client_id = ? AND api = ? AND kind = ? AND name = ?'),
      permissions: db.prepare('SELECT * FROM app_permissions WHERE client_id = ? ORDER BY api, kind, name'),
      enterpriseAppExists: db.prepare('SELECT 1 FROM enterprise_apps WHERE tenant_id = ? AND client_id = ?').pluck(),
      saveEnterpriseApp: insert(ENTERPRISE_APPS, ON_CONFLICT.enterpriseApp),
      enterpriseApp: db.prepare('SELECT * FROM enterprise_apps WHERE tenant_id = ? AND client_id = ?'),
      enterpriseApps: db.prepare('SELECT * FROM enterprise_apps WHERE tenant_id = ? ORDER BY created_at, client_id'),
      deleteEnterpriseApp: db.prepare('DELETE FROM enterprise_apps WHERE tenant_id = ? AND client_id = ?'),
      deleteAppConsents: db.prepare('DELETE FROM user_consents WHERE tenant_id = ? AND client_id = ?'),
      revokeAppFamilies: db.prepare(revokeFamiliesSql('app', q)),
      revokeLegacyApp: db.prepare(revokeFamiliesSql('app', q, 'refresh_tokens', ' AND consumed_at IS NULL')),
      insertEmailDomain: insert(EMAIL_DOMAINS),
      deleteEmailDomain: db.prepare('DELETE FROM tenant_email_domains WHERE tenant_id = ? AND domain = ?'),
      emailDomains: db.prepare('SELECT * FROM tenant_email_domains WHERE tenant_id = ? ORDER BY domain'),
      emailDomain: db.prepare('SELECT * FROM tenant_email_domains WHERE domain = ?'),
      userRoles: db.prepare('SELECT role FROM user_directory_roles WHERE tenant_id = ? AND user_id = ? ORDER BY role').pluck(),
      insertUserRole: insert(USER_ROLES, ON_CONFLICT.ignore),
      deleteUserRole: db.prepare('DELETE FROM user_directory_roles WHERE tenant_id = ? AND user_id = ? AND role = ?'),
      scopeDescriptions: db.prepare('SELECT name, description FROM app_scopes WHERE api_client_id = ? AND description IS NOT NULL'),
      insertTenantDomain: insert(TENANT_DOMAINS),
      deleteTenantDomain: db.prepare('DELETE FROM tenant_domains WHERE tenant_id = ? AND host = ?'),
      tenantDomains: db.prepare('SELECT * FROM tenant_domains WHERE tenant_id = ? ORDER BY host'),
      allTenantDomains: db.prepare('SELECT * FROM tenant_domains ORDER BY host'),
      scopes: db.prepare('SELECT name FROM app_scopes WHERE api_client_id = ? ORDER BY name').pluck(),
      insertRole: db.prepare(`INSERT INTO app_roles (api_client_id, name) VALUES (?, ?) ${ON_CONFLICT.ignore}`),
      roles: db.prepare('SELECT name FROM app_roles WHERE api_client_id = ? ORDER BY name').pluck(),
      insertGrant: insert(GRANTS, ON_CONFLICT.ignore),
      deleteGrant: db.prepare('DELETE FROM app_grants WHERE client_id = ? AND api_client_id = ? AND kind = ? AND name = ?'),
      grants: db.prepare('SELECT * FROM app_grants WHERE client_id = ? ORDER BY api_client_id, kind, name'),
      grantsForApi: db.prepare('SELECT * FROM app_grants WHERE client_id = ? AND api_client_id = ? ORDER BY kind, name'),

      setTenantSecret: insert(TENANT_SECRETS, ON_CONFLICT.tenantSecret),
      tenantSecret: db.prepare('SELECT * FROM tenant_secrets WHERE tenant_id = ? AND name = ?'),
      tenantSecrets: db.prepare('SELECT * FROM tenant_secrets WHERE tenant_id = ? ORDER BY name'),
      deleteTenantSecret: db.prepare('DELETE FROM tenant_secrets WHERE tenant_id = ? AND name = ?'),

      consent: db.prepare('SELECT * FROM user_consents WHERE tenant_id = ? AND user_id = ? AND client_id = ?'),
      consents: db.prepare('SELECT * FROM user_consents WHERE tenant_id = ? AND user_id = ? ORDER BY granted_at'),
      upsertConsent: insert(CONSENTS, ON_CONFLICT.consent),
      deleteConsent: db.prepare('DELETE FROM user_consents WHERE tenant_id = ? AND user_id = ? AND client_id = ?'),

      insertUser: insert(USERS),
      usersById: db.prepare('SELECT * FROM users WHERE id IN (SELECT value FROM json_each(?))'),
      identitiesOf: db.prepare('SELECT user_id, issuer, issuer_assigned_id FROM user_identities WHERE user_id IN (SELECT value FROM json_each(?)) ORDER BY created_at, issuer'),
      updateImported: db.prepare(updateSql('users', REPLACED_USER_COLUMNS, ['tenant_id', 'id'], q)),
      user: db.prepare('SELECT * FROM users WHERE tenant_id = ? AND id = ?'),
      userBySignInName: db.prepare('SELECT u.* FROM user_sign_in_names n JOIN users u ON u.id = n.user_id WHERE n.tenant_id = ? AND n.name = ?'),
      insertSignInName: insert(SIGN_IN_NAMES),
      deleteSignInNames: db.prepare('DELETE FROM user_sign_in_names WHERE tenant_id = ? AND user_id = ?'),
      setOtherMails: db.prepare('UPDATE users SET other_mails = ?, updated_at = ? WHERE tenant_id = ? AND id = ?'),
      usersByEmail: db.prepare('SELECT * FROM users WHERE tenant_id = ? AND email_normalized = ? ORDER BY created_at'),
      insertIdentity: insert(IDENTITIES),
      userByIdentity: db.prepare(
        `SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id
         WHERE i.tenant_id = ? AND i.issuer = ? AND i.issuer_assigned_id = ?`,
      ),
      identities: db.prepare('SELECT issuer, issuer_assigned_id FROM user_identities WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, issuer'),
      deleteIdentity: db.prepare('DELETE FROM user_identities WHERE tenant_id = ? AND user_id = ? AND issuer = ? AND issuer_assigned_id = ?'),
      users: db.prepare('SELECT * FROM users WHERE tenant_id = ? ORDER BY created_at, email'),
      setSignIn: db.prepare(updateSql('users', [...SIGN_IN.names, 'updated_at'], ['tenant_id', 'id'], q)),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, password_at_legacy = 0, must_change_password = COALESCE(?, must_change_password), updated_at = ? WHERE tenant_id = ? AND id = ?'),
      disableUser: db.prepare('UPDATE users SET disabled = ?, updated_at = ? WHERE tenant_id = ? AND id = ?'),
      deleteUser: db.prepare('DELETE FROM users WHERE tenant_id = ? AND id = ?'),
      endSessions: db.prepare(endSessionsSql(q)),

      insertOutbox: insert(OUTBOX),
      outbox: db.prepare('SELECT * FROM outbox WHERE tenant_id = ? ORDER BY id'),
      outboxTo: db.prepare('SELECT * FROM outbox WHERE tenant_id = ? AND to_address = ? COLLATE NOCASE ORDER BY id'),

      keys: db.prepare("SELECT * FROM signing_keys WHERE tenant_id = ? ORDER BY status = 'active' DESC, created_at DESC"),
      demoteActiveKey: db.prepare("UPDATE signing_keys SET status = 'grace', publish_until = ? WHERE tenant_id = ? AND status = 'active'"),
      insertKey: insert(KEYS),
      promoteKey: insert(KEYS, "ON CONFLICT (kid) DO UPDATE SET status = 'active', publish_until = NULL"),
      deleteKey: db.prepare("DELETE FROM signing_keys WHERE tenant_id = ? AND kid = ? AND status = 'grace'"),

      insertSession: insert(SESSIONS),
      upsertSessionClient: insert(SESSION_CLIENTS, ON_CONFLICT.sessionClient),
      sessionClients: db.prepare('SELECT client_id, policy_id FROM sso_session_clients WHERE session_hash = ? ORDER BY rowid'),
      session: db.prepare('SELECT * FROM sso_sessions WHERE id_hash = ?'),
      touchSession: db.prepare('UPDATE sso_sessions SET expires_at = ? WHERE id_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sso_sessions WHERE id_hash = ?'),

      authenticators: db.prepare('SELECT * FROM user_authenticators WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, id'),
      authenticatorByCredential: db.prepare('SELECT * FROM user_authenticators WHERE tenant_id = ? AND credential_id = ?'),
      insertAuthenticator: insert(AUTHENTICATORS),
      deleteAuthenticatorsOfKind: db.prepare('DELETE FROM user_authenticators WHERE tenant_id = ? AND user_id = ? AND kind = ?'),
      useAuthenticator: db.prepare('UPDATE user_authenticators SET data = ?, last_used_at = ?, version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?'),
      deleteAuthenticator: db.prepare('DELETE FROM user_authenticators WHERE tenant_id = ? AND user_id = ? AND id = ?'),
      deleteUserAuthenticators: db.prepare('DELETE FROM user_authenticators WHERE tenant_id = ? AND user_id = ?'),

      insertJourney: insert(JOURNEYS),
      journey: db.prepare('SELECT * FROM journeys WHERE id = ?'),
      updateJourney: db.prepare('UPDATE journeys SET state = ?, csrf = ? WHERE id = ?'),
      deleteJourney: db.prepare('DELETE FROM journeys WHERE id = ?'),

      insertCode: insert(CODES),
      code: db.prepare('SELECT * FROM auth_codes WHERE code_hash = ?'),
      consumeCode: db.prepare('UPDATE auth_codes SET consumed_at = ?, issued_jti = ?, family_id = ? WHERE code_hash = ? AND consumed_at IS NULL'),
      codeFamily: db.prepare('SELECT family_id FROM auth_codes WHERE code_hash = ?').pluck(),

      // Refresh tokens issued before families were one row (migration 0005) are in refresh_tokens.
      refresh: db.prepare('SELECT * FROM refresh_tokens WHERE token_hash = ?'),
      consumeRefresh: db.prepare('UPDATE refresh_tokens SET consumed_at = ? WHERE token_hash = ? AND consumed_at IS NULL AND revoked_at IS NULL'),
      revokeLegacyFamily: db.prepare(revokeFamiliesSql('family', q, 'refresh_tokens')),
      revokeLegacyUser: db.prepare(revokeFamiliesSql('user', q, 'refresh_tokens', ' AND consumed_at IS NULL')),
      insertFamily: insert(FAMILIES),
      family: db.prepare('SELECT * FROM refresh_families WHERE family_id = ?'),
      rotateFamily: db.prepare(
        `UPDATE refresh_families SET ${ROTATION.names.map((c) => `${c} = ?`).join(', ')}, rotated_at = ?, generation = generation + 1
         WHERE family_id = ? AND secret_hash = ? AND revoked_at IS NULL`,
      ),
      revokeFamily: db.prepare(revokeFamiliesSql('family', q)),
      revokeUserFamilies: db.prepare(revokeFamiliesSql('user', q)),
      revokeConsentFamilies: db.prepare(revokeFamiliesSql('consent', q)),

      insertRevokedAt: db.prepare(`INSERT INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?) ${ON_CONFLICT.ignore}`),
      revokedAt: db.prepare('SELECT 1 FROM revoked_access_tokens WHERE jti = ?').pluck(),

      insertAudit: insert(AUDIT),
      throttle: db.prepare('SELECT failures, lockouts, locked_until FROM login_throttle WHERE tenant_id = ? AND name = ?'),
      // Statements that use a parameter twice number them ($1…), bound by number (see `numbered`).
      setThrottle: db.prepare(setThrottleSql(numberedParam)),
      clearThrottle: db.prepare('UPDATE login_throttle SET failures = 0 WHERE tenant_id = ? AND name = ?'),
      hitCounter: db.prepare(hitCounterSql(numberedParam)),

      ping: db.prepare('SELECT 1').pluck(),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      lastRow: db.prepare(`SELECT max(rowid) FROM ${family.table}`).pluck(),
      sweep: db.prepare(`DELETE FROM ${family.table} WHERE rowid >= ? AND rowid < ? AND ${family.column} < ?`),
      purge: [...EXPIRING.filter((e) => !e.sweep).map((e) => db.prepare(purgeSql(e, q))), db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?')],
    };
  }

  async close(): Promise<void> {
    if (this.queue.length > 0) this.flush();
    // The checkpoint thread's connection closes first, so this one is the last and folds the WAL in.
    await this.checkpointer?.close();
    this.checkpointer = undefined;
    if (this.db.open) this.db.close();
  }

  // tenants
  async createTenant(t: Tenant): Promise<void> {
    try {
      this.s.insertTenant.run(TENANTS.values(t));
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`tenant ${t.slug} already exists`);
      throw err;
    }
  }
  async findTenant(idOrSlug: string): Promise<Tenant | undefined> {
    const row = (this.s.tenantById.get(idOrSlug) ?? this.s.tenantBySlug.get(idOrSlug) ?? this.s.tenantByB2cName.get(idOrSlug)) as Row | undefined;
    return row && TENANTS.read(row);
  }
  async listTenants(): Promise<Tenant[]> {
    return (this.s.tenants.all() as Row[]).map(TENANTS.read);
  }
  async bumpTenantConfigVersion(tenantId: string): Promise<void> {
    this.s.bumpTenant.run(tenantId);
  }
  async updateTenantSettings(tenantId: string, settings: TenantSettings): Promise<void> {
    const set = TENANT_SETTINGS.given(settings);
    this.db.transaction(() => {
      if (set.names.length > 0) this.statement(updateSql('tenants', set.names, ['id'], () => '?')).run(...set.values, tenantId);
      this.s.bumpTenant.run(tenantId);
    })();
  }
  async tenantConfigVersion(tenantId: string): Promise<number | undefined> {
    return this.s.tenantVersion.get(tenantId) as number | undefined;
  }

  /** Statements whose shape depends on the call (which columns an update sets, which filters a query has): a handful each, prepared once. */
  private readonly statements = new Map<string, Database.Statement>();
  private statement(sql: string): Database.Statement {
    let stmt = this.statements.get(sql);
    if (!stmt) this.statements.set(sql, (stmt = this.db.prepare(sql)));
    return stmt;
  }

  // tenant secrets
  async setTenantSecret(t: TenantSecret): Promise<void> {
    this.s.setTenantSecret.run(TENANT_SECRETS.values(t));
  }
  async findTenantSecret(tenantId: string, name: string): Promise<TenantSecret | undefined> {
    const row = this.s.tenantSecret.get(tenantId, name) as Row | undefined;
    return row && TENANT_SECRETS.read(row);
  }
  async listTenantSecrets(tenantId: string): Promise<TenantSecret[]> {
    return (this.s.tenantSecrets.all(tenantId) as Row[]).map(TENANT_SECRETS.read);
  }
  async removeTenantSecret(tenantId: string, name: string): Promise<boolean> {
    return this.s.deleteTenantSecret.run(tenantId, name).changes > 0;
  }

  // apps
  async createApp(a: App): Promise<void> {
    try {
      this.s.insertApp.run(APPS.values(a));
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new StoreConflictError(String((err as Error).message).includes('identifier_uri') ? `an app with identifier URI ${a.identifierUri} already exists` : `an app with client id ${a.clientId} already exists`);
      }
      throw err;
    }
  }
  async createSamlApp(a: SamlApp): Promise<void> {
    try {
      this.s.insertSamlApp.run(samlAppValues(a));
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(String((err as Error).message).includes('entity_id') ? `a SAML app with entity id ${a.entityId} already exists` : `an app with client id ${a.clientId} already exists`);
      throw err;
    }
  }
  async findSamlApp(tenantId: string, clientId: string): Promise<SamlApp | undefined> {
    const row = this.s.samlApp.get(tenantId, clientId) as Row | undefined;
    return row && toSamlApp(row);
  }
  async findSamlAppByEntityId(tenantId: string, entityId: string): Promise<SamlApp | undefined> {
    const row = this.s.samlAppByEntity.get(tenantId, entityId) as Row | undefined;
    return row && toSamlApp(row);
  }
  async listSamlApps(tenantId: string): Promise<SamlApp[]> {
    return (this.s.samlApps.all(tenantId) as Row[]).map(toSamlApp);
  }
  async removeSamlApp(tenantId: string, clientId: string): Promise<boolean> {
    return this.s.deleteSamlApp.run(tenantId, clientId).changes > 0;
  }
  async findApp(tenantId: string, clientId: string): Promise<App | undefined> {
    const row = this.s.app.get(tenantId, clientId) as Row | undefined;
    return row && APPS.read(row);
  }
  async findAppAnyTenant(clientId: string): Promise<App | undefined> {
    const row = this.s.appAnyTenant.get(clientId) as Row | undefined;
    return row && APPS.read(row);
  }
  async listApps(tenantId: string): Promise<App[]> {
    return (this.s.apps.all(tenantId) as Row[]).map(APPS.read);
  }
  async findAppByIdentifierUri(tenantId: string, identifierUri: string): Promise<App | undefined> {
    const row = this.s.appByIdentifier.get(tenantId, identifierUri) as Row | undefined;
    return row && APPS.read(row);
  }
  async updateApp(tenantId: string, clientId: string, change: (app: App) => App): Promise<App | undefined> {
    try {
      return this.db.transaction(() => {
        const current = this.s.app.get(tenantId, clientId) as Row | undefined;
        if (current === undefined) return undefined;
        const next = change(APPS.read(current));
        this.s.setAppSettings.run(...APP_SETTINGS.values(next), tenantId, clientId);
        return next;
      })();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError('an app with this identifier URI already exists');
      throw err;
    }
  }
  async updateAppSecrets(tenantId: string, clientId: string, change: (secrets: AppSecret[]) => AppSecret[]): Promise<AppSecret[] | undefined> {
    return this.db.transaction(() => {
      const current = this.s.appSecrets.get(tenantId, clientId) as Row | undefined;
      if (current === undefined) return undefined;
      const next = change(APPS.read(current).secrets);
      this.s.setAppSecrets.run(APPS.value('secrets', next), tenantId, clientId);
      this.s.bumpTenant.run(tenantId);
      return next;
    })();
  }
  async addAppScope(apiClientId: string, name: string, description?: string, adminConsent?: boolean): Promise<void> {
    this.s.insertScope.run(apiClientId, name, description ?? null, adminConsent ? 1 : 0);
  }
  async adminConsentScopes(apiClientId: string): Promise<string[]> {
    return this.s.adminScopes.all(apiClientId) as string[];
  }
  // tenant domains
  async addTenantDomain(d: TenantDomain): Promise<void> {
    try {
      this.s.insertTenantDomain.run(TENANT_DOMAINS.values(d));
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`the host ${d.host} is already in use`);
      throw err;
    }
  }
  async removeTenantDomain(tenantId: string, host: string): Promise<boolean> {
    return this.s.deleteTenantDomain.run(tenantId, host).changes > 0;
  }
  async listTenantDomains(tenantId?: string): Promise<TenantDomain[]> {
    return ((tenantId === undefined ? this.s.allTenantDomains.all() : this.s.tenantDomains.all(tenantId)) as Row[]).map(TENANT_DOMAINS.read);
  }

  async listAppScopes(apiClientId: string): Promise<string[]> {
    return this.s.scopes.all(apiClientId) as string[];
  }
  async scopeDescriptions(apiClientId: string): Promise<Record<string, string>> {
    return toScopeDescriptions(this.s.scopeDescriptions.all(apiClientId) as Row[]);
  }
  async addAppRole(apiClientId: string, name: string): Promise<void> {
    this.s.insertRole.run(apiClientId, name);
  }
  async listAppRoles(apiClientId: string): Promise<string[]> {
    return this.s.roles.all(apiClientId) as string[];
  }
  async addGrant(g: AppGrant): Promise<void> {
    this.s.insertGrant.run(GRANTS.values(g));
  }
  async removeGrant(g: AppGrant): Promise<boolean> {
    return this.s.deleteGrant.run(GRANTS.values(g)).changes > 0;
  }
  async listGrants(clientId: string, apiClientId?: string): Promise<AppGrant[]> {
    return ((apiClientId ? this.s.grantsForApi.all(clientId, apiClientId) : this.s.grants.all(clientId)) as Row[]).map(GRANTS.read);
  }

  // organizations
  async addAppPermission(p: AppPermission): Promise<void> {
    this.s.insertPermission.run(PERMISSIONS.values(p));
  }
  async removeAppPermission(p: AppPermission): Promise<boolean> {
    return this.s.deletePermission.run(PERMISSIONS.values(p)).changes > 0;
  }
  async listAppPermissions(clientId: string): Promise<AppPermission[]> {
    return (this.s.permissions.all(clientId) as Row[]).map(PERMISSIONS.read);
  }
  async saveEnterpriseApp(e: EnterpriseApp): Promise<boolean> {
    return this.db.transaction(() => {
      const existed = this.s.enterpriseAppExists.get(e.tenantId, e.clientId) !== undefined;
      this.s.saveEnterpriseApp.run(ENTERPRISE_APPS.values(e));
      return !existed;
    })();
  }
  async findEnterpriseApp(tenantId: string, clientId: string): Promise<EnterpriseApp | undefined> {
    const row = this.s.enterpriseApp.get(tenantId, clientId) as Row | undefined;
    return row && ENTERPRISE_APPS.read(row);
  }
  async listEnterpriseApps(tenantId: string): Promise<EnterpriseApp[]> {
    return (this.s.enterpriseApps.all(tenantId) as Row[]).map(ENTERPRISE_APPS.read);
  }
  async removeEnterpriseApp(tenantId: string, clientId: string, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      const gone = this.s.deleteEnterpriseApp.run(tenantId, clientId).changes > 0;
      if (gone) {
        this.s.deleteAppConsents.run(tenantId, clientId);
        this.s.revokeAppFamilies.run(now, tenantId, clientId);
        this.s.revokeLegacyApp.run(now, tenantId, clientId);
      }
      return gone;
    })();
  }
  async addEmailDomain(d: EmailDomain): Promise<void> {
    try {
      this.s.insertEmailDomain.run(EMAIL_DOMAINS.values(d));
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`the email domain ${d.domain} already belongs to a tenant`);
      throw err;
    }
  }
  async removeEmailDomain(tenantId: string, domain: string): Promise<boolean> {
    return this.s.deleteEmailDomain.run(tenantId, domain.toLowerCase()).changes > 0;
  }
  async listEmailDomains(tenantId: string): Promise<EmailDomain[]> {
    return (this.s.emailDomains.all(tenantId) as Row[]).map(EMAIL_DOMAINS.read);
  }
  async findEmailDomain(domain: string): Promise<EmailDomain | undefined> {
    const row = this.s.emailDomain.get(domain.toLowerCase()) as Row | undefined;
    return row && EMAIL_DOMAINS.read(row);
  }
  async listUserRoles(tenantId: string, userId: string): Promise<DirectoryRole[]> {
    return this.s.userRoles.all(tenantId, userId) as DirectoryRole[];
  }
  async addUserRole(tenantId: string, userId: string, role: DirectoryRole, now: number): Promise<void> {
    this.s.insertUserRole.run(USER_ROLES.values({ tenantId, userId, role, createdAt: now }));
  }
  async removeUserRole(tenantId: string, userId: string, role: DirectoryRole): Promise<boolean> {
    return this.s.deleteUserRole.run(tenantId, userId, role).changes > 0;
  }

  // consent
  async findConsent(tenantId: string, userId: string, clientId: string): Promise<Consent | undefined> {
    const row = this.s.consent.get(tenantId, userId, clientId) as Row | undefined;
    return row && CONSENTS.read(row);
  }
  async listConsents(tenantId: string, userId: string): Promise<Consent[]> {
    return (this.s.consents.all(tenantId, userId) as Row[]).map(CONSENTS.read);
  }
  async saveConsent(c: Consent): Promise<void> {
    this.s.upsertConsent.run(CONSENTS.values(c));
  }
  async removeConsent(tenantId: string, userId: string, clientId: string, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      const gone = this.s.deleteConsent.run(tenantId, userId, clientId).changes > 0;
      if (gone) this.s.revokeConsentFamilies.run(now, tenantId, userId, clientId);
      return gone;
    })();
  }

  // users
  async createUser(u: User, identities: UserIdentity[] = []): Promise<void> {
    try {
      this.db.transaction(() => {
        this.s.insertUser.run(USERS.values(u));
        this.writeSignInNames(u, false);
        for (const i of identities) this.s.insertIdentity.run(IDENTITIES.values({ ...i, tenantId: u.tenantId, userId: u.id, createdAt: u.createdAt }));
      })();
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new StoreConflictError(
          String((err as Error).message).includes('user_identities')
            ? 'one of the identities already belongs to a user'
            : `a user with sign-in name ${u.localIdentities.map((l) => l.issuerAssignedId).join(' or ')} already exists`,
        );
      }
      throw err;
    }
  }
  async importUsers(_tenantId: string, ids: string[], plan: (stored: ImportedUser[]) => ImportWrite[], now: number): Promise<ImportWriteOutcome[]> {
    return this.db.transaction(() => {
      // The ids as one JSON parameter (json_each): a batch is up to a thousand.
      const list = JSON.stringify(ids);
      return plan(storedUsers(this.s.usersById.all(list) as Row[], this.s.identitiesOf.all(list) as Row[])).map((w): ImportWriteOutcome => {
        try {
          // Each row in a savepoint of its own: one refused leaves the others.
          this.savepointTx(() => {
            if (w.exists) {
              const row = USERS.row(w.user);
              this.s.updateImported.run(...REPLACED_USER_COLUMNS.map((c) => row[c]), w.user.tenantId, w.user.id);
            } else {
              this.s.insertUser.run(USERS.values(w.user));
            }
            this.writeSignInNames(w.user, w.exists);
            for (const i of w.addIdentities) this.s.insertIdentity.run(IDENTITIES.values({ ...i, tenantId: w.user.tenantId, userId: w.user.id, createdAt: now }));
          });
          return 'written';
        } catch (err) {
          if (!isUniqueViolation(err)) throw err;
          return String((err as Error).message).includes('user_identities') ? 'identity_taken' : 'sign_in_name_taken';
        }
      });
    })();
  }
  /** The lookup rows of the user's local identities (rows.ts's SIGN_IN_NAMES), replacing its old ones. */
  private writeSignInNames(u: Pick<User, 'tenantId' | 'id' | 'localIdentities'>, replace: boolean): void {
    if (replace) this.s.deleteSignInNames.run(u.tenantId, u.id);
    for (const row of signInNameRows(u.tenantId, u.id, u.localIdentities)) this.s.insertSignInName.run(...row);
  }
  async findUser(tenantId: string, id: string): Promise<User | undefined> {
    const row = this.s.user.get(tenantId, id) as Row | undefined;
    return row && USERS.read(row);
  }
  async findUserBySignInName(tenantId: string, signInName: string): Promise<User | undefined> {
    const row = this.s.userBySignInName.get(tenantId, normalizeLookupName(signInName)) as Row | undefined;
    return row && USERS.read(row);
  }
  async findUsersByEmail(tenantId: string, email: string): Promise<User[]> {
    return (this.s.usersByEmail.all(tenantId, normalizeEmail(email)) as Row[]).map(USERS.read);
  }
  async findUserByIdentity(tenantId: string, identity: UserIdentity): Promise<User | undefined> {
    const row = this.s.userByIdentity.get(tenantId, identity.issuer, identity.issuerAssignedId) as Row | undefined;
    return row && USERS.read(row);
  }
  async listUserIdentities(tenantId: string, userId: string): Promise<UserIdentity[]> {
    return (this.s.identities.all(tenantId, userId) as Row[]).map(IDENTITIES.read);
  }
  async addUserIdentity(tenantId: string, userId: string, identity: UserIdentity, now: number): Promise<void> {
    try {
      this.s.insertIdentity.run(IDENTITIES.values({ ...identity, tenantId, userId, createdAt: now }));
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`the identity ${identity.issuer}/${identity.issuerAssignedId} already belongs to a user`);
      throw err;
    }
  }
  async removeUserIdentity(tenantId: string, userId: string, identity: UserIdentity): Promise<boolean> {
    return this.s.deleteIdentity.run(tenantId, userId, identity.issuer, identity.issuerAssignedId).changes > 0;
  }
  async listUsers(tenantId: string): Promise<User[]> {
    return (this.s.users.all(tenantId) as Row[]).map(USERS.read);
  }
  async queryUsers(tenantId: string, q: UserQuery): Promise<User[]> {
    const { sql, params } = userQuerySql(tenantId, q, () => '?', DIALECT);
    return (this.statement(sql).all(...params) as Row[]).map(USERS.read);
  }
  async countUsers(tenantId: string, q: UserFilterQuery): Promise<number> {
    const { sql, params } = countUsersSql(tenantId, q, () => '?', DIALECT);
    return (this.statement(sql).get(...params) as { n: number }).n;
  }
  async updateUserProfile(tenantId: string, id: string, update: UserProfileUpdate, now: number): Promise<void> {
    const set = PROFILE.given(update);
    this.statement(updateSql('users', [...set.names, 'updated_at'], ['tenant_id', 'id'], () => '?')).run(...set.values, now, tenantId, id);
  }
  async setUserSignIn(tenantId: string, id: string, s: UserSignIn, now: number): Promise<void> {
    try {
      this.db.transaction(() => {
        if (this.s.setSignIn.run(...SIGN_IN.values(s), now, tenantId, id).changes > 0) this.writeSignInNames({ tenantId, id, localIdentities: s.localIdentities }, true);
      })();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`another user already signs in with ${s.localIdentities.map((l) => l.issuerAssignedId).join(' or ')}`);
      throw err;
    }
  }
  async setUserPassword(tenantId: string, id: string, passwordHash: string, now: number, opts: { mustChange?: boolean } = {}): Promise<void> {
    this.s.setPassword.run(passwordHash, opts.mustChange === undefined ? null : USERS.value('mustChangePassword', opts.mustChange), now, tenantId, id);
  }
  async setUserOtherMails(tenantId: string, id: string, otherMails: string[], now: number): Promise<void> {
    this.s.setOtherMails.run(USERS.value('otherMails', otherMails), now, tenantId, id);
  }
  async setUserDisabled(tenantId: string, id: string, disabled: boolean, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      const changed = this.s.disableUser.run(USERS.value('disabled', disabled), now, tenantId, id).changes > 0;
      if (changed && disabled) this.endSessions(tenantId, id, now);
      return changed;
    })();
  }
  async revokeUserSessions(tenantId: string, userId: string, now: number): Promise<void> {
    this.db.transaction(() => this.endSessions(tenantId, userId, now))();
  }
  /** A user's sessions end (schema.ts): its SSO sessions go, its refresh tokens of both tables are revoked. */
  private endSessions(tenantId: string, userId: string, now: number): void {
    this.s.endSessions.run(tenantId, userId);
    this.revokeUserTokens(tenantId, userId, now);
  }
  private revokeUserTokens(tenantId: string, userId: string, now: number): number {
    return this.s.revokeLegacyUser.run(now, tenantId, userId).changes + this.s.revokeUserFamilies.run(now, tenantId, userId).changes;
  }
  async deleteUser(tenantId: string, id: string): Promise<boolean> {
    return this.s.deleteUser.run(tenantId, id).changes > 0;
  }

  // signing keys
  async listSigningKeys(tenantId: string): Promise<SigningKey[]> {
    return (this.s.keys.all(tenantId) as Row[]).map(KEYS.read);
  }
  async rotateSigningKey(key: SigningKey, graceUntil: number): Promise<void> {
    this.db.transaction(() => {
      this.s.demoteActiveKey.run(graceUntil, key.tenantId);
      this.s.promoteKey.run(KEYS.values({ ...key, status: 'active', publishUntil: null }));
      this.s.bumpTenant.run(key.tenantId);
    })();
  }
  async addNextSigningKey(key: SigningKey): Promise<void> {
    try {
      this.db.transaction(() => {
        this.s.insertKey.run(KEYS.values({ ...key, status: 'next', publishUntil: null }));
        this.s.bumpTenant.run(key.tenantId);
      })();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError('a next key is published already: rotate to make it active first');
      throw err;
    }
  }
  async deleteSigningKey(tenantId: string, kid: string): Promise<boolean> {
    return this.db.transaction(() => {
      const gone = this.s.deleteKey.run(tenantId, kid).changes > 0;
      if (gone) this.s.bumpTenant.run(tenantId);
      return gone;
    })();
  }

  // second factors and passkeys
  async listAuthenticators(tenantId: string, userId: string): Promise<Authenticator[]> {
    return (this.s.authenticators.all(tenantId, userId) as Row[]).map(AUTHENTICATORS.read);
  }
  async findAuthenticatorByCredential(tenantId: string, credentialId: string): Promise<Authenticator | undefined> {
    const row = this.s.authenticatorByCredential.get(tenantId, credentialId) as Row | undefined;
    return row && AUTHENTICATORS.read(row);
  }
  async replaceAuthenticators(tenantId: string, userId: string, kinds: AuthenticatorKind[], add: Authenticator[]): Promise<void> {
    try {
      this.db.transaction(() => {
        for (const kind of kinds) this.s.deleteAuthenticatorsOfKind.run(tenantId, userId, kind);
        for (const a of add) this.s.insertAuthenticator.run(AUTHENTICATORS.values(a));
      })();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError('this passkey is already registered');
      throw err;
    }
  }
  async useAuthenticator(tenantId: string, id: string, version: number, data: Record<string, unknown>, now: number): Promise<boolean> {
    return this.s.useAuthenticator.run(AUTHENTICATORS.value('data', data), now, tenantId, id, version).changes > 0;
  }
  async removeAuthenticators(tenantId: string, userId: string, id?: string): Promise<number> {
    return (id === undefined ? this.s.deleteUserAuthenticators.run(tenantId, userId) : this.s.deleteAuthenticator.run(tenantId, userId, id)).changes;
  }

  // SSO sessions
  async createSsoSession(s: SsoSession): Promise<void> {
    this.s.insertSession.run(SESSIONS.values(s));
  }
  async findSsoSession(idHash: string): Promise<SsoSession | undefined> {
    const row = this.s.session.get(idHash) as Row | undefined;
    return row && SESSIONS.read(row);
  }
  async touchSsoSession(idHash: string, expiresAt: number): Promise<void> {
    this.s.touchSession.run(expiresAt, idHash);
  }
  async addSsoSessionClient(idHash: string, client: SessionClient): Promise<void> {
    try {
      this.s.upsertSessionClient.run(SESSION_CLIENTS.values({ ...client, sessionHash: idHash }));
    } catch (err) {
      // The session ended meanwhile (foreign key): nothing is left to sign out of.
      if (!isForeignKeyViolation(err)) throw err;
    }
  }
  async endSsoSession(idHash: string): Promise<{ session: SsoSession; clients: SessionClient[] } | undefined> {
    return this.db.transaction(() => {
      const row = this.s.session.get(idHash) as Row | undefined;
      if (!row) return undefined;
      const clients = (this.s.sessionClients.all(idHash) as Row[]).map(SESSION_CLIENTS.read);
      this.s.deleteSession.run(idHash);
      return { session: SESSIONS.read(row), clients };
    })();
  }

  // journeys
  async createJourney(j: JourneyRecord): Promise<void> {
    this.s.insertJourney.run(JOURNEYS.values(j));
  }
  async findJourney(id: string): Promise<JourneyRecord | undefined> {
    const row = this.s.journey.get(id) as Row | undefined;
    return row && JOURNEYS.read(row);
  }
  async updateJourney(id: string, state: unknown, csrf: string): Promise<void> {
    this.s.updateJourney.run(JOURNEYS.value('state', state), csrf, id);
  }
  async deleteJourney(id: string): Promise<void> {
    this.s.deleteJourney.run(id);
  }

  // authorization codes
  async createAuthCode(c: AuthCodeRecord): Promise<void> {
    const values = CODES.values(c);
    await this.grouped(() => this.s.insertCode.run(values));
  }
  async findAuthCode(codeHash: string): Promise<AuthCodeRecord | undefined> {
    const row = this.s.code.get(codeHash) as Row | undefined;
    return row && CODES.read(row);
  }
  async redeemAuthCode(codeHash: string, now: number, issued?: { jti: string; refresh?: RefreshTokenRecord }): Promise<CodeRedemption> {
    const refresh = issued?.refresh;
    const family = refresh && FAMILIES.values(refresh);
    return this.grouped((): CodeRedemption => {
      // The common case is one statement: consume and record the jti only if nobody consumed it first.
      if (this.s.consumeCode.run(now, issued?.jti ?? null, refresh?.familyId ?? null, codeHash).changes === 1) {
        if (family) this.s.insertFamily.run(family);
        return { ok: true };
      }
      const row = this.s.code.get(codeHash) as Row | undefined;
      return row ? { ok: false, reason: 'replayed', code: CODES.read(row) } : { ok: false, reason: 'unknown' };
    });
  }

  // refresh tokens
  async createRefreshToken(t: RefreshTokenRecord): Promise<void> {
    this.s.insertFamily.run(FAMILIES.values(t));
  }
  async findRefreshToken(ref: RefreshTokenRef): Promise<RefreshTokenRecord | undefined> {
    if ('legacyHash' in ref) {
      const row = this.s.refresh.get(ref.legacyHash) as Row | undefined;
      return row && toRefresh(row);
    }
    const row = this.s.family.get(ref.familyId) as Row | undefined;
    return row && toFamily(row, ref.secretHash);
  }
  async rotateRefreshToken(ref: RefreshTokenRef, now: number, next: RefreshTokenRecord): Promise<RefreshRotation> {
    const family = FAMILIES.values(next);
    const rotation = ROTATION.values(next);
    return this.grouped((): RefreshRotation => {
      if ('legacyHash' in ref) {
        // A token from before families were one row: consume it, and the family moves to the new table.
        if (this.s.consumeRefresh.run(now, ref.legacyHash).changes === 1) {
          this.s.insertFamily.run(family);
          return { ok: true };
        }
        const row = this.s.refresh.get(ref.legacyHash) as Row | undefined;
        return row ? this.reused(toRefresh(row), now) : { ok: false, reason: 'unknown' };
      }
      // The common case is one statement: the row changes only if the presented secret is current.
      if (this.s.rotateFamily.run(...rotation, next.createdAt, ref.familyId, ref.secretHash).changes === 1) return { ok: true };
      const row = this.s.family.get(ref.familyId) as Row | undefined;
      return row ? this.reused(toFamily(row, ref.secretHash), now) : { ok: false, reason: 'unknown' };
    });
  }
  /** A token that is not its family's current one was presented: a reuse, which revokes the family (unless it was revoked already). */
  private reused(old: RefreshTokenRecord, now: number): RefreshRotation {
    if (old.revokedAt !== null) return { ok: false, reason: 'revoked', old };
    this.revokeFamily(old.familyId, now);
    return { ok: false, reason: 'reused', old };
  }
  /** A family may have tokens in both tables (issued before and after migration 0005). */
  private revokeFamily(familyId: string, now: number): void {
    this.s.revokeLegacyFamily.run(now, familyId);
    this.s.revokeFamily.run(now, familyId);
  }
  async revokeRefreshFamily(familyId: string, now: number): Promise<void> {
    this.revokeFamily(familyId, now);
  }
  async revokeRefreshTokensFromCode(codeHash: string, now: number): Promise<void> {
    const family = this.s.codeFamily.get(codeHash) as string | null | undefined;
    if (family) this.revokeFamily(family, now);
  }
  async revokeUserRefreshTokens(tenantId: string, userId: string, now: number): Promise<number> {
    return this.db.transaction(() => this.revokeUserTokens(tenantId, userId, now))();
  }

  // revoked access tokens
  async revokeAccessToken(jti: string, expiresAt: number): Promise<void> {
    this.s.insertRevokedAt.run(jti, expiresAt);
  }
  async isAccessTokenRevoked(jti: string): Promise<boolean> {
    return this.s.revokedAt.get(jti) !== undefined;
  }

  async addOutboxMessage(m: Omit<OutboxMessage, 'id'>): Promise<void> {
    this.s.insertOutbox.run(OUTBOX.values(m));
  }
  async listOutbox(tenantId: string, to?: string): Promise<OutboxMessage[]> {
    return ((to ? this.s.outboxTo.all(tenantId, to) : this.s.outbox.all(tenantId)) as Row[]).map(toOutboxMessage);
  }

  async addAuditEvent(e: Omit<AuditEvent, 'id'>): Promise<void> {
    this.s.insertAudit.run(AUDIT.values(e));
  }
  async countAuditEvents(q: AuditCountQuery): Promise<AuditCount[]> {
    const { sql, params } = auditCountSql(q, () => '?');
    return (this.statement(sql).all(...params) as Row[]).map((r) => ({ at: Number(r.bucket) * q.bucketMs, event: String(r.event), outcome: r.outcome === 'success' ? 'success' : 'failure', count: Number(r.n) }));
  }
  async listAuditEvents(filter: AuditFilter): Promise<AuditEvent[]> {
    const { sql, params } = auditQuerySql(filter, () => '?');
    const rows = this.statement(sql).all(...params) as Row[];
    return rows.map(toAuditEvent);
  }

  async getLoginThrottle(tenantId: string, name: string): Promise<LoginThrottle> {
    return toThrottle(this.s.throttle.get(tenantId, name) as Row | undefined);
  }
  async setLoginThrottle(tenantId: string, name: string, expected: LoginThrottle, next: LoginThrottle, now: number): Promise<boolean> {
    const values = [tenantId, name, next.failures, next.lockouts, next.lockedUntil, now, expected.failures, expected.lockouts, expected.lockedUntil];
    return this.s.setThrottle.run(numbered(values)).changes > 0;
  }
  async clearLoginFailures(tenantId: string, name: string): Promise<void> {
    this.s.clearThrottle.run(tenantId, name);
  }

  async hitCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    return toCounter(this.s.hitCounter.get(numbered([key, now + windowMs, now])) as Row);
  }

  async purgeExpired(now: number): Promise<number> {
    let removed = this.db.transaction(() => this.s.purge.reduce((n, stmt) => n + stmt.run(now).changes, 0))();
    // Refresh families have no index on expiry (migration 0006): they are swept in rowid ranges,
    // each a short statement, with other work let through between them.
    const last = (this.s.lastRow.get() as number | null) ?? 0;
    for (let from = 0; from <= last && this.db.open; from += SWEEP_ROWS) {
      removed += this.s.sweep.run(from, from + SWEEP_ROWS, now).changes;
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
    return removed;
  }
}

/** Which file is at `path` (device and inode), to notice it being replaced. */
function fileIdentity(path: string): string {
  const st = statSync(path);
  return `${st.dev}:${st.ino}`;
}
