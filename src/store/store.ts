/**
 * The one storage interface. Everything Latchkey persists goes through it: two SQL engines implement
 * it (sqlite/, postgres/), and one caching layer (cached-store.ts) wraps either, so the rest of
 * Latchkey sees one Store. Operations that must be atomic (code redemption, refresh rotation) are
 * single methods, not transactions driven from outside. The engines speak SQL and nothing else: rules
 * about what may change (an import's merge, the lockout arithmetic) live in services/, what is cached
 * and for how long in cached-store.ts, how records become rows in rows.ts, and what both engines'
 * statements are built from (inserts, revocations, the purge list) in schema.ts.
 *
 * So adding a column to users touches: the two migration files (migrations/sqlite, migrations/postgres),
 * the model (User in model/entities.ts), rows.ts's mapping (USERS and toUser), and the two SQL
 * implementations where a statement names the column — nothing else here: inserts, the import's writes
 * and comparison, the cache and the read of a token's user follow rows.ts's column list. (The services
 * that create users give the new field its value.) A new table touches the two migration files, this
 * interface, rows.ts, the two SQL implementations and the contract suite (test/store/contract.test.ts).
 */

import { ServiceError } from '../model/errors.js';
import type { App, AppPermission, DirectoryRole, EmailDomain, EnterpriseApp, AppGrant, SamlApp, AppSecret, AuditEvent, AuthCodeRecord, Authenticator, AuthenticatorKind, Consent, ImportedUser, JourneyRecord, LoginThrottle, OutboxMessage, RefreshTokenRecord, SessionClient, SigningKey, SsoSession, Tenant, TenantDomain, TenantSecret, TenantSettings, User, UserIdentity, UserProfileUpdate, UserSignIn } from '../model/entities.js';

/** Outcome of redeeming a code: the code, or why it cannot be used. */
export type CodeRedemption = { ok: true } | { ok: false; reason: 'unknown' | 'replayed'; code?: AuthCodeRecord };

export type RefreshRotation = { ok: true } | { ok: false; reason: 'unknown' | 'reused' | 'revoked'; old?: RefreshTokenRecord };

/**
 * A refresh token as presented: `{familyId}.{secret}` (the format issued now; only the secret's hash
 * is stored) or an opaque token issued before families were stored as one row (its hash).
 */
export type RefreshTokenRef = { familyId: string; secretHash: string } | { legacyHash: string };

/** What a query of users keeps (Graph's `$filter` subset). */
export interface UserFilterQuery {
  /** Display names starting with this, ignoring case. */
  displayNamePrefix?: string;
  enabled?: boolean;
  /**
   * Users with this text anywhere in their names, email address or sign-in names, ignoring case, or in
   * the id of one of their upstream identities (the console's search box).
   */
  contains?: string;
  /** Users whose contact address is this one (normalized here). */
  email?: string;
}

/** The orders a page of users may come in besides id order (Graph's `$orderby`): a field, then id. */
export interface UserOrder {
  by: 'displayName' | 'createdAt';
  desc: boolean;
}

/**
 * A page of a tenant's users (Graph's `$filter`, `$orderby` and `$skiptoken` paging): in id order, or
 * in `orderBy`'s with the id breaking ties. A page starts after the previous page's last user: its id
 * (`afterId`) and, in a field's order, its value of that field (`afterValue`; a missing display name is '').
 */
export interface UserQuery extends UserFilterQuery {
  afterId?: string;
  afterValue?: string | number;
  orderBy?: UserOrder;
  limit: number;
}

export interface AuditFilter {
  tenantId?: string;
  since?: number;
  limit?: number;
  event?: string;
  outcome?: 'success' | 'failure';
  beforeId?: number;
  /** Events before this time (ms). */
  until?: number;
  /** Events about this user (subject) or made by them (actor). */
  user?: string;
}

export interface AuditCountQuery {
  tenantId: string;
  events: string[];
  since: number;
  /** The buckets' width (ms); a bucket is named by its start. */
  bucketMs: number;
}

export interface AuditCount {
  /** The bucket's start (ms). */
  at: number;
  event: string;
  outcome: 'success' | 'failure';
  count: number;
}

/**
 * One row of an import as the import service decided it (services/user-import.ts): the user as it
 * is to be stored, created (`exists` false) or replacing the stored row, and the identities to add.
 */
export interface ImportWrite {
  user: User;
  exists: boolean;
  addIdentities: UserIdentity[];
}

