import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseTenantHostPattern } from '../../src/model/host-pattern.js';
import type { Tenant } from '../../src/model/entities.js';
import { Audit } from '../../src/security/audit.js';
import { Metrics } from '../../src/observability/metrics.js';
import { SecretBox } from '../../src/crypto/secrets.js';
import type { ProvisionDeps } from '../../src/services/deps.js';
import { addTenantDomain, listTenantDomains, normalizeHost, removeTenantDomain, tenantHasOwnHost } from '../../src/services/tenant-domains.js';
import { TenantDirectory } from '../../src/services/tenant-directory.js';
import { createTenant } from '../../src/services/tenants.js';
import { SqliteStore } from '../../src/store/sqlite/sqlite-store.js';
import { CachedStore } from '../../src/store/cached-store.js';
import { StoreConflictError } from '../../src/store/store.js';
import { systemClock } from '../../src/model/clock.js';

/** The rules of a tenant's own hosts: what may be claimed, and how the directory finds a host's tenant. */
const dir = mkdtempSync(join(tmpdir(), 'latchkey-domains-'));
let store: CachedStore;
let d: ProvisionDeps;
let contoso: Tenant;
let fabrikam: Tenant;
const pattern = parseTenantHostPattern('{tenant}.id.example.com');
const rules = { baseUrl: 'https://login.example.com', tenantHostPattern: pattern };

