import { createHash } from 'node:crypto';
import pg from 'pg';
import { postgresMigrationsDir } from '../../paths.js';
import { normalizeEmail, normalizeSignInName } from '../normalize.js';
import { num, toAuditEvent, sameImportedUser, str, toApp, toCode, toFamily, toJourney, toKey, toSession, toAuthenticator, toConsent, toTenant, toTenantDomain, toTenantSecret, userQuerySql, toUser, userColumns, type Row } from '../rows.js';
import { StoreConflictError, type AuditFilter, type CodeRedemption, type ConfigChange, type ImportResult, type MigrationResult, type RefreshRotation, type RefreshTokenRef, type UserQuery, type Store } from '../store.js';
import { type App, type AppSecret, type AppGrant, type AuditEvent, type AuthCodeRecord, type Authenticator, type AuthenticatorKind, type Consent, type ImportedUser, type JourneyRecord, type LoginThrottle, type OutboxMessage, type RefreshTokenRecord, type SessionClient, type SigningKey, type SignInType, type SsoSession, type Tenant, type TenantDomain, type TenantSecret, type TenantSettings, type User, type UserIdentity, type UserProfileUpdate } from '../../model/entities.js';
import { migratePostgres } from './migrate.js';
import { TurnBatch, uniqueRounds } from './turn-batch.js';

/** A user's columns beside a token's, prefixed (u_id, u_email…), to read both in one statement. */
const USER_FIELDS = ['id', 'tenant_id', 'email', 'email_normalized', 'sign_in_name', 'sign_in_type', 'email_verified', 'password_hash', 'password_at_legacy', 'given_name', 'family_name', 'display_name', 'attributes', 'disabled', 'created_at', 'updated_at'];
const USER_COLUMNS = USER_FIELDS.map((f) => `u.${f} AS u_${f}`).join(', ');

/** Prepared statements' names, by their SQL: a pure function of the text, so shared by every store. */
const statementNames = new Map<string, string>();

/** The channel instances tell each other about configuration changes on (payload: a tenant id, or '*'). */
const CHANNEL = 'latchkey_config';
const UNIQUE_VIOLATION = '23505';
const FOREIGN_KEY_VIOLATION = '23503';

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
 * conditional UPDATE (row locks decide the one winner). Instances hear of each other's configuration
 * changes (keys, apps, grants, tenant settings) through LISTEN/NOTIFY; the short cache lifetimes of
 * apps (1 s) and key versions (1 s) are the fallback.
 */
export class PostgresStore implements Store {
  private readonly listeners: ((change: ConfigChange) => void)[] = [];
  private listenClient: pg.Client | undefined;
  private closed = false;
  /** Apps are read on every token request: kept for a second, dropped at once on a change notice. */
  private readonly registry = new Map<string, { at: number; value: unknown }>();

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

  /**
   * Users are kept for a second, like apps: read with a token's family or code (see above), or on their
   * own. A change to a user through any instance clears them everywhere at once (the change notice).
   */
  private rememberUser(row: Row): void {
    if (typeof row.u_id !== 'string') return;
    const user = toUser(Object.fromEntries(USER_FIELDS.map((f) => [f, row[`u_${f}`]])));
    if (this.registry.size > 10_000) this.registry.clear();
    this.registry.set(`user|${user.id}`, { at: Date.now(), value: user });
  }
  private readonly rotations = new TurnBatch<{ ref: { familyId: string; secretHash: string }; now: number; next: RefreshTokenRecord }, RefreshRotation>((items) => this.rotateBatch(items));
  private readonly redemptions = new TurnBatch<{ codeHash: string; now: number; issued?: { jti: string; refresh?: RefreshTokenRecord } }, CodeRedemption>((items) => this.redeemBatch(items));

