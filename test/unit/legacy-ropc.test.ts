import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LegacyCallLimiter, checkLegacyPassword } from '../../src/migration/legacy-ropc.js';
import { MemoryCounters } from '../../src/security/counters.js';
import { outboundClient } from '../helpers/outbound.js';
import { startSilentServer } from '../helpers/upstream-op.js';

/** The call to the old provider when it is slow, and the limit on how often it is called. */
let silent: { url: string; close(): Promise<void> };

beforeAll(async () => {
  silent = await startSilentServer();
});

afterAll(async () => {
  await silent.close();
});

describe('just-in-time migration calls', () => {
  it('gives up on an old provider that does not answer within the timeout, saying so', async () => {
    const t0 = Date.now();
    const r = await checkLegacyPassword(outboundClient(), { tokenUrl: `${silent.url}/contoso/B2C_1_ROPC/oauth2/v2.0/token`, clientId: 'c', scope: 'openid c' }, 'ann@example.com', 'pw', 300);
    expect(r).toEqual({ result: 'unavailable', reason: 'no answer within 0.3 s' });
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  it('calls out at most so often per tenant, window by window', async () => {
    const limiter = new LegacyCallLimiter(new MemoryCounters(), 3, 1000);
    const taken: boolean[] = [];
    for (let i = 0; i < 4; i++) taken.push(await limiter.take('t', 0));
    expect(taken).toEqual([true, true, true, false]);
    expect(await limiter.take('other', 10)).toBe(true);
    expect(await limiter.take('t', 999)).toBe(false);
    expect(await limiter.take('t', 1000)).toBe(true);
  });
});
