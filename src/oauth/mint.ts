import { randomUUID } from 'node:crypto';
import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import type { App, Tenant, User } from '../model/entities.js';
import { idTokenClaims, userAccessTokenClaims } from './claims.js';
import { halfHash, signJwt } from '../tokens/sign.js';
import type { UserGrant } from './grant.js';
import { issuerFor } from '../model/issuer.js';
import type { Site } from '../model/site.js';

export interface MintedUserTokens {
  idToken?: string;
  idTokenExpiresIn: number;
  accessToken?: string;
  accessTokenExpiresIn: number;
  accessTokenJti?: string;
  accessTokenExp?: number;
  /** Epoch seconds the tokens were minted (B2C's `not_before`). */
  iat: number;
}

/**
 * Mints the id_token and/or access token of a user grant, signed with the tenant's active key.
 * `code` is set when a code is returned next to the id_token (hybrid: `c_hash`). `atHash` puts the
 * access token's hash in the id_token, which OIDC requires only when both leave the authorization
 * endpoint together; without it the two signatures run at the same time on the thread pool.
 */
export async function mintUserTokens(
  deps: Deps,
  args: {
    tenant: Tenant;
    policy: Policy;
    client: App;
    user: User;
    grant: UserGrant;
    /** Where the request came in: the issuer is written with its host. */
    site: Site;
    idToken: boolean;
    accessToken: boolean;
    includeNonce: boolean;
    atHash: boolean;
    code?: string;
  },
): Promise<MintedUserTokens> {
  const { tenant, policy, client, user, grant } = args;
  const keys = await deps.keys.forTenant(tenant.id);
  const iat = Math.floor(deps.clock.now() / 1000);
  const iss = issuerFor(args.site.baseUrl, tenant, grant.policyId);
  const idTtl = policy.tokens.idTokenMinutes * 60;
  const atTtl = policy.tokens.accessTokenMinutes * 60;
  const out: MintedUserTokens = { idTokenExpiresIn: idTtl, accessTokenExpiresIn: atTtl, iat };

  let accessToken: Promise<string> | undefined;
  if (args.accessToken) {
    const jti = randomUUID();
    const aud = grant.scopes.api?.clientId ?? client.clientId;
    accessToken = signJwt(keys, 'at+jwt', userAccessTokenClaims({ iss, aud, iat, exp: iat + atTtl }, user, policy, grant, client.clientId, jti));
    out.accessTokenJti = jti;
    out.accessTokenExp = iat + atTtl;
  }
  let idToken: Promise<string> | undefined;
  if (args.idToken) {
    const atHash = args.atHash && accessToken ? halfHash(await accessToken) : undefined;
    idToken = signJwt(
      keys,
      'JWT',
      idTokenClaims({ iss, aud: client.clientId, iat, exp: iat + idTtl }, user, policy, grant, {
        ...(args.includeNonce && grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
        ...(atHash ? { atHash } : {}),
        ...(args.code ? { cHash: halfHash(args.code) } : {}),
        ...(grant.idpAccessToken !== undefined ? { idpAccessToken: deps.secrets.open(grant.idpAccessToken) } : {}),
      }),
    );
  }
  const [at, id] = await Promise.all([accessToken, idToken]);
  if (at !== undefined) out.accessToken = at;
  if (id !== undefined) out.idToken = id;
  return out;
}