  /** Rows for a batch of keys, in the keys' order (one statement with `= ANY($1)`). */
  private async byKey(sql: string, keys: string[], column: string): Promise<(Row | undefined)[]> {
    const found = new Map((await this.rows(sql, [[...new Set(keys)]])).map((r) => [str(r[column]), r]));
    return keys.map((k) => found.get(k));
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

  private async cached<T>(key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    const now = Date.now();
    const hit = this.registry.get(key);
    if (hit && now - hit.at < 1000) return hit.value as T;
    const value = await load();
    if (value === undefined) return value;
    if (this.registry.size > 10_000) this.registry.clear();
    this.registry.set(key, { at: now, value });
    return value;
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

  /**
   * Tells every instance (this one too) that a tenant's configuration changed, or (`users`) that a user
   * did: either way their caches go; only a configuration change concerns the key rings.
   */
  private async changed(tenantId: string | '*', on: Queryable = this.pool, what: 'config' | 'users' = 'config'): Promise<void> {
    this.registry.clear();
    await on.query('SELECT pg_notify($1, $2)', [CHANNEL, what === 'users' ? `users:${tenantId}` : tenantId]);
    // This instance's own caches need not wait for its notice to come back.
    if (what === 'config') for (const l of this.listeners) l({ tenantId });
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
        this.registry.clear();
        if (n.payload?.startsWith('users:')) return;
        for (const l of this.listeners) l({ tenantId: n.payload ?? '*' });
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
      await this.run(
        `INSERT INTO tenants (id, slug, display_name, default_policy, issuer_pattern, config_version, created_at, legacy_ropc, extensions_app_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
        [t.id, t.slug, t.displayName, t.defaultPolicy, t.issuerPattern, t.configVersion, t.createdAt, t.legacyRopc ? JSON.stringify(t.legacyRopc) : null, t.extensionsAppId],
      );
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`tenant ${t.slug} already exists`);
      throw err;
    }
  }
  async findTenant(idOrSlug: string): Promise<Tenant | undefined> {
    const row = await this.one('SELECT * FROM tenants WHERE id = $1 OR slug = $1 ORDER BY (id = $1) DESC LIMIT 1', [idOrSlug]);
    return row && toTenant(row);
  }
  async listTenants(): Promise<Tenant[]> {
    return (await this.rows('SELECT * FROM tenants ORDER BY created_at, slug')).map(toTenant);
  }
  async bumpTenantConfigVersion(tenantId: string): Promise<void> {
    await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [tenantId]);
    await this.changed(tenantId);
  }
  async updateTenantSettings(tenantId: string, settings: TenantSettings): Promise<void> {
    await this.tx(async (c) => {
      if (settings.legacyRopc !== undefined) await this.run('UPDATE tenants SET legacy_ropc = $1 WHERE id = $2', [settings.legacyRopc ? JSON.stringify(settings.legacyRopc) : null, tenantId], c);
      if (settings.extensionsAppId !== undefined) await this.run('UPDATE tenants SET extensions_app_id = $1 WHERE id = $2', [settings.extensionsAppId, tenantId], c);
      await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [tenantId], c);
      await this.changed(tenantId, c);
    });
  }
  async tenantConfigVersion(tenantId: string): Promise<number | undefined> {
    const row = await this.one('SELECT config_version FROM tenants WHERE id = $1', [tenantId]);
    return row ? num(row.config_version) : undefined;
  }

  // apps
  async createApp(a: App): Promise<void> {
    try {
      await this.run(
        `INSERT INTO apps (client_id, tenant_id, name, type, secrets, redirect_uris, post_logout_redirect_uris, identifier_uri, allow_implicit, allow_ropc, logout_url, third_party, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
        [a.clientId, a.tenantId, a.name, a.type, JSON.stringify(a.secrets), JSON.stringify(a.redirectUris), JSON.stringify(a.postLogoutRedirectUris), a.identifierUri, a.allowImplicit ? 1 : 0, a.allowRopc ? 1 : 0, a.logoutUrl, a.thirdParty ? 1 : 0, a.createdAt],
      );
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) {
        throw new StoreConflictError(String((err as { constraint?: string }).constraint ?? '').includes('identifier') ? `an app with identifier URI ${a.identifierUri} already exists` : `an app with client id ${a.clientId} already exists`);
      }
      throw err;
    }
    await this.changed(a.tenantId);
  }
  async findApp(tenantId: string, clientId: string): Promise<App | undefined> {
    return this.cached(`app|${tenantId}|${clientId}`, async () => {
      const row = await this.one('SELECT * FROM apps WHERE tenant_id = $1 AND client_id = $2', [tenantId, clientId]);
      return row && toApp(row);
    });
  }
  async findAppAnyTenant(clientId: string): Promise<App | undefined> {
    const row = await this.one('SELECT * FROM apps WHERE client_id = $1', [clientId]);
    return row && toApp(row);
  }
  async listApps(tenantId: string): Promise<App[]> {
    return (await this.rows('SELECT * FROM apps WHERE tenant_id = $1 ORDER BY created_at, name', [tenantId])).map(toApp);
  }
  async findAppByIdentifierUri(tenantId: string, identifierUri: string): Promise<App | undefined> {
    return this.cached(`api|${tenantId}|${identifierUri}`, async () => {
      const row = await this.one('SELECT * FROM apps WHERE tenant_id = $1 AND identifier_uri = $2', [tenantId, identifierUri]);
      return row && toApp(row);
    });
  }
  async setAppUris(tenantId: string, clientId: string, redirectUris: string[], postLogoutRedirectUris: string[]): Promise<void> {
    await this.run('UPDATE apps SET redirect_uris = $1, post_logout_redirect_uris = $2 WHERE tenant_id = $3 AND client_id = $4', [JSON.stringify(redirectUris), JSON.stringify(postLogoutRedirectUris), tenantId, clientId]);
    await this.changed(tenantId);
  }
  async updateAppSecrets(tenantId: string, clientId: string, change: (secrets: AppSecret[]) => AppSecret[]): Promise<AppSecret[] | undefined> {
    return this.tx(async (c) => {
      const row = await this.one('SELECT secrets FROM apps WHERE tenant_id = $1 AND client_id = $2 FOR UPDATE', [tenantId, clientId], c);
      if (!row) return undefined;
      const next = change(JSON.parse(str(row.secrets)) as AppSecret[]);
      await this.run('UPDATE apps SET secrets = $1 WHERE tenant_id = $2 AND client_id = $3', [JSON.stringify(next), tenantId, clientId], c);
      await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [tenantId], c);
      await this.changed(tenantId, c);
      return next;
    });
  }
  async addAppScope(apiClientId: string, name: string, description?: string): Promise<void> {
    await this.run(
      'INSERT INTO app_scopes (api_client_id, name, description) VALUES ($1, $2, $3) ON CONFLICT (api_client_id, name) DO UPDATE SET description = COALESCE(excluded.description, app_scopes.description)',
      [apiClientId, name, description ?? null],
    );
    await this.changed('*');
  }
  async scopeDescriptions(apiClientId: string): Promise<Record<string, string>> {
    return Object.fromEntries((await this.rows('SELECT name, description FROM app_scopes WHERE api_client_id = $1 AND description IS NOT NULL', [apiClientId])).map((r) => [str(r.name), str(r.description)]));
  }

