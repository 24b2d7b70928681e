import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Which addresses Latchkey's outbound calls may reach. By default only public unicast addresses:
 * whatever a template, connector or provider URL names — directly, through DNS, or through a redirect —
 * must not let a tenant's administrator reach this machine, the cloud's metadata service or the
 * operator's private network. The operator widens this with `LATCHKEY_OUTBOUND_ALLOW`: host names
 * (exact; allowed whatever they resolve to) and IP addresses or CIDR ranges (v4 and v6).
 */

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/** ipaddr.js's names for the special ranges, as a log line says them. */
const RANGE_NAMES: Record<string, string> = {
  unspecified: 'an unspecified address',
  broadcast: 'the broadcast address',
  multicast: 'a multicast address',
  linkLocal: 'a link-local address',
  loopback: 'a loopback address',
  carrierGradeNat: 'a carrier-grade NAT (private) address',
  private: 'a private address',
  uniqueLocal: 'a unique-local (private) address',
  deprecatedSiteLocal: 'a site-local (private) address',
  reserved: 'a reserved address',
  benchmarking: 'a benchmarking address',
  amt: 'a reserved (AMT) address',
  as112: 'a reserved (AS112) address',
  as112v6: 'a reserved (AS112) address',
  rfc6145: 'an IPv4-translated address',
  rfc6052: 'a local-use NAT64 address',
  '6to4': 'a 6to4 address',
  teredo: 'a Teredo address',
  discard: 'a discard-only address',
};

/**
 * The IPv4 address an IPv6 address stands for, where it embeds one that reaches an IPv4 host:
 * IPv4-mapped (`::ffff:a.b.c.d`), IPv4-compatible (`::a.b.c.d`, deprecated but still parsed) and
 * the well-known NAT64 prefix (`64:ff9b::a.b.c.d`, DNS64 networks' way to reach IPv4-only hosts).
 */
function embeddedIPv4(a: ipaddr.IPv6): ipaddr.IPv4 | undefined {
  if (a.isIPv4MappedAddress()) return a.toIPv4Address();
  const p = a.parts;
  const v4 = () => new ipaddr.IPv4([p[6]! >> 8, p[6]! & 0xff, p[7]! >> 8, p[7]! & 0xff]);
  if (p.slice(0, 6).every((x) => x === 0) && (p[6] !== 0 || p[7]! > 1)) return v4();
  if (p[0] === 0x64 && p[1] === 0xff9b && p.slice(2, 6).every((x) => x === 0)) return v4();
  return undefined;
}

/** The address itself, or the IPv4 address an IPv6 form of it embeds (so one rule judges both). */
function canonical(a: Address): Address {
  return a.kind() === 'ipv6' ? (embeddedIPv4(a as ipaddr.IPv6) ?? a) : a;
}

/**
 * Why `address` is not a public unicast address (loopback, private, link-local, …), or undefined when
 * it is one. IPv6 forms of an IPv4 address are judged as that IPv4 address.
 */
export function nonPublicReason(address: string): string | undefined {
  let a: Address;
  try {
    a = canonical(ipaddr.parse(address));
  } catch {
    return 'not an IP address';
  }
  const range = a.range();
  if (range === 'unicast') return undefined;
  return RANGE_NAMES[range] ?? `a special-purpose address (${range})`;
}

/** A host name as URLs and DNS compare it: lower case, no trailing dot, IPv6 without brackets. */
export function normalizeHost(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '');
}

const HOST_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** What `LATCHKEY_OUTBOUND_ALLOW` lists, parsed: exact host names, and CIDR ranges. */
export interface OutboundAllowList {
  hosts: string[];
  /** `address/prefix`, IPv4 or IPv6; a single address is a /32 or /128. */
  ranges: string[];
}

/**
 * Parses `LATCHKEY_OUTBOUND_ALLOW` (comma-separated host names, IP addresses and CIDR ranges). Throws
 * an Error whose message says which entry is wrong and why (config.ts turns it into its one line).
 */
export function parseAllowList(text: string): OutboundAllowList {
  const hosts: string[] = [];
  const ranges: string[] = [];
  for (const raw of text.split(',')) {
    const entry = raw.trim();
    if (entry === '') continue;
    const slash = entry.indexOf('/');
    const ip = slash === -1 ? entry : entry.slice(0, slash);
    const unbracketed = ip.replace(/^\[(.*)\]$/, '$1');
    if (unbracketed.includes('%')) throw new Error(`'${entry}': IPv6 zone indexes are not supported`);
    if (isIP(unbracketed) !== 0) {
      const max = isIP(unbracketed) === 4 ? 32 : 128;
      const bits = slash === -1 ? String(max) : entry.slice(slash + 1);
      if (!/^\d{1,3}$/.test(bits) || Number(bits) > max) throw new Error(`'${entry}' has an invalid prefix length (0 to ${max})`);
      ranges.push(`${unbracketed}/${Number(bits)}`);
      continue;
    }
    if (slash !== -1) throw new Error(`'${entry}' is not a CIDR range (address/prefix)`);
    if (entry.includes('*')) throw new Error(`'${entry}': wildcards are not supported; list each host name`);
    const host = normalizeHost(entry);
    if (!HOST_NAME.test(host)) throw new Error(`'${entry}' is not a host name, an IP address or a CIDR range`);
    hosts.push(host);
  }
  return { hosts, ranges };
}

/** Why an outbound connection to an address was refused, for the log line. */
export type Refusal = { host: string; address: string; reason: string };

/** The rules one app instance applies to every outbound connection. */
export class AddressPolicy {
  private readonly hosts: Set<string>;
  private readonly ranges: [Address, number][];

  constructor(readonly allow: OutboundAllowList = { hosts: [], ranges: [] }) {
    this.hosts = new Set(allow.hosts.map(normalizeHost));
    this.ranges = allow.ranges.map((r) => {
      const [addr, bits] = ipaddr.parseCIDR(r);
      // An IPv4-mapped range is the IPv4 range it maps (addresses are compared in their IPv4 form).
      if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress() && bits >= 96) return [(addr as ipaddr.IPv6).toIPv4Address(), bits - 96];
      return [addr, bits];
    });
  }

  /** The operator listed this host name: it is allowed whatever it resolves to. */
  allowsHost(host: string): boolean {
    return this.hosts.has(normalizeHost(host));
  }

  /** Whether `address` is inside a listed range (IPv6 forms of an IPv4 address match its IPv4 ranges). */
  allowsAddress(address: string): boolean {
    let a: Address;
    try {
      a = canonical(ipaddr.parse(address));
    } catch {
      return false;
    }
    return this.ranges.some(([range, bits]) => range.kind() === a.kind() && a.match(range, bits));
  }

  /** Undefined when a connection to `address` (which `host` resolved to, or is) may be made; else why not. */
  check(host: string, address: string): Refusal | undefined {
    if (this.allowsHost(host) || this.allowsAddress(address)) return undefined;
    const reason = nonPublicReason(address);
    return reason === undefined ? undefined : { host: normalizeHost(host), address, reason };
  }
}