/** How one ImportWrite went: written, or refused for a name or identity another user has. */
export type ImportWriteOutcome = 'written' | 'sign_in_name_taken' | 'identity_taken';

/** A unique name or id is taken (a concurrent write got there first): a service error of kind conflict. */
export class StoreConflictError extends ServiceError {
  constructor(message: string) {
    super('conflict', message);
  }
}

/** The configured database cannot be opened (reported as one line, by the server and the CLI). */
export class StoreOpenError extends Error {}

/** What opening a store did to its schema. */
export interface MigrationResult {
  applied: string[];
  current: number;
}

/**
 * A change one instance made that others must see at once: a tenant's settings or keys (`tenant`:
 * key rings listen for these), its apps, scopes, roles or grants (`apps`), or its users (`users`).
 * `tenantId` is '*' when the change is not one tenant's.
 */
export interface ConfigChange {
  tenantId: string;
  /** `domains`: a tenant's custom domains changed (which tenant a host serves; services/tenant-directory.ts). */
  what: 'tenant' | 'apps' | 'users' | 'domains';
}

export interface Store {
  close(): Promise<void>;
  /** The migrations applied when this store was opened, and the schema version. */
  readonly migration: MigrationResult;
  /** Answers when the database does (for /readyz). */
  ping(): Promise<void>;
  /** Long-running helpers of a server (SQLite's checkpoint thread, PostgreSQL's change listener). */
  startBackgroundWork(onWarning: (message: string) => void): void;
  /**
   * Calls `listener` when a tenant's keys, settings, domains, apps, grants or users changed: at once
   * for a write through this store (the caching layer), and for another instance's through PostgreSQL's
   * LISTEN/NOTIFY. A CLI writing the same SQLite file tells no one: caches outside the caching layer (key
   * rings) fall back to their own short lifetimes.
   */
  onConfigChange(listener: (change: ConfigChange) => void): void;

  // tenants
  createTenant(t: Tenant): Promise<void>;
  /** `fresh`: read from the database, past any cache (an answer about the tenant itself). */
  findTenant(idOrSlug: string, opts?: { fresh?: boolean }): Promise<Tenant | undefined>;
  listTenants(): Promise<Tenant[]>;
  bumpTenantConfigVersion(tenantId: string): Promise<void>;
  updateTenantSettings(tenantId: string, settings: TenantSettings): Promise<void>;
  tenantConfigVersion(tenantId: string): Promise<number | undefined>;

  // tenant domains (custom host names; other instances hear of a change as of any tenant setting)
  /** Adds a host to a tenant; a host any tenant has already is a StoreConflictError. */
  addTenantDomain(d: TenantDomain): Promise<void>;
  removeTenantDomain(tenantId: string, host: string): Promise<boolean>;
  /** One tenant's domains, or every tenant's (the host directory's snapshot), by host. */
  listTenantDomains(tenantId?: string): Promise<TenantDomain[]>;

  // tenant secrets
  /** Creates or replaces a secret (its createdAt stays when replaced). */
  setTenantSecret(s: TenantSecret): Promise<void>;
  findTenantSecret(tenantId: string, name: string): Promise<TenantSecret | undefined>;
  listTenantSecrets(tenantId: string): Promise<TenantSecret[]>;
  removeTenantSecret(tenantId: string, name: string): Promise<boolean>;

