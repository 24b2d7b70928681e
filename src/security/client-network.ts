import ipaddr from 'ipaddr.js';

/**
 * The network a client address stands for, as rate limits count it: an IPv4 address alone, an IPv6
 * address by its /64 (one subscriber's prefix: counted per address, a client would get a fresh limit per
 * address it picks from it), and an IPv4 address seen as `::ffff:a.b.c.d` on a dual-stack listener as the
 * IPv4 address it is.
 */
export function clientNetwork(ip: string): string {
  if (!ipaddr.isValid(ip)) return ip;
  const a = ipaddr.process(ip);
  if (a.kind() === 'ipv4') return a.toString();
  const parts = (a as ipaddr.IPv6).parts.slice(0, 4);
  return `${new ipaddr.IPv6([...parts, 0, 0, 0, 0]).toString()}/64`;
}
