import { lookup as systemLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import { request as httpRequest, type IncomingMessage, type RequestOptions } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { isIP } from 'node:net';
import type { Logger } from 'pino';
import { normalizeHost, type AddressPolicy, type Refusal } from './address-policy.js';

/**
 * The one HTTP client for everything Latchkey fetches: page layouts, API connectors, upstream identity
 * providers (openid-client's requests), the legacy ROPC endpoint. Made per app instance (Deps).
 *
 * Every connection is checked where it is made: the host name is resolved inside the connection's own
 * DNS lookup, each address is checked against the instance's AddressPolicy, and the connection is made
 * only to an address that passed — so nothing can change between the check and the connect (DNS
 * rebinding). Literal IP hosts are checked the same way. Redirects are followed here, hop by hop, each
 * hop checked again (its scheme too: an https chain is never downgraded to http). A refused call fails
 * as an unreachable host does, and the operator gets one warn line saying what was refused and why.
 */

/** How many redirects `redirect: 'follow'` takes before giving up. */
export const MAX_REDIRECTS = 5;
/** What a response body may weigh when the caller gives no limit. */
export const DEFAULT_MAX_BYTES = 1024 * 1024;

/** Host names that may be reached over plain http (the machine itself, as the configuration rules say). */
const LOOPBACK_NAMES = new Set(['localhost', '127.0.0.1', '::1']);

/** Resolves a host name to its addresses; the system's resolver unless a test gives another. */
export type Resolver = (hostname: string) => Promise<LookupAddress[]>;

export interface OutboundClientOptions {
  policy: AddressPolicy;
  logger: Logger;
  /**
   * For tests only: resolves host names in place of the system's resolver (getaddrinfo), so a test can
   * make a name resolve to a private address, or name a server on 127.0.0.1 as if it were public. The
   * addresses it returns are checked and pinned exactly as the system's are.
   */
  resolve?: Resolver;
}

/**
 * Why a call failed. `unreachable` covers both a host that could not be connected to and one the
 * address policy refused (`refusal` then says why; callers treat both alike).
 */
export type OutboundFailure = 'unreachable' | 'timeout' | 'too_large' | 'redirect' | 'invalid_url';

export class OutboundError extends Error {
  constructor(
    readonly kind: OutboundFailure,
    message: string,
    readonly refusal?: Refusal,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'OutboundError';
  }
}

export interface OutboundRequest {
  /** What the call is for, in the log line of a refusal: 'page layout', 'API connector', … */
  purpose: string;
  method?: string;
  headers?: Record<string, string>;
  body?: string | Uint8Array;
  /**
   * `follow`: up to MAX_REDIRECTS redirects, each hop checked; `manual`: a 3xx answer is the answer;
   * `error` (the default): a 3xx answer fails the call.
   */
  redirect?: 'follow' | 'manual' | 'error';
  /** One limit for the whole exchange (every hop, connect, answer and body). */
  timeoutMs?: number;
  signal?: AbortSignal;
  /** The largest body taken (DEFAULT_MAX_BYTES when not given); a larger one fails the call. */
  maxBytes?: number;
  /** A client certificate for https (PKCS#12); never sent to another origin after a redirect. */
  tls?: { pfx?: Buffer; passphrase?: string };
}

export interface OutboundResponse {
  status: number;
  statusText: string;
  headers: Headers;
  /** The URL that gave this answer (after redirects). */
  url: string;
  body: Buffer;
}

/** The body types openid-client (oauth4webapi) hands to a custom fetch. */
type FetchBody = ArrayBuffer | null | ReadableStream | string | Uint8Array | undefined | URLSearchParams;

/** A Fetch API-compatible function, as openid-client's `customFetch` takes it. */
export type OutboundFetch = (url: string, init: { method: string; headers: Record<string, string>; body: FetchBody; redirect?: 'manual' | 'follow' | 'error'; signal?: AbortSignal }) => Promise<Response>;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);
/** Statuses a Response may not have a body with. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

function isLoopbackName(host: string): boolean {
  if (LOOPBACK_NAMES.has(host)) return true;
  // A literal loopback address: the address policy decides whether it may be reached at all.
  return isIP(host) === 4 && host.startsWith('127.');
}

export class OutboundClient {
  private readonly resolve: Resolver;

  constructor(private readonly o: OutboundClientOptions) {
    this.resolve =
      o.resolve ??
      ((hostname) =>
        new Promise((resolve, reject) => systemLookup(hostname, { all: true, verbatim: true }, (err, addresses) => (err ? reject(err) : resolve(addresses)))));
  }

  /** Makes the call, following redirects as `req.redirect` says; the body is read whole (up to maxBytes). */
  async request(input: string | URL, req: OutboundRequest): Promise<OutboundResponse> {
    const signals = [req.signal, req.timeoutMs === undefined ? undefined : AbortSignal.timeout(req.timeoutMs)].filter((s): s is AbortSignal => s !== undefined);
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    let url: URL;
    try {
      url = new URL(input);
    } catch {
      throw new OutboundError('invalid_url', `${String(input).slice(0, 200)} is not a URL`);
    }
    let method = (req.method ?? 'GET').toUpperCase();
    let body = req.body;
    let headers: Record<string, string> = { 'user-agent': 'Latchkey', ...lowerKeys(req.headers ?? {}) };
    let tls = req.tls;
    let chainIsHttps = url.protocol === 'https:';
    for (let hop = 0; ; hop++) {
      this.checkScheme(url, chainIsHttps, req.purpose);
      chainIsHttps ||= url.protocol === 'https:';
      const answer = await this.exchange(url, { method, headers, body, tls, maxBytes: req.maxBytes ?? DEFAULT_MAX_BYTES, purpose: req.purpose }, signal);
      const location = answer.headers.get('location');
      if (!REDIRECTS.has(answer.status) || location === null || req.redirect === 'manual') return answer;
      if (req.redirect !== 'follow') throw new OutboundError('redirect', `${url.host} answered with a redirect`);
      if (hop >= MAX_REDIRECTS) throw new OutboundError('redirect', `${url.host}: more than ${MAX_REDIRECTS} redirects`);
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new OutboundError('redirect', `${url.host} redirected to an invalid URL`);
      }
      // As browsers do: credentials stay with the origin they were meant for.
      if (next.origin !== url.origin) {
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => k !== 'authorization' && k !== 'cookie' && k !== 'proxy-authorization'));
        tls = undefined;
      }
      // 303 (and 301/302 after a POST) turn the request into a GET without a body (Fetch, RFC 9110 §15.4).
      if ((answer.status === 303 && method !== 'GET' && method !== 'HEAD') || ((answer.status === 301 || answer.status === 302) && method === 'POST')) {
        method = 'GET';
        body = undefined;
        headers = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith('content-')));
      }
      url = next;
    }
  }

  /**
   * A Fetch API function over this client, for libraries that take one (openid-client's
   * `customFetch`). Failures reject as fetch's do: a TypeError for a host that cannot be reached (or
   * is refused), the signal's reason when it aborts.
   */
  fetcher(purpose: string, maxBytes = DEFAULT_MAX_BYTES): OutboundFetch {
    return async (url, init) => {
      let answer: OutboundResponse;
      try {
        answer = await this.request(url, {
          purpose,
          method: init.method,
          headers: init.headers,
          body: await bodyBytes(init.body),
          redirect: init.redirect ?? 'follow',
          maxBytes,
          ...(init.signal ? { signal: init.signal } : {}),
        });
      } catch (err) {
        if (init.signal?.aborted) throw init.signal.reason;
        throw new TypeError('fetch failed', { cause: err });
      }
      if (answer.status < 200 || answer.status > 599) throw new TypeError('fetch failed', { cause: new Error(`status ${answer.status}`) });
      // (cast: with the DOM library in the program, for the XML libraries, a Buffer is not typed as a BodyInit)
      return new Response(NULL_BODY.has(answer.status) ? null : (answer.body as unknown as BodyInit), { status: answer.status, statusText: answer.statusText, headers: answer.headers });
    };
  }

  /** https, or http to this machine; a chain that started (or went) https stays https. */
  private checkScheme(url: URL, chainIsHttps: boolean, purpose: string): void {
    if (url.protocol === 'https:') return;
    if (url.protocol !== 'http:') throw new OutboundError('invalid_url', `${url.protocol} URLs cannot be fetched`);
    const host = normalizeHost(url.hostname);
    if (chainIsHttps) {
      this.o.logger.warn({ purpose, url: url.origin }, `outbound call refused: a redirect from https to http (${url.origin}) is never followed`);
      throw new OutboundError('unreachable', `${url.host} cannot be reached`, { host, address: '', reason: 'a redirect from https to http' });
    }
    if (!isLoopbackName(host)) throw new OutboundError('invalid_url', `http is allowed for this machine only (${url.host}); use https`);
  }

  /** One request and its answer, on a connection made only to an address the policy allows. */
  private exchange(
    url: URL,
    r: { method: string; headers: Record<string, string>; body: string | Uint8Array | undefined; tls: OutboundRequest['tls']; maxBytes: number; purpose: string },
    signal: AbortSignal | undefined,
  ): Promise<OutboundResponse> {
    const host = normalizeHost(url.hostname);
    if (isIP(host) !== 0) {
      // A literal address is never looked up (net.connect skips the lookup), so it is checked here.
      const refusal = this.o.policy.check(host, host);
      if (refusal) return Promise.reject(this.refused(refusal, r.purpose, url));
    }
    return new Promise<OutboundResponse>((resolve, reject) => {
      let refusal: Refusal | undefined;
      const options: RequestOptions & { pfx?: Buffer; passphrase?: string } = {
        method: r.method,
        headers: { ...r.headers, ...(r.body !== undefined ? { 'content-length': String(Buffer.byteLength(r.body)) } : {}) },
        // A connection of its own each time: no pooled socket made without this check is ever reused.
        agent: false,
        lookup: (hostname: string, opts: LookupOptions, callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void) => {
          this.resolve(hostname).then(
            (all) => {
              const wanted = all.filter((a) => !opts.family || a.family === opts.family);
              const allowed = wanted.filter((a) => this.o.policy.check(hostname, a.address) === undefined);
              if (allowed.length === 0) {
                const first = wanted[0];
                refusal = first ? this.o.policy.check(hostname, first.address) : { host: normalizeHost(hostname), address: '(none)', reason: 'no address' };
                callback(Object.assign(new Error(`${hostname} refused`), { code: 'EOUTBOUNDREFUSED' }), '', 0);
                return;
              }
              if (opts.all) callback(null, allowed);
              else callback(null, allowed[0]!.address, allowed[0]!.family);
            },
            (err: NodeJS.ErrnoException) => callback(err, '', 0),
          );
        },
        ...(signal ? { signal } : {}),
        ...(url.protocol === 'https:' && r.tls ? r.tls : {}),
      };
      const onAnswer = (res: IncomingMessage) => {
        const chunks: Buffer[] = [];
        let size = 0;
        let done = false;
        const fail = (err: OutboundError) => {
          if (done) return;
          done = true;
          res.destroy();
          reject(err);
        };
        const onAbort = () => fail(new OutboundError('timeout', `${url.host} did not answer in time`, undefined, signal?.reason));
        signal?.addEventListener('abort', onAbort, { once: true });
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > r.maxBytes) return fail(new OutboundError('too_large', `${url.host} answered with more than ${r.maxBytes} bytes`));
          chunks.push(chunk);
        });
        res.on('end', () => {
          signal?.removeEventListener('abort', onAbort);
          if (done) return;
          done = true;
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: toHeaders(res.rawHeaders), url: url.href, body: Buffer.concat(chunks) });
        });
        res.on('error', (err) => {
          signal?.removeEventListener('abort', onAbort);
          fail(signal?.aborted ? new OutboundError('timeout', `${url.host} did not answer in time`, undefined, signal.reason) : new OutboundError('unreachable', `${url.host} cannot be reached`, undefined, err));
        });
      };
      const req = url.protocol === 'https:' ? httpsRequest(url, options, onAnswer) : httpRequest(url, options, onAnswer);
      req.on('error', (err: NodeJS.ErrnoException) => {
        if (refusal) reject(this.refused(refusal, r.purpose, url));
        else if (signal?.aborted) reject(new OutboundError('timeout', `${url.host} did not answer in time`, undefined, signal.reason));
        else reject(new OutboundError('unreachable', `${url.host} cannot be reached`, undefined, err));
      });
      req.end(r.body);
    });
  }

  /** The refusal's one warn line, and the error the caller sees (the same as for an unreachable host). */
  private refused(refusal: Refusal, purpose: string, url: URL): OutboundError {
    this.o.logger.warn(
      { purpose, host: refusal.host, address: refusal.address, reason: refusal.reason },
      `outbound call refused: ${refusal.host}${refusal.address && refusal.address !== refusal.host ? ` (${refusal.address})` : ''} is ${refusal.reason}; ` +
        'an operator allows such hosts with LATCHKEY_OUTBOUND_ALLOW (host names, addresses or CIDR ranges)',
    );
    return new OutboundError('unreachable', `${url.host} cannot be reached`, refusal);
  }
}

function lowerKeys(h: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(h).map(([k, v]) => [k.toLowerCase(), v]));
}

function toHeaders(raw: string[]): Headers {
  const h = new Headers();
  for (let i = 0; i + 1 < raw.length; i += 2) {
    try {
      h.append(raw[i]!, raw[i + 1]!);
    } catch {
      // a header the Fetch API will not hold (an invalid name or value) is dropped, as fetch drops it
    }
  }
  return h;
}

async function bodyBytes(body: FetchBody): Promise<string | Uint8Array | undefined> {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string' || body instanceof Uint8Array) return body;
  if (body instanceof URLSearchParams) return body.toString();
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  return new Uint8Array(await new Response(body).arrayBuffer());
}
