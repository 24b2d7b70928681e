import { safeEqual, sha256 } from '../crypto/secrets.js';
import type { Store } from '../store/store.js';
import type { App } from '../model/entities.js';
import { actsAsPublicClient, holdsCredentials, type ClientKind } from '../model/platforms.js';
import { B2C_CODES, OAuthError, type B2cCode } from '../model/errors.js';
import { findClient } from '../services/enterprise-apps.js';

export interface ClientCredentialsInput {
  authorization: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
  /** RFC 7523 client assertion parameters: Latchkey supports no JWT client authentication. */
  clientAssertion?: string | undefined;
  clientAssertionType?: string | undefined;
}

/**
 * The client a token, introspection or revocation request names, its secret checked when one was sent.
 * Whether a secret is needed depends on the request (the platform a code was issued through, the
 * grant), so the app is reached through `as`, which holds the request to that client type.
 */
export interface AuthenticatedClient {
  readonly clientId: string;
  readonly method: 'client_secret_basic' | 'client_secret_post' | 'none';
  /** What the app registered, to tell which client type a request is; never to let one through (that is `as`). */
  readonly registration: Readonly<App>;
  /**
   * The app, if the request may be made as `kind`: `confidential` needs the secret (RFC 6749 §3.2.1),
   * `public` must not send one (B2C's AADB2C90084; PKCE proves the request), `either` takes a secret
   * when sent and its absence only from an app with a public side. Otherwise invalid_client.
   */
  as(kind: ClientKind | 'either', why?: string): App;
}

/** What discovery advertises: exactly the methods `authenticateClient` accepts. */
export const TOKEN_ENDPOINT_AUTH_METHODS = ['client_secret_post', 'client_secret_basic', 'none'] as const;

const BASIC_CHALLENGE = 'Basic realm="latchkey", charset="UTF-8"';

/** RFC 6749 §5.2: invalid_client is a 401, with a Basic challenge when the client tried Basic. */
function invalidClient(msg: string, basic: boolean, b2cCode?: B2cCode): OAuthError {
  return new OAuthError('invalid_client', msg, {
    ...(b2cCode ? { b2cCode } : {}),
    ...(basic ? { wwwAuthenticate: BASIC_CHALLENGE } : {}),
  });
}

function twoMethods(detail: string): OAuthError {
  return new OAuthError('invalid_request', `The client used more than one authentication method (${detail}); use exactly one.`);
}

/** RFC 6749 §2.3.1: `Basic base64(urlencode(id):urlencode(secret))`. */
function parseBasic(header: string): { id: string; secret: string } | undefined {
  const m = /^Basic ([A-Za-z0-9+/=]+)$/i.exec(header.trim());
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  try {
    return {
      id: decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' ')),
      secret: decodeURIComponent(decoded.slice(colon + 1).replace(/\+/g, ' ')),
    };
  } catch {
    return undefined;
  }
}

/**
 * Which method the request uses, refusing any request that carries two (RFC 6749 §2.3: a client MUST
 * NOT use more than one per request). An Authorization header of any form counts as an attempt at
 * client_secret_basic: an empty `Basic` next to body credentials is not quietly ignored.
 */
function chooseMethod(input: ClientCredentialsInput): { method: AuthenticatedClient['method']; id: string | undefined; secret: string | undefined } {
  const header = input.authorization?.trim();
  const assertion = input.clientAssertion !== undefined || input.clientAssertionType !== undefined;
  if (header !== undefined && header !== '') {
    if (assertion) throw twoMethods('an Authorization header and a client assertion');
    if (input.clientSecret !== undefined) throw twoMethods('an Authorization header and client_secret');
    if (!/^basic(\s|$)/i.test(header)) {
      throw invalidClient('The token endpoint takes client credentials only as HTTP Basic (client_secret_basic) or in the body (client_secret_post).', true);
    }
    const basic = parseBasic(header);
    if (!basic) throw invalidClient('The Authorization header is malformed.', true);
    if (input.clientId !== undefined && input.clientId !== basic.id) {
      throw new OAuthError('invalid_request', 'client_id does not match the Authorization header.');
    }
    return { method: 'client_secret_basic', id: basic.id, secret: basic.secret };
  }
  if (assertion) {
    if (input.clientSecret !== undefined) throw twoMethods('client_secret and a client assertion');
    throw invalidClient(
      'Client assertions (private_key_jwt, client_secret_jwt) are not supported; authenticate with client_secret_basic or client_secret_post.',
      false,
    );
  }
  return { method: input.clientSecret !== undefined ? 'client_secret_post' : 'none', id: input.clientId, secret: input.clientSecret };
}

/**
 * Authenticates the client at the token endpoint: client_secret_basic, client_secret_post, or none
 * (public clients, which then rely on PKCE). A secret that is sent is checked here (one SHA-256);
 * whether one had to be sent is the request's to say (`as`).
 */
export async function authenticateClient(store: Store, tenantId: string, input: ClientCredentialsInput, now: number): Promise<AuthenticatedClient> {
  const { method, id, secret } = chooseMethod(input);
  const basic = method === 'client_secret_basic';
  if (!id) throw invalidClient("The request is missing the 'client_id' parameter.", basic, B2C_CODES.missingClientId);
  // The tenant's own app, or a multi-tenant app of another tenant (each grant checks what it may do here).
  const app = /^[\w-]{1,64}$/.test(id) ? await findClient(store, tenantId, id) : undefined;
  if (!app) throw invalidClient(`The application '${id}' is not registered in this tenant.`, basic);

  if (method !== 'none') {
    if (!holdsCredentials(app)) throw invalidClient('A public client must not send a client secret.', basic, B2C_CODES.publicClientWithSecret);
    if (secret === undefined || secret === '') throw invalidClient('The client secret is missing.', basic, B2C_CODES.missingClientSecret);
    // Any live secret of the app (several while one is being rotated).
    const hash = sha256(secret);
    if (!app.secrets.some((s) => (s.expiresAt === null || s.expiresAt > now) && safeEqual(hash, s.hash))) {
      throw invalidClient('The client secret is not valid.', basic, B2C_CODES.wrongClientSecret);
    }
  }
  return new Client(app, method);
}

class Client implements AuthenticatedClient {
  constructor(
    readonly registration: App,
    readonly method: AuthenticatedClient['method'],
  ) {}

  get clientId(): string {
    return this.registration.clientId;
  }

  as(kind: ClientKind | 'either', why?: string): App {
    const sent = this.method !== 'none';
    const because = why ? ` (${why})` : '';
    if (!sent && (kind === 'confidential' || (kind === 'either' && !actsAsPublicClient(this.registration)))) {
      throw invalidClient(`The client secret is missing${because}.`, false, B2C_CODES.missingClientSecret);
    }
    if (sent && kind === 'public') {
      throw invalidClient(`A public client must not send a client secret${because}.`, this.method === 'client_secret_basic', B2C_CODES.publicClientWithSecret);
    }
    return this.registration;
  }
}
