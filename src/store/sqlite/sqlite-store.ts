import { accessSync, constants, mkdirSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrationsDir } from '../../paths.js';
import { StoreConflictError, type CodeRedemption, type AuditFilter, type ConfigChange, type ImportResult, type RefreshRotation, type RefreshTokenRef, type UserQuery, type Store } from '../store.js';
import { type App, type AppSecret, type AppGrant, type AuthCodeRecord, type Authenticator, type AuthenticatorKind, type Consent, type AuditEvent, type ImportedUser, type LoginThrottle, type TenantSettings, type JourneyRecord, type OutboxMessage, type UserProfileUpdate, type RefreshTokenRecord, type SessionClient, type SigningKey, type SignInType, type SsoSession, type Tenant, type TenantDomain, type TenantSecret, type User, type UserIdentity } from '../../model/entities.js';
import { normalizeEmail, normalizeSignInName } from '../normalize.js';
import { num, toAuditEvent, sameImportedUser, str, toApp, toCode, toFamily, toJourney, toKey, toRefresh, toSession, toAuthenticator, toConsent, toTenant, toTenantDomain, toTenantSecret, userQuerySql, toUser, userColumns, type Row } from '../rows.js';
import { BackgroundCheckpointer } from './checkpointer.js';
import { migrate } from './migrate.js';
import type { MigrationResult } from '../store.js';

/** How one grouped write ended. */
type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** Rows of refresh_families one sweep statement looks at: 0.25 ms with the file in the OS cache, about 1.5 ms from disk (measured). */
const SWEEP_ROWS = 2048;

function isForeignKeyViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && (err as { code: unknown }).code === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && 'code' in err && String((err as { code: unknown }).code).startsWith('SQLITE_CONSTRAINT');
}

/**
 * SQLite implementation of the Store: WAL journal, foreign keys on, every statement prepared once.
 * better-sqlite3 is synchronous; each call is short (indexed lookups), so the async wrapper costs
 * less than a round trip to a thread would.
 */
