import { describe, expect, it } from 'vitest';
import { newFamilyId } from '../../src/oauth/token-response.js';

describe('refresh family ids', () => {
  it('sort as text in the order they were made, and differ when made in the same millisecond', () => {
    const times = [0, 35, 36, 1_700_000_000_000, 1_700_000_000_001, 1_799_999_999_999, 4_000_000_000_000];
    const ids = times.map((t) => newFamilyId(t));
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(/^[0-9a-z]{9}[\w-]{16}$/);
    const same = new Set(Array.from({ length: 1000 }, () => newFamilyId(1_700_000_000_000)));
    expect(same.size).toBe(1000);
  });
});
