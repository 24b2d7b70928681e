import { safeEqual, sha256 } from '../crypto/secrets.js';
import type { App, Store } from '../store/store.js';
import { confidentialTypes } from '../store/store.js';
import { OAuthError } from './errors.js';

export interface ClientCredentialsInput {
  authorization: string | undefined;
  clientId: string | undefined;
  clientSecret: string | undefined;
}

export interface AuthenticatedClient {
  app: App;
  method: 'client_secret_basic' | 'client_secret_post' | 'none';
}

/** RFC 6749 §5.2: invalid_client is a 401, with a Basic challenge when the client tried Basic. */
function invalidClient(msg: string, basic: boolean, b2cCode?: string): OAuthError {
  return new OAuthError('invalid_client', msg, {
    ...(b2cCode ? { b2cCode } : {}),
    ...(basic ? { wwwAuthenticate: 'Basic realm="latchkey", charset="UTF-8"' } : {}),
  });
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
 * Authenticates the client at the token endpoint: client_secret_basic, client_secret_post, or none
 * (public clients, which then rely on PKCE). Using two methods at once is refused (RFC 6749 §2.3).
 */
export async function authenticateClient(store: Store, tenantId: string, input: ClientCredentialsInput): Promise<AuthenticatedClient> {
  const basicHeader = input.authorization?.toLowerCase().startsWith('basic ') ? input.authorization : undefined;
  let id: string | undefined;
  let secret: string | undefined;
  let method: AuthenticatedClient['method'];
  if (basicHeader) {
    const basic = parseBasic(basicHeader);
    if (!basic) throw invalidClient('The Authorization header is malformed.', true);
    if (input.clientSecret !== undefined) {
      throw new OAuthError('invalid_request', 'The client used more than one authentication method.');
    }
    if (input.clientId !== undefined && input.clientId !== basic.id) {
      throw new OAuthError('invalid_request', 'client_id does not match the Authorization header.');
    }
    ({ id, secret } = basic);
    method = 'client_secret_basic';
  } else {
    id = input.clientId;
    secret = input.clientSecret;
    method = secret !== undefined ? 'client_secret_post' : 'none';
  }
  if (!id) throw invalidClient("The request is missing the 'client_id' parameter.", false, 'AADB2C90008');
  const app = /^[\w-]{1,64}$/.test(id) ? await store.findApp(tenantId, id) : undefined;
  if (!app) throw invalidClient(`The application '${id}' is not registered in this tenant.`, method === 'client_secret_basic');

  if (confidentialTypes.has(app.type)) {
    if (secret === undefined || secret === '') {
      throw invalidClient('The client secret is missing.', method === 'client_secret_basic', 'AADB2C90079');
    }
    if (!app.secretHash || !safeEqual(sha256(secret), app.secretHash)) {
      throw invalidClient('The client secret is not valid.', method === 'client_secret_basic', 'AADB2C90081');
    }
    return { app, method };
  }
  if (secret !== undefined) {
    throw invalidClient('A public client must not send a client secret.', method === 'client_secret_basic', 'AADB2C90084');
  }
  return { app, method: 'none' };
}
