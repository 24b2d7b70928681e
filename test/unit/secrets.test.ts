import { describe, expect, it } from 'vitest';
import { randomToken, safeEqual, sha256 } from '../../src/crypto/secrets.js';

describe('secrets', () => {
  it('hands out random tokens of the asked length, never the same bytes twice, across pool refills', () => {
    const seen = new Set<string>();
    // 20,000 × 32 bytes is many 4 KiB pools; sizes that do not divide 4,096 cross the boundary.
    for (let i = 0; i < 20_000; i++) {
      const t = randomToken(i % 3 === 0 ? 12 : 32);
      expect(t).toMatch(i % 3 === 0 ? /^[\w-]{16}$/ : /^[\w-]{43}$/);
      seen.add(t);
    }
    expect(seen.size).toBe(20_000);
    expect(randomToken(300)).toMatch(/^[\w-]{400}$/);
  });

  it('hashes with SHA-256 and compares in constant time', () => {
    expect(sha256('abc')).toBe('ungWv48Bz-pBQUDeXa4iI7ADYaOWF3qctBD_YfIAFa0');
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'abc\0')).toBe(false);
  });
});
