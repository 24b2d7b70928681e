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

  it('uses https in the base URL when TLS files are given', () => {
    expect(loadConfig({ LATCHKEY_BASE_URL: 'https://id.example.com/' }).baseUrl).toBe('https://id.example.com');
  });
});