  // apps
  createApp(a: App): Promise<void>;
  findApp(tenantId: string, clientId: string): Promise<App | undefined>;
  /** Client ids are unique across tenants (the app's GUID); this finds one in any tenant. */
  findAppAnyTenant(clientId: string): Promise<App | undefined>;
  listApps(tenantId: string): Promise<App[]>;
  findAppByIdentifierUri(tenantId: string, identifierUri: string): Promise<App | undefined>;
  /**
   * Changes an app registration in one transaction (read, `change`, write: rows.ts's APP_SETTINGS, not
   * its secrets); `change` may throw to leave it as it was. Undefined when there is no such app; a
   * taken identifier URI is a StoreConflictError.
   */
  updateApp(tenantId: string, clientId: string, change: (app: App) => App): Promise<App | undefined>;
  /** Changes the app's secrets in one transaction (read, `change`, write); other instances hear of it at once. */
  updateAppSecrets(tenantId: string, clientId: string, change: (secrets: AppSecret[]) => AppSecret[]): Promise<AppSecret[] | undefined>;
  /** Adds a scope (again: its description is updated when one is given). */
  /** SAML applications; `createSamlApp` throws StoreConflictError when the tenant has the entity id. */
  createSamlApp(a: SamlApp): Promise<void>;
  findSamlApp(tenantId: string, clientId: string): Promise<SamlApp | undefined>;
  findSamlAppByEntityId(tenantId: string, entityId: string): Promise<SamlApp | undefined>;
  listSamlApps(tenantId: string): Promise<SamlApp[]>;
  /** Removes the tenant's SAML app; false when the tenant has no app of that client id. */
  removeSamlApp(tenantId: string, clientId: string): Promise<boolean>;
  /** Adds a scope (again: its description is updated when one is given, and `adminConsent` true sticks). */
  addAppScope(apiClientId: string, name: string, description?: string, adminConsent?: boolean): Promise<void>;
  listAppScopes(apiClientId: string): Promise<string[]>;
  /** The API's scopes that only an administrator may consent to. */
  adminConsentScopes(apiClientId: string): Promise<string[]>;
  /** Scopes' descriptions for consent pages, by name (scopes without one are absent). */
  scopeDescriptions(apiClientId: string): Promise<Record<string, string>>;
  addAppRole(apiClientId: string, name: string): Promise<void>;
  listAppRoles(apiClientId: string): Promise<string[]>;
  addGrant(g: AppGrant): Promise<void>;
  removeGrant(g: AppGrant): Promise<boolean>;
  listGrants(clientId: string, apiClientId?: string): Promise<AppGrant[]>;

  // organizations: multi-tenant apps' permissions and enterprise apps, email domains
  addAppPermission(p: AppPermission): Promise<void>;
  removeAppPermission(p: AppPermission): Promise<boolean>;
  listAppPermissions(clientId: string): Promise<AppPermission[]>;
  /** Creates the enterprise app, or (it exists) sets its admin consent when `e` has one; returns whether it was created. */
  saveEnterpriseApp(e: EnterpriseApp): Promise<boolean>;
  findEnterpriseApp(tenantId: string, clientId: string): Promise<EnterpriseApp | undefined>;
  listEnterpriseApps(tenantId: string): Promise<EnterpriseApp[]>;
  /**
   * Removes the enterprise app and, in the same transaction, every user's consent to the app in that
   * tenant and the refresh tokens it holds there.
   */
  removeEnterpriseApp(tenantId: string, clientId: string, now: number): Promise<boolean>;
  /** A domain is one tenant's: another's is a StoreConflictError. */
  addEmailDomain(d: EmailDomain): Promise<void>;
  removeEmailDomain(tenantId: string, domain: string): Promise<boolean>;
  listEmailDomains(tenantId: string): Promise<EmailDomain[]>;
  findEmailDomain(domain: string): Promise<EmailDomain | undefined>;

