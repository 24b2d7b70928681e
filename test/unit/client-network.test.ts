import { describe, expect, it } from 'vitest';
import { clientNetwork } from '../../src/security/client-network.js';

describe('clientNetwork (what rate limits count a client by)', () => {
  it('counts IPv4 per address, IPv4 seen on a dual-stack listener as itself, and IPv6 per /64', () => {
    expect(clientNetwork('203.0.113.7')).toBe('203.0.113.7');
    expect(clientNetwork('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(clientNetwork('2001:db8:1:2:aaaa::1')).toBe('2001:db8:1:2::/64');
    // Another address of the same /64 is the same client; the next /64 is another.
    expect(clientNetwork('2001:db8:1:2:ffff:ffff:ffff:fffe')).toBe(clientNetwork('2001:db8:1:2::9'));
    expect(clientNetwork('2001:db8:1:3::1')).not.toBe(clientNetwork('2001:db8:1:2::1'));
    expect(clientNetwork('not an address')).toBe('not an address');
  });
});
