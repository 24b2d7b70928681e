import { createServer } from 'node:http';
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

  it('never sends a password to an address nobody allowed, nor on to where a redirect points', async () => {
    const legacy = (tokenUrl: string) => ({ tokenUrl, clientId: 'c', scope: 'openid c' });
    expect(await checkLegacyPassword(outboundClient(''), legacy('https://10.0.0.1/contoso/B2C_1_ROPC/oauth2/v2.0/token'), 'ann@example.com', 'pw', 5000)).toEqual({ result: 'unavailable', reason: 'cannot be reached' });
    expect(await checkLegacyPassword(outboundClient(''), legacy(`${silent.url}/contoso/B2C_1_ROPC/oauth2/v2.0/token`), 'ann@example.com', 'pw', 5000)).toEqual({ result: 'unavailable', reason: 'cannot be reached' });
    // A 307 would re-send the form (with the password) to its target, here an allowed address: not followed.
    const bodies: string[] = [];
    const target = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        bodies.push(`${req.url} ${body}`);
        if (req.url === '/token') res.writeHead(307, { location: `http://127.0.0.1:${(target.address() as { port: number }).port}/elsewhere` }).end();
        else res.writeHead(200, { 'content-type': 'application/json' }).end('{"access_token":"x"}');
      });
    });
    await new Promise<void>((r) => target.listen(0, '127.0.0.1', r));
    try {
      const r = await checkLegacyPassword(outboundClient('127.0.0.1'), legacy(`http://127.0.0.1:${(target.address() as { port: number }).port}/token`), 'ann@example.com', 'pw', 5000);
      expect(r).toEqual({ result: 'unavailable', reason: 'cannot be reached' });
      expect(bodies).toHaveLength(1);
      expect(bodies[0]).toMatch(/^\/token /);
    } finally {
      await new Promise((r) => target.close(r));
    }
  });

  it('calls out at most so often per tenant, second by second', async () => {
    const limiter = new LegacyCallLimiter(new MemoryCounters(), 3);
    const taken: boolean[] = [];
    for (let i = 0; i < 4; i++) taken.push(await limiter.take('t', 0));
    expect(taken).toEqual([true, true, true, false]);
    expect(await limiter.take('other', 10)).toBe(true);
    expect(await limiter.take('t', 999)).toBe(false);
    expect(await limiter.take('t', 1000)).toBe(true);
  });

  it("takes the tenant's own rate over the default (tenant set --legacy-rate)", async () => {
    const limiter = new LegacyCallLimiter(new MemoryCounters());
    const taken: boolean[] = [];
    for (let i = 0; i < 21; i++) taken.push(await limiter.take('t', 0));
    expect(taken.filter(Boolean)).toHaveLength(20);
    const fast: boolean[] = [];
    for (let i = 0; i < 60; i++) fast.push(await limiter.take('fast', 0, 50));
    expect(fast.filter(Boolean)).toHaveLength(50);
  });
});
