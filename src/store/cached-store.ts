import type { App, AppGrant, AppPermission, AuthCodeRecord, DirectoryRole, EnterpriseApp, RefreshTokenRecord, SigningKey, Tenant, TenantDomain, User } from '../model/entities.js';
import type { ConfigChange, MigrationResult, RefreshTokenRef, Store, StoreEngine } from './store.js';

/** How long an entry is kept when nothing drops it sooner: the fallback for a notice that was lost. */
const LIFETIME_MS = 1000;
const MAX_ENTRIES = 10_000;

type Entry = { at: number; value: unknown };
/** A change as this store knows it: of its own writes, also which users. */
type Change = ConfigChange & { userIds?: string[] };

const tenant = (tenantId: string): Change => ({ what: 'tenant', tenantId });
const apps = (tenantId: string): Change => ({ what: 'apps', tenantId });
const users = (tenantId: string, userIds: string[]): Change => ({ what: 'users', tenantId, userIds });
const domains = (tenantId: string): Change => ({ what: 'domains', tenantId });

/**
 * The writes that change what is kept here, and what each changes. After one goes through, its change
 * is dropped here and announced to the other instances.
 * Creating a tenant, app or user is not among them: misses are never kept, so nothing kept goes stale.
 */
const WRITES = {
  updateTenantSettings: (tenantId: string) => tenant(tenantId),
  // A domain added or removed moves which host serves the tenant (services/tenant-directory.ts).
  addTenantDomain: (d: TenantDomain) => domains(d.tenantId),
  removeTenantDomain: (tenantId: string) => domains(tenantId),
  bumpTenantConfigVersion: (tenantId: string) => tenant(tenantId),
  rotateSigningKey: (key: SigningKey) => tenant(key.tenantId),
  addNextSigningKey: (key: SigningKey) => tenant(key.tenantId),
  deleteSigningKey: (tenantId: string) => tenant(tenantId),
  updateApp: (tenantId: string) => apps(tenantId),
  updateAppSecrets: (tenantId: string) => apps(tenantId),
  // Scopes, roles and grants name apps, not their tenant.
  addAppScope: () => apps('*'),
  addAppRole: () => apps('*'),
  addGrant: () => apps('*'),
  removeGrant: () => apps('*'),
  addAppPermission: () => apps('*'),
  removeAppPermission: () => apps('*'),
  saveEnterpriseApp: (e: EnterpriseApp) => apps(e.tenantId),
  removeEnterpriseApp: (tenantId: string) => apps(tenantId),
  addUserRole: (tenantId: string, userId: string) => users(tenantId, [userId]),
  removeUserRole: (tenantId: string, userId: string) => users(tenantId, [userId]),
  updateUserProfile: (tenantId: string, id: string) => users(tenantId, [id]),
  setUserSignIn: (tenantId: string, id: string) => users(tenantId, [id]),
  setUserPassword: (tenantId: string, id: string) => users(tenantId, [id]),
  setUserOtherMails: (tenantId: string, id: string) => users(tenantId, [id]),
  setUserDisabled: (tenantId: string, id: string) => users(tenantId, [id]),
  deleteUser: (tenantId: string, id: string) => users(tenantId, [id]),
  importUsers: (tenantId: string, ids: string[]) => users(tenantId, ids),
} satisfies { [K in keyof Store]?: Store[K] extends (...args: infer A) => unknown ? (...args: A) => Change : never };