  // users
  /** Creates the user with its local and upstream identities in one transaction; a taken sign-in name or identity is a StoreConflictError. */
  createUser(u: User, identities?: UserIdentity[]): Promise<void>;
  findUser(tenantId: string, id: string): Promise<User | undefined>;
  /** The user one of whose local identities has this name (normalized here: store/normalize.ts's normalizeLookupName). */
  findUserBySignInName(tenantId: string, signInName: string): Promise<User | undefined>;
  /** Users whose contact email is this address (normalized here), local accounts or not. */
  findUsersByEmail(tenantId: string, email: string): Promise<User[]>;
  findUserByIdentity(tenantId: string, identity: UserIdentity): Promise<User | undefined>;
  listUserIdentities(tenantId: string, userId: string): Promise<UserIdentity[]>;
  /** Links an identity to a user; one already linked (to anyone) is a StoreConflictError. */
  addUserIdentity(tenantId: string, userId: string, identity: UserIdentity, now: number): Promise<void>;
  removeUserIdentity(tenantId: string, userId: string, identity: UserIdentity): Promise<boolean>;
  listUsers(tenantId: string): Promise<User[]>;
  /** A page of users, filtered and ordered in the database. */
  queryUsers(tenantId: string, q: UserQuery): Promise<User[]>;
  /** How many users a filter keeps (Graph's `$count`). */
  countUsers(tenantId: string, q: UserFilterQuery): Promise<number>;
  updateUserProfile(tenantId: string, id: string, update: UserProfileUpdate, now: number): Promise<void>;
  /** Replaces the user's local identities (none: it signs in only upstream) and contact email; a name another user has is a StoreConflictError. */
  setUserSignIn(tenantId: string, id: string, signIn: UserSignIn, now: number): Promise<void>;
  /**
   * Sets the password hash (and ends a pending migration from the old identity provider). `mustChange`
   * sets whether the next sign-in asks for a new password; without it, that stays as it is.
   */
  setUserPassword(tenantId: string, id: string, passwordHash: string, now: number, opts?: { mustChange?: boolean }): Promise<void>;
  /** Replaces the user's other addresses (Graph's otherMails). */
  setUserOtherMails(tenantId: string, id: string, otherMails: string[], now: number): Promise<void>;
  /**
   * Writes a batch of imported users in one transaction: reads the users with these ids (in any
   * tenant, each with its identities), asks `plan` what to write, and writes each row on its own (one
   * refused for a taken sign-in name or identity leaves the others; identities are added at `now`).
   * The outcomes follow `plan`'s writes. `tenantId`: the tenant importing (whose users' caches go).
   */
  importUsers(tenantId: string, ids: string[], plan: (stored: ImportedUser[]) => ImportWrite[], now: number): Promise<ImportWriteOutcome[]>;
  setUserDisabled(tenantId: string, id: string, disabled: boolean, now: number): Promise<boolean>;
  /** The user's directory roles (wids), in name order. */
  listUserRoles(tenantId: string, userId: string): Promise<DirectoryRole[]>;
  addUserRole(tenantId: string, userId: string, role: DirectoryRole, now: number): Promise<void>;
  removeUserRole(tenantId: string, userId: string, role: DirectoryRole): Promise<boolean>;
  deleteUser(tenantId: string, id: string): Promise<boolean>;

  // consent
  findConsent(tenantId: string, userId: string, clientId: string): Promise<Consent | undefined>;
  listConsents(tenantId: string, userId: string): Promise<Consent[]>;
  /** Records (or widens) a user's consent to an app. */
  saveConsent(c: Consent): Promise<void>;
  /** Withdraws it, and revokes the app's refresh tokens for the user in the same transaction. */
  removeConsent(tenantId: string, userId: string, clientId: string, now: number): Promise<boolean>;

  // second factors and passkeys
  listAuthenticators(tenantId: string, userId: string): Promise<Authenticator[]>;
  findAuthenticatorByCredential(tenantId: string, credentialId: string): Promise<Authenticator | undefined>;
  /**
   * Removes the user's authenticators of `kinds` and adds `add`, in one transaction (re-enrolling an
   * authenticator app, new recovery codes). A passkey whose credential id is taken is a StoreConflictError.
   */
  replaceAuthenticators(tenantId: string, userId: string, kinds: AuthenticatorKind[], add: Authenticator[]): Promise<void>;
  /** Records a use: writes `data` and the time only if the row still has `version` (then version + 1). */
  useAuthenticator(tenantId: string, id: string, version: number, data: Record<string, unknown>, now: number): Promise<boolean>;
  /** Removes one authenticator (by id) or all of the user's (no id); returns how many. */
  removeAuthenticators(tenantId: string, userId: string, id?: string): Promise<number>;

  // signing keys
  listSigningKeys(tenantId: string): Promise<SigningKey[]>;
  /**
   * Makes `key` the active key (a stored `next` key of that kid is promoted); the previous active key is
   * published until `graceUntil`.
   */
  rotateSigningKey(key: SigningKey, graceUntil: number): Promise<void>;
  /** Publishes `key` (status `next`) without signing with it; a second next key is a StoreConflictError. */
  addNextSigningKey(key: SigningKey): Promise<void>;
  deleteSigningKey(tenantId: string, kid: string): Promise<boolean>;

  // SSO sessions
  createSsoSession(s: SsoSession): Promise<void>;
  findSsoSession(idHash: string): Promise<SsoSession | undefined>;
  touchSsoSession(idHash: string, expiresAt: number): Promise<void>;
  /** Records that the session signed in an app (again: the policy is updated). */
  addSsoSessionClient(idHash: string, client: SessionClient): Promise<void>;
  /** Deletes the session; returns it with the apps it signed in, if it existed. */
  endSsoSession(idHash: string): Promise<{ session: SsoSession; clients: SessionClient[] } | undefined>;

