// node-oidc-provider, configured to do what Latchkey does in the benchmark: RS256, JWT access tokens
// for an API, client_credentials, authorization_code and rotating refresh tokens. It pre-issues
// codes and refresh tokens (written to POOL_FILE) so their grants can be measured alone.
import { writeFileSync } from 'node:fs';
import { exportJWK, generateKeyPair } from 'jose';
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;
const CB = 'http://127.0.0.1:9/cb';
const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true });
const jwk = { ...(await exportJWK(privateKey)), kid: 'peer', alg: 'RS256', use: 'sig' };
const RESOURCE = 'https://api.example/';

/**
 * A plain Map adapter: the development adapter that ships with oidc-provider is an LRU of 1,000
 * entries, which forgets pre-issued tokens. A Map is also cheaper than any database, so it flatters
 * the peer, not Latchkey.
 */
const storage = new Map<string, Record<string, unknown>>();
const grants = new Map<string, Set<string>>();
class MapAdapter {
  constructor(private readonly model: string) {}
  private key(id: string) {
    return `${this.model}:${id}`;
  }
  async upsert(id: string, payload: Record<string, unknown>) {
    storage.set(this.key(id), payload);
    if (typeof payload.grantId === 'string') {
      const set = grants.get(payload.grantId) ?? new Set<string>();
      set.add(this.key(id));
      grants.set(payload.grantId, set);
    }
  }
  async find(id: string) {
    return storage.get(this.key(id));
  }
  async findByUid(uid: string) {
    for (const v of storage.values()) if (v.uid === uid) return v;
    return undefined;
  }
  async findByUserCode(code: string) {
    for (const v of storage.values()) if (v.userCode === code) return v;
    return undefined;
  }
  async consume(id: string) {
    const v = storage.get(this.key(id));
    if (v) v.consumed = Math.floor(Date.now() / 1000);
  }
  async destroy(id: string) {
    storage.delete(this.key(id));
  }
  async revokeByGrantId(grantId: string) {
    for (const k of grants.get(grantId) ?? []) storage.delete(k);
    grants.delete(grantId);
  }
}

const provider = new Provider(issuer, {
  adapter: MapAdapter,
  clients: [
    { client_id: 'daemon', client_secret: 'daemon-secret', grant_types: ['client_credentials'], redirect_uris: [], response_types: [] },
    { client_id: 'web', client_secret: 'web-secret', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [CB], response_types: ['code'] },
  ],
  jwks: { keys: [jwk] },
  features: {
    clientCredentials: { enabled: true },
    devInteractions: { enabled: false },
    resourceIndicators: {
      enabled: true,
      defaultResource: () => RESOURCE,
      useGrantedResource: () => true,
      getResourceServerInfo: () => ({ scope: 'api', audience: 'api', accessTokenFormat: 'jwt', jwt: { sign: { alg: 'RS256' } } }),
    },
  },
  scopes: ['openid', 'offline_access', 'api'],
  pkce: { required: () => false },
  findAccount: async (_ctx, sub) => ({ accountId: sub, claims: async () => ({ sub }) }),
  issueRefreshToken: async () => true,
  rotateRefreshToken: true,
  ttl: { AccessToken: 3600, ClientCredentials: 3600, IdToken: 3600, RefreshToken: 14 * 86400, AuthorizationCode: 600, Grant: 14 * 86400 },
});

const pool = Number(process.env.POOL ?? 0);
if (pool > 0) {
  const client = await provider.Client.find('web');
  if (!client) throw new Error('no web client');
  const codes: string[] = [];
  const refreshTokens: string[] = [];
  const now = Math.floor(Date.now() / 1000);
  // Separate grants for codes and refresh tokens: a reused refresh token revokes its whole grant.
  const newGrant = async (account: string) => {
    const grant = new provider.Grant({ accountId: account, clientId: 'web' });
    grant.addOIDCScope('openid offline_access');
    grant.addResourceScope(RESOURCE, 'api');
    return grant.save();
  };
  for (let i = 0; i < pool; i++) {
    const account = `user-${i}`;
    const common = { accountId: account, client, scope: 'openid offline_access', authTime: now };
    codes.push(await new provider.AuthorizationCode({ ...common, grantId: await newGrant(account), gty: 'authorization_code', redirectUri: CB, resource: RESOURCE }).save());
    refreshTokens.push(await new provider.RefreshToken({ ...common, grantId: await newGrant(account), gty: 'authorization_code', resource: RESOURCE }).save());
  }
  writeFileSync(process.env.POOL_FILE!, JSON.stringify({ codes, refreshTokens }));
}
provider.listen(port, '127.0.0.1');
process.stdout.write('ready\n');