/** Everything else goes to the engine as it is: nothing of it is kept here. */
const PASSED_THROUGH = [
  'close', 'ping', 'startBackgroundWork', 'createTenant', 'listTenants', 'tenantConfigVersion', 'setTenantSecret', 'findTenantSecret', 'listTenantSecrets',
  'removeTenantSecret', 'listTenantDomains', 'createApp', 'listApps', 'createSamlApp', 'findSamlApp', 'findSamlAppByEntityId', 'listSamlApps', 'removeSamlApp', 'scopeDescriptions', 'createUser', 'findUserBySignInName', 'findUsersByEmail', 'findUserByIdentity',
  'listUserIdentities', 'addUserIdentity', 'removeUserIdentity', 'listUsers', 'queryUsers', 'countUsers', 'revokeUserSessions', 'findConsent', 'listConsents', 'saveConsent',
  'removeConsent', 'listAuthenticators', 'findAuthenticatorByCredential', 'replaceAuthenticators', 'useAuthenticator', 'removeAuthenticators', 'listSigningKeys',
  'createSsoSession', 'findSsoSession', 'touchSsoSession', 'addSsoSessionClient', 'endSsoSession', 'createJourney', 'findJourney', 'updateJourney', 'deleteJourney',
  'createAuthCode', 'redeemAuthCode', 'createRefreshToken', 'rotateRefreshToken', 'revokeRefreshFamily', 'revokeRefreshTokensFromCode', 'revokeUserRefreshTokens',
  'revokeAccessToken', 'isAccessTokenRevoked', 'addOutboxMessage', 'listOutbox', 'addAuditEvent', 'listAuditEvents', 'countAuditEvents', 'getLoginThrottle', 'setLoginThrottle',
  'clearLoginFailures', 'hitCounter', 'purgeExpired', 'listEnterpriseApps', 'addEmailDomain', 'removeEmailDomain', 'listEmailDomains', 'findEmailDomain',
] as const satisfies readonly (keyof Store)[];

/** What the class below answers itself. */
type Own =
  | 'migration' | 'onConfigChange' | 'findTenant' | 'findApp' | 'findAppAnyTenant' | 'findAppByIdentifierUri' | 'listAppScopes' | 'listAppRoles' | 'listGrants'
  | 'adminConsentScopes' | 'listAppPermissions' | 'findEnterpriseApp' | 'findUser' | 'listUserRoles' | 'findRefreshToken' | 'findAuthCode';
type Unplaced = Exclude<keyof Store, Own | keyof typeof WRITES | (typeof PASSED_THROUGH)[number]>;
/** Every Store method is answered here, a write above, or passed through: a new one fails to compile until it is placed. */
const everyMethodPlaced: [Unplaced] extends [never] ? true : Unplaced = true;

/**
 * The one cache in front of either engine, with one set of rules. Read on every request and changed
 * rarely, these are kept: tenants (by id or slug), apps (by client id, in a tenant or any, and by
 * identifier URI), an API's scopes and roles, an app's grants, a multi-tenant app's permissions and
 * enterprise apps, and users by id with their directory roles (read on every token request). An entry
 * goes at once when
 * - a write through this store changes it (WRITES above);
 * - another instance announces a change (PostgreSQL's NOTIFY, heard through the engine's onConfigChange);
 * - another process committed to the database (SQLite's data_version: the CLI writing the same file);
 * and otherwise after LIFETIME_MS, the fallback for a lost notice (a dropped LISTEN connection).
 * Misses are never kept: what another process created a moment ago is found.
 *
 * Grants follow the same rule as apps, on both engines: kept, which saves a query on every token
 * request for an API. (SQLite used not to keep them, so that a grant revoked with the CLI counted from
 * the very next token request. It still does: SQLite's data_version tells this cache of the CLI's
 * commit before its next answer. On PostgreSQL a revocation through another instance counts once that
 * instance's notice has arrived, as before, and after the lifetime at the latest.)
 *
 * The engine stays reachable (`engine`) for what only it has: SQLite's database handle in tests.
 */
export interface CachedStore extends Store {}
export class CachedStore {
  private readonly tenants = new Map<string, Entry>();
  private readonly apps = new Map<string, Entry>();
  private readonly users = new Map<string, Entry>();
  /** Moves on every drop: a read that started before one does not keep what it read. */
  private generation = 0;
  private readonly listeners: ((change: ConfigChange) => void)[] = [];
  private readonly lifetimeMs: number;
  private readonly now: () => number;

  constructor(
    readonly engine: StoreEngine,
    opts: { lifetimeMs?: number; now?: () => number } = {},
  ) {
    this.lifetimeMs = opts.lifetimeMs ?? LIFETIME_MS;
    this.now = opts.now ?? Date.now;
    engine.onConfigChange((change) => {
      this.drop(change);
      this.tell(change);
    });
  }