export class SqliteStore implements Store {
  readonly db: Database.Database;
  readonly migration: MigrationResult;
  private readonly s: ReturnType<SqliteStore['prepare']>;
  /**
   * Apps are read on every token request and change rarely. They are kept for a second; a write
   * through this store clears them at once, and a change by another process (the CLI) is seen within
   * the second. Grants are not cached (see listGrants).
   */
  private readonly registry = new Map<string, { at: number; value: unknown }>();
  private cached<T>(key: string, load: () => T): T {
    const now = Date.now();
    const hit = this.registry.get(key);
    if (hit && now - hit.at < 1000) return hit.value as T;
    const value = load();
    // Misses are not kept: an app created a moment ago by the CLI must be found.
    if (value === undefined) return value;
    if (this.registry.size > 10_000) this.registry.clear();
    this.registry.set(key, { at: now, value });
    return value;
  }
  private forgetRegistry(): void {
    this.registry.clear();
  }

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
   * One SQLite file has no other server to hear from: listeners hear of this store's own tenant writes
   * (a CLI's changes are seen through the caches' short lifetimes).
   */
  private readonly listeners: ((change: ConfigChange) => void)[] = [];
  onConfigChange(listener: (change: ConfigChange) => void): void {
    this.listeners.push(listener);
  }
  private changed(tenantId: string): void {
    for (const l of this.listeners) l({ tenantId });
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
    return {
      insertTenant: db.prepare(
        `INSERT INTO tenants (id, slug, display_name, default_policy, issuer_pattern, config_version, created_at, legacy_ropc, extensions_app_id)
         VALUES (@id, @slug, @displayName, @defaultPolicy, @issuerPattern, @configVersion, @createdAt, @legacyRopc, @extensionsAppId)`,
      ),
      setLegacyRopc: db.prepare('UPDATE tenants SET legacy_ropc = ? WHERE id = ?'),
      setExtensionsAppId: db.prepare('UPDATE tenants SET extensions_app_id = ? WHERE id = ?'),
      tenantById: db.prepare('SELECT * FROM tenants WHERE id = ?'),
      tenantBySlug: db.prepare('SELECT * FROM tenants WHERE slug = ?'),
      tenants: db.prepare('SELECT * FROM tenants ORDER BY created_at, slug'),
      bumpTenant: db.prepare('UPDATE tenants SET config_version = config_version + 1 WHERE id = ?'),
      tenantVersion: db.prepare('SELECT config_version FROM tenants WHERE id = ?').pluck(),

      insertApp: db.prepare(
        `INSERT INTO apps (client_id, tenant_id, name, type, secrets, redirect_uris, post_logout_redirect_uris,
           identifier_uri, allow_implicit, allow_ropc, logout_url, third_party, created_at)
         VALUES (@clientId, @tenantId, @name, @type, @secrets, @redirectUris, @postLogoutRedirectUris,
           @identifierUri, @allowImplicit, @allowRopc, @logoutUrl, @thirdParty, @createdAt)`,
      ),
      appSecrets: db.prepare('SELECT secrets FROM apps WHERE tenant_id = ? AND client_id = ?').pluck(),
      setAppSecrets: db.prepare('UPDATE apps SET secrets = ? WHERE tenant_id = ? AND client_id = ?'),
      app: db.prepare('SELECT * FROM apps WHERE tenant_id = ? AND client_id = ?'),
      appAnyTenant: db.prepare('SELECT * FROM apps WHERE client_id = ?'),
      apps: db.prepare('SELECT * FROM apps WHERE tenant_id = ? ORDER BY created_at, name'),
      setAppUris: db.prepare('UPDATE apps SET redirect_uris = ?, post_logout_redirect_uris = ? WHERE tenant_id = ? AND client_id = ?'),
      appByIdentifier: db.prepare('SELECT * FROM apps WHERE tenant_id = ? AND identifier_uri = ?'),
      insertScope: db.prepare('INSERT INTO app_scopes (api_client_id, name, description) VALUES (?, ?, ?) ON CONFLICT (api_client_id, name) DO UPDATE SET description = COALESCE(excluded.description, description)'),
      scopeDescriptions: db.prepare('SELECT name, description FROM app_scopes WHERE api_client_id = ? AND description IS NOT NULL'),
      setTenantSecret: db.prepare(
        `INSERT INTO tenant_secrets (tenant_id, name, sealed_value, created_at, updated_at) VALUES (@tenantId, @name, @sealedValue, @createdAt, @updatedAt)
         ON CONFLICT (tenant_id, name) DO UPDATE SET sealed_value = excluded.sealed_value, updated_at = excluded.updated_at`,
      ),
      insertTenantDomain: db.prepare('INSERT INTO tenant_domains (host, tenant_id, created_at) VALUES (@host, @tenantId, @createdAt)'),
      deleteTenantDomain: db.prepare('DELETE FROM tenant_domains WHERE tenant_id = ? AND host = ?'),
      tenantDomains: db.prepare('SELECT * FROM tenant_domains WHERE tenant_id = ? ORDER BY host'),
      allTenantDomains: db.prepare('SELECT * FROM tenant_domains ORDER BY host'),
      tenantSecret: db.prepare('SELECT * FROM tenant_secrets WHERE tenant_id = ? AND name = ?'),
      tenantSecrets: db.prepare('SELECT * FROM tenant_secrets WHERE tenant_id = ? ORDER BY name'),
      deleteTenantSecret: db.prepare('DELETE FROM tenant_secrets WHERE tenant_id = ? AND name = ?'),
      consent: db.prepare('SELECT * FROM user_consents WHERE tenant_id = ? AND user_id = ? AND client_id = ?'),
      consents: db.prepare('SELECT * FROM user_consents WHERE tenant_id = ? AND user_id = ? ORDER BY granted_at'),
      upsertConsent: db.prepare(
        `INSERT INTO user_consents (tenant_id, user_id, client_id, scopes, granted_at) VALUES (@tenantId, @userId, @clientId, @scopes, @grantedAt)
         ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at`,
      ),
      deleteConsent: db.prepare('DELETE FROM user_consents WHERE tenant_id = ? AND user_id = ? AND client_id = ?'),
      revokeClientFamilies: db.prepare('UPDATE refresh_families SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND client_id = ? AND revoked_at IS NULL'),
      scopes: db.prepare('SELECT name FROM app_scopes WHERE api_client_id = ? ORDER BY name').pluck(),
      insertRole: db.prepare('INSERT OR IGNORE INTO app_roles (api_client_id, name) VALUES (?, ?)'),
      roles: db.prepare('SELECT name FROM app_roles WHERE api_client_id = ? ORDER BY name').pluck(),
      insertGrant: db.prepare(
        'INSERT OR IGNORE INTO app_grants (client_id, api_client_id, kind, name) VALUES (@clientId, @apiClientId, @kind, @name)',
      ),
      deleteGrant: db.prepare(
        'DELETE FROM app_grants WHERE client_id = @clientId AND api_client_id = @apiClientId AND kind = @kind AND name = @name',
      ),
      grants: db.prepare('SELECT * FROM app_grants WHERE client_id = ? ORDER BY api_client_id, kind, name'),
      grantsForApi: db.prepare('SELECT * FROM app_grants WHERE client_id = ? AND api_client_id = ? ORDER BY kind, name'),

      insertUser: db.prepare(
        `INSERT INTO users (id, tenant_id, email, email_normalized, sign_in_name, sign_in_type, email_verified, password_hash,
           password_at_legacy, given_name, family_name, display_name, attributes, disabled, created_at, updated_at)
         VALUES (@id, @tenantId, @email, @emailNormalized, @signInName, @signInType, @emailVerified, @passwordHash,
           @passwordAtLegacy, @givenName, @familyName, @displayName, @attributes, @disabled, @createdAt, @updatedAt)`,
      ),
      userAnyTenant: db.prepare('SELECT * FROM users WHERE id = ?'),
      updateImported: db.prepare(
        `UPDATE users SET email = @email, email_normalized = @emailNormalized, sign_in_name = @signInName, sign_in_type = @signInType,
           email_verified = @emailVerified, password_hash = @passwordHash, password_at_legacy = @passwordAtLegacy,
           given_name = @givenName, family_name = @familyName, display_name = @displayName, attributes = @attributes,
           disabled = @disabled, updated_at = @updatedAt
         WHERE tenant_id = @tenantId AND id = @id`,
      ),
      user: db.prepare('SELECT * FROM users WHERE tenant_id = ? AND id = ?'),
      userBySignInName: db.prepare('SELECT * FROM users WHERE tenant_id = ? AND sign_in_name = ?'),
      usersByEmail: db.prepare('SELECT * FROM users WHERE tenant_id = ? AND email_normalized = ? ORDER BY created_at'),
      insertIdentity: db.prepare(
        'INSERT INTO user_identities (tenant_id, issuer, issuer_assigned_id, user_id, created_at) VALUES (?, ?, ?, ?, ?)',
      ),
      userByIdentity: db.prepare(
        `SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id
         WHERE i.tenant_id = ? AND i.issuer = ? AND i.issuer_assigned_id = ?`,
      ),
      identities: db.prepare('SELECT issuer, issuer_assigned_id FROM user_identities WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, issuer'),
      deleteIdentity: db.prepare('DELETE FROM user_identities WHERE tenant_id = ? AND user_id = ? AND issuer = ? AND issuer_assigned_id = ?'),
      users: db.prepare('SELECT * FROM users WHERE tenant_id = ? ORDER BY created_at, email'),
      updateProfile: db.prepare(
        `UPDATE users SET given_name = @givenName, family_name = @familyName, display_name = @displayName,
           attributes = @attributes, updated_at = @now WHERE tenant_id = @tenantId AND id = @id`,
      ),
      setSignIn: db.prepare(
        `UPDATE users SET sign_in_name = @signInName, sign_in_type = @signInType, email = @email, email_normalized = @emailNormalized,
           email_verified = @emailVerified, updated_at = @now WHERE tenant_id = @tenantId AND id = @id`,
      ),
      setPassword: db.prepare('UPDATE users SET password_hash = ?, password_at_legacy = 0, updated_at = ? WHERE tenant_id = ? AND id = ?'),
      insertOutbox: db.prepare(
        `INSERT INTO outbox (tenant_id, to_address, subject, body, transport, created_at)
         VALUES (@tenantId, @to, @subject, @body, @transport, @createdAt)`,
      ),
      outbox: db.prepare('SELECT * FROM outbox WHERE tenant_id = ? ORDER BY id'),
      outboxTo: db.prepare('SELECT * FROM outbox WHERE tenant_id = ? AND to_address = ? COLLATE NOCASE ORDER BY id'),
      disableUser: db.prepare('UPDATE users SET disabled = ?, updated_at = ? WHERE tenant_id = ? AND id = ?'),
      deleteUser: db.prepare('DELETE FROM users WHERE tenant_id = ? AND id = ?'),
      deleteUserSessions: db.prepare('DELETE FROM sso_sessions WHERE tenant_id = ? AND user_id = ?'),

      keys: db.prepare("SELECT * FROM signing_keys WHERE tenant_id = ? ORDER BY status = 'active' DESC, created_at DESC"),
      demoteActiveKey: db.prepare(
        "UPDATE signing_keys SET status = 'grace', publish_until = ? WHERE tenant_id = ? AND status = 'active'",
      ),
      insertKey: db.prepare(
        `INSERT INTO signing_keys (kid, tenant_id, alg, public_jwk, private_key, status, created_at, publish_until)
         VALUES (@kid, @tenantId, @alg, @publicJwk, @privateKey, @status, @createdAt, @publishUntil)`,
      ),
      deleteKey: db.prepare("DELETE FROM signing_keys WHERE tenant_id = ? AND kid = ? AND status = 'grace'"),

      insertSession: db.prepare(
        `INSERT INTO sso_sessions (id_hash, sid, tenant_id, user_id, policy_id, client_id, idp, auth_time, amr, created_at, expires_at)
         VALUES (@idHash, @sid, @tenantId, @userId, @policyId, @clientId, @idp, @authTime, @amr, @createdAt, @expiresAt)`,
      ),
      upsertSessionClient: db.prepare(
        `INSERT INTO sso_session_clients (session_hash, client_id, policy_id) VALUES (?, ?, ?)
         ON CONFLICT (session_hash, client_id) DO UPDATE SET policy_id = excluded.policy_id`,
      ),
      sessionClients: db.prepare('SELECT client_id, policy_id FROM sso_session_clients WHERE session_hash = ? ORDER BY rowid'),
      session: db.prepare('SELECT * FROM sso_sessions WHERE id_hash = ?'),
      touchSession: db.prepare('UPDATE sso_sessions SET expires_at = ? WHERE id_hash = ?'),
      deleteSession: db.prepare('DELETE FROM sso_sessions WHERE id_hash = ?'),

      authenticators: db.prepare('SELECT * FROM user_authenticators WHERE tenant_id = ? AND user_id = ? ORDER BY created_at, id'),
      authenticatorByCredential: db.prepare('SELECT * FROM user_authenticators WHERE tenant_id = ? AND credential_id = ?'),
      insertAuthenticator: db.prepare(
        `INSERT INTO user_authenticators (id, tenant_id, user_id, kind, credential_id, label, data, version, created_at, last_used_at)
         VALUES (@id, @tenantId, @userId, @kind, @credentialId, @label, @data, @version, @createdAt, @lastUsedAt)`,
      ),
      deleteAuthenticatorsOfKind: db.prepare('DELETE FROM user_authenticators WHERE tenant_id = ? AND user_id = ? AND kind = ?'),
      useAuthenticator: db.prepare('UPDATE user_authenticators SET data = ?, last_used_at = ?, version = version + 1 WHERE tenant_id = ? AND id = ? AND version = ?'),
      deleteAuthenticator: db.prepare('DELETE FROM user_authenticators WHERE tenant_id = ? AND user_id = ? AND id = ?'),
      deleteUserAuthenticators: db.prepare('DELETE FROM user_authenticators WHERE tenant_id = ? AND user_id = ?'),

      insertJourney: db.prepare(
        `INSERT INTO journeys (id, tenant_id, policy_id, browser_hash, request, state, csrf, created_at, expires_at)
         VALUES (@id, @tenantId, @policyId, @browserHash, @request, @state, @csrf, @createdAt, @expiresAt)`,
      ),
      journey: db.prepare('SELECT * FROM journeys WHERE id = ?'),
      updateJourney: db.prepare('UPDATE journeys SET state = ?, csrf = ? WHERE id = ?'),
      deleteJourney: db.prepare('DELETE FROM journeys WHERE id = ?'),

      insertCode: db.prepare(
        `INSERT INTO auth_codes (code_hash, tenant_id, client_id, user_id, data, created_at, expires_at, consumed_at, issued_jti)
         VALUES (@codeHash, @tenantId, @clientId, @userId, @data, @createdAt, @expiresAt, NULL, NULL)`,
      ),
      code: db.prepare('SELECT * FROM auth_codes WHERE code_hash = ?'),
      consumeCode: db.prepare('UPDATE auth_codes SET consumed_at = ?, issued_jti = ?, family_id = ? WHERE code_hash = ? AND consumed_at IS NULL'),
      codeFamily: db.prepare('SELECT family_id FROM auth_codes WHERE code_hash = ?').pluck(),

      refresh: db.prepare('SELECT * FROM refresh_tokens WHERE token_hash = ?'),
      consumeRefresh: db.prepare(
        'UPDATE refresh_tokens SET consumed_at = ? WHERE token_hash = ? AND consumed_at IS NULL AND revoked_at IS NULL',
      ),
      revokeFamily: db.prepare('UPDATE refresh_tokens SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL'),
      insertFamily: db.prepare(
        `INSERT INTO refresh_families (family_id, secret_hash, tenant_id, client_id, user_id, data, created_at, expires_at,
           family_expires_at, rotated_at, revoked_at, generation, origin_code_hash)
         VALUES (@familyId, @tokenHash, @tenantId, @clientId, @userId, @data, @createdAt, @expiresAt,
           @familyExpiresAt, NULL, NULL, 0, @originCodeHash)`,
      ),
      family: db.prepare('SELECT * FROM refresh_families WHERE family_id = ?'),
      rotateFamily: db.prepare(
        `UPDATE refresh_families SET secret_hash = @tokenHash, data = @data, created_at = @createdAt, expires_at = @expiresAt,
           rotated_at = @createdAt, generation = generation + 1
         WHERE family_id = @familyId AND secret_hash = @oldHash AND revoked_at IS NULL`,
      ),
      revokeFamilyRow: db.prepare('UPDATE refresh_families SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL'),
      revokeUserFamilies: db.prepare('UPDATE refresh_families SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL'),
      revokeUser: db.prepare(
        'UPDATE refresh_tokens SET revoked_at = ? WHERE tenant_id = ? AND user_id = ? AND revoked_at IS NULL AND consumed_at IS NULL',
      ),

      insertRevokedAt: db.prepare('INSERT OR IGNORE INTO revoked_access_tokens (jti, expires_at) VALUES (?, ?)'),
      revokedAt: db.prepare('SELECT 1 FROM revoked_access_tokens WHERE jti = ?').pluck(),

      insertAudit: db.prepare(
        `INSERT INTO audit_events (at, tenant_id, event, outcome, subject, client_id, ip, detail)
         VALUES (@at, @tenantId, @event, @outcome, @subject, @clientId, @ip, @detail)`,
      ),
      listAudit: db.prepare(
        `SELECT * FROM audit_events WHERE (@tenantId IS NULL OR tenant_id = @tenantId) AND at >= @since
           AND (@event IS NULL OR event = @event) AND (@outcome IS NULL OR outcome = @outcome) AND (@beforeId IS NULL OR id < @beforeId)
         ORDER BY id DESC LIMIT @limit`,
      ),
      throttle: db.prepare('SELECT failures, lockouts, locked_until FROM login_throttle WHERE tenant_id = ? AND name = ?'),
      upsertThrottle: db.prepare(
        `INSERT INTO login_throttle (tenant_id, name, failures, lockouts, locked_until, updated_at)
         VALUES (@tenantId, @name, @failures, @lockouts, @lockedUntil, @now)
         ON CONFLICT (tenant_id, name) DO UPDATE SET failures = @failures, lockouts = @lockouts,
           locked_until = @lockedUntil, updated_at = @now`,
      ),
      clearThrottle: db.prepare('UPDATE login_throttle SET failures = 0 WHERE tenant_id = ? AND name = ?'),
      lastFamilyRow: db.prepare('SELECT max(rowid) FROM refresh_families').pluck(),
      ping: db.prepare('SELECT 1').pluck(),
      hitCounter: db.prepare(
        `INSERT INTO counters (key, count, reset_at) VALUES (@key, 1, @resetAt)
         ON CONFLICT (key) DO UPDATE SET
           count = CASE WHEN counters.reset_at <= @now THEN 1 ELSE counters.count + 1 END,
           reset_at = CASE WHEN counters.reset_at <= @now THEN @resetAt ELSE counters.reset_at END
         RETURNING count, reset_at`,
      ),
      sweepFamilies: db.prepare('DELETE FROM refresh_families WHERE rowid >= ? AND rowid < ? AND expires_at < ?'),
      purge: [
        db.prepare('DELETE FROM login_throttle WHERE locked_until < ? AND failures = 0'),
        db.prepare('DELETE FROM counters WHERE reset_at < ?'),
        db.prepare('DELETE FROM journeys WHERE expires_at < ?'),
        db.prepare('DELETE FROM sso_sessions WHERE expires_at < ?'),
        db.prepare('DELETE FROM auth_codes WHERE expires_at < ?'),
        db.prepare('DELETE FROM refresh_tokens WHERE expires_at < ?'),
        db.prepare('DELETE FROM revoked_access_tokens WHERE expires_at < ?'),
        db.prepare("DELETE FROM signing_keys WHERE status = 'grace' AND publish_until < ?"),
      ],
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
      this.s.insertTenant.run({ ...t, legacyRopc: t.legacyRopc ? JSON.stringify(t.legacyRopc) : null });
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`tenant ${t.slug} already exists`);
      throw err;
    }
  }
  async findTenant(idOrSlug: string): Promise<Tenant | undefined> {
    const row = (this.s.tenantById.get(idOrSlug) ?? this.s.tenantBySlug.get(idOrSlug)) as Row | undefined;
    return row && toTenant(row);
  }
  async listTenants(): Promise<Tenant[]> {
    return (this.s.tenants.all() as Row[]).map(toTenant);
  }
  async bumpTenantConfigVersion(tenantId: string): Promise<void> {
    this.s.bumpTenant.run(tenantId);
    this.changed(tenantId);
  }
  async updateTenantSettings(tenantId: string, settings: TenantSettings): Promise<void> {
    this.db.transaction(() => {
      if (settings.legacyRopc !== undefined) this.s.setLegacyRopc.run(settings.legacyRopc ? JSON.stringify(settings.legacyRopc) : null, tenantId);
      if (settings.extensionsAppId !== undefined) this.s.setExtensionsAppId.run(settings.extensionsAppId, tenantId);
      this.s.bumpTenant.run(tenantId);
    })();
    this.changed(tenantId);
  }
  async tenantConfigVersion(tenantId: string): Promise<number | undefined> {
    return this.s.tenantVersion.get(tenantId) as number | undefined;
  }

  // apps
  async createApp(a: App): Promise<void> {
    try {
      this.forgetRegistry();
      this.s.insertApp.run({
        ...a,
        secrets: JSON.stringify(a.secrets),
        redirectUris: JSON.stringify(a.redirectUris),
        postLogoutRedirectUris: JSON.stringify(a.postLogoutRedirectUris),
        allowImplicit: a.allowImplicit ? 1 : 0,
        allowRopc: a.allowRopc ? 1 : 0,
        thirdParty: a.thirdParty ? 1 : 0,
      });
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new StoreConflictError(String((err as Error).message).includes('identifier_uri') ? `an app with identifier URI ${a.identifierUri} already exists` : `an app with client id ${a.clientId} already exists`);
      }
      throw err;
    }
  }
  async findApp(tenantId: string, clientId: string): Promise<App | undefined> {
    return this.cached(`app|${tenantId}|${clientId}`, () => {
      const row = this.s.app.get(tenantId, clientId) as Row | undefined;
      return row && toApp(row);
    });
  }
  async findAppAnyTenant(clientId: string): Promise<App | undefined> {
    const row = this.s.appAnyTenant.get(clientId) as Row | undefined;
    return row && toApp(row);
  }
  async listApps(tenantId: string): Promise<App[]> {
    return (this.s.apps.all(tenantId) as Row[]).map(toApp);
  }
  async findAppByIdentifierUri(tenantId: string, identifierUri: string): Promise<App | undefined> {
    return this.cached(`api|${tenantId}|${identifierUri}`, () => {
      const row = this.s.appByIdentifier.get(tenantId, identifierUri) as Row | undefined;
      return row && toApp(row);
    });
  }
  async setAppUris(tenantId: string, clientId: string, redirectUris: string[], postLogoutRedirectUris: string[]): Promise<void> {
    this.forgetRegistry();
    this.s.setAppUris.run(JSON.stringify(redirectUris), JSON.stringify(postLogoutRedirectUris), tenantId, clientId);
  }
  async updateAppSecrets(tenantId: string, clientId: string, change: (secrets: AppSecret[]) => AppSecret[]): Promise<AppSecret[] | undefined> {
    this.forgetRegistry();
    return this.db.transaction(() => {
      const current = this.s.appSecrets.get(tenantId, clientId) as string | undefined;
      if (current === undefined) return undefined;
      const next = change(JSON.parse(current) as AppSecret[]);
      this.s.setAppSecrets.run(JSON.stringify(next), tenantId, clientId);
      this.s.bumpTenant.run(tenantId);
      return next;
    })();
  }
  async addAppScope(apiClientId: string, name: string, description?: string): Promise<void> {
    this.forgetRegistry();
    this.s.insertScope.run(apiClientId, name, description ?? null);
  }
  async scopeDescriptions(apiClientId: string): Promise<Record<string, string>> {
    return Object.fromEntries((this.s.scopeDescriptions.all(apiClientId) as Row[]).map((r) => [str(r.name), str(r.description)]));
  }

  // tenant domains
  async addTenantDomain(d: TenantDomain): Promise<void> {
    try {
      this.s.insertTenantDomain.run(d);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`the host ${d.host} is already in use`);
      throw err;
    }
    this.changed(d.tenantId);
  }
  async removeTenantDomain(tenantId: string, host: string): Promise<boolean> {
    const removed = this.s.deleteTenantDomain.run(tenantId, host).changes > 0;
    if (removed) this.changed(tenantId);
    return removed;
  }
  async listTenantDomains(tenantId?: string): Promise<TenantDomain[]> {
    return ((tenantId === undefined ? this.s.allTenantDomains.all() : this.s.tenantDomains.all(tenantId)) as Row[]).map(toTenantDomain);
  }

  // tenant secrets
  async setTenantSecret(t: TenantSecret): Promise<void> {
    this.s.setTenantSecret.run(t);
  }
  async findTenantSecret(tenantId: string, name: string): Promise<TenantSecret | undefined> {
    const row = this.s.tenantSecret.get(tenantId, name) as Row | undefined;
    return row && toTenantSecret(row);
  }
  async listTenantSecrets(tenantId: string): Promise<TenantSecret[]> {
    return (this.s.tenantSecrets.all(tenantId) as Row[]).map(toTenantSecret);
  }
  async removeTenantSecret(tenantId: string, name: string): Promise<boolean> {
    return this.s.deleteTenantSecret.run(tenantId, name).changes > 0;
  }

  async findConsent(tenantId: string, userId: string, clientId: string): Promise<Consent | undefined> {
    const row = this.s.consent.get(tenantId, userId, clientId) as Row | undefined;
    return row && toConsent(row);
  }
  async listConsents(tenantId: string, userId: string): Promise<Consent[]> {
    return (this.s.consents.all(tenantId, userId) as Row[]).map(toConsent);
  }
  async saveConsent(c: Consent): Promise<void> {
    this.s.upsertConsent.run({ ...c, scopes: JSON.stringify(c.scopes) });
  }
  async removeConsent(tenantId: string, userId: string, clientId: string, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      const gone = this.s.deleteConsent.run(tenantId, userId, clientId).changes > 0;
      if (gone) this.s.revokeClientFamilies.run(now, tenantId, userId, clientId);
      return gone;
    })();
  }
  async listAppScopes(apiClientId: string): Promise<string[]> {
    return this.s.scopes.all(apiClientId) as string[];
  }
  async addAppRole(apiClientId: string, name: string): Promise<void> {
    this.forgetRegistry();
    this.s.insertRole.run(apiClientId, name);
  }
  async listAppRoles(apiClientId: string): Promise<string[]> {
    return this.s.roles.all(apiClientId) as string[];
  }
  async addGrant(g: AppGrant): Promise<void> {
    this.forgetRegistry();
    this.s.insertGrant.run(g);
  }
  async removeGrant(g: AppGrant): Promise<boolean> {
    this.forgetRegistry();
    return this.s.deleteGrant.run(g).changes > 0;
  }
  /** Not cached: a revoked grant must count from the very next token request. */
  async listGrants(clientId: string, apiClientId?: string): Promise<AppGrant[]> {
    const rows = (apiClientId ? this.s.grantsForApi.all(clientId, apiClientId) : this.s.grants.all(clientId)) as Row[];
    return rows.map((r) => ({
      clientId: str(r.client_id),
      apiClientId: str(r.api_client_id),
      kind: r.kind === 'role' ? 'role' : 'scope',
      name: str(r.name),
    }));
  }

  // users
  async createUser(u: User, identities: UserIdentity[] = []): Promise<void> {
    try {
      this.db.transaction(() => {
        this.s.insertUser.run({
          ...u,
          ...userColumns(u),
        });
        for (const i of identities) this.s.insertIdentity.run(u.tenantId, i.issuer, i.issuerAssignedId, u.id, u.createdAt);
      })();
    } catch (err) {
      if (isUniqueViolation(err)) {
        throw new StoreConflictError(
          String((err as Error).message).includes('user_identities')
            ? 'one of the identities already belongs to a user'
            : `a user with sign-in name ${u.signInName ?? ''} already exists`,
        );
      }
      throw err;
    }
  }
  async importUsers(tenantId: string, batch: ImportedUser[], now: number): Promise<ImportResult[]> {
    const one = (item: ImportedUser): ImportResult => {
      const { user, identities } = item;
      const row = this.s.userAnyTenant.get(user.id) as Row | undefined;
      if (row && str(row.tenant_id) !== tenantId) return { failed: 'the id belongs to a user of another tenant' };
      const existing = row && toUser(row);
      let merged: User = user;
      if (existing) {
        // A password the user already has here (set or migrated since) is never replaced by an import.
        const passwordHash = existing.passwordHash ?? user.passwordHash;
        merged = {
          ...user,
          passwordHash,
          passwordAtLegacy: passwordHash === null && user.signInName !== null,
          attributes: { ...existing.attributes, ...user.attributes },
          createdAt: existing.createdAt,
          updatedAt: now,
        };
      }
      const known = existing ? this.s.identities.all(tenantId, user.id) as Row[] : [];
      const have = new Set(known.map((r) => `${str(r.issuer)}\n${str(r.issuer_assigned_id)}`));
      const added = identities.filter((i) => !have.has(`${i.issuer}\n${i.issuerAssignedId}`));
      if (existing && added.length === 0 && sameImportedUser(existing, merged)) return 'unchanged';
      try {
        this.savepointTx(() => {
          if (existing) this.s.updateImported.run({ ...merged, tenantId, ...userColumns(merged) });
          else this.s.insertUser.run({ ...merged, ...userColumns(merged) });
          for (const i of added) this.s.insertIdentity.run(tenantId, i.issuer, i.issuerAssignedId, user.id, now);
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err;
        const message = String((err as Error).message);
        if (message.includes('user_identities')) return { failed: 'one of its identities already belongs to another user' };
        return { failed: `its sign-in name '${merged.signInName ?? ''}' already belongs to another user` };
      }
      return existing ? 'updated' : 'created';
    };
    return this.db.transaction(() => batch.map(one))();
  }
  async findUser(tenantId: string, id: string): Promise<User | undefined> {
    const row = this.s.user.get(tenantId, id) as Row | undefined;
    return row && toUser(row);
  }
  async findUserBySignInName(tenantId: string, signInName: string): Promise<User | undefined> {
    const row = this.s.userBySignInName.get(tenantId, normalizeSignInName(signInName)) as Row | undefined;
    return row && toUser(row);
  }
  async findUsersByEmail(tenantId: string, email: string): Promise<User[]> {
    return (this.s.usersByEmail.all(tenantId, normalizeEmail(email)) as Row[]).map(toUser);
  }
  async findUserByIdentity(tenantId: string, identity: UserIdentity): Promise<User | undefined> {
    const row = this.s.userByIdentity.get(tenantId, identity.issuer, identity.issuerAssignedId) as Row | undefined;
    return row && toUser(row);
  }
  async listUserIdentities(tenantId: string, userId: string): Promise<UserIdentity[]> {
    return (this.s.identities.all(tenantId, userId) as Row[]).map((r) => ({ issuer: str(r.issuer), issuerAssignedId: str(r.issuer_assigned_id) }));
  }
  async addUserIdentity(tenantId: string, userId: string, identity: UserIdentity, now: number): Promise<void> {
    try {
      this.s.insertIdentity.run(tenantId, identity.issuer, identity.issuerAssignedId, userId, now);
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`the identity ${identity.issuer}/${identity.issuerAssignedId} already belongs to a user`);
      throw err;
    }
  }
  async removeUserIdentity(tenantId: string, userId: string, identity: UserIdentity): Promise<boolean> {
    return this.s.deleteIdentity.run(tenantId, userId, identity.issuer, identity.issuerAssignedId).changes > 0;
  }
  async listUsers(tenantId: string): Promise<User[]> {
    return (this.s.users.all(tenantId) as Row[]).map(toUser);
  }
  async updateUserProfile(tenantId: string, id: string, update: UserProfileUpdate, now: number): Promise<void> {
    this.db.transaction(() => {
      const current = this.s.user.get(tenantId, id) as Row | undefined;
      if (!current) return;
      const u = toUser(current);
      this.s.updateProfile.run({
        tenantId,
        id,
        now,
        givenName: update.givenName !== undefined ? update.givenName : u.givenName,
        familyName: update.familyName !== undefined ? update.familyName : u.familyName,
        displayName: update.displayName !== undefined ? update.displayName : u.displayName,
        attributes: JSON.stringify(update.attributes ?? u.attributes),
      });
    })();
  }
  async queryUsers(tenantId: string, q: UserQuery): Promise<User[]> {
    const { sql, params } = userQuerySql(tenantId, q, () => '?', 'LIKE');
    // A handful of shapes (which filters are set): prepared once each.
    let stmt = this.queryStatements.get(sql);
    if (!stmt) this.queryStatements.set(sql, (stmt = this.db.prepare(sql)));
    return (stmt.all(...params) as Row[]).map(toUser);
  }
  private readonly queryStatements = new Map<string, Database.Statement>();
  async setUserSignIn(tenantId: string, id: string, s: { signInName: string | null; signInType: SignInType | null; email: string | null; emailVerified: boolean }, now: number): Promise<void> {
    try {
      this.s.setSignIn.run({
        tenantId,
        id,
        now,
        signInName: s.signInName === null ? null : normalizeSignInName(s.signInName),
        signInType: s.signInType,
        email: s.email,
        emailNormalized: s.email === null ? null : normalizeEmail(s.email),
        emailVerified: s.emailVerified ? 1 : 0,
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError(`another user already signs in with ${s.signInName}`);
      throw err;
    }
  }
  async setUserPassword(tenantId: string, id: string, passwordHash: string, now: number): Promise<void> {
    this.s.setPassword.run(passwordHash, now, tenantId, id);
  }
  async setUserDisabled(tenantId: string, id: string, disabled: boolean, now: number): Promise<boolean> {
    return this.db.transaction(() => {
      const changed = this.s.disableUser.run(disabled ? 1 : 0, now, tenantId, id).changes > 0;
      if (changed && disabled) {
        this.s.deleteUserSessions.run(tenantId, id);
        this.s.revokeUser.run(now, tenantId, id);
        this.s.revokeUserFamilies.run(now, tenantId, id);
      }
      return changed;
    })();
  }
  async revokeUserSessions(tenantId: string, userId: string, now: number): Promise<void> {
    this.db.transaction(() => {
      this.s.deleteUserSessions.run(tenantId, userId);
      this.s.revokeUser.run(now, tenantId, userId);
      this.s.revokeUserFamilies.run(now, tenantId, userId);
    })();
  }
  async deleteUser(tenantId: string, id: string): Promise<boolean> {
    return this.s.deleteUser.run(tenantId, id).changes > 0;
  }

  // signing keys
  async listSigningKeys(tenantId: string): Promise<SigningKey[]> {
    return (this.s.keys.all(tenantId) as Row[]).map(toKey);
  }
  async rotateSigningKey(key: SigningKey, graceUntil: number): Promise<void> {
    this.db.transaction(() => {
      this.s.demoteActiveKey.run(graceUntil, key.tenantId);
      this.s.insertKey.run({ ...key, publicJwk: JSON.stringify(key.publicJwk) });
      this.s.bumpTenant.run(key.tenantId);
    })();
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
    return (this.s.authenticators.all(tenantId, userId) as Row[]).map(toAuthenticator);
  }
  async findAuthenticatorByCredential(tenantId: string, credentialId: string): Promise<Authenticator | undefined> {
    const row = this.s.authenticatorByCredential.get(tenantId, credentialId) as Row | undefined;
    return row && toAuthenticator(row);
  }
  async replaceAuthenticators(tenantId: string, userId: string, kinds: AuthenticatorKind[], add: Authenticator[]): Promise<void> {
    try {
      this.db.transaction(() => {
        for (const kind of kinds) this.s.deleteAuthenticatorsOfKind.run(tenantId, userId, kind);
        for (const a of add) this.s.insertAuthenticator.run({ ...a, data: JSON.stringify(a.data) });
      })();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StoreConflictError('this passkey is already registered');
      throw err;
    }
  }
  async useAuthenticator(tenantId: string, id: string, version: number, data: Record<string, unknown>, now: number): Promise<boolean> {
    return this.s.useAuthenticator.run(JSON.stringify(data), now, tenantId, id, version).changes > 0;
  }
  async removeAuthenticators(tenantId: string, userId: string, id?: string): Promise<number> {
    return (id === undefined ? this.s.deleteUserAuthenticators.run(tenantId, userId) : this.s.deleteAuthenticator.run(tenantId, userId, id)).changes;
  }

  // SSO sessions
  async createSsoSession(s: SsoSession): Promise<void> {
    this.s.insertSession.run({ ...s, amr: JSON.stringify(s.amr) });
  }
  async findSsoSession(idHash: string): Promise<SsoSession | undefined> {
    const row = this.s.session.get(idHash) as Row | undefined;
    return row && toSession(row);
  }
  async touchSsoSession(idHash: string, expiresAt: number): Promise<void> {
    this.s.touchSession.run(expiresAt, idHash);
  }
  async addSsoSessionClient(idHash: string, client: SessionClient): Promise<void> {
    try {
      this.s.upsertSessionClient.run(idHash, client.clientId, client.policyId);
    } catch (err) {
      // The session ended meanwhile (foreign key): nothing is left to sign out of.
      if (!isForeignKeyViolation(err)) throw err;
    }
  }
  async endSsoSession(idHash: string): Promise<{ session: SsoSession; clients: SessionClient[] } | undefined> {
    return this.db.transaction(() => {
      const row = this.s.session.get(idHash) as Row | undefined;
      if (!row) return undefined;
      const clients = (this.s.sessionClients.all(idHash) as Row[]).map((r) => ({ clientId: str(r.client_id), policyId: str(r.policy_id) }));
      this.s.deleteSession.run(idHash);
      return { session: toSession(row), clients };
    })();
  }

  // journeys
  async createJourney(j: JourneyRecord): Promise<void> {
    this.s.insertJourney.run({ ...j, request: JSON.stringify(j.request), state: JSON.stringify(j.state) });
  }
  async findJourney(id: string): Promise<JourneyRecord | undefined> {
    const row = this.s.journey.get(id) as Row | undefined;
    return row && toJourney(row);
  }
  async updateJourney(id: string, state: unknown, csrf: string): Promise<void> {
    this.s.updateJourney.run(JSON.stringify(state), csrf, id);
  }
  async deleteJourney(id: string): Promise<void> {
    this.s.deleteJourney.run(id);
  }

  // authorization codes
  async createAuthCode(c: AuthCodeRecord): Promise<void> {
    const data = JSON.stringify(c.data);
    await this.grouped(() => this.s.insertCode.run({ ...c, data }));
  }
  async findAuthCode(codeHash: string): Promise<AuthCodeRecord | undefined> {
    const row = this.s.code.get(codeHash) as Row | undefined;
    return row && toCode(row);
  }
  async redeemAuthCode(codeHash: string, now: number, issued?: { jti: string; refresh?: RefreshTokenRecord }): Promise<CodeRedemption> {
    const refresh = issued?.refresh;
    const data = refresh ? JSON.stringify(refresh.data) : undefined;
    return this.grouped((): CodeRedemption => {
      // The common case is one statement: consume and record the jti only if nobody consumed it first.
      if (this.s.consumeCode.run(now, issued?.jti ?? null, refresh?.familyId ?? null, codeHash).changes === 1) {
        if (refresh) this.s.insertFamily.run({ ...refresh, data });
        return { ok: true };
      }
      const row = this.s.code.get(codeHash) as Row | undefined;
      return row ? { ok: false, reason: 'replayed', code: toCode(row) } : { ok: false, reason: 'unknown' };
    });
  }

  // refresh tokens
  async createRefreshToken(t: RefreshTokenRecord): Promise<void> {
    this.s.insertFamily.run({ ...t, data: JSON.stringify(t.data) });
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
    const data = JSON.stringify(next.data);
    return this.grouped((): RefreshRotation => {
      if ('legacyHash' in ref) {
        // A token from before families were one row: consume it, and the family moves to the new table.
        if (this.s.consumeRefresh.run(now, ref.legacyHash).changes === 1) {
          this.s.insertFamily.run({ ...next, data });
          return { ok: true };
        }
        const row = this.s.refresh.get(ref.legacyHash) as Row | undefined;
        if (!row) return { ok: false, reason: 'unknown' };
        const old = toRefresh(row);
        if (old.revokedAt !== null) return { ok: false, reason: 'revoked', old };
        this.revokeFamily(old.familyId, now);
        return { ok: false, reason: 'reused', old };
      }
      // The common case is one statement: the row changes only if the presented secret is current.
      const params = { familyId: ref.familyId, oldHash: ref.secretHash, tokenHash: next.tokenHash, data, createdAt: next.createdAt, expiresAt: next.expiresAt };
      if (this.s.rotateFamily.run(params).changes === 1) return { ok: true };
      const row = this.s.family.get(ref.familyId) as Row | undefined;
      if (!row) return { ok: false, reason: 'unknown' };
      const old = toFamily(row, ref.secretHash);
      if (old.revokedAt !== null) return { ok: false, reason: 'revoked', old };
      this.revokeFamily(old.familyId, now);
      return { ok: false, reason: 'reused', old };
    });
  }
  /** A family may have tokens in both tables (issued before and after migration 0005). */
  private revokeFamily(familyId: string, now: number): void {
    this.s.revokeFamily.run(now, familyId);
    this.s.revokeFamilyRow.run(now, familyId);
  }
  async revokeRefreshFamily(familyId: string, now: number): Promise<void> {
    this.revokeFamily(familyId, now);
  }
  async revokeRefreshTokensFromCode(codeHash: string, now: number): Promise<void> {
    const family = this.s.codeFamily.get(codeHash) as string | null | undefined;
    if (family) this.revokeFamily(family, now);
  }
  async revokeUserRefreshTokens(tenantId: string, userId: string, now: number): Promise<number> {
    return this.db.transaction(() => this.s.revokeUser.run(now, tenantId, userId).changes + this.s.revokeUserFamilies.run(now, tenantId, userId).changes)();
  }

  // revoked access tokens
  async revokeAccessToken(jti: string, expiresAt: number): Promise<void> {
    this.s.insertRevokedAt.run(jti, expiresAt);
  }
  async isAccessTokenRevoked(jti: string): Promise<boolean> {
    return this.s.revokedAt.get(jti) !== undefined;
  }

  async addOutboxMessage(m: Omit<OutboxMessage, 'id'>): Promise<void> {
    this.s.insertOutbox.run(m);
  }
  async listOutbox(tenantId: string, to?: string): Promise<OutboxMessage[]> {
    const rows = (to ? this.s.outboxTo.all(tenantId, to) : this.s.outbox.all(tenantId)) as Row[];
    return rows.map((r) => ({
      id: num(r.id),
      tenantId: str(r.tenant_id),
      to: str(r.to_address),
      subject: str(r.subject),
      body: str(r.body),
      transport: r.transport === 'smtp' ? 'smtp' : 'outbox',
      createdAt: num(r.created_at),
    }));
  }

  async addAuditEvent(e: Omit<AuditEvent, 'id'>): Promise<void> {
    this.s.insertAudit.run(e);
  }
  async listAuditEvents(filter: AuditFilter): Promise<AuditEvent[]> {
    const rows = this.s.listAudit.all({ tenantId: filter.tenantId ?? null, since: filter.since ?? 0, limit: filter.limit ?? 1000, event: filter.event ?? null, outcome: filter.outcome ?? null, beforeId: filter.beforeId ?? null }) as Row[];
    return rows.map(toAuditEvent);
  }

  async getLoginThrottle(tenantId: string, name: string): Promise<LoginThrottle> {
    const r = this.s.throttle.get(tenantId, name) as Row | undefined;
    return r ? { failures: num(r.failures), lockouts: num(r.lockouts), lockedUntil: num(r.locked_until) } : { failures: 0, lockouts: 0, lockedUntil: 0 };
  }
  async recordLoginFailure(tenantId: string, name: string, now: number, threshold: number, lockMs: (lockouts: number) => number): Promise<LoginThrottle> {
    return this.db.transaction((): LoginThrottle => {
      const r = this.s.throttle.get(tenantId, name) as Row | undefined;
      let failures = (r ? num(r.failures) : 0) + 1;
      let lockouts = r ? num(r.lockouts) : 0;
      let lockedUntil = r ? num(r.locked_until) : 0;
      if (failures >= threshold) {
        lockouts += 1;
        lockedUntil = now + lockMs(lockouts);
        failures = 0;
      }
      this.s.upsertThrottle.run({ tenantId, name, failures, lockouts, lockedUntil, now });
      return { failures, lockouts, lockedUntil };
    })();
  }
  async clearLoginFailures(tenantId: string, name: string): Promise<void> {
    this.s.clearThrottle.run(tenantId, name);
  }

  async hitCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const r = this.s.hitCounter.get({ key, now, resetAt: now + windowMs }) as Row;
    return { count: num(r.count), resetAt: num(r.reset_at) };
  }

  async purgeExpired(now: number): Promise<number> {
    let removed = this.db.transaction(() => this.s.purge.reduce((n, stmt) => n + stmt.run(now).changes, 0))();
    // Refresh families have no index on expiry (migration 0006): they are swept in rowid ranges,
    // each a short statement, with other work let through between them.
    const last = (this.s.lastFamilyRow.get() as number | null) ?? 0;
    for (let from = 0; from <= last && this.db.open; from += SWEEP_ROWS) {
      removed += this.s.sweepFamilies.run(from, from + SWEEP_ROWS, now).changes;
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
