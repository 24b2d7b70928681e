import { createServer as createNetServer, type Server as NetServer } from 'node:net';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';
import { AddressPolicy, nonPublicReason, parseAllowList } from '../../src/outbound/address-policy.js';
import { OutboundError, type OutboundClient } from '../../src/outbound/outbound-client.js';
import { outboundClient, recordingLogger } from '../helpers/outbound.js';
import { suiteCert } from '../helpers/tls.js';

describe('which addresses are public', () => {
  it('refuses loopback, private, CGNAT, 0/8, link-local, multicast and broadcast IPv4 addresses', () => {
    const cases: [string, RegExp][] = [
      ['127.0.0.1', /loopback/],
      ['127.8.9.10', /loopback/],
      ['10.1.2.3', /private/],
      ['172.16.0.1', /private/],
      ['172.31.255.255', /private/],
      ['192.168.1.1', /private/],
      ['100.64.0.1', /carrier-grade NAT/],
      ['100.127.255.254', /carrier-grade NAT/],
      ['0.0.0.0', /unspecified/],
      ['0.1.2.3', /unspecified/],
      ['169.254.169.254', /link-local/],
      ['224.0.0.1', /multicast/],
      ['255.255.255.255', /broadcast/],
      ['192.0.2.1', /reserved/],
    ];
    for (const [address, why] of cases) expect(nonPublicReason(address), address).toMatch(why);
    for (const address of ['93.184.216.34', '8.8.8.8', '172.32.0.1', '100.128.0.1', '11.0.0.1']) expect(nonPublicReason(address), address).toBeUndefined();
  });

  it('refuses IPv6 loopback, unspecified, link-local, unique-local and multicast, and judges IPv6 forms of IPv4 addresses as those', () => {
    const cases: [string, RegExp][] = [
      ['::1', /loopback/],
      ['::', /unspecified/],
      ['fe80::1', /link-local/],
      ['febf:ffff::1', /link-local/],
      ['fc00::1', /unique-local/],
      ['fd12:3456::1', /unique-local/],
      ['ff02::1', /multicast/],
      // IPv4-mapped, in both spellings
      ['::ffff:127.0.0.1', /loopback/],
      ['::ffff:7f00:1', /loopback/],
      ['::ffff:10.0.0.1', /private/],
      ['::ffff:169.254.169.254', /link-local/],
      ['::ffff:0.0.0.0', /unspecified/],
      // IPv4-compatible (deprecated) and NAT64
      ['::127.0.0.1', /loopback/],
      ['64:ff9b::a00:1', /private/],
      ['64:ff9b::a9fe:a9fe', /link-local/],
      ['2001:db8::1', /reserved/],
    ];
    for (const [address, why] of cases) expect(nonPublicReason(address), address).toMatch(why);
    for (const address of ['2606:4700:4700::1111', '2a00:1450:4001:80b::200e', '::ffff:8.8.8.8', '64:ff9b::808:808']) expect(nonPublicReason(address), address).toBeUndefined();
  });
});

