import { createServer, type Server } from 'node:http';
import { exportJWK, generateKeyPair } from 'jose';
import Provider, { type KoaContextWithOIDC } from 'oidc-provider';

/** An account at the upstream provider: what its claims say about the user. */
export interface UpstreamAccount {
  email?: string;
  email_verified?: boolean;
  given_name?: string;
  family_name?: string;
  name?: string;
}

export interface UpstreamClient {
  clientId: string;
  secret: string;
  redirectUri: string;
  /** Sign id_tokens otherwise than with the provider's RS256 key. */
  idTokenAlg?: 'HS256';
}

export interface UpstreamOp {
  issuer: string;
  discoveryUrl: string;
  accounts: Map<string, UpstreamAccount>;
  close(): Promise<void>;
}

/**
 * node-oidc-provider as the upstream identity provider, on 127.0.0.1, with its development sign-in
 * page (any login name is an account id; claims come from `accounts`) and consent given by default,
 * so a browser goes login → back to the relying party.
 */
export async function startUpstreamOp(clients: UpstreamClient[], opts: { host?: 'localhost' | '127.0.0.1' } = {}): Promise<UpstreamOp> {
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, host, resolve));
  const port = (server.address() as { port: number }).port;
  // Named 'localhost', the provider is another site than a relying party on 127.0.0.1 (SameSite rules apply).
  const issuer = `http://${host}:${port}`;
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
  const jwk = { ...(await exportJWK(privateKey)), kid: 'upstream', alg: 'RS256', use: 'sig' };
  const accounts = new Map<string, UpstreamAccount>();
  const provider = new Provider(issuer, {
    clients: clients.map((c) => ({
      client_id: c.clientId,
      client_secret: c.secret,
      redirect_uris: [c.redirectUri],
      response_types: ['code'],
      grant_types: ['authorization_code'],
      token_endpoint_auth_method: 'client_secret_post',
      ...(c.idTokenAlg ? { id_token_signed_response_alg: c.idTokenAlg } : {}),
    })),
    jwks: { keys: [jwk] },
    cookies: { keys: ['upstream-test-cookie-key'] },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'] },
    // The id_token carries the claims (not only userinfo), as most providers send them.
    conformIdTokenClaims: false,
    features: { devInteractions: { enabled: true } },
    enabledJWA: { idTokenSigningAlgValues: ['RS256', 'HS256'] },
    pkce: { required: () => true },
    findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub, ...(accounts.get(sub) ?? {}) }) }),
    // Consent is implied: the test's user is always willing.
    async loadExistingGrant(ctx: KoaContextWithOIDC) {
      const grant = new ctx.oidc.provider.Grant({ clientId: ctx.oidc.client!.clientId, accountId: ctx.oidc.session!.accountId! });
      grant.addOIDCScope('openid email profile');
      await grant.save();
      return grant;
    },
  });
  server.on('request', provider.callback());
  return {
    issuer,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    accounts,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}

/** A server that accepts connections and never answers: an upstream that hangs. */
export async function startSilentServer(): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<import('node:net').Socket>();
  const server = (await import('node:net')).createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () => new Promise((resolve) => {
      for (const s of sockets) s.destroy();
      server.close(() => resolve());
    }),
  };
}
