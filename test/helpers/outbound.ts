import pino, { type Logger } from 'pino';
import { AddressPolicy, parseAllowList } from '../../src/outbound/address-policy.js';
import { OutboundClient, type Resolver } from '../../src/outbound/outbound-client.js';

/**
 * What tests whose Latchkey fetches from servers they start on this machine (upstream providers,
 * connectors, templates, an old B2C) set: the operator's allowance for the loopback addresses.
 */
export const LOOPBACK_ALLOWED = '127.0.0.1,localhost';

/** An outbound client as the server makes one, with `allow` as LATCHKEY_OUTBOUND_ALLOW. */
export function outboundClient(allow = LOOPBACK_ALLOWED, o: { logger?: Logger; resolve?: Resolver } = {}): OutboundClient {
  return new OutboundClient({ policy: new AddressPolicy(parseAllowList(allow)), logger: o.logger ?? pino({ level: 'silent' }), ...(o.resolve ? { resolve: o.resolve } : {}) });
}

/** A pino logger whose lines a test can read. */
export function recordingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  return { logger: pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line) as Record<string, unknown>) }), lines };
}