  // consent
  // tenant domains
  async addTenantDomain(d: TenantDomain): Promise<void> {
    try {
      await this.run('INSERT INTO tenant_domains (host, tenant_id, created_at) VALUES ($1, $2, $3)', [d.host, d.tenantId, d.createdAt]);
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`the host ${d.host} is already in use`);
      throw err;
    }
    await this.changed(d.tenantId);
  }
  async removeTenantDomain(tenantId: string, host: string): Promise<boolean> {
    const removed = (await this.run('DELETE FROM tenant_domains WHERE tenant_id = $1 AND host = $2', [tenantId, host])) > 0;
    if (removed) await this.changed(tenantId);
    return removed;
  }
  async listTenantDomains(tenantId?: string): Promise<TenantDomain[]> {
    const rows = tenantId === undefined ? await this.rows('SELECT * FROM tenant_domains ORDER BY host COLLATE "C"') : await this.rows('SELECT * FROM tenant_domains WHERE tenant_id = $1 ORDER BY host COLLATE "C"', [tenantId]);
    return rows.map(toTenantDomain);
  }

  // tenant secrets
  async setTenantSecret(t: TenantSecret): Promise<void> {
    await this.run(
      `INSERT INTO tenant_secrets (tenant_id, name, sealed_value, created_at, updated_at) VALUES ($1, $2, $3, $4, $5)
       ON CONFLICT (tenant_id, name) DO UPDATE SET sealed_value = excluded.sealed_value, updated_at = excluded.updated_at`,
      [t.tenantId, t.name, t.sealedValue, t.createdAt, t.updatedAt],
    );
  }
  async findTenantSecret(tenantId: string, name: string): Promise<TenantSecret | undefined> {
    const row = await this.one('SELECT * FROM tenant_secrets WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
    return row && toTenantSecret(row);
  }
  async listTenantSecrets(tenantId: string): Promise<TenantSecret[]> {
    return (await this.rows('SELECT * FROM tenant_secrets WHERE tenant_id = $1 ORDER BY name', [tenantId])).map(toTenantSecret);
  }
  async removeTenantSecret(tenantId: string, name: string): Promise<boolean> {
    return (await this.run('DELETE FROM tenant_secrets WHERE tenant_id = $1 AND name = $2', [tenantId, name])) > 0;
  }

  async findConsent(tenantId: string, userId: string, clientId: string): Promise<Consent | undefined> {
    const row = await this.one('SELECT * FROM user_consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3', [tenantId, userId, clientId]);
    return row && toConsent(row);
  }
  async listConsents(tenantId: string, userId: string): Promise<Consent[]> {
    return (await this.rows('SELECT * FROM user_consents WHERE tenant_id = $1 AND user_id = $2 ORDER BY granted_at', [tenantId, userId])).map(toConsent);
  }
  async saveConsent(c: Consent): Promise<void> {
    await this.run(
      'INSERT INTO user_consents (tenant_id, user_id, client_id, scopes, granted_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at',
      [c.tenantId, c.userId, c.clientId, JSON.stringify(c.scopes), c.grantedAt],
    );
  }
  async removeConsent(tenantId: string, userId: string, clientId: string, now: number): Promise<boolean> {
    return this.tx(async (c) => {
      const gone = (await this.run('DELETE FROM user_consents WHERE tenant_id = $1 AND user_id = $2 AND client_id = $3', [tenantId, userId, clientId], c)) > 0;
      if (gone) await this.run('UPDATE refresh_families SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND client_id = $4 AND revoked_at IS NULL', [now, tenantId, userId, clientId], c);
      return gone;
    });
  }
  async listAppScopes(apiClientId: string): Promise<string[]> {
    return (await this.rows('SELECT name FROM app_scopes WHERE api_client_id = $1 ORDER BY name', [apiClientId])).map((r) => str(r.name));
  }
  async addAppRole(apiClientId: string, name: string): Promise<void> {
    await this.run('INSERT INTO app_roles (api_client_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [apiClientId, name]);
    await this.changed('*');
  }
  async listAppRoles(apiClientId: string): Promise<string[]> {
    return (await this.rows('SELECT name FROM app_roles WHERE api_client_id = $1 ORDER BY name', [apiClientId])).map((r) => str(r.name));
  }
  async addGrant(g: AppGrant): Promise<void> {
    await this.run('INSERT INTO app_grants (client_id, api_client_id, kind, name) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING', [g.clientId, g.apiClientId, g.kind, g.name]);
    await this.changed('*');
  }
  async removeGrant(g: AppGrant): Promise<boolean> {
    const n = await this.run('DELETE FROM app_grants WHERE client_id = $1 AND api_client_id = $2 AND kind = $3 AND name = $4', [g.clientId, g.apiClientId, g.kind, g.name]);
    await this.changed('*');
    return n > 0;
  }
  /**
   * Kept for a second like apps: a grant revoked through any instance is dropped here at once by the
   * change notice, and within the second if a notice is missed (the scale-out rule for revocations).
   */
  async listGrants(clientId: string, apiClientId?: string): Promise<AppGrant[]> {
    const grants = await this.cached(`grants|${clientId}|${apiClientId ?? ''}`, async () => {
      const rows = apiClientId
        ? await this.rows('SELECT * FROM app_grants WHERE client_id = $1 AND api_client_id = $2 ORDER BY kind, name', [clientId, apiClientId])
        : await this.rows('SELECT * FROM app_grants WHERE client_id = $1 ORDER BY api_client_id, kind, name', [clientId]);
      return rows.map((r): AppGrant => ({ clientId: str(r.client_id), apiClientId: str(r.api_client_id), kind: r.kind === 'role' ? 'role' : 'scope', name: str(r.name) }));
    });
    return grants ?? [];
  }

  // users
  private async insertUser(u: User, on: Queryable): Promise<void> {
    const c = userColumns(u);
    await on.query(
      `INSERT INTO users (id, tenant_id, email, email_normalized, sign_in_name, sign_in_type, email_verified, password_hash, password_at_legacy,
         given_name, family_name, display_name, attributes, disabled, created_at, updated_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
      [u.id, u.tenantId, u.email, c.emailNormalized, c.signInName, u.signInType, c.emailVerified, u.passwordHash, c.passwordAtLegacy, u.givenName, u.familyName, u.displayName, c.attributes, c.disabled, u.createdAt, u.updatedAt],
    );
  }
  async createUser(u: User, identities: UserIdentity[] = []): Promise<void> {
    try {
      await this.tx(async (c) => {
        await this.insertUser(u, c);
        for (const i of identities) await this.run('INSERT INTO user_identities (tenant_id, issuer, issuer_assigned_id, user_id, created_at) VALUES ($1, $2, $3, $4, $5)', [u.tenantId, i.issuer, i.issuerAssignedId, u.id, u.createdAt], c);
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) {
        const onIdentity = String((err as { table?: string }).table ?? '') === 'user_identities';
        throw new StoreConflictError(onIdentity ? 'one of the identities already belongs to a user' : `a user with sign-in name ${u.signInName ?? ''} already exists`);
      }
      throw err;
    }
  }
  async importUsers(tenantId: string, batch: ImportedUser[], now: number): Promise<ImportResult[]> {
    return this.tx(async (c) => {
      const existingRows = await this.rows('SELECT * FROM users WHERE id = ANY($1)', [batch.map((b) => b.user.id)], c);
      const existing = new Map(existingRows.map((r) => [str(r.id), r]));
      const identityRows = await this.rows('SELECT user_id, issuer, issuer_assigned_id FROM user_identities WHERE tenant_id = $1 AND user_id = ANY($2)', [tenantId, batch.map((b) => b.user.id)], c);
      const have = new Set(identityRows.map((r) => `${str(r.user_id)}\n${str(r.issuer)}\n${str(r.issuer_assigned_id)}`));
      const results: ImportResult[] = [];
      for (const { user, identities } of batch) {
        const row = existing.get(user.id);
        if (row && str(row.tenant_id) !== tenantId) {
          results.push({ failed: 'the id belongs to a user of another tenant' });
          continue;
        }
        const old = row && toUser(row);
        let merged: User = user;
        if (old) {
          const passwordHash = old.passwordHash ?? user.passwordHash;
          merged = { ...user, passwordHash, passwordAtLegacy: passwordHash === null && user.signInName !== null, attributes: { ...old.attributes, ...user.attributes }, createdAt: old.createdAt, updatedAt: now };
        }
        const added = identities.filter((i) => !have.has(`${user.id}\n${i.issuer}\n${i.issuerAssignedId}`));
        if (old && added.length === 0 && sameImportedUser(old, merged)) {
          results.push('unchanged');
          continue;
        }
        await c.query('SAVEPOINT row');
        try {
          if (old) {
            const cols = userColumns(merged);
            await c.query(
              `UPDATE users SET email = $1, email_normalized = $2, sign_in_name = $3, sign_in_type = $4, email_verified = $5, password_hash = $6,
                 password_at_legacy = $7, given_name = $8, family_name = $9, display_name = $10, attributes = $11, disabled = $12, updated_at = $13
               WHERE tenant_id = $14 AND id = $15`,
              [merged.email, cols.emailNormalized, cols.signInName, merged.signInType, cols.emailVerified, merged.passwordHash, cols.passwordAtLegacy, merged.givenName, merged.familyName, merged.displayName, cols.attributes, cols.disabled, now, tenantId, user.id],
            );
          } else {
            await this.insertUser(merged, c);
          }
          for (const i of added) await c.query('INSERT INTO user_identities (tenant_id, issuer, issuer_assigned_id, user_id, created_at) VALUES ($1, $2, $3, $4, $5)', [tenantId, i.issuer, i.issuerAssignedId, user.id, now]);
          await c.query('RELEASE SAVEPOINT row');
          results.push(old ? 'updated' : 'created');
        } catch (err) {
          await c.query('ROLLBACK TO SAVEPOINT row');
          if (pgCode(err) !== UNIQUE_VIOLATION) throw err;
          const onIdentity = String((err as { table?: string }).table ?? '') === 'user_identities';
          results.push({ failed: onIdentity ? 'one of its identities already belongs to another user' : `its sign-in name '${merged.signInName ?? ''}' already belongs to another user` });
        }
      }
      await this.changed(tenantId, c, 'users');
      return results;
    });
  }
  async findUser(tenantId: string, id: string): Promise<User | undefined> {
    const user = await this.cached(`user|${id}`, async () => {
      const row = await this.users.add(id);
      return row && toUser(row);
    });
    return user?.tenantId === tenantId ? user : undefined;
  }
  async findUserBySignInName(tenantId: string, signInName: string): Promise<User | undefined> {
    const row = await this.one('SELECT * FROM users WHERE tenant_id = $1 AND sign_in_name = $2', [tenantId, normalizeSignInName(signInName)]);
    return row && toUser(row);
  }
  async findUsersByEmail(tenantId: string, email: string): Promise<User[]> {
    return (await this.rows('SELECT * FROM users WHERE tenant_id = $1 AND email_normalized = $2 ORDER BY created_at', [tenantId, normalizeEmail(email)])).map(toUser);
  }
  async findUserByIdentity(tenantId: string, identity: UserIdentity): Promise<User | undefined> {
    const row = await this.one(
      'SELECT u.* FROM user_identities i JOIN users u ON u.id = i.user_id WHERE i.tenant_id = $1 AND i.issuer = $2 AND i.issuer_assigned_id = $3',
      [tenantId, identity.issuer, identity.issuerAssignedId],
    );
    return row && toUser(row);
  }
  async listUserIdentities(tenantId: string, userId: string): Promise<UserIdentity[]> {
    return (await this.rows('SELECT issuer, issuer_assigned_id FROM user_identities WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, issuer', [tenantId, userId])).map((r) => ({
      issuer: str(r.issuer),
      issuerAssignedId: str(r.issuer_assigned_id),
    }));
  }
  async addUserIdentity(tenantId: string, userId: string, identity: UserIdentity, now: number): Promise<void> {
    try {
      await this.run('INSERT INTO user_identities (tenant_id, issuer, issuer_assigned_id, user_id, created_at) VALUES ($1, $2, $3, $4, $5)', [tenantId, identity.issuer, identity.issuerAssignedId, userId, now]);
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`the identity ${identity.issuer}/${identity.issuerAssignedId} already belongs to a user`);
      throw err;
    }
  }
  async removeUserIdentity(tenantId: string, userId: string, identity: UserIdentity): Promise<boolean> {
    return (await this.run('DELETE FROM user_identities WHERE tenant_id = $1 AND user_id = $2 AND issuer = $3 AND issuer_assigned_id = $4', [tenantId, userId, identity.issuer, identity.issuerAssignedId])) > 0;
  }
  async listUsers(tenantId: string): Promise<User[]> {
    return (await this.rows('SELECT * FROM users WHERE tenant_id = $1 ORDER BY created_at, email', [tenantId])).map(toUser);
  }
  async queryUsers(tenantId: string, q: UserQuery): Promise<User[]> {
    const { sql, params } = userQuerySql(tenantId, q, (n) => `$${n}`, 'ILIKE');
    return (await this.rows(sql, params)).map(toUser);
  }
  async setUserSignIn(tenantId: string, id: string, s: { signInName: string | null; signInType: SignInType | null; email: string | null; emailVerified: boolean }, now: number): Promise<void> {
    try {
      await this.run(
        'UPDATE users SET sign_in_name = $1, sign_in_type = $2, email = $3, email_normalized = $4, email_verified = $5, updated_at = $6 WHERE tenant_id = $7 AND id = $8',
        [s.signInName === null ? null : normalizeSignInName(s.signInName), s.signInType, s.email, s.email === null ? null : normalizeEmail(s.email), s.emailVerified ? 1 : 0, now, tenantId, id],
      );
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError(`another user already signs in with ${s.signInName}`);
      throw err;
    }
  }
  async updateUserProfile(tenantId: string, id: string, update: UserProfileUpdate, now: number): Promise<void> {
    await this.tx(async (c) => {
      const row = await this.one('SELECT * FROM users WHERE tenant_id = $1 AND id = $2 FOR UPDATE', [tenantId, id], c);
      if (!row) return;
      const u = toUser(row);
      await this.run(
        'UPDATE users SET given_name = $1, family_name = $2, display_name = $3, attributes = $4, updated_at = $5 WHERE tenant_id = $6 AND id = $7',
        [
          update.givenName !== undefined ? update.givenName : u.givenName,
          update.familyName !== undefined ? update.familyName : u.familyName,
          update.displayName !== undefined ? update.displayName : u.displayName,
          JSON.stringify(update.attributes ?? u.attributes),
          now,
          tenantId,
          id,
        ],
        c,
      );
      await this.changed(tenantId, c, 'users');
    });
  }
  async setUserPassword(tenantId: string, id: string, passwordHash: string, now: number): Promise<void> {
    await this.run('UPDATE users SET password_hash = $1, password_at_legacy = 0, updated_at = $2 WHERE tenant_id = $3 AND id = $4', [passwordHash, now, tenantId, id]);
    await this.changed(tenantId, this.pool, 'users');
  }
  async setUserDisabled(tenantId: string, id: string, disabled: boolean, now: number): Promise<boolean> {
    return this.tx(async (c) => {
      const changed = (await this.run('UPDATE users SET disabled = $1, updated_at = $2 WHERE tenant_id = $3 AND id = $4', [disabled ? 1 : 0, now, tenantId, id], c)) > 0;
      if (changed && disabled) {
        await this.run('DELETE FROM sso_sessions WHERE tenant_id = $1 AND user_id = $2', [tenantId, id], c);
        await this.run('UPDATE refresh_families SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL', [now, tenantId, id], c);
      }
      if (changed) await this.changed(tenantId, c, 'users');
      return changed;
    });
  }
  async revokeUserSessions(tenantId: string, userId: string, now: number): Promise<void> {
    await this.tx(async (c) => {
      await this.run('DELETE FROM sso_sessions WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId], c);
      await this.run('UPDATE refresh_families SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL', [now, tenantId, userId], c);
    });
  }
  async deleteUser(tenantId: string, id: string): Promise<boolean> {
    const gone = (await this.run('DELETE FROM users WHERE tenant_id = $1 AND id = $2', [tenantId, id])) > 0;
    if (gone) await this.changed(tenantId, this.pool, 'users');
    return gone;
  }

  // signing keys
  async listSigningKeys(tenantId: string): Promise<SigningKey[]> {
    return (await this.rows("SELECT * FROM signing_keys WHERE tenant_id = $1 ORDER BY status = 'active' DESC, created_at DESC", [tenantId])).map(toKey);
  }
  async rotateSigningKey(key: SigningKey, graceUntil: number): Promise<void> {
    await this.tx(async (c) => {
      await this.run("UPDATE signing_keys SET status = 'grace', publish_until = $1 WHERE tenant_id = $2 AND status = 'active'", [graceUntil, key.tenantId], c);
      await this.run(
        'INSERT INTO signing_keys (kid, tenant_id, alg, public_jwk, private_key, status, created_at, publish_until) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [key.kid, key.tenantId, key.alg, JSON.stringify(key.publicJwk), key.privateKey, key.status, key.createdAt, key.publishUntil],
        c,
      );
      await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [key.tenantId], c);
      await this.changed(key.tenantId, c);
    });
  }
  async deleteSigningKey(tenantId: string, kid: string): Promise<boolean> {
    return this.tx(async (c) => {
      const gone = (await this.run("DELETE FROM signing_keys WHERE tenant_id = $1 AND kid = $2 AND status = 'grace'", [tenantId, kid], c)) > 0;
      if (gone) {
        await this.run('UPDATE tenants SET config_version = config_version + 1 WHERE id = $1', [tenantId], c);
        await this.changed(tenantId, c);
      }
      return gone;
    });
  }

  // second factors and passkeys
  async listAuthenticators(tenantId: string, userId: string): Promise<Authenticator[]> {
    return (await this.rows('SELECT * FROM user_authenticators WHERE tenant_id = $1 AND user_id = $2 ORDER BY created_at, id', [tenantId, userId])).map(toAuthenticator);
  }
  async findAuthenticatorByCredential(tenantId: string, credentialId: string): Promise<Authenticator | undefined> {
    const row = await this.one('SELECT * FROM user_authenticators WHERE tenant_id = $1 AND credential_id = $2', [tenantId, credentialId]);
    return row && toAuthenticator(row);
  }
  async replaceAuthenticators(tenantId: string, userId: string, kinds: AuthenticatorKind[], add: Authenticator[]): Promise<void> {
    try {
      await this.tx(async (c) => {
        if (kinds.length > 0) await this.run('DELETE FROM user_authenticators WHERE tenant_id = $1 AND user_id = $2 AND kind = ANY($3)', [tenantId, userId, kinds], c);
        for (const a of add) {
          await this.run(
            'INSERT INTO user_authenticators (id, tenant_id, user_id, kind, credential_id, label, data, version, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)',
            [a.id, a.tenantId, a.userId, a.kind, a.credentialId, a.label, JSON.stringify(a.data), a.version, a.createdAt, a.lastUsedAt],
            c,
          );
        }
      });
    } catch (err) {
      if (pgCode(err) === UNIQUE_VIOLATION) throw new StoreConflictError('this passkey is already registered');
      throw err;
    }
  }
  async useAuthenticator(tenantId: string, id: string, version: number, data: Record<string, unknown>, now: number): Promise<boolean> {
    return (await this.run('UPDATE user_authenticators SET data = $1, last_used_at = $2, version = version + 1 WHERE tenant_id = $3 AND id = $4 AND version = $5', [JSON.stringify(data), now, tenantId, id, version])) > 0;
  }
  async removeAuthenticators(tenantId: string, userId: string, id?: string): Promise<number> {
    return id === undefined
      ? this.run('DELETE FROM user_authenticators WHERE tenant_id = $1 AND user_id = $2', [tenantId, userId])
      : this.run('DELETE FROM user_authenticators WHERE tenant_id = $1 AND user_id = $2 AND id = $3', [tenantId, userId, id]);
  }

  // SSO sessions
  async createSsoSession(s: SsoSession): Promise<void> {
    await this.run(
      'INSERT INTO sso_sessions (id_hash, sid, tenant_id, user_id, policy_id, client_id, idp, auth_time, amr, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)',
      [s.idHash, s.sid, s.tenantId, s.userId, s.policyId, s.clientId, s.idp, s.authTime, JSON.stringify(s.amr), s.createdAt, s.expiresAt],
    );
  }
  async findSsoSession(idHash: string): Promise<SsoSession | undefined> {
    const row = await this.one('SELECT * FROM sso_sessions WHERE id_hash = $1', [idHash]);
    return row && toSession(row);
  }
  async touchSsoSession(idHash: string, expiresAt: number): Promise<void> {
    await this.run('UPDATE sso_sessions SET expires_at = $1 WHERE id_hash = $2', [expiresAt, idHash]);
  }
  async addSsoSessionClient(idHash: string, client: SessionClient): Promise<void> {
    try {
      await this.run(
        'INSERT INTO sso_session_clients (session_hash, client_id, policy_id) VALUES ($1, $2, $3) ON CONFLICT (session_hash, client_id) DO UPDATE SET policy_id = excluded.policy_id',
        [idHash, client.clientId, client.policyId],
      );
    } catch (err) {
      // The session ended meanwhile: nothing is left to sign out of.
      if (pgCode(err) !== FOREIGN_KEY_VIOLATION) throw err;
    }
  }
  async endSsoSession(idHash: string): Promise<{ session: SsoSession; clients: SessionClient[] } | undefined> {
    return this.tx(async (c) => {
      // The row lock makes an app joining at this moment wait, then find the session gone.
      if (!(await this.one('SELECT 1 AS one FROM sso_sessions WHERE id_hash = $1 FOR UPDATE', [idHash], c))) return undefined;
      const clients = (await this.rows('SELECT client_id, policy_id FROM sso_session_clients WHERE session_hash = $1 ORDER BY added_at', [idHash], c)).map((r) => ({
        clientId: str(r.client_id),
        policyId: str(r.policy_id),
      }));
      const row = (await this.one('DELETE FROM sso_sessions WHERE id_hash = $1 RETURNING *', [idHash], c))!;
      return { session: toSession(row), clients };
    });
  }

  // journeys
  async createJourney(j: JourneyRecord): Promise<void> {
    await this.run(
      'INSERT INTO journeys (id, tenant_id, policy_id, browser_hash, request, state, csrf, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
      [j.id, j.tenantId, j.policyId, j.browserHash, JSON.stringify(j.request), JSON.stringify(j.state), j.csrf, j.createdAt, j.expiresAt],
    );
  }
  async findJourney(id: string): Promise<JourneyRecord | undefined> {
    const row = await this.one('SELECT * FROM journeys WHERE id = $1', [id]);
    return row && toJourney(row);
  }
  async updateJourney(id: string, state: unknown, csrf: string): Promise<void> {
    await this.run('UPDATE journeys SET state = $1, csrf = $2 WHERE id = $3', [JSON.stringify(state), csrf, id]);
  }
  async deleteJourney(id: string): Promise<void> {
    await this.run('DELETE FROM journeys WHERE id = $1', [id]);
  }

  // authorization codes
  async createAuthCode(c: AuthCodeRecord): Promise<void> {
    await this.run(
      'INSERT INTO auth_codes (code_hash, tenant_id, client_id, user_id, data, created_at, expires_at, consumed_at, issued_jti) VALUES ($1, $2, $3, $4, $5, $6, $7, NULL, NULL)',
      [c.codeHash, c.tenantId, c.clientId, c.userId, JSON.stringify(c.data), c.createdAt, c.expiresAt],
    );
  }
  async findAuthCode(codeHash: string): Promise<AuthCodeRecord | undefined> {
    const row = await this.codes.add(codeHash);
    if (row) this.rememberUser(row);
    return row && toCode(row);
  }
  async redeemAuthCode(codeHash: string, now: number, issued?: { jti: string; refresh?: RefreshTokenRecord }): Promise<CodeRedemption> {
    return this.redemptions.add({ codeHash, now, ...(issued ? { issued } : {}) });
  }

  /**
   * The turn's redemptions as one statement: a conditional UPDATE consumes each code not consumed yet
   * (the row lock orders instances racing for one code: one wins) and, for the codes it consumed, the
   * refresh families they start are inserted in the same statement, so both commit together.
   */
  private async redeemBatch(items: { codeHash: string; now: number; issued?: { jti: string; refresh?: RefreshTokenRecord } }[]): Promise<CodeRedemption[]> {
    const out: CodeRedemption[] = new Array(items.length);
    for (const round of uniqueRounds(items, (i) => i.codeHash)) {
      const col = <T>(f: (i: (typeof items)[number]) => T) => round.map((r) => f(r.item));
      const t = (i: (typeof items)[number]) => i.issued?.refresh;
      const consumed = new Set(
        (
          await this.rows(
            `WITH v AS (
               SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::bigint[], $11::bigint[], $12::bigint[], $13::text[])
                 AS v(code_hash, now, jti, family_id, secret_hash, tenant_id, client_id, user_id, data, created_at, expires_at, family_expires_at, origin_code_hash)
             ), consumed AS (
               UPDATE auth_codes a SET consumed_at = v.now, issued_jti = v.jti, family_id = v.family_id
               FROM v WHERE a.code_hash = v.code_hash AND a.consumed_at IS NULL RETURNING a.code_hash
             ), families AS (
               INSERT INTO refresh_families (family_id, secret_hash, tenant_id, client_id, user_id, data, created_at, expires_at, family_expires_at, rotated_at, revoked_at, generation, origin_code_hash)
               SELECT v.family_id, v.secret_hash, v.tenant_id, v.client_id, v.user_id, v.data, v.created_at, v.expires_at, v.family_expires_at, NULL, NULL, 0, v.origin_code_hash
               FROM v JOIN consumed c ON c.code_hash = v.code_hash WHERE v.family_id IS NOT NULL
             )
             SELECT code_hash FROM consumed`,
            [
              col((i) => i.codeHash), col((i) => i.now), col((i) => i.issued?.jti ?? null), col((i) => t(i)?.familyId ?? null), col((i) => t(i)?.tokenHash ?? null),
              col((i) => t(i)?.tenantId ?? null), col((i) => t(i)?.clientId ?? null), col((i) => t(i)?.userId ?? null), col((i) => (t(i) ? JSON.stringify(t(i)!.data) : null)),
              col((i) => t(i)?.createdAt ?? null), col((i) => t(i)?.expiresAt ?? null), col((i) => t(i)?.familyExpiresAt ?? null), col((i) => t(i)?.originCodeHash ?? null),
            ],
          )
        ).map((r) => str(r.code_hash)),
      );
      for (const { index, item } of round) {
        if (consumed.has(item.codeHash)) {
          out[index] = { ok: true };
          continue;
        }
        const row = await this.one('SELECT * FROM auth_codes WHERE code_hash = $1', [item.codeHash]);
        out[index] = row ? { ok: false, reason: 'replayed', code: toCode(row) } : { ok: false, reason: 'unknown' };
      }
    }
    return out;
  }

  // refresh tokens
  private async insertFamily(t: RefreshTokenRecord, on: Queryable): Promise<void> {
    await on.query(
      `INSERT INTO refresh_families (family_id, secret_hash, tenant_id, client_id, user_id, data, created_at, expires_at, family_expires_at, rotated_at, revoked_at, generation, origin_code_hash)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, NULL, NULL, 0, $10)`,
      [t.familyId, t.tokenHash, t.tenantId, t.clientId, t.userId, JSON.stringify(t.data), t.createdAt, t.expiresAt, t.familyExpiresAt, t.originCodeHash],
    );
  }
  async createRefreshToken(t: RefreshTokenRecord): Promise<void> {
    await this.insertFamily(t, this.pool);
  }
  async findRefreshToken(ref: RefreshTokenRef): Promise<RefreshTokenRecord | undefined> {
    // Tokens from before refresh families were one row exist only in SQLite databases.
    if ('legacyHash' in ref) return undefined;
    const row = await this.families.add(ref.familyId);
    if (row) this.rememberUser(row);
    return row && toFamily(row, ref.secretHash);
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

  /**
   * The turn's rotations as one conditional UPDATE over the list (each row changes only if its presented
   * secret is the current one); those that did not change are reuses, which revoke their families.
   */
  private async rotateBatch(items: { ref: { familyId: string; secretHash: string }; now: number; next: RefreshTokenRecord }[]): Promise<RefreshRotation[]> {
    const out: RefreshRotation[] = new Array(items.length);
    for (const round of uniqueRounds(items, (i) => i.ref.familyId)) {
      const col = <T>(f: (i: (typeof items)[number]) => T) => round.map((r) => f(r.item));
      const rotated = new Set(
        (
          await this.rows(
            `UPDATE refresh_families f SET secret_hash = v.new_hash, data = v.data, created_at = v.created_at, expires_at = v.expires_at,
               rotated_at = v.created_at, generation = f.generation + 1
             FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::bigint[], $6::bigint[]) AS v(family_id, old_hash, new_hash, data, created_at, expires_at)
             WHERE f.family_id = v.family_id AND f.secret_hash = v.old_hash AND f.revoked_at IS NULL
             RETURNING f.family_id`,
            [col((i) => i.ref.familyId), col((i) => i.ref.secretHash), col((i) => i.next.tokenHash), col((i) => JSON.stringify(i.next.data)), col((i) => i.next.createdAt), col((i) => i.next.expiresAt)],
          )
        ).map((r) => str(r.family_id)),
      );
      for (const { index, item } of round) {
        if (rotated.has(item.ref.familyId)) {
          out[index] = { ok: true };
          continue;
        }
        // Not the current secret, or the family was revoked: a reuse revokes the family (the winner's token too).
        const revoked = await this.one('UPDATE refresh_families SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL RETURNING *', [item.now, item.ref.familyId]);
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
    await this.run('UPDATE refresh_families SET revoked_at = $1 WHERE family_id = $2 AND revoked_at IS NULL', [now, familyId]);
  }
  async revokeRefreshTokensFromCode(codeHash: string, now: number): Promise<void> {
    await this.run('UPDATE refresh_families SET revoked_at = $1 WHERE family_id = (SELECT family_id FROM auth_codes WHERE code_hash = $2) AND revoked_at IS NULL', [now, codeHash]);
  }
  async revokeUserRefreshTokens(tenantId: string, userId: string, now: number): Promise<number> {
    return this.run('UPDATE refresh_families SET revoked_at = $1 WHERE tenant_id = $2 AND user_id = $3 AND revoked_at IS NULL', [now, tenantId, userId]);
  }

  // revoked access tokens
  async revokeAccessToken(jti: string, expiresAt: number): Promise<void> {
    await this.run('INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING', [jti, expiresAt]);
  }
  async isAccessTokenRevoked(jti: string): Promise<boolean> {
    return (await this.one('SELECT 1 AS one FROM revoked_access_tokens WHERE jti = $1', [jti])) !== undefined;
  }

  async addOutboxMessage(m: Omit<OutboxMessage, 'id'>): Promise<void> {
    await this.run('INSERT INTO outbox (tenant_id, to_address, subject, body, transport, created_at) VALUES ($1, $2, $3, $4, $5, $6)', [m.tenantId, m.to, m.subject, m.body, m.transport, m.createdAt]);
  }
  async listOutbox(tenantId: string, to?: string): Promise<OutboxMessage[]> {
    const rows = to
      ? await this.rows('SELECT * FROM outbox WHERE tenant_id = $1 AND lower(to_address) = lower($2) ORDER BY id', [tenantId, to])
      : await this.rows('SELECT * FROM outbox WHERE tenant_id = $1 ORDER BY id', [tenantId]);
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
    await this.run('INSERT INTO audit_events (at, tenant_id, event, outcome, subject, client_id, ip, detail) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [e.at, e.tenantId, e.event, e.outcome, e.subject, e.clientId, e.ip, e.detail]);
  }
  async listAuditEvents(filter: AuditFilter): Promise<AuditEvent[]> {
    const rows = await this.rows(
      'SELECT * FROM audit_events WHERE ($1::text IS NULL OR tenant_id = $1) AND at >= $2 AND ($4::text IS NULL OR event = $4) AND ($5::text IS NULL OR outcome = $5) AND ($6::bigint IS NULL OR id < $6) ORDER BY id DESC LIMIT $3',
      [filter.tenantId ?? null, filter.since ?? 0, filter.limit ?? 1000, filter.event ?? null, filter.outcome ?? null, filter.beforeId ?? null],
    );
    return rows.map(toAuditEvent);
  }

  async getLoginThrottle(tenantId: string, name: string): Promise<LoginThrottle> {
    const r = await this.one('SELECT failures, lockouts, locked_until FROM login_throttle WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
    return r ? { failures: num(r.failures), lockouts: num(r.lockouts), lockedUntil: num(r.locked_until) } : { failures: 0, lockouts: 0, lockedUntil: 0 };
  }
  async recordLoginFailure(tenantId: string, name: string, now: number, threshold: number, lockMs: (lockouts: number) => number): Promise<LoginThrottle> {
    return this.tx(async (c) => {
      // The row is locked for the read-modify-write, so failures from several instances all count.
      await this.run('INSERT INTO login_throttle (tenant_id, name, failures, lockouts, locked_until, updated_at) VALUES ($1, $2, 0, 0, 0, $3) ON CONFLICT DO NOTHING', [tenantId, name, now], c);
      const r = (await this.one('SELECT failures, lockouts, locked_until FROM login_throttle WHERE tenant_id = $1 AND name = $2 FOR UPDATE', [tenantId, name], c))!;
      let failures = num(r.failures) + 1;
      let lockouts = num(r.lockouts);
      let lockedUntil = num(r.locked_until);
      if (failures >= threshold) {
        lockouts += 1;
        lockedUntil = now + lockMs(lockouts);
        failures = 0;
      }
      await this.run('UPDATE login_throttle SET failures = $1, lockouts = $2, locked_until = $3, updated_at = $4 WHERE tenant_id = $5 AND name = $6', [failures, lockouts, lockedUntil, now, tenantId, name], c);
      return { failures, lockouts, lockedUntil };
    });
  }
  async clearLoginFailures(tenantId: string, name: string): Promise<void> {
    await this.run('UPDATE login_throttle SET failures = 0 WHERE tenant_id = $1 AND name = $2', [tenantId, name]);
  }

  async hitCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }> {
    const r = (await this.one(
      `INSERT INTO counters (key, count, reset_at) VALUES ($1, 1, $2)
       ON CONFLICT (key) DO UPDATE SET
         count = CASE WHEN counters.reset_at <= $3 THEN 1 ELSE counters.count + 1 END,
         reset_at = CASE WHEN counters.reset_at <= $3 THEN $2 ELSE counters.reset_at END
       RETURNING count, reset_at`,
      [key, now + windowMs, now],
    ))!;
    return { count: num(r.count), resetAt: num(r.reset_at) };
  }

  async purgeExpired(now: number): Promise<number> {
    let removed = 0;
    for (const sql of [
      'DELETE FROM login_throttle WHERE locked_until < $1 AND failures = 0',
      'DELETE FROM counters WHERE reset_at < $1',
      'DELETE FROM journeys WHERE expires_at < $1',
      'DELETE FROM sso_sessions WHERE expires_at < $1',
      'DELETE FROM auth_codes WHERE expires_at < $1',
      'DELETE FROM refresh_families WHERE expires_at < $1',
      'DELETE FROM revoked_access_tokens WHERE expires_at < $1',
      "DELETE FROM signing_keys WHERE status = 'grace' AND publish_until < $1",
    ]) {
      removed += await this.run(sql, [now]);
    }
    return removed;
  }
}