  get migration(): MigrationResult {
    return this.engine.migration;
  }

  /** Hears of this store's own writes and of the changes the engine's notices tell (see Store.onConfigChange). */
  onConfigChange(listener: (change: ConfigChange) => void): void {
    this.listeners.push(listener);
  }

  async findTenant(idOrSlug: string, opts: { fresh?: boolean } = {}): Promise<Tenant | undefined> {
    if (opts.fresh) this.tenants.delete(idOrSlug);
    return this.read(this.tenants, idOrSlug, () => this.engine.findTenant(idOrSlug));
  }

  /**
   * The tenant as kept here, without a promise (every request to a tenant endpoint names one), or
   * undefined when it must be read with findTenant: the same rules, another process's commit drops it first.
   */
  keptTenant(idOrSlug: string): Tenant | undefined {
    if (this.engine.changedElsewhere()) this.dropAll();
    const hit = this.tenants.get(idOrSlug);
    return hit !== undefined && this.now() - hit.at < this.lifetimeMs ? (hit.value as Tenant) : undefined;
  }

  findApp(tenantId: string, clientId: string): Promise<App | undefined> {
    return this.read(this.apps, `app|${tenantId}|${clientId}`, () => this.engine.findApp(tenantId, clientId));
  }

  findAppAnyTenant(clientId: string): Promise<App | undefined> {
    return this.read(this.apps, `any|${clientId}`, () => this.engine.findAppAnyTenant(clientId));
  }

  findAppByIdentifierUri(tenantId: string, identifierUri: string): Promise<App | undefined> {
    return this.read(this.apps, `uri|${tenantId}|${identifierUri}`, () => this.engine.findAppByIdentifierUri(tenantId, identifierUri));
  }

  async listAppScopes(apiClientId: string): Promise<string[]> {
    return (await this.read(this.apps, `scopes|${apiClientId}`, () => this.engine.listAppScopes(apiClientId)))!;
  }

  async listAppRoles(apiClientId: string): Promise<string[]> {
    return (await this.read(this.apps, `roles|${apiClientId}`, () => this.engine.listAppRoles(apiClientId)))!;
  }

  async listGrants(clientId: string, apiClientId?: string): Promise<AppGrant[]> {
    return (await this.read(this.apps, `grants|${clientId}|${apiClientId ?? ''}`, () => this.engine.listGrants(clientId, apiClientId)))!;
  }

  async adminConsentScopes(apiClientId: string): Promise<string[]> {
    return (await this.read(this.apps, `adminscopes|${apiClientId}`, () => this.engine.adminConsentScopes(apiClientId)))!;
  }

  async listAppPermissions(clientId: string): Promise<AppPermission[]> {
    return (await this.read(this.apps, `permissions|${clientId}`, () => this.engine.listAppPermissions(clientId)))!;
  }

  /** Read on every token and API call of a multi-tenant app outside its home; a miss is kept too, as `null` (creating one drops the apps). */
  async findEnterpriseApp(tenantId: string, clientId: string): Promise<EnterpriseApp | undefined> {
    const found = await this.read(this.apps, `enterprise|${tenantId}|${clientId}`, async () => (await this.engine.findEnterpriseApp(tenantId, clientId)) ?? null);
    return found ?? undefined;
  }

  /** Kept beside the user (a role change is the user's change), as `{ tenantId, roles }` so a tenant's drop finds it. */
  async listUserRoles(tenantId: string, userId: string): Promise<DirectoryRole[]> {
    const kept = await this.read(this.users, `roles|${userId}`, async () => ({ tenantId, roles: await this.engine.listUserRoles(tenantId, userId) }));
    return kept!.tenantId === tenantId ? kept!.roles : [];
  }

  /** Kept by id (ids are unique across tenants), answered for its own tenant only. */
  async findUser(tenantId: string, id: string): Promise<User | undefined> {
    const user = await this.read(this.users, id, () => this.engine.findUser(tenantId, id));
    return user?.tenantId === tenantId ? user : undefined;
  }