describe('LATCHKEY_OUTBOUND_ALLOW', () => {
  it('reads host names, addresses and CIDR ranges (v4 and v6)', () => {
    expect(parseAllowList(' 127.0.0.1, 10.0.0.0/8 ,idp.internal,::1, fd00::/8,[fe80::1],Login.Contoso.Example.,')).toEqual({
      hosts: ['idp.internal', 'login.contoso.example'],
      ranges: ['127.0.0.1/32', '10.0.0.0/8', '::1/128', 'fd00::/8', 'fe80::1/128'],
    });
    expect(loadConfig({ LATCHKEY_OUTBOUND_ALLOW: '127.0.0.1,localhost' }).outboundAllow).toEqual({ hosts: ['localhost'], ranges: ['127.0.0.1/32'] });
    expect(loadConfig({}).outboundAllow).toEqual({ hosts: [], ranges: [] });
  });

  it('refuses a bad entry with one line naming the variable', () => {
    for (const [value, why] of [
      ['10.0.0.0/33', /invalid prefix length/],
      ['*.internal', /wildcards are not supported/],
      ['idp internal', /not a host name, an IP address or a CIDR range/],
      ['https://idp.internal', /not a CIDR range|not a host name/],
      ['10.0.0/8', /not a CIDR range/],
      ['fe80::1%eth0', /zone indexes are not supported/],
      ['127.0.0.1/', /invalid prefix length/],
    ] as const) {
      let err: unknown;
      try {
        loadConfig({ LATCHKEY_OUTBOUND_ALLOW: value });
      } catch (e) {
        err = e;
      }
      expect(err, value).toBeInstanceOf(ConfigError);
      expect((err as Error).message, value).toMatch(/^invalid LATCHKEY_OUTBOUND_ALLOW: /);
      expect((err as Error).message, value).toMatch(why);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('allows a listed address but not its neighbour, mapped forms of a listed IPv4 range, and a listed name whatever it resolves to', () => {
    const p = new AddressPolicy(parseAllowList('127.0.0.1,10.0.0.0/8,fd00::/8,idp.internal'));
    expect(p.check('127.0.0.1', '127.0.0.1')).toBeUndefined();
    expect(p.check('127.0.0.2', '127.0.0.2')).toMatchObject({ address: '127.0.0.2', reason: 'a loopback address' });
    expect(p.check('x', '::ffff:127.0.0.1')).toBeUndefined();
    expect(p.check('x', '10.255.1.1')).toBeUndefined();
    expect(p.check('x', '::ffff:10.255.1.1')).toBeUndefined();
    expect(p.check('x', '172.16.0.1')?.reason).toBe('a private address');
    expect(p.check('x', 'fd12::1')).toBeUndefined();
    expect(p.check('x', 'fc00::1')?.reason).toMatch(/unique-local/);
    expect(p.check('IDP.internal.', '192.168.0.9')).toBeUndefined();
    expect(p.check('other.internal', '192.168.0.9')?.reason).toBe('a private address');
    // Public addresses need no listing.
    expect(new AddressPolicy().check('example.com', '93.184.216.34')).toBeUndefined();
  });
});

/** A TCP listener that only counts connections: whatever reaches it, at any layer, is counted. */
async function startRecorder(host: string, port = 0): Promise<{ port: number; connections: number; close(): Promise<void> }> {
  const r = { port: 0, connections: 0, close: async () => undefined as void };
  const server: NetServer = createNetServer((socket) => {
    r.connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  r.port = (server.address() as { port: number }).port;
  r.close = () => new Promise((resolve) => server.close(() => resolve()));
  return r;
}

describe('the outbound client', () => {
  let http: Server;
  let https: HttpsServer;
  let base: string;
  let tlsBase: string;
  let private2: Awaited<ReturnType<typeof startRecorder>>;
  const seen: { url: string; method: string; headers: IncomingHttpHeaders; body: string }[] = [];

  beforeAll(async () => {
    private2 = await startRecorder('127.0.0.2');
    const handler = (scheme: string) => (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ url: `${scheme} ${req.url}`, method: req.method!, headers: req.headers, body });
        const u = new URL(req.url!, 'http://x');
        const to = u.searchParams.get('to');
        if (u.pathname === '/redirect') return res.writeHead(Number(u.searchParams.get('status') ?? 302), { location: to! }).end('moved');
        if (u.pathname === '/loop') return res.writeHead(302, { location: `/loop?n=${Number(u.searchParams.get('n') ?? 0) + 1}` }).end();
        if (u.pathname === '/big') return res.writeHead(200).end('x'.repeat(5000));
        if (u.pathname === '/slow') return setTimeout(() => res.writeHead(200).end('late'), 3000);
        res.writeHead(200, { 'content-type': 'text/plain' }).end(`hello from ${req.url}`);
      });
    };
    http = createServer(handler('http'));
    await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(http.address() as { port: number }).port}`;
    const cert = suiteCert();
    https = createHttpsServer({ cert: cert.cert, key: cert.key }, handler('https'));
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    tlsBase = `https://localhost:${(https.address() as { port: number }).port}`;
  });
  afterAll(async () => {
    http.closeAllConnections();
    https.closeAllConnections();
    await Promise.all([new Promise((r) => http.close(r)), new Promise((r) => https.close(r)), private2.close()]);
  });

  const refusal = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as OutboundError);

  it('with LATCHKEY_OUTBOUND_ALLOW=127.0.0.1, reaches 127.0.0.1 but not 127.0.0.2, saying why in one warn line', async () => {
    const { logger, lines } = recordingLogger();
    const client = outboundClient('127.0.0.1', { logger });
    expect((await client.request(`${base}/hi`, { purpose: 'test' })).body.toString()).toBe('hello from /hi');
    const err = await refusal(client.request(`http://127.0.0.2:${private2.port}/`, { purpose: 'API connector' }));
    expect(err).toBeInstanceOf(OutboundError);
    expect(err!.kind).toBe('unreachable');
    expect(err!.message).toBe(`127.0.0.2:${private2.port} cannot be reached`);
    expect(private2.connections).toBe(0);
    const warn = lines.filter((l) => l.level === 40);
    expect(warn).toHaveLength(1);
    expect(warn[0]).toMatchObject({ purpose: 'API connector', host: '127.0.0.2', address: '127.0.0.2', reason: 'a loopback address' });
    expect(warn[0]!.msg).toContain('LATCHKEY_OUTBOUND_ALLOW');
  });

  it('refuses the metadata service and private addresses named directly, before any connection', async () => {
    const client = outboundClient('');
    for (const url of ['https://169.254.169.254/latest/meta-data/', 'https://10.0.0.1/', 'https://10.20.30.40:8443/admin', 'https://[::ffff:169.254.169.254]/', 'https://[fd00::1]/', 'https://0.0.0.0/', 'https://2130706433/']) {
      const err = await refusal(client.request(url, { purpose: 'test', timeoutMs: 20_000 }));
      expect(err?.refusal, url).toBeDefined();
    }
    // http is for this machine only: off the loopback it is refused before anything else.
    expect((await refusal(client.request('http://169.254.169.254/', { purpose: 'test' })))?.kind).toBe('invalid_url');
  });

  it('refuses a host name that resolves to a private address, and uses only the allowed addresses of a mixed answer', async () => {
    const port = Number(new URL(base).port);
    const { logger, lines } = recordingLogger();
    const resolve = async (name: string) => (name === 'intranet.contoso.example' ? [{ address: '10.1.2.3', family: 4 }] : []);
    const client = outboundClient('127.0.0.1', { logger, resolve });
    const err = await refusal(client.request(`https://intranet.contoso.example:${port}/`, { purpose: 'page layout' }));
    expect(err?.refusal).toEqual({ host: 'intranet.contoso.example', address: '10.1.2.3', reason: 'a private address' });
    expect(lines.at(-1)).toMatchObject({ level: 40, host: 'intranet.contoso.example', address: '10.1.2.3' });
    // A mixed answer: only 127.0.0.1 (allowed) is given to the connection; 127.0.0.2 is never tried
    // (a listener there, on the same port, counts connections).
    const twin = await startRecorder('127.0.0.2', port);
    try {
      const mixed = outboundClient('127.0.0.1', { resolve: async () => [{ address: '127.0.0.2', family: 4 }, { address: '127.0.0.1', family: 4 }] });
      expect((await mixed.request(`http://localhost:${port}/pinned`, { purpose: 'test' })).body.toString()).toBe('hello from /pinned');
      expect(twin.connections).toBe(0);
    } finally {
      await twin.close();
    }
    // localhost with nothing allowed is refused as well (the system's resolver).
    const none = outboundClient('');
    expect((await refusal(none.request(`${base.replace('127.0.0.1', 'localhost')}/`, { purpose: 'test' })))?.refusal?.reason).toBe('a loopback address');
  });

  it('reaches a host name the operator listed whatever it resolves to, on the address it checked', async () => {
    const port = Number(new URL(tlsBase).port);
    const calls: string[] = [];
    // The suite's certificate names localhost: the resolver makes localhost point at the test server.
    const client = outboundClient('localhost', { resolve: async (name) => (calls.push(name), [{ address: '127.0.0.1', family: 4 }]) });
    const res = await client.request(`https://localhost:${port}/named`, { purpose: 'test' });
    expect(res.body.toString()).toBe('hello from /named');
    expect(calls).toEqual(['localhost']);
  });

  it('follows at most five redirects, checking every hop: a redirect to 127.0.0.2 never arrives', async () => {
    const client = outboundClient('127.0.0.1');
    seen.length = 0;
    const err = await refusal(client.request(`${base}/redirect?to=${encodeURIComponent(`http://127.0.0.2:${private2.port}/`)}`, { purpose: 'page layout', redirect: 'follow' }));
    expect(err?.refusal?.address).toBe('127.0.0.2');
    expect(private2.connections).toBe(0);
    expect(seen.map((s) => s.url)).toHaveLength(1);

    seen.length = 0;
    const loop = await refusal(client.request(`${base}/loop`, { purpose: 'test', redirect: 'follow' }));
    expect(loop?.kind).toBe('redirect');
    expect(seen).toHaveLength(6);

    const followed = await client.request(`${base}/redirect?to=/final`, { purpose: 'test', redirect: 'follow' });
    expect([followed.status, followed.url, followed.body.toString()]).toEqual([200, `${base}/final`, 'hello from /final']);
    const manual = await client.request(`${base}/redirect?to=/final`, { purpose: 'test', redirect: 'manual' });
    expect([manual.status, manual.headers.get('location')]).toEqual([302, '/final']);
    expect((await refusal(client.request(`${base}/redirect?to=/final`, { purpose: 'test' })))?.kind).toBe('redirect');
  });

  it('never follows https down to http, even to an allowed address', async () => {
    const client = outboundClient('127.0.0.1,localhost');
    seen.length = 0;
    const err = await refusal(client.request(`${tlsBase}/redirect?to=${encodeURIComponent(`${base}/plain`)}`, { purpose: 'page layout', redirect: 'follow' }));
    expect(err?.kind).toBe('unreachable');
    expect(seen.map((s) => s.url)).toEqual([`https /redirect?to=${encodeURIComponent(`${base}/plain`)}`]);
  });

  it('keeps credentials to their origin, and turns a POST into a GET after a 303', async () => {
    const client = outboundClient('127.0.0.1,localhost');
    seen.length = 0;
    const other = base.replace('127.0.0.1', 'localhost');
    await client.request(`${base}/redirect?status=307&to=${encodeURIComponent(`${other}/landed`)}`, { purpose: 'test', method: 'POST', body: 'a=1', headers: { authorization: 'Bearer secret', 'content-type': 'text/plain' }, redirect: 'follow' });
    expect(seen.map((s) => [s.method, s.headers.authorization, s.body])).toEqual([['POST', 'Bearer secret', 'a=1'], ['POST', undefined, 'a=1']]);
    seen.length = 0;
    await client.request(`${base}/redirect?status=303&to=/landed`, { purpose: 'test', method: 'POST', body: 'a=1', headers: { 'content-type': 'text/plain' }, redirect: 'follow' });
    expect(seen.map((s) => [s.method, s.headers['content-type'], s.body])).toEqual([['POST', 'text/plain', 'a=1'], ['GET', undefined, '']]);
  });

  it('keeps to its size limit and its timeout', async () => {
    const client = outboundClient('127.0.0.1');
    expect((await refusal(client.request(`${base}/big`, { purpose: 'test', maxBytes: 1000 })))?.kind).toBe('too_large');
    expect((await client.request(`${base}/big`, { purpose: 'test', maxBytes: 5000 })).body.length).toBe(5000);
    const t0 = Date.now();
    expect((await refusal(client.request(`${base}/slow`, { purpose: 'test', timeoutMs: 200 })))?.kind).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  it('as a fetch function: refused and unreachable calls reject with a TypeError, a timeout with the signal\'s reason', async () => {
    const client: OutboundClient = outboundClient('127.0.0.1');
    const f = client.fetcher('identity provider');
    const ok = await f(`${base}/x`, { method: 'GET', headers: { accept: 'text/plain' }, body: undefined, redirect: 'manual' });
    expect([ok.status, await ok.text()]).toEqual([200, 'hello from /x']);
    const redirected = await f(`${base}/redirect?to=/x`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual' });
    expect(redirected.status).toBe(302);
    await expect(f(`http://127.0.0.2:${private2.port}/`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual' })).rejects.toBeInstanceOf(TypeError);
    await expect(f(`${base}/slow`, { method: 'GET', headers: {}, body: undefined, redirect: 'manual', signal: AbortSignal.timeout(200) })).rejects.toMatchObject({ name: 'TimeoutError' });
    const posted = await f(`${base}/form`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ a: 'b' }), redirect: 'manual' });
    expect(posted.status).toBe(200);
    expect(seen.at(-1)?.body).toBe('a=b');
    expect(private2.connections).toBe(0);
  });
});
