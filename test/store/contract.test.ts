import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { CachedStore } from '../../src/store/cached-store.js';
import { PostgresStore } from '../../src/store/postgres/postgres-store.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { StoreConflictError, type AuditFilter, type Store, type StoreEngine } from '../../src/store/store.js';
import { type App, type Authenticator, type RefreshTokenRecord, type SamlApp, type SigningKey, type Tenant, type User } from '../../src/model/entities.js';
import { recordLoginFailure } from '../../src/services/local-auth.js';
import { importBatch } from '../../src/services/user-import.js';
import { createDatabase } from '../helpers/postgres-cluster.js';

/**
 * The Store contract, one suite run against both implementations: the same calls must give the same
 * answers on SQLite and on PostgreSQL, each behind the caching layer the server puts in front of it.
 * PostgreSQL also gets the concurrency rules with two stores (two instances' pools) racing on one
 * database; both get the cache's rules (a write through it, another process's commit, another
 * instance's notice).
 */
const postgresUrl = inject('postgresUrl');
const dir = mkdtempSync(join(tmpdir(), 'latchkey-contract-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Engine {
  name: string;
  /** The store under test, and another engine on the same database (another process, or another instance). */
  open(): Promise<{ store: CachedStore; second: () => Promise<StoreEngine> }>;
}

const engines: Engine[] = [
  {
    name: 'SQLite',
    open: async () => {
      const path = join(dir, `contract-${randomUUID()}.db`);
      return { store: new CachedStore(new SqliteStore(path)), second: async () => new SqliteStore(path) };
    },
  },
];
if (postgresUrl !== '') {
  engines.push({
    name: 'PostgreSQL',
    open: async () => {
      const url = await createDatabase(postgresUrl, `contract_${randomUUID().replace(/-/g, '')}`);
      return { store: new CachedStore(await PostgresStore.open(url)), second: () => PostgresStore.open(url) };
    },
  });
} else {
  it.skip('PostgreSQL (LATCHKEY_TEST_POSTGRES=off)', () => undefined);
}

const now = 1_764_650_000_000;

function tenant(slug: string): Tenant {
  return { id: randomUUID(), slug, displayName: slug, defaultPolicy: 'B2C_1_signin', issuerPattern: 'tenant', configVersion: 0, createdAt: now, legacyRopc: null, extensionsAppId: null, b2cName: null, legacyRate: null };
}

function app(tenantId: string, extra: Partial<App> = {}): App {
  return { clientId: randomUUID(), tenantId, name: 'app', type: 'native', secrets: [], webRedirectUris: [], spaRedirectUris: [], publicClientRedirectUris: ['http://127.0.0.1/cb'], postLogoutRedirectUris: [], identifierUri: null, allowImplicit: false, allowRopc: false, logoutUrl: null, thirdParty: false, multiTenant: false, createdAt: now, ...extra };
}

function user(tenantId: string, email: string | null, extra: Partial<User> = {}): User {
  return {
    id: randomUUID(),
    tenantId,
    email,
    emailVerified: true,
    localIdentities: email ? [{ signInType: 'emailAddress', issuerAssignedId: email }] : [],
    otherMails: [],
    passwordHash: email ? 'scrypt$12$8$1$c2FsdA$aGFzaA' : null,
    passwordAtLegacy: false,
    mustChangePassword: false,
    givenName: 'Given',
    familyName: null,
    displayName: 'Display',
    attributes: { tier: 'gold' },
    disabled: false,
    createdAt: now,
    updatedAt: now,
    ...extra,
  };
}

function family(tenantId: string, clientId: string, userId: string, tokenHash: string): RefreshTokenRecord {
  return { tokenHash, familyId: `fam${randomUUID().replace(/-/g, '').slice(0, 20)}`, tenantId, clientId, userId, data: { scopes: ['openid'] }, createdAt: now, expiresAt: now + 86_400_000, familyExpiresAt: now + 90 * 86_400_000, consumedAt: null, revokedAt: null, originCodeHash: null };
}

for (const engine of engines) {
  describe(`Store contract: ${engine.name}`, () => {
    let store: CachedStore;
    let second: () => Promise<StoreEngine>;
    /** Another instance on the same database, behind its own cache. */
    const instance = async (opts: { lifetimeMs?: number } = {}): Promise<Store> => new CachedStore(await second(), opts);
    let t: Tenant;
    let a: App;

    beforeAll(async () => {
      ({ store, second } = await engine.open());
      t = tenant(`t-${randomUUID().slice(0, 8)}`);
      await store.createTenant(t);
      a = app(t.id);
      await store.createApp(a);
    });
    afterAll(async () => {
      await store?.close();
    });

    it('reports its migrations and answers a ping', async () => {
      expect(store.migration.current).toBeGreaterThan(0);
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it('finds tenants by id and slug, refuses a taken slug, and keeps settings', async () => {
      expect((await store.findTenant(t.slug))?.id).toBe(t.id);
      expect((await store.findTenant(t.id))?.slug).toBe(t.slug);
      await expect(store.createTenant({ ...tenant(t.slug) })).rejects.toBeInstanceOf(StoreConflictError);
      const before = await store.tenantConfigVersion(t.id);
      await store.updateTenantSettings(t.id, { legacyRopc: { tokenUrl: 'https://old.example/token', clientId: 'c', scope: 'openid c' }, extensionsAppId: 'a'.repeat(32) });
      const after = (await store.findTenant(t.id))!;
      expect(after.legacyRopc).toEqual({ tokenUrl: 'https://old.example/token', clientId: 'c', scope: 'openid c' });
      expect(after.extensionsAppId).toBe('a'.repeat(32));
      expect(await store.tenantConfigVersion(t.id)).toBe(before! + 1);
    });

    it("keeps a tenant's custom domains: a host belongs to one tenant, is listed by tenant and in all, and is removed by its own tenant only", async () => {
      const other = tenant(`d-${randomUUID().slice(0, 8)}`);
      await store.createTenant(other);
      const changes: string[] = [];
      store.onConfigChange(({ what, tenantId }) => changes.push(`${what}:${tenantId}`));
      const host = `login.${t.slug}.example`;
      await store.addTenantDomain({ host, tenantId: t.id, createdAt: now });
      await store.addTenantDomain({ host: `b-${host}`, tenantId: t.id, createdAt: now + 1 });
      // The tenant directory of this instance hears of it at once (other instances through the engine's notices).
      expect(changes).toContain(`domains:${t.id}`);
      await expect(store.addTenantDomain({ host, tenantId: other.id, createdAt: now })).rejects.toBeInstanceOf(StoreConflictError);
      await expect(store.addTenantDomain({ host, tenantId: t.id, createdAt: now })).rejects.toBeInstanceOf(StoreConflictError);
      await store.addTenantDomain({ host: `login.${other.slug}.example`, tenantId: other.id, createdAt: now });
      expect(await store.listTenantDomains(t.id)).toEqual([
        { host: `b-${host}`, tenantId: t.id, createdAt: now + 1 },
        { host, tenantId: t.id, createdAt: now },
      ]);
      const all = await store.listTenantDomains();
      expect(all.map((d) => d.host)).toEqual([...all.map((d) => d.host)].sort());
      expect(all.filter((d) => d.tenantId === other.id).map((d) => d.host)).toEqual([`login.${other.slug}.example`]);
      // Removing is by tenant: one tenant cannot remove another's host.
      expect(await store.removeTenantDomain(other.id, host)).toBe(false);
      expect(await store.removeTenantDomain(t.id, `b-${host}`)).toBe(true);
      expect(await store.removeTenantDomain(t.id, `b-${host}`)).toBe(false);
      expect((await store.listTenantDomains(t.id)).map((d) => d.host)).toEqual([host]);
    });

    it('stores apps, scopes, roles and grants; a client id and an identifier URI are unique', async () => {
      const api = app(t.id, { type: 'api', identifierUri: `https://${t.slug}.example/api`, secrets: [{ id: 's1', hash: 'h', description: null, createdAt: now, expiresAt: null }] });
      await store.createApp(api);
      expect(await store.findApp(t.id, api.clientId)).toEqual(api);
      expect(await store.findAppAnyTenant(api.clientId)).toEqual(api);
      const two = await store.updateAppSecrets(t.id, api.clientId, (s) => [...s, { id: 's2', hash: 'h2', description: 'next', createdAt: now, expiresAt: now + 5 }]);
      expect(two?.map((s) => s.id)).toEqual(['s1', 's2']);
      expect((await store.findApp(t.id, api.clientId))?.secrets.map((s) => [s.id, s.expiresAt])).toEqual([['s1', null], ['s2', now + 5]]);
      expect(await store.updateAppSecrets(t.id, randomUUID(), (s) => s)).toBeUndefined();
      await store.updateAppSecrets(t.id, api.clientId, (s) => s.filter((x) => x.id === 's1'));
      expect((await store.findAppByIdentifierUri(t.id, api.identifierUri!))?.clientId).toBe(api.clientId);
      await expect(store.createApp({ ...app(t.id), identifierUri: api.identifierUri, type: 'api' })).rejects.toBeInstanceOf(StoreConflictError);
      await store.addAppScope(api.clientId, 'read');
      await store.addAppScope(api.clientId, 'read');
      await store.addAppRole(api.clientId, 'Admin');
      expect(await store.listAppScopes(api.clientId)).toEqual(['read']);
      expect(await store.listAppRoles(api.clientId)).toEqual(['Admin']);
      await store.addGrant({ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: 'read' });
      expect(await store.listGrants(a.clientId, api.clientId)).toEqual([{ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: 'read' }]);
      expect(await store.removeGrant({ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: 'read' })).toBe(true);
      expect(await store.listGrants(a.clientId)).toEqual([]);
      expect((await store.findApp(t.id, a.clientId))?.publicClientRedirectUris).toEqual(['http://127.0.0.1/cb']);
      const updated = await store.updateApp(t.id, a.clientId, (current) => ({ ...current, name: 'renamed', publicClientRedirectUris: [], spaRedirectUris: ['http://127.0.0.1/cb2'], webRedirectUris: ['https://app.example/cb'], postLogoutRedirectUris: ['http://127.0.0.1/bye'], identifierUri: 'api://renamed' }));
      expect(updated).toMatchObject({ name: 'renamed', spaRedirectUris: ['http://127.0.0.1/cb2'] });
      // At once: the write dropped the cached app; every platform's list is kept, the secrets and type stay.
      expect(await store.findApp(t.id, a.clientId)).toEqual({ ...a, name: 'renamed', publicClientRedirectUris: [], spaRedirectUris: ['http://127.0.0.1/cb2'], webRedirectUris: ['https://app.example/cb'], postLogoutRedirectUris: ['http://127.0.0.1/bye'], identifierUri: 'api://renamed' });
      expect((await store.findAppByIdentifierUri(t.id, 'api://renamed'))?.clientId).toBe(a.clientId);
      // An identifier URI is the tenant's one app's; a change that throws leaves the app as it was; no such app is undefined.
      await expect(store.updateApp(t.id, a.clientId, (current) => ({ ...current, identifierUri: api.identifierUri }))).rejects.toBeInstanceOf(StoreConflictError);
      await expect(store.updateApp(t.id, a.clientId, () => { throw new Error('refused'); })).rejects.toThrow('refused');
      expect((await store.findApp(t.id, a.clientId))?.identifierUri).toBe('api://renamed');
      expect(await store.updateApp(t.id, randomUUID(), (current) => current)).toBeUndefined();
    });

    it('stores SAML apps by client id and entity id; an entity id is unique in a tenant, not across tenants', async () => {
      const saml: SamlApp = {
        clientId: randomUUID(),
        tenantId: t.id,
        name: 'Intranet',
        entityId: 'https://intranet.example/mellon/metadata',
        acs: [{ url: 'https://intranet.example/mellon/postResponse', index: 0, isDefault: true }],
        slo: { url: 'https://intranet.example/mellon/logout', responseUrl: null, binding: 'redirect' },
        nameIdFormat: 'email',
        requireSignedRequests: true,
        certificates: ['MIIB'],
        metadataUrl: 'https://intranet.example/mellon/metadata',
        createdAt: now,
      };
      await store.createSamlApp(saml);
      expect(await store.findSamlApp(t.id, saml.clientId)).toEqual(saml);
      expect(await store.findSamlAppByEntityId(t.id, saml.entityId)).toEqual(saml);
      expect(await store.findSamlAppByEntityId(t.id, 'https://other.example')).toBeUndefined();
      expect(await store.findApp(t.id, saml.clientId)).toBeUndefined();
      await expect(store.createSamlApp({ ...saml, clientId: randomUUID() })).rejects.toBeInstanceOf(StoreConflictError);
      const other = tenant(`s-${randomUUID().slice(0, 8)}`);
      await store.createTenant(other);
      await store.createSamlApp({ ...saml, clientId: randomUUID(), tenantId: other.id, slo: null, metadataUrl: null });
      expect((await store.findSamlAppByEntityId(other.id, saml.entityId))?.slo).toBeNull();
      expect((await store.listSamlApps(t.id)).map((x) => x.clientId)).toEqual([saml.clientId]);
      // Removed in its own tenant only: another tenant's id does not reach it.
      expect(await store.removeSamlApp(other.id, saml.clientId)).toBe(false);
      expect(await store.removeSamlApp(t.id, saml.clientId)).toBe(true);
      expect(await store.findSamlAppByEntityId(t.id, saml.entityId)).toBeUndefined();
      expect(await store.removeSamlApp(t.id, saml.clientId)).toBe(false);
      expect(await store.findSamlAppByEntityId(other.id, saml.entityId)).toBeDefined();
    });

    it('keeps users with local accounts and identities; sign-in names and identities are unique', async () => {
      const u = user(t.id, 'Ann@Example.com');
      await store.createUser(u, [{ issuer: 'google.com', issuerAssignedId: '1' }]);
      expect((await store.findUserBySignInName(t.id, 'ann@example.COM'))?.id).toBe(u.id);
      expect((await store.findUser(t.id, u.id))?.localIdentities).toEqual([{ signInType: 'emailAddress', issuerAssignedId: 'Ann@Example.com' }]);
      expect((await store.findUserByIdentity(t.id, { issuer: 'google.com', issuerAssignedId: '1' }))?.id).toBe(u.id);
      await expect(store.createUser(user(t.id, 'ann@example.com'))).rejects.toBeInstanceOf(StoreConflictError);
      await expect(store.createUser(user(t.id, null), [{ issuer: 'google.com', issuerAssignedId: '1' }])).rejects.toBeInstanceOf(StoreConflictError);
      // A federated account may share an address with a local one.
      const social = user(t.id, null, { email: 'ann@example.com' });
      await store.createUser(social, [{ issuer: 'facebook.com', issuerAssignedId: '2' }]);
      expect((await store.findUsersByEmail(t.id, 'ANN@example.com')).map((x) => x.id).sort()).toEqual([u.id, social.id].sort());
      await store.addUserIdentity(t.id, u.id, { issuer: 'live.com', issuerAssignedId: '3' }, now);
      await expect(store.addUserIdentity(t.id, social.id, { issuer: 'live.com', issuerAssignedId: '3' }, now)).rejects.toBeInstanceOf(StoreConflictError);
      expect(await store.listUserIdentities(t.id, u.id)).toEqual([{ issuer: 'google.com', issuerAssignedId: '1' }, { issuer: 'live.com', issuerAssignedId: '3' }]);
      expect(await store.removeUserIdentity(t.id, u.id, { issuer: 'live.com', issuerAssignedId: '3' })).toBe(true);
      await store.updateUserProfile(t.id, u.id, { givenName: 'Anna', attributes: { tier: 'silver' } }, now + 1);
      await store.setUserPassword(t.id, u.id, 'scrypt$17$8$1$x$y', now + 2);
      const after = (await store.findUser(t.id, u.id))!;
      expect([after.givenName, after.attributes, after.passwordHash, after.updatedAt]).toEqual(['Anna', { tier: 'silver' }, 'scrypt$17$8$1$x$y', now + 2]);
      expect(await store.setUserDisabled(t.id, u.id, true, now)).toBe(true);
      expect((await store.findUser(t.id, u.id))?.disabled).toBe(true);
      expect(await store.deleteUser(t.id, social.id)).toBe(true);
      expect(await store.findUserByIdentity(t.id, { issuer: 'facebook.com', issuerAssignedId: '2' })).toBeUndefined();
    });

    it('imports users: created, updated, unchanged, failed; never replaces a password it did not bring', async () => {
      const fresh = user(t.id, 'imp@example.com', { passwordHash: null, passwordAtLegacy: true });
      const taken = user(t.id, 'imp@example.com');
      const r1 = await importBatch(store, t.id, [{ user: fresh, identities: [{ issuer: 'github.com', issuerAssignedId: '9' }] }, { user: taken, identities: [] }], now);
      expect(r1[0]).toBe('created');
      expect(r1[1]).toEqual({ failed: "its sign-in name 'imp@example.com' already belongs to another user" });
      expect(await importBatch(store, t.id, [{ user: fresh, identities: [{ issuer: 'github.com', issuerAssignedId: '9' }] }], now)).toEqual(['unchanged']);
      await store.setUserPassword(t.id, fresh.id, 'scrypt$17$8$1$own$hash', now);
      expect(await importBatch(store, t.id, [{ user: { ...fresh, displayName: 'Renamed' }, identities: [] }], now + 5)).toEqual(['updated']);
      const after = (await store.findUser(t.id, fresh.id))!;
      expect([after.displayName, after.passwordHash, after.passwordAtLegacy]).toEqual(['Renamed', 'scrypt$17$8$1$own$hash', false]);
      const other = tenant(`o-${randomUUID().slice(0, 8)}`);
      await store.createTenant(other);
      expect(await importBatch(store, other.id, [{ user: { ...fresh, tenantId: other.id }, identities: [] }], now)).toEqual([{ failed: 'the id belongs to a user of another tenant' }]);
    });

    it('keeps several local identities per user, each found by sign-ins and unique in the tenant', async () => {
      const both = user(t.id, 'Jo@Example.com', {
        localIdentities: [{ signInType: 'emailAddress', issuerAssignedId: 'Jo@Example.com' }, { signInType: 'userName', issuerAssignedId: 'JDoe' }, { signInType: 'phoneNumber', issuerAssignedId: '+31612345678' }],
      });
      await store.createUser(both);
      for (const name of ['jo@example.com', 'jdoe', ' JDOE ', '+31 6 1234 5678', '+31612345678']) expect((await store.findUserBySignInName(t.id, name))?.id, name).toBe(both.id);
      expect((await store.findUser(t.id, both.id))?.localIdentities).toEqual(both.localIdentities);
      // A name another user has, of whatever kind, is refused.
      await expect(store.createUser(user(t.id, null, { localIdentities: [{ signInType: 'userName', issuerAssignedId: 'jdoe' }] }))).rejects.toBeInstanceOf(StoreConflictError);
      expect(await store.findUserBySignInName(t.id, 'jdoe')).toMatchObject({ id: both.id });
      // Replaced: the old names no longer find the user, the new ones do.
      await store.setUserSignIn(t.id, both.id, { localIdentities: [{ signInType: 'userName', issuerAssignedId: 'jdoe2' }], email: 'Jo@Example.com', emailVerified: true }, now);
      expect(await store.findUserBySignInName(t.id, 'jo@example.com')).toBeUndefined();
      expect((await store.findUserBySignInName(t.id, 'JDOE2'))?.id).toBe(both.id);
      // An import's update replaces them too; a name of another user fails that row alone.
      const stored = (await store.findUser(t.id, both.id))!;
      const renamed = { ...stored, localIdentities: [{ signInType: 'userName' as const, issuerAssignedId: 'jdoe3' }, { signInType: 'emailAddress' as const, issuerAssignedId: 'jo3@example.com' }] };
      const clash = user(t.id, 'jo3@example.com');
      expect(await importBatch(store, t.id, [{ user: renamed, identities: [] }, { user: clash, identities: [] }], now)).toEqual(['updated', { failed: "its sign-in name 'jo3@example.com' already belongs to another user" }]);
      expect(await store.findUserBySignInName(t.id, 'jdoe2')).toBeUndefined();
      expect((await store.findUserBySignInName(t.id, 'jdoe3'))?.id).toBe(both.id);
      // The names go with the user.
      await store.deleteUser(t.id, both.id);
      await store.createUser(user(t.id, 'jo3@example.com'));
    });

    it('keeps other addresses and a required password change; a new password ends the requirement only when told', async () => {
      const u = user(t.id, `must-${randomUUID().slice(0, 6)}@example.com`, { mustChangePassword: true, otherMails: ['a@social.example'] });
      await store.createUser(u);
      expect(await store.findUser(t.id, u.id)).toMatchObject({ mustChangePassword: true, otherMails: ['a@social.example'] });
      await store.setUserPassword(t.id, u.id, 'scrypt$17$8$1$a$b', now);
      expect((await store.findUser(t.id, u.id))?.mustChangePassword).toBe(true);
      await store.setUserPassword(t.id, u.id, 'scrypt$17$8$1$c$d', now, { mustChange: false });
      expect((await store.findUser(t.id, u.id))?.mustChangePassword).toBe(false);
      await store.setUserPassword(t.id, u.id, 'scrypt$17$8$1$e$f', now, { mustChange: true });
      expect((await store.findUser(t.id, u.id))?.mustChangePassword).toBe(true);
      await store.setUserOtherMails(t.id, u.id, ['b@social.example', 'c@social.example'], now + 1);
      expect(await store.findUser(t.id, u.id)).toMatchObject({ otherMails: ['b@social.example', 'c@social.example'], updatedAt: now + 1 });
    });

    it('finds a tenant by its B2C name, and keeps its just-in-time migration rate', async () => {
      const named = { ...tenant(`n-${randomUUID().slice(0, 8)}`), b2cName: `b2c${randomUUID().slice(0, 8)}` };
      await store.createTenant(named);
      expect((await store.findTenant(named.b2cName))?.id).toBe(named.id);
      expect((await store.findTenant(named.slug))?.b2cName).toBe(named.b2cName);
      await store.updateTenantSettings(named.id, { b2cName: null, legacyRate: 50 });
      expect(await store.findTenant(named.b2cName)).toBeUndefined();
      expect((await store.findTenant(named.id))?.legacyRate).toBe(50);
    });

    it('counts, filters by address and orders users by display name or creation, page by page', async () => {
      const own = tenant(`q-${randomUUID().slice(0, 8)}`);
      await store.createTenant(own);
      const names = ['beta', 'Alpha', 'alpha', null, 'gamma'];
      const made: User[] = [];
      for (const [i, name] of names.entries()) {
        const u = { ...user(own.id, `o${i}@example.com`), displayName: name, createdAt: now + (i % 2 === 0 ? i : 10 - i) };
        await store.createUser(u);
        made.push(u);
      }
      expect(await store.countUsers(own.id, {})).toBe(5);
      expect(await store.countUsers(own.id, { displayNamePrefix: 'al' })).toBe(2);
      expect((await store.queryUsers(own.id, { limit: 10, email: 'O2@EXAMPLE.com' })).map((u) => u.id)).toEqual([made[2]!.id]);
      expect(await store.countUsers(own.id, { email: 'o2@example.com' })).toBe(1);
      // Code-point order (a missing display name first, capitals before small letters), the id breaking ties; paged after the last one.
      const order = { by: 'displayName' as const, desc: false };
      const all = (await store.queryUsers(own.id, { limit: 10, orderBy: order })).map((u) => u.displayName);
      expect(all).toEqual([null, 'Alpha', 'alpha', 'beta', 'gamma']);
      const first = await store.queryUsers(own.id, { limit: 2, orderBy: order });
      const last = first.at(-1)!;
      expect((await store.queryUsers(own.id, { limit: 10, orderBy: order, afterId: last.id, afterValue: last.displayName ?? '' })).map((u) => u.displayName)).toEqual(['alpha', 'beta', 'gamma']);
      expect((await store.queryUsers(own.id, { limit: 10, orderBy: { by: 'displayName', desc: true } })).map((u) => u.displayName)).toEqual(['gamma', 'beta', 'alpha', 'Alpha', null]);
      const byCreation = [...made].sort((a, b) => b.createdAt - a.createdAt || (a.id < b.id ? 1 : -1));
      const newest = await store.queryUsers(own.id, { limit: 2, orderBy: { by: 'createdAt', desc: true } });
      expect(newest.map((u) => u.id)).toEqual(byCreation.slice(0, 2).map((u) => u.id));
      const rest = await store.queryUsers(own.id, { limit: 10, orderBy: { by: 'createdAt', desc: true }, afterId: newest[1]!.id, afterValue: newest[1]!.createdAt });
      expect(rest.map((u) => u.id)).toEqual(byCreation.slice(2).map((u) => u.id));
    });

    it('rotates and retires signing keys, one active at a time', async () => {
      const key = (kid: string): SigningKey => ({ kid: `${kid}-${t.id}`, tenantId: t.id, alg: 'RS256', publicJwk: { kty: 'RSA', kid }, privateKey: 'plain:k', status: 'active', createdAt: now, publishUntil: null });
      await store.rotateSigningKey(key('k1'), now);
      await store.rotateSigningKey(key('k2'), now + 1000);
      const keys = await store.listSigningKeys(t.id);
      expect(keys.map((k) => [k.kid.split('-')[0], k.status, k.publishUntil])).toEqual([['k2', 'active', null], ['k1', 'grace', now + 1000]]);
      expect(await store.deleteSigningKey(t.id, `k2-${t.id}`)).toBe(false);
      expect(await store.deleteSigningKey(t.id, `k1-${t.id}`)).toBe(true);
    });

    it('publishes a next key without making it active; a rotation promotes it; one next key at a time; keys of the instance (common) beside tenants\'', async () => {
      const key = (kid: string, tenantId = t.id): SigningKey => ({ kid: `${kid}-${tenantId}`, tenantId, alg: 'RS256', publicJwk: { kty: 'RSA', kid }, privateKey: 'plain:k', status: 'active', createdAt: now, publishUntil: null });
      const o = tenant(`n-${randomUUID().slice(0, 8)}`);
      await store.createTenant(o);
      await store.rotateSigningKey(key('a', o.id), now);
      const version = await store.tenantConfigVersion(o.id);
      await store.addNextSigningKey({ ...key('b', o.id), status: 'next' });
      expect(await store.tenantConfigVersion(o.id)).toBe(version! + 1);
      await expect(store.addNextSigningKey({ ...key('c', o.id), status: 'next' })).rejects.toBeInstanceOf(StoreConflictError);
      expect((await store.listSigningKeys(o.id)).map((k) => [k.kid.split('-')[0], k.status])).toEqual([['a', 'active'], ['b', 'next']]);
      // The stored next key, as listed, becomes the active one.
      const next = (await store.listSigningKeys(o.id)).find((k) => k.status === 'next')!;
      await store.rotateSigningKey({ ...next, status: 'active' }, now + 500);
      expect((await store.listSigningKeys(o.id)).map((k) => [k.kid.split('-')[0], k.status, k.publishUntil])).toEqual([['b', 'active', null], ['a', 'grace', now + 500]]);
      expect(await store.deleteSigningKey(o.id, `b-${o.id}`)).toBe(false);
      // The instance's keys have no tenant row.
      const common = `common-${randomUUID().slice(0, 8)}`;
      await store.rotateSigningKey(key('i', common), now);
      expect((await store.listSigningKeys(common)).map((k) => k.status)).toEqual(['active']);
    });

    it('keeps multi-tenant apps: permissions, enterprise apps (admin consent kept by a later user consent), and removal that ends consents and refresh tokens there', async () => {
      const home = tenant(`h-${randomUUID().slice(0, 8)}`);
      const customer = tenant(`c-${randomUUID().slice(0, 8)}`);
      await store.createTenant(home);
      await store.createTenant(customer);
      const multi = app(home.id, { multiTenant: true });
      await store.createApp(multi);
      expect((await store.findAppAnyTenant(multi.clientId))?.multiTenant).toBe(true);
      await store.addAppPermission({ clientId: multi.clientId, api: 'urn:latchkey:admin', kind: 'role', name: 'User.Read.All' });
      await store.addAppPermission({ clientId: multi.clientId, api: 'urn:latchkey:admin', kind: 'role', name: 'User.Read.All' });
      await store.addAppPermission({ clientId: multi.clientId, api: 'https://api.example', kind: 'scope', name: 'read' });
      expect(await store.listAppPermissions(multi.clientId)).toEqual([
        { clientId: multi.clientId, api: 'https://api.example', kind: 'scope', name: 'read' },
        { clientId: multi.clientId, api: 'urn:latchkey:admin', kind: 'role', name: 'User.Read.All' },
      ]);
      expect(await store.removeAppPermission({ clientId: multi.clientId, api: 'https://api.example', kind: 'scope', name: 'read' })).toBe(true);
      expect(await store.removeAppPermission({ clientId: multi.clientId, api: 'https://api.example', kind: 'scope', name: 'read' })).toBe(false);

      expect(await store.findEnterpriseApp(customer.id, multi.clientId)).toBeUndefined();
      const admin = { permissions: [{ api: 'urn:latchkey:admin', kind: 'role' as const, name: 'User.Read.All' }], by: 'admin-oid', at: now };
      expect(await store.saveEnterpriseApp({ tenantId: customer.id, clientId: multi.clientId, homeTenantId: home.id, adminConsent: admin, createdAt: now })).toBe(true);
      // A user's consent afterwards (no admin consent in it) keeps the administrator's.
      expect(await store.saveEnterpriseApp({ tenantId: customer.id, clientId: multi.clientId, homeTenantId: home.id, adminConsent: null, createdAt: now + 1 })).toBe(false);
      expect(await store.findEnterpriseApp(customer.id, multi.clientId)).toEqual({ tenantId: customer.id, clientId: multi.clientId, homeTenantId: home.id, adminConsent: admin, createdAt: now });
      expect((await store.listEnterpriseApps(customer.id)).map((e) => e.clientId)).toEqual([multi.clientId]);
      expect(await store.listEnterpriseApps(home.id)).toEqual([]);

      const u = user(customer.id, `p-${randomUUID().slice(0, 8)}@example.com`);
      await store.createUser(u);
      await store.saveConsent({ tenantId: customer.id, userId: u.id, clientId: multi.clientId, scopes: ['openid'], grantedAt: now });
      const f = family(customer.id, multi.clientId, u.id, 'h-mt');
      await store.createRefreshToken(f);
      expect(await store.removeEnterpriseApp(customer.id, multi.clientId, now + 5)).toBe(true);
      expect(await store.removeEnterpriseApp(customer.id, multi.clientId, now + 6)).toBe(false);
      expect(await store.findEnterpriseApp(customer.id, multi.clientId)).toBeUndefined();
      expect(await store.findConsent(customer.id, u.id, multi.clientId)).toBeUndefined();
      expect((await store.findRefreshToken({ familyId: f.familyId, secretHash: 'h-mt' }))?.revokedAt).toBe(now + 5);
    });

    it('routes email domains to one tenant each, and keeps directory roles with the user', async () => {
      const one = tenant(`d-${randomUUID().slice(0, 8)}`);
      const two = tenant(`e-${randomUUID().slice(0, 8)}`);
      await store.createTenant(one);
      await store.createTenant(two);
      const domain = `${randomUUID().slice(0, 8)}.example`;
      await store.addEmailDomain({ domain, tenantId: one.id, createdAt: now });
      await expect(store.addEmailDomain({ domain, tenantId: two.id, createdAt: now })).rejects.toBeInstanceOf(StoreConflictError);
      expect((await store.findEmailDomain(domain.toUpperCase()))?.tenantId).toBe(one.id);
      expect((await store.listEmailDomains(one.id)).map((d) => d.domain)).toEqual([domain]);
      expect(await store.removeEmailDomain(two.id, domain)).toBe(false);
      expect(await store.removeEmailDomain(one.id, domain)).toBe(true);
      expect(await store.findEmailDomain(domain)).toBeUndefined();

      const u = user(one.id, `r-${randomUUID().slice(0, 8)}@example.com`);
      await store.createUser(u);
      expect(await store.listUserRoles(one.id, u.id)).toEqual([]);
      await store.addUserRole(one.id, u.id, 'GlobalReader', now);
      await store.addUserRole(one.id, u.id, 'GlobalAdministrator', now);
      await store.addUserRole(one.id, u.id, 'GlobalAdministrator', now);
      expect(await store.listUserRoles(one.id, u.id)).toEqual(['GlobalAdministrator', 'GlobalReader']);
      expect(await store.listUserRoles(two.id, u.id)).toEqual([]);
      expect(await store.removeUserRole(one.id, u.id, 'GlobalReader')).toBe(true);
      expect(await store.listUserRoles(one.id, u.id)).toEqual(['GlobalAdministrator']);
      expect(await store.deleteUser(one.id, u.id)).toBe(true);
      expect(await store.engine.listUserRoles(one.id, u.id)).toEqual([]);
    });

    it('ends an SSO session with the apps it signed in', async () => {
      const u = user(t.id, `sso-${randomUUID().slice(0, 6)}@example.com`);
      await store.createUser(u);
      const s = { idHash: `h-${randomUUID()}`, sid: 'sid1', tenantId: t.id, userId: u.id, policyId: 'p', clientId: a.clientId, idp: 'local', authTime: 1, amr: ['pwd', 'otp', 'mfa'], createdAt: now, expiresAt: now + 1000 };
      await store.createSsoSession(s);
      expect((await store.findSsoSession(s.idHash))?.amr).toEqual(['pwd', 'otp', 'mfa']);
      await store.addSsoSessionClient(s.idHash, { clientId: 'c1', policyId: 'p1' });
      await store.addSsoSessionClient(s.idHash, { clientId: 'c2', policyId: 'p1' });
      await store.addSsoSessionClient(s.idHash, { clientId: 'c1', policyId: 'p2' });
      await store.touchSsoSession(s.idHash, now + 5000);
      expect((await store.findSsoSession(s.idHash))?.expiresAt).toBe(now + 5000);
      const ended = await store.endSsoSession(s.idHash);
      expect(ended?.session.sid).toBe('sid1');
      expect(ended?.clients).toEqual([{ clientId: 'c1', policyId: 'p2' }, { clientId: 'c2', policyId: 'p1' }]);
      expect(await store.endSsoSession(s.idHash)).toBeUndefined();
      await expect(store.addSsoSessionClient(s.idHash, { clientId: 'c3', policyId: 'p' })).resolves.toBeUndefined();
    });

    it('pages users by id with a display-name prefix (any case, LIKE characters taken literally) and the enabled flag; changes a sign-in name', async () => {
      // A tenant of its own, so other tests' users do not show in the pages.
      const qt = tenant(`q${randomUUID().slice(0, 6)}`);
      await store.createTenant(qt);
      const tid = qt.id;
      const made: User[] = [];
      for (const [i, name] of ['Ann A', 'ann b', 'Bob', 'an%_x', 'Ann C'].entries()) {
        const u = { ...user(tid, `q${i}-${randomUUID().slice(0, 6)}@example.com`), displayName: name, disabled: i === 4 };
        await store.createUser(u);
        made.push(u);
      }
      const ids = (us: User[]) => us.map((u) => u.displayName);
      const byId = [...made].sort((a, b) => (a.id < b.id ? -1 : 1));
      expect(ids(await store.queryUsers(tid, { limit: 10 }))).toEqual(ids(byId));
      expect(ids(await store.queryUsers(tid, { limit: 2 }))).toEqual(ids(byId.slice(0, 2)));
      expect(ids(await store.queryUsers(tid, { limit: 10, afterId: byId[1]!.id }))).toEqual(ids(byId.slice(2)));
      expect((await store.queryUsers(tid, { limit: 10, displayNamePrefix: 'ANN' })).map((u) => u.displayName).sort()).toEqual(['Ann A', 'Ann C', 'ann b']);
      expect((await store.queryUsers(tid, { limit: 10, displayNamePrefix: 'an%_' })).map((u) => u.displayName)).toEqual(['an%_x']);
      expect((await store.queryUsers(tid, { limit: 10, displayNamePrefix: 'ann', enabled: true })).map((u) => u.displayName).sort()).toEqual(['Ann A', 'ann b']);
      await store.setUserSignIn(tid, made[0]!.id, { localIdentities: [{ signInType: 'emailAddress', issuerAssignedId: 'Renamed@Example.com' }], email: 'Renamed@Example.com', emailVerified: true }, now);
      expect((await store.findUserBySignInName(tid, 'renamed@example.com'))?.id).toBe(made[0]!.id);
      await expect(store.setUserSignIn(tid, made[1]!.id, { localIdentities: [{ signInType: 'userName', issuerAssignedId: 'renamed@example.com' }], email: null, emailVerified: false }, now)).rejects.toBeInstanceOf(StoreConflictError);
    });

    it('finds users by text anywhere in their names, address, sign-in name or an identity, in any case, LIKE characters taken literally', async () => {
      const qt = tenant(`s${randomUUID().slice(0, 6)}`);
      await store.createTenant(qt);
      const tid = qt.id;
      const ann = { ...user(tid, 'ann.smith@contoso.example'), displayName: 'Ann Smith', givenName: 'Ann', familyName: 'Smith' };
      const bob = { ...user(tid, 'bob@fabrikam.example'), displayName: 'Bob 100%' };
      const carol = { ...user(tid, null), displayName: 'Carol', signInName: null, signInType: null };
      await store.createUser(ann);
      await store.createUser(bob);
      await store.createUser(carol, [{ issuer: 'google.com', issuerAssignedId: 'G-4711-carol' }]);
      const names = async (contains: string) => (await store.queryUsers(tid, { limit: 10, contains })).map((u) => u.displayName).sort();
      expect(await names('CONTOSO')).toEqual(['Ann Smith']);
      expect(await names('smi')).toEqual(['Ann Smith']);
      expect(await names('4711')).toEqual(['Carol']);
      expect(await names('0%')).toEqual(['Bob 100%']);
      expect(await names('_')).toEqual([]);
      expect(await names('.example')).toEqual(['Ann Smith', 'Bob 100%']);
      const first = await store.queryUsers(tid, { limit: 1, contains: 'example' });
      expect(first).toHaveLength(1);
      expect((await store.queryUsers(tid, { limit: 10, contains: 'example', afterId: first[0]!.id })).length).toBe(1);
    });

    it('lists audit events by user (about or by them), time, event and outcome, newest first, by page', async () => {
      const at = now + 5_000_000;
      const base = { tenantId: t.id, clientId: null, ip: null, detail: null };
      const who = `u-${randomUUID()}`;
      await store.addAuditEvent({ ...base, at, event: 'signin', outcome: 'success', subject: who, actor: null });
      await store.addAuditEvent({ ...base, at: at + 10, event: 'user_disabled', outcome: 'success', subject: 'other', actor: who });
      await store.addAuditEvent({ ...base, at: at + 20, event: 'signin', outcome: 'failure', subject: who, actor: null });
      await store.addAuditEvent({ ...base, at: at + 30, event: 'signin', outcome: 'success', subject: 'other', actor: null });
      const events = async (f: Omit<AuditFilter, 'tenantId'>) => (await store.listAuditEvents({ tenantId: t.id, ...f })).map((e) => `${e.event}:${e.outcome}:${e.actor ?? '-'}`);
      expect(await events({ user: who })).toEqual(['signin:failure:-', `user_disabled:success:${who}`, 'signin:success:-']);
      expect(await events({ user: who, outcome: 'success' })).toEqual([`user_disabled:success:${who}`, 'signin:success:-']);
      expect(await events({ user: who, event: 'signin', since: at + 1 })).toEqual(['signin:failure:-']);
      expect(await events({ user: who, until: at + 10 })).toEqual(['signin:success:-']);
      const hour = 3_600_000;
      const counted = await store.countAuditEvents({ tenantId: t.id, events: ['signin', 'user_disabled'], since: at, bucketMs: hour });
      const bucket = Math.floor(at / hour) * hour;
      const mine = counted.filter((c) => c.at === bucket || c.at === Math.floor((at + 30) / hour) * hour);
      const total = (event: string, outcome: string) => mine.filter((c) => c.event === event && c.outcome === outcome).reduce((n, c) => n + c.count, 0);
      expect([total('signin', 'success'), total('signin', 'failure'), total('user_disabled', 'success')]).toEqual([2, 1, 1]);
      expect(await store.countAuditEvents({ tenantId: t.id, events: ['signin'], since: at + 31, bucketMs: hour })).toEqual([]);
      const page = await store.listAuditEvents({ tenantId: t.id, user: who, limit: 2 });
      expect(page).toHaveLength(2);
      expect(await events({ user: who, beforeId: page[1]!.id })).toEqual(['signin:success:-']);
    });

    it("keeps a user's consent to an app, widens it, and withdraws it with the app's refresh tokens for that user", async () => {
      const u = user(t.id, `consent-${randomUUID().slice(0, 6)}@example.com`);
      await store.createUser(u);
      const third = app(t.id, { thirdParty: true });
      await store.createApp(third);
      expect((await store.findApp(t.id, third.clientId))?.thirdParty).toBe(true);
      await store.addAppScope(third.clientId, 'x.read', 'Read your x');
      await store.addAppScope(third.clientId, 'x.read');
      expect(await store.scopeDescriptions(third.clientId)).toEqual({ 'x.read': 'Read your x' });
      expect(await store.findConsent(t.id, u.id, third.clientId)).toBeUndefined();
      await store.saveConsent({ tenantId: t.id, userId: u.id, clientId: third.clientId, scopes: ['openid'], grantedAt: now });
      await store.saveConsent({ tenantId: t.id, userId: u.id, clientId: third.clientId, scopes: ['openid', 'profile'], grantedAt: now + 1 });
      expect(await store.listConsents(t.id, u.id)).toEqual([{ tenantId: t.id, userId: u.id, clientId: third.clientId, scopes: ['openid', 'profile'], grantedAt: now + 1 }]);
      expect(await store.removeConsent(t.id, u.id, third.clientId, now + 2)).toBe(true);
      expect(await store.removeConsent(t.id, u.id, third.clientId, now + 3)).toBe(false);
      expect(await store.listConsents(t.id, u.id)).toEqual([]);
    });

    it('keeps second factors and passkeys: one use per version, passkey ids unique in a tenant, gone with the user', async () => {
      const u = user(t.id, `mfa-${randomUUID().slice(0, 6)}@example.com`);
      await store.createUser(u);
      const auth = (kind: Authenticator['kind'], extra: Partial<Authenticator> = {}): Authenticator => ({
        id: randomUUID(), tenantId: t.id, userId: u.id, kind, credentialId: null, label: kind, data: { n: 0 }, version: 0, createdAt: now, lastUsedAt: null, ...extra,
      });
      const credentialId = `cred-${randomUUID()}`;
      const totp = auth('totp');
      await store.replaceAuthenticators(t.id, u.id, [], [totp, auth('recovery'), auth('passkey', { credentialId }), auth('sms', { data: { phoneNumber: '+31612345678', phoneType: 'mobile' } })]);
      expect((await store.listAuthenticators(t.id, u.id)).map((a) => a.kind).sort()).toEqual(['passkey', 'recovery', 'sms', 'totp']);
      expect((await store.listAuthenticators(t.id, u.id)).find((a) => a.kind === 'sms')?.data).toEqual({ phoneNumber: '+31612345678', phoneType: 'mobile' });
      expect((await store.findAuthenticatorByCredential(t.id, credentialId))?.userId).toBe(u.id);
      await expect(store.replaceAuthenticators(t.id, u.id, [], [auth('passkey', { credentialId })])).rejects.toBeInstanceOf(StoreConflictError);
      // Compare-and-set: the second use of version 0 loses.
      expect(await store.useAuthenticator(t.id, totp.id, 0, { n: 1 }, now + 1)).toBe(true);
      expect(await store.useAuthenticator(t.id, totp.id, 0, { n: 2 }, now + 2)).toBe(false);
      const used = (await store.listAuthenticators(t.id, u.id)).find((a) => a.id === totp.id)!;
      expect([used.version, used.data, used.lastUsedAt]).toEqual([1, { n: 1 }, now + 1]);
      // Replacing a kind swaps it in one go; removing one by id, then all.
      await store.replaceAuthenticators(t.id, u.id, ['totp'], [auth('totp')]);
      expect((await store.listAuthenticators(t.id, u.id)).filter((a) => a.kind === 'totp').map((a) => a.id)).not.toContain(totp.id);
      expect(await store.removeAuthenticators(t.id, u.id, (await store.findAuthenticatorByCredential(t.id, credentialId))!.id)).toBe(1);
      expect(await store.removeAuthenticators(t.id, u.id)).toBe(3);
      await store.replaceAuthenticators(t.id, u.id, [], [auth('email')]);
      await store.deleteUser(t.id, u.id);
      expect(await store.listAuthenticators(t.id, u.id)).toEqual([]);
    });

    it('redeems a code once, and reports a replay with what it issued', async () => {
      const u = user(t.id, `code-${randomUUID().slice(0, 6)}@example.com`);
      await store.createUser(u);
      const code = { codeHash: `c-${randomUUID()}`, tenantId: t.id, clientId: a.clientId, userId: u.id, data: { x: 1 }, createdAt: now, expiresAt: now + 600_000, consumedAt: null, issuedJti: null };
      await store.createAuthCode(code);
      expect((await store.findAuthCode(code.codeHash))?.data).toEqual({ x: 1 });
      const rt = family(t.id, a.clientId, u.id, 'secret-1');
      expect(await store.redeemAuthCode(code.codeHash, now + 1, { jti: 'jti-1', refresh: rt })).toEqual({ ok: true });
      const replay = await store.redeemAuthCode(code.codeHash, now + 2, { jti: 'jti-2' });
      expect(replay.ok).toBe(false);
      expect(replay.ok === false && replay.reason).toBe('replayed');
      expect(replay.ok === false && replay.code?.issuedJti).toBe('jti-1');
      await store.revokeRefreshTokensFromCode(code.codeHash, now + 3);
      expect((await store.findRefreshToken({ familyId: rt.familyId, secretHash: 'secret-1' }))?.revokedAt).toBe(now + 3);
    });

    it('rotates a refresh token once; presenting a rotated one revokes the family', async () => {
      const u = user(t.id, `rt-${randomUUID().slice(0, 6)}@example.com`);
      await store.createUser(u);
      const rt = family(t.id, a.clientId, u.id, 'secret-a');
      await store.createRefreshToken(rt);
      expect((await store.findRefreshToken({ familyId: rt.familyId, secretHash: 'secret-a' }))?.consumedAt).toBeNull();
      expect(await store.rotateRefreshToken({ familyId: rt.familyId, secretHash: 'secret-a' }, now + 1, { ...rt, tokenHash: 'secret-b', createdAt: now + 1 })).toEqual({ ok: true });
      expect((await store.findRefreshToken({ familyId: rt.familyId, secretHash: 'secret-a' }))?.consumedAt).not.toBeNull();
      const reuse = await store.rotateRefreshToken({ familyId: rt.familyId, secretHash: 'secret-a' }, now + 2, { ...rt, tokenHash: 'secret-c' });
      expect(reuse.ok === false && reuse.reason).toBe('reused');
      expect((await store.findRefreshToken({ familyId: rt.familyId, secretHash: 'secret-b' }))?.revokedAt).toBe(now + 2);
      const r2 = family(t.id, a.clientId, u.id, 'secret-x');
      await store.createRefreshToken(r2);
      expect(await store.revokeUserRefreshTokens(t.id, u.id, now + 3)).toBe(1);
    });

    it('counts login failures into a lockout, and fixed-window counters', async () => {
      let th = await store.getLoginThrottle(t.id, 'x@example.com');
      expect(th).toEqual({ failures: 0, lockouts: 0, lockedUntil: 0 });
      for (let i = 0; i < 3; i++) th = await recordLoginFailure(store, t.id, 'x@example.com', now, { threshold: 3, lockMs: () => 60_000 });
      expect(th).toEqual({ failures: 0, lockouts: 1, lockedUntil: now + 60_000 });
      await store.clearLoginFailures(t.id, 'x@example.com');
      expect(await store.hitCounter('k', 1000, now)).toEqual({ count: 1, resetAt: now + 1000 });
      expect(await store.hitCounter('k', 1000, now + 500)).toEqual({ count: 2, resetAt: now + 1000 });
      expect(await store.hitCounter('k', 1000, now + 1000)).toEqual({ count: 1, resetAt: now + 2000 });
    });

    it('counts every failure of two stores racing on one name (compare-and-set), into lockouts at the threshold', async () => {
      const other = await instance();
      try {
        const race = (name: string, rule: { threshold: number; lockMs: (n: number) => number }) =>
          Promise.all(Array.from({ length: 40 }, (_, i) => recordLoginFailure(i % 2 === 0 ? store : other, t.id, name, now, rule)));
        const counted = `count-${randomUUID()}@example.com`;
        await race(counted, { threshold: 1000, lockMs: () => 60_000 });
        expect(await store.getLoginThrottle(t.id, counted)).toEqual({ failures: 40, lockouts: 0, lockedUntil: 0 });
        const locked = `lock-${randomUUID()}@example.com`;
        await race(locked, { threshold: 10, lockMs: (n) => n * 1000 });
        expect(await other.getLoginThrottle(t.id, locked)).toEqual({ failures: 0, lockouts: 4, lockedUntil: now + 4000 });
      } finally {
        await other.close();
      }
    });

    /** Tenant, app, grants and user as a cache answers them. */
    const cachedView = async (c: Store, api: App, u: User) => ({
      tenant: (await c.findTenant(t.slug))?.extensionsAppId,
      app: (await c.findApp(t.id, api.clientId))?.publicClientRedirectUris,
      byUri: (await c.findAppByIdentifierUri(t.id, api.identifierUri!))?.publicClientRedirectUris,
      scopes: await c.listAppScopes(api.clientId),
      grants: (await c.listGrants(a.clientId, api.clientId)).map((g) => g.name),
      user: (await c.findUser(t.id, u.id))?.displayName,
    });
    const cachedFixture = async () => {
      const api = app(t.id, { type: 'api', identifierUri: `https://kept-${randomUUID().slice(0, 6)}.example` });
      await store.createApp(api);
      const u = user(t.id, `kept-${randomUUID().slice(0, 6)}@example.com`);
      await store.createUser(u);
      await store.addGrant({ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: 'read' });
      await store.updateTenantSettings(t.id, { extensionsAppId: null });
      return { api, u };
    };
    /** The same changes to all of them, through `to`. */
    const change = async (to: Store, api: App, u: User, mark: string) => {
      await to.updateTenantSettings(t.id, { extensionsAppId: mark.repeat(32) });
      await to.updateApp(t.id, api.clientId, (current) => ({ ...current, publicClientRedirectUris: [`http://127.0.0.1/${mark}`] }));
      await to.addAppScope(api.clientId, mark);
      await to.addGrant({ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: mark });
      await to.updateUserProfile(t.id, u.id, { displayName: mark }, now);
    };
    const changed = (mark: string, grants: string[]) => ({
      tenant: mark.repeat(32), app: [`http://127.0.0.1/${mark}`], byUri: [`http://127.0.0.1/${mark}`], scopes: expect.arrayContaining([mark]), grants, user: mark,
    });

    it('keeps tenants, apps, scopes, grants and users for its lifetime, and answers a write through it at once', async () => {
      const { api, u } = await cachedFixture();
      let clock = 0;
      const cached = new CachedStore(store.engine, { now: () => clock });
      const before = await cachedView(cached, api, u);
      expect(before).toEqual({ tenant: null, app: api.publicClientRedirectUris, byUri: api.publicClientRedirectUris, scopes: [], grants: ['read'], user: 'Display' });
      // Changed past this cache (straight through the engine, which nothing in Latchkey does): it keeps what it read…
      await change(store.engine, api, u, 'b');
      expect(await cachedView(cached, api, u)).toEqual(before);
      // …until its lifetime ends.
      clock += 1000;
      expect(await cachedView(cached, api, u)).toEqual(changed('b', ['b', 'read']));
      // A write through it counts at once, with its clock standing still.
      await change(cached, api, u, 'c');
      expect(await cachedView(cached, api, u)).toEqual(changed('c', ['b', 'c', 'read']));
      expect(await cached.removeGrant({ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: 'read' })).toBe(true);
      expect(await cached.setUserDisabled(t.id, u.id, true, now)).toBe(true);
      expect(await cached.listGrants(a.clientId, api.clientId)).toEqual([expect.objectContaining({ name: 'b' }), expect.objectContaining({ name: 'c' })]);
      expect((await cached.findUser(t.id, u.id))?.disabled).toBe(true);
    });

    it.runIf(engine.name === 'SQLite')('answers a commit by another process to the same file at once (the CLI revoking a grant)', async () => {
      const { api, u } = await cachedFixture();
      // A clock that never moves: only SQLite's data_version can tell this cache of the other process.
      const cached = new CachedStore(store.engine, { now: () => 0 });
      const cli = await second();
      try {
        expect((await cachedView(cached, api, u)).grants).toEqual(['read']);
        await change(cli, api, u, 'd');
        expect(await cli.removeGrant({ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: 'read' })).toBe(true);
        expect(await cachedView(cached, api, u)).toEqual(changed('d', ['d']));
      } finally {
        await cli.close();
      }
    });

    it.runIf(engine.name === 'PostgreSQL')("answers another instance's writes as soon as their notices arrive (LISTEN/NOTIFY)", async () => {
      const { api, u } = await cachedFixture();
      // A clock that never moves: only notices can tell this instance of the other's writes.
      const other = new CachedStore(await second(), { now: () => 0 });
      try {
        other.startBackgroundWork(() => undefined);
        // Listening once a notice gets through (its connection is up). The probes name no tenant.
        let heard = false;
        other.onConfigChange((c) => (heard ||= c.tenantId === 'probe'));
        await expect.poll(async () => (await store.engine.announce({ what: 'users', tenantId: 'probe' }), heard), { timeout: 10_000 }).toBe(true);
        expect(await cachedView(other, api, u)).toEqual({ tenant: null, app: api.publicClientRedirectUris, byUri: api.publicClientRedirectUris, scopes: [], grants: ['read'], user: 'Display' });
        // Each write through the caching layer is announced; the other instance answers it once the notice arrives.
        await change(store, api, u, 'f');
        await expect.poll(() => cachedView(other, api, u), { timeout: 5000 }).toEqual(changed('f', ['f', 'read']));
        await store.setUserDisabled(t.id, u.id, true, now);
        await expect.poll(async () => (await other.findUser(t.id, u.id))?.disabled, { timeout: 5000 }).toBe(true);
      } finally {
        await other.close();
      }
    });

    it('keeps journeys, outbox mail, audit events and revoked access tokens; purges what expired', async () => {
      await store.createJourney({ id: `j-${randomUUID()}`, tenantId: t.id, policyId: 'p', browserHash: 'b', request: { a: 1 }, state: { step: 0 }, csrf: 'c', createdAt: now, expiresAt: now + 10 });
      await store.addOutboxMessage({ tenantId: t.id, to: 'Mail@Example.com', subject: 's', body: 'b', transport: 'outbox', createdAt: now });
      expect((await store.listOutbox(t.id, 'mail@example.com')).map((m) => m.to)).toEqual(['Mail@Example.com']);
      await store.addAuditEvent({ at: now, tenantId: t.id, event: 'signin', outcome: 'success', subject: 's', clientId: null, ip: null, detail: null, actor: null });
      expect((await store.listAuditEvents({ tenantId: t.id, limit: 1 }))[0]?.event).toBe('signin');
      await store.revokeAccessToken('jti-x', now + 10);
      expect(await store.isAccessTokenRevoked('jti-x')).toBe(true);
      expect(await store.purgeExpired(now + 1_000_000)).toBeGreaterThan(0);
      expect(await store.isAccessTokenRevoked('jti-x')).toBe(false);
    });

    it.runIf(engine.name === 'PostgreSQL')('tells another instance about key and app changes at once (LISTEN/NOTIFY)', async () => {
      const other = await instance();
      try {
        const heard: string[] = [];
        other.onConfigChange((c) => heard.push(c.tenantId));
        other.startBackgroundWork(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
        await store.updateTenantSettings(t.id, { extensionsAppId: null });
        for (let i = 0; i < 50 && !heard.includes(t.id); i++) await new Promise((r) => setTimeout(r, 20));
        expect(heard).toContain(t.id);
      } finally {
        await other.close();
      }
    });

    it.runIf(engine.name === 'PostgreSQL')('sees a user disabled or a grant revoked through another instance at once, though it keeps both for a second', async () => {
      const other = await instance();
      try {
        other.startBackgroundWork(() => undefined);
        await new Promise((r) => setTimeout(r, 300));
        const u = user(t.id, `cache-${randomUUID().slice(0, 6)}@example.com`);
        await store.createUser(u);
        const api = app(t.id, { type: 'api', identifierUri: `https://cache-${randomUUID().slice(0, 6)}.example` });
        await store.createApp(api);
        await store.addGrant({ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: 'read' });
        expect((await other.findUser(t.id, u.id))?.disabled).toBe(false);
        expect(await other.listGrants(a.clientId, api.clientId)).toHaveLength(1);
        await store.setUserDisabled(t.id, u.id, true, now);
        await store.removeGrant({ clientId: a.clientId, apiClientId: api.clientId, kind: 'scope', name: 'read' });
        const t0 = Date.now();
        while ((await other.findUser(t.id, u.id))?.disabled !== true || (await other.listGrants(a.clientId, api.clientId)).length !== 0) {
          await new Promise((r) => setTimeout(r, 10));
        }
        // The notice arrives far sooner than the second the caches would otherwise keep them.
        expect(Date.now() - t0).toBeLessThan(500);
      } finally {
        await other.close();
      }
    });

    it.runIf(engine.name === 'PostgreSQL')('lets one of two instances win a code or a refresh token, every time (100 tries each)', async () => {
      const other = await instance();
      try {
        const u = user(t.id, `race-${randomUUID().slice(0, 6)}@example.com`);
        await store.createUser(u);
        for (let i = 0; i < 100; i++) {
          const code = { codeHash: `race-${i}-${randomUUID()}`, tenantId: t.id, clientId: a.clientId, userId: u.id, data: {}, createdAt: now, expiresAt: now + 600_000, consumedAt: null, issuedJti: null };
          await store.createAuthCode(code);
          const results = await Promise.all([
            store.redeemAuthCode(code.codeHash, now, { jti: 'a', refresh: family(t.id, a.clientId, u.id, 'sa') }),
            other.redeemAuthCode(code.codeHash, now, { jti: 'b', refresh: family(t.id, a.clientId, u.id, 'sb') }),
          ]);
          expect(results.filter((r) => r.ok).length, `code try ${i}`).toBe(1);
        }
        for (let i = 0; i < 100; i++) {
          const rt = family(t.id, a.clientId, u.id, 'current');
          await store.createRefreshToken(rt);
          const ref = { familyId: rt.familyId, secretHash: 'current' };
          const results = await Promise.all([store.rotateRefreshToken(ref, now, { ...rt, tokenHash: 'next-a' }), other.rotateRefreshToken(ref, now, { ...rt, tokenHash: 'next-b' })]);
          expect(results.filter((r) => r.ok).length, `refresh try ${i}`).toBe(1);
          expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, reason: 'reused' });
          expect((await store.findRefreshToken({ familyId: rt.familyId, secretHash: 'next-a' }))?.revokedAt).not.toBeNull();
        }
      } finally {
        await other.close();
      }
    });
  });
}