  // journeys
  createJourney(j: JourneyRecord): Promise<void>;
  findJourney(id: string): Promise<JourneyRecord | undefined>;
  updateJourney(id: string, state: unknown, csrf: string): Promise<void>;
  deleteJourney(id: string): Promise<void>;

  // authorization codes
  createAuthCode(c: AuthCodeRecord): Promise<void>;
  findAuthCode(codeHash: string): Promise<AuthCodeRecord | undefined>;
  /**
   * Marks the code consumed if it was not and, in the same transaction, records what it produced
   * (the access token's jti, the refresh token), so tokens are answered only for the one request that
   * consumed it. Without `issued` it only spends the code (a failed attempt). Reports replays.
   */
  redeemAuthCode(codeHash: string, now: number, issued?: { jti: string; refresh?: RefreshTokenRecord }): Promise<CodeRedemption>;

  // refresh tokens
  /** Stores a new family whose current token is `t` (`tokenHash` = hash of the secret part). */
  createRefreshToken(t: RefreshTokenRecord): Promise<void>;
  /**
   * The token's record. A secret of a known family that is not its current one comes back with
   * `consumedAt` set: it was rotated away (or never issued), and presenting it is a reuse.
   */
  findRefreshToken(ref: RefreshTokenRef): Promise<RefreshTokenRecord | undefined>;
  /**
   * Replaces the presented token with `next` (same family) in one transaction, if it is still the
   * current one and not revoked. Otherwise this is a reuse: the whole family is revoked.
   */
  rotateRefreshToken(ref: RefreshTokenRef, now: number, next: RefreshTokenRecord): Promise<RefreshRotation>;
  revokeRefreshFamily(familyId: string, now: number): Promise<void>;
  revokeRefreshTokensFromCode(codeHash: string, now: number): Promise<void>;
  revokeUserRefreshTokens(tenantId: string, userId: string, now: number): Promise<number>;
  /** Ends the user's SSO sessions and revokes their refresh tokens in one transaction (Graph's revokeSignInSessions). */
  revokeUserSessions(tenantId: string, userId: string, now: number): Promise<void>;

  // revoked access tokens
  revokeAccessToken(jti: string, expiresAt: number): Promise<void>;
  isAccessTokenRevoked(jti: string): Promise<boolean>;

  // mail
  addOutboxMessage(m: Omit<OutboxMessage, 'id'>): Promise<void>;
  listOutbox(tenantId: string, to?: string): Promise<OutboxMessage[]>;

  // audit
  addAuditEvent(e: Omit<AuditEvent, 'id'>): Promise<void>;
  /** Newest first; `beforeId` pages back from the last event of the previous page. */
  listAuditEvents(filter: AuditFilter): Promise<AuditEvent[]>;
  /** How many of a tenant's events of these kinds each outcome had per time bucket since a time (the console's sign-ins chart). */
  countAuditEvents(q: AuditCountQuery): Promise<AuditCount[]>;

  // sign-in throttling (the lockout rule is services/local-auth.ts's)
  getLoginThrottle(tenantId: string, name: string): Promise<LoginThrottle>;
  /**
   * Compare-and-set: writes `next` only if the name's counts are still `expected` (a name without a
   * row counts as none); false when another request changed them first.
   */
  setLoginThrottle(tenantId: string, name: string, expected: LoginThrottle, next: LoginThrottle, now: number): Promise<boolean>;
  clearLoginFailures(tenantId: string, name: string): Promise<void>;

  /** Counts one hit of `key` in its fixed window of `windowMs` (see security/counters.ts). */
  hitCounter(key: string, windowMs: number, now: number): Promise<{ count: number; resetAt: number }>;

  /** Deletes expired rows; returns how many. */
  purgeExpired(now: number): Promise<number>;
}

/**
 * What an SQL engine offers the caching layer wrapped around it (cached-store.ts) besides the Store.
 */
export interface StoreEngine extends Store {
  /** Tells the other instances on this database about a change (PostgreSQL: NOTIFY); nothing where there are none. */
  announce(change: ConfigChange): Promise<void>;
  /**
   * Whether another process committed to the database since the last call (SQLite: its data_version,
   * so a change by the CLI counts at once); an engine that hears of changes through onConfigChange answers false.
   */
  changedElsewhere(): boolean;
  /** Users read together with a record this engine returned, by that record (PostgreSQL reads a token's user with it). */
  readonly usersReadAlong?: WeakMap<object, User>;
}