  findRefreshToken(ref: RefreshTokenRef): Promise<RefreshTokenRecord | undefined> {
    return this.readAlong(() => this.engine.findRefreshToken(ref));
  }

  findAuthCode(codeHash: string): Promise<AuthCodeRecord | undefined> {
    return this.readAlong(() => this.engine.findAuthCode(codeHash));
  }

  /** A token's record, keeping the user the engine read with it (PostgreSQL joins it): the grant asks for that user next. */
  private async readAlong<T extends object>(read: () => Promise<T | undefined>): Promise<T | undefined> {
    const at = this.now();
    const generation = this.generation;
    const record = await read();
    const user = record && this.engine.usersReadAlong?.get(record);
    if (user && generation === this.generation) this.keep(this.users, user.id, user, at);
    return record;
  }

  private async read<T>(section: Map<string, Entry>, key: string, load: () => Promise<T | undefined>): Promise<T | undefined> {
    if (this.engine.changedElsewhere()) this.dropAll();
    const at = this.now();
    const hit = section.get(key);
    if (hit !== undefined && at - hit.at < this.lifetimeMs) return hit.value as T;
    const generation = this.generation;
    const value = await load();
    if (value !== undefined && generation === this.generation) this.keep(section, key, value, at);
    return value;
  }

  private keep(section: Map<string, Entry>, key: string, value: unknown, at: number): void {
    if (section.size >= MAX_ENTRIES) section.clear();
    section.set(key, { at, value });
  }

  /** After a write through this store: dropped here, announced to the other instances. */
  private async changed(change: Change): Promise<void> {
    this.drop(change);
    // This instance's own listeners (key rings, the tenant directory) hear of it at once, as the others do
    // through the notice: a key rotated here signs this instance's next token.
    this.tell({ what: change.what, tenantId: change.tenantId });
    // A notice that cannot be sent leaves the other instances to the lifetime; the write itself stands.
    await this.engine.announce({ what: change.what, tenantId: change.tenantId }).catch(() => undefined);
  }

  /**
   * A tenant's change drops the tenant and every app (cheap to read again, and rare); an app's, every
   * app, scope, role and grant; a user's, that user (or the tenant's users, when another instance
   * announces it without saying which).
   */
  private drop(change: Change): void {
    this.generation += 1;
    // Nothing kept here depends on which host serves a tenant: the tenant directory keeps that.
    if (change.what === 'domains') return;
    if (change.what !== 'users') this.apps.clear();
    if (change.what === 'apps') return;
    const section = change.what === 'tenant' ? this.tenants : this.users;
    if (change.tenantId === '*') return section.clear();
    if (change.userIds) {
      for (const id of change.userIds) {
        section.delete(id);
        section.delete(`roles|${id}`);
      }
      return;
    }
    for (const [key, entry] of section) {
      const value = entry.value as Tenant | User;
      if (('slug' in value ? value.id : value.tenantId) === change.tenantId) section.delete(key);
    }
  }

  private dropAll(): void {
    this.generation += 1;
    this.tenants.clear();
    this.apps.clear();
    this.users.clear();
  }

  private tell(change: ConfigChange): void {
    for (const l of this.listeners) l(change);
  }

  /** The writes and the passed-through methods, on the prototype: each calls the engine's own. */
  static {
    void everyMethodPlaced;
    const install = (name: string, method: (this: CachedStore, ...args: unknown[]) => unknown) =>
      Object.defineProperty(CachedStore.prototype, name, { value: method, writable: true, configurable: true });
    const call = (store: CachedStore, name: keyof Store, args: unknown[]) => (store.engine[name] as (...a: unknown[]) => unknown).apply(store.engine, args);
    for (const name of PASSED_THROUGH) {
      install(name, function (...args) {
        return call(this, name, args);
      });
    }
    for (const [name, change] of Object.entries(WRITES) as [keyof typeof WRITES, (...args: unknown[]) => Change][]) {
      install(name, async function (...args) {
        try {
          return await call(this, name, args);
        } finally {
          await this.changed(change(...args));
        }
      });
    }
  }
}