beforeAll(async () => {
  // As the server has it: the engine behind the caching layer.
  store = new CachedStore(new SqliteStore(join(dir, 'l.db')));
  d = { store, secrets: new SecretBox(undefined), clock: systemClock, policiesDir: join(dir, 'policies'), passwordCost: 10, audit: new Audit(store, systemClock, pino({ level: 'silent' }), new Metrics(store, { defaults: false, now: () => Date.now() })) };
  contoso = await createTenant(d, 'contoso');
  fabrikam = await createTenant(d, 'fabrikam');
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('custom domains', () => {
  it('takes host names only: lower-cased, without scheme, port, path or address', () => {
    expect(normalizeHost(' Login.Contoso.COM. ')).toBe('login.contoso.com');
    for (const bad of ['https://login.contoso.com', 'login.contoso.com:443', 'login.contoso.com/x', '192.168.1.10', '[::1]', 'localhost', 'under_score.example.com', 'a..b.example.com', `${'a'.repeat(64)}.example.com`, 'user@login.contoso.com']) {
      expect(() => normalizeHost(bad), bad).toThrow(/^invalid --host/);
    }
  });

  it("never lets a tenant claim the shared host, the pattern's hosts, or another tenant's host", async () => {
    await expect(addTenantDomain(d, rules, contoso, 'login.example.com', 'test')).rejects.toThrow(/that is the shared host/);
    await expect(addTenantDomain(d, rules, contoso, 'fabrikam.id.example.com', 'test')).rejects.toThrow(/belong to the tenants LATCHKEY_TENANT_HOST_PATTERN names/);
    const view = await addTenantDomain(d, rules, contoso, 'login.contoso.com', 'test');
    expect(view).toMatchObject({ host: 'login.contoso.com', source: 'domain', issuer: `https://login.contoso.com/${contoso.id}/v2.0/` });
    await expect(addTenantDomain(d, rules, fabrikam, 'LOGIN.contoso.com', 'test')).rejects.toBeInstanceOf(StoreConflictError);
    await expect(removeTenantDomain(d, fabrikam, 'login.contoso.com', 'test')).rejects.toThrow(/has no domain 'login.contoso.com'/);
    expect((await listTenantDomains(d, rules, contoso)).map((v) => [v.host, v.source])).toEqual([['login.contoso.com', 'domain'], ['contoso.id.example.com', 'pattern']]);
    expect((await store.listAuditEvents({ tenantId: contoso.id })).some((e) => e.event === 'tenant_domain_added' && e.detail === 'login.contoso.com (test)')).toBe(true);
  });

  it('finds the tenant of a host (a domain or the pattern), and says which tenants have a host of their own', async () => {
    let now = 0;
    const directory = new TenantDirectory(store, () => now, 1000);
    const changed: string[][] = [];
    directory.onOwnHostsChanged((slugs) => changed.push(slugs));
    expect((await directory.forHost('login.contoso.com'))?.id).toBe(contoso.id);
    expect(await directory.forHost('fabrikam.id.example.com')).toBeUndefined();
    expect(await directory.forHost('login.example.com')).toBeUndefined();
    expect([directory.hasOwnHost('contoso'), directory.hasOwnHost('fabrikam')]).toEqual([true, false]);
    expect(changed).toEqual([['contoso']]);
    expect(await tenantHasOwnHost(d, { tenantHostPattern: undefined }, fabrikam.id)).toBe(false);

    // A domain added through this store is seen at the next lookup; one added elsewhere (the CLI) within the lifetime.
    await addTenantDomain(d, rules, fabrikam, 'login.fabrikam.com', 'test');
    expect((await directory.forHost('login.fabrikam.com'))?.id).toBe(fabrikam.id);
    expect(changed).toEqual([['contoso'], ['fabrikam']]);
    await removeTenantDomain(d, fabrikam, 'login.fabrikam.com', 'test');
    now += 1000;
    expect(await directory.forHost('login.fabrikam.com')).toBeUndefined();
    expect(directory.hasOwnHost('fabrikam')).toBe(false);
    expect(await directory.hostsOf(contoso)).toEqual(['login.contoso.com']);

    // With the host pattern every tenant has a host of its own.
    const patterned = new TenantDirectory(store, () => now, 1000, pattern);
    expect((await patterned.forHost('fabrikam.id.example.com'))?.id).toBe(fabrikam.id);
    expect(await patterned.forHost('nobody.id.example.com')).toBeUndefined();
    expect(patterned.hasOwnHost('fabrikam')).toBe(true);
    expect(await patterned.hostsOf(contoso)).toEqual(['login.contoso.com', 'contoso.id.example.com']);
  });

  it('answers hosts and fixed tenants from memory only as the reads would, and a B2C name never from memory', async () => {
    let now = 0;
    const directory = new TenantDirectory(store, () => now, 1000, pattern);
    // Nothing read yet: memory cannot tell.
    expect(directory.tenantIdForHostNow('login.contoso.com')).toBeUndefined();
    expect((await directory.forHost('login.contoso.com'))?.id).toBe(contoso.id);
    expect(directory.tenantIdForHostNow('login.contoso.com')).toBe(contoso.id);
    expect(directory.tenantIdForHostNow('login.example.com')).toBeNull();
    // The pattern's host: known once its tenant has been found.
    expect(directory.tenantIdForHostNow('fabrikam.id.example.com')).toBeUndefined();
    expect((await directory.forHost('fabrikam.id.example.com'))?.id).toBe(fabrikam.id);
    expect(directory.tenantIdForHostNow('fabrikam.id.example.com')).toBe(fabrikam.id);
    expect(directory.tenantIdForHostNow('nobody.id.example.com')).toBeUndefined();
    // A domain removed: memory does not answer until the domains are read again (at once here, through this store).
    await addTenantDomain(d, rules, fabrikam, 'login.fabrikam.com', 'test');
    expect(directory.tenantIdForHostNow('login.fabrikam.com')).toBeUndefined();
    expect((await directory.forHost('login.fabrikam.com'))?.id).toBe(fabrikam.id);
    await removeTenantDomain(d, fabrikam, 'login.fabrikam.com', 'test');
    expect(directory.tenantIdForHostNow('login.fabrikam.com')).toBeUndefined();
    expect(await directory.forHost('login.fabrikam.com')).toBeUndefined();
    expect(directory.tenantIdForHostNow('login.fabrikam.com')).toBeNull();
    // And after the lifetime, whatever changed elsewhere.
    now += 1000;
    expect(directory.tenantIdForHostNow('login.contoso.com')).toBeUndefined();

    // Fixed tenants by id or slug once found; a B2C name (which may change) always read.
    expect(directory.findFixed('contoso')).toBeUndefined();
    await directory.find('contoso');
    expect(directory.findFixed('Contoso')).toMatchObject({ id: contoso.id, slug: 'contoso' });
    // (found by id through its domain above)
    expect(directory.findFixed(fabrikam.id)).toMatchObject({ id: fabrikam.id, slug: 'fabrikam' });
    await store.updateTenantSettings(contoso.id, { b2cName: 'contosob2c' });
    expect((await directory.find('contosob2c.onmicrosoft.com'))?.id).toBe(contoso.id);
    expect(directory.findFixed('contosob2c.onmicrosoft.com')).toBeUndefined();
    await store.updateTenantSettings(contoso.id, { b2cName: null });
    expect(await directory.find('contosob2c.onmicrosoft.com')).toBeUndefined();
  });
});
