import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

describe('loadConfig', () => {
  it('has defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.port).toBe(3000);
    expect(c.baseUrl).toBe('http://localhost:3000');
    expect(c.dbPath).toMatch(/data\/latchkey\.db$/);
  });

  it('names the variable in a one-line error', () => {
    const cases: [Record<string, string>, RegExp][] = [
      [{ PORT: 'abc' }, /^invalid PORT: /],
      [{ PORT: '70000' }, /^invalid PORT: /],
      [{ LATCHKEY_BASE_URL: 'not a url' }, /^invalid LATCHKEY_BASE_URL: /],
      [{ LATCHKEY_LOG_LEVEL: 'loud' }, /^invalid LATCHKEY_LOG_LEVEL: /],
      [{ LATCHKEY_MASTER_KEY: 'short' }, /^invalid LATCHKEY_MASTER_KEY: /],
      [{ LATCHKEY_TLS_CERT: '/nope.pem' }, /^invalid LATCHKEY_TLS_CERT\/LATCHKEY_TLS_KEY: /],
      [{ LATCHKEY_TLS_CERT: '/nope.pem', LATCHKEY_TLS_KEY: '/nope.key' }, /^invalid LATCHKEY_TLS_CERT: cannot read/],
      [{ LATCHKEY_DATABASE_URL: 'mysql://db/latchkey' }, /^invalid LATCHKEY_DATABASE_URL: must be a postgres:\/\/ URL/],
      [{ LATCHKEY_REDIS_URL: 'http://cache' }, /^invalid LATCHKEY_REDIS_URL: must be a redis:\/\/ or rediss:\/\/ URL/],
      [{ LATCHKEY_TRUST_PROXY: 'everyone' }, /^invalid LATCHKEY_TRUST_PROXY: /],
      [{ LATCHKEY_TLS_DIR: '/no/such/folder' }, /^invalid LATCHKEY_TLS_DIR: cannot read \/no\/such\/folder \(ENOENT\)$/],
      [{ LATCHKEY_TLS_DIR: '/etc/hostname' }, /^invalid LATCHKEY_TLS_DIR: \/etc\/hostname is not a folder$/],
      [{ LATCHKEY_TENANT_HOST_PATTERN: 'login.example.com' }, /^invalid LATCHKEY_TENANT_HOST_PATTERN: must hold \{tenant\} once, as a whole label/],
      [{ LATCHKEY_TENANT_HOST_PATTERN: 'login-{tenant}.example.com' }, /^invalid LATCHKEY_TENANT_HOST_PATTERN: must hold \{tenant\} once, as a whole label/],
      [{ LATCHKEY_TENANT_HOST_PATTERN: '{tenant}.{tenant}.example.com' }, /^invalid LATCHKEY_TENANT_HOST_PATTERN: must hold \{tenant\} once/],
      [{ LATCHKEY_TENANT_HOST_PATTERN: 'https://{tenant}.example.com' }, /^invalid LATCHKEY_TENANT_HOST_PATTERN: a host name pattern such as \{tenant\}\.login\.example\.com, without scheme, port or path/],
      [{ LATCHKEY_TENANT_HOST_PATTERN: '{tenant}.example.com:8443' }, /without scheme, port or path/],
      [{ LATCHKEY_TENANT_HOST_PATTERN: '{tenant}' }, /the labels besides \{tenant\} must form a host name/],
      [{ LATCHKEY_TENANT_HOST_PATTERN: '{tenant}.exa_mple.com' }, /the labels besides \{tenant\} must form a host name/],
      // The shared host would be taken for a tenant's own.
      [{ LATCHKEY_TENANT_HOST_PATTERN: '{tenant}.example.com', LATCHKEY_BASE_URL: 'https://id.example.com' }, /^invalid LATCHKEY_TENANT_HOST_PATTERN: the host of LATCHKEY_BASE_URL \(id\.example\.com\) matches it/],
    ];
    for (const [env, re] of cases) {
      let err: unknown;
      try {
        loadConfig(env);
      } catch (e) {
        err = e;
      }
      expect(err, JSON.stringify(env)).toBeInstanceOf(ConfigError);
      expect((err as Error).message).toMatch(re);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('reads the scale-out settings', () => {
    const c = loadConfig({ LATCHKEY_DATABASE_URL: 'postgres://u:p@db:5432/latchkey', LATCHKEY_REDIS_URL: 'redis://cache:6379', LATCHKEY_TRUST_PROXY: '10.0.0.0/8, 172.16.0.0/12' });
    expect([c.databaseUrl, c.redisUrl, c.trustProxy]).toEqual(['postgres://u:p@db:5432/latchkey', 'redis://cache:6379', '10.0.0.0/8,172.16.0.0/12']);
    expect([loadConfig({}).trustProxy, loadConfig({ LATCHKEY_TRUST_PROXY: 'true' }).trustProxy, loadConfig({ LATCHKEY_TRUST_PROXY: '2' }).trustProxy]).toEqual([false, true, 2]);
  });

  it('reads the host pattern, which names each tenant by its slug in one whole label', () => {
    const p = loadConfig({ LATCHKEY_TENANT_HOST_PATTERN: '{Tenant}.Login.Example.com'.replace('{Tenant}', '{tenant}'), LATCHKEY_BASE_URL: 'https://login.example.com' }).tenantHostPattern!;
    expect(p.pattern).toBe('{tenant}.login.example.com');
    expect([p.slugOf('contoso.login.example.com'), p.slugOf('CONTOSO.login.example.com'), p.slugOf('login.example.com'), p.slugOf('a.b.login.example.com'), p.slugOf('contoso.login.example.org'), p.slugOf('-x.login.example.com')]).toEqual(['contoso', 'contoso', undefined, undefined, undefined, undefined]);
    expect(p.hostFor('fabrikam')).toBe('fabrikam.login.example.com');
    expect(loadConfig({}).tenantHostPattern).toBeUndefined();
  });

  it('serves https by default with a certificate folder', () => {
    const c = loadConfig({ LATCHKEY_TLS_DIR: '/tmp' });
    expect([c.tlsDir, c.baseUrl]).toEqual(['/tmp', 'https://localhost:3000']);
  });

  it('uses https in the base URL when TLS files are given', () => {
    expect(loadConfig({ LATCHKEY_BASE_URL: 'https://id.example.com/' }).baseUrl).toBe('https://id.example.com');
  });
});
