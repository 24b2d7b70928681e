import { randomUUID } from 'node:crypto';
import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import type { App, Tenant, User } from '../model/entities.js';
import { idTokenClaims, userAccessTokenClaims, type OrganizationClaims } from './claims.js';
import { halfHash, signJwt } from '../tokens/sign.js';
import type { TenantKeySet } from '../tokens/keyring.js';
import { roleTemplateIds } from '../services/users-roles.js';
import type { UserGrant } from './grant.js';
import { issuerFor, multiTenantIssuer } from '../model/issuer.js';
import type { Site } from '../model/site.js';

/** How a token is signed and whose issuer it names. */
export interface Signing {
  keys: TenantKeySet;
  iss: string;
  /** Set for tokens of organizations (a multi-tenant app or API is party): Azure AD's claims. */
  org?: OrganizationClaims;
}

/**
 * Tokens a multi-tenant app or a multi-tenant API is party to are signed with the instance's keys and
 * name the tenant in Azure AD's issuer form, with `tid` (as Azure AD signs every directory's tokens with
 * the same keys, and a multi-tenant app checks the issuer against one template); every other token
 * with the tenant's own key and issuer. Either issuer is written with the host the request came to
 * (`site`), as the discovery document the app read there names it.
 */
export async function signingFor(deps: Pick<Deps, 'keys' | 'store'>, tenant: Tenant, client: App, policyId: string, site: Site, apiClientId?: string): Promise<Signing> {
  const api = apiClientId !== undefined && apiClientId !== client.clientId ? await deps.store.findAppAnyTenant(apiClientId) : undefined;
  if (client.multiTenant || api?.multiTenant) {
    return { keys: await deps.keys.common(), iss: multiTenantIssuer(site.baseUrl, tenant), org: { tid: tenant.id } };
  }
  return { keys: await deps.keys.forTenant(tenant.id), iss: issuerFor(site.baseUrl, tenant, policyId) };
}

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
  const { keys, iss, org } = await signingFor(deps, tenant, client, grant.policyId, args.site, grant.scopes.api?.clientId);
  const iat = Math.floor(deps.clock.now() / 1000);
  const idTtl = policy.tokens.idTokenMinutes * 60;
  const atTtl = policy.tokens.accessTokenMinutes * 60;
  const out: MintedUserTokens = { idTokenExpiresIn: idTtl, accessTokenExpiresIn: atTtl, iat };

  let accessToken: Promise<string> | undefined;
  if (args.accessToken) {
    const jti = randomUUID();
    const aud = grant.scopes.api?.clientId ?? client.clientId;
    accessToken = signJwt(keys, 'at+jwt', userAccessTokenClaims({ iss, aud, iat, exp: iat + atTtl }, user, policy, grant, client.clientId, jti, org));
    out.accessTokenJti = jti;
    out.accessTokenExp = iat + atTtl;
  }
  let idToken: Promise<string> | undefined;
  if (args.idToken) {
    const wids = roleTemplateIds(await deps.store.listUserRoles(tenant.id, user.id));
    const atHash = args.atHash && accessToken ? halfHash(await accessToken) : undefined;
    idToken = signJwt(
      keys,
      'JWT',
      idTokenClaims({ iss, aud: client.clientId, iat, exp: iat + idTtl }, user, policy, grant, {
        ...(args.includeNonce && grant.nonce !== undefined ? { nonce: grant.nonce } : {}),
        ...(atHash ? { atHash } : {}),
        ...(args.code ? { cHash: halfHash(args.code) } : {}),
        ...(grant.idpAccessToken !== undefined ? { idpAccessToken: deps.secrets.open(grant.idpAccessToken) } : {}),
        ...(org ? { org } : {}),
        ...(wids.length > 0 ? { wids } : {}),
      }),
    );
  }
  const [at, id] = await Promise.all([accessToken, idToken]);
  if (at !== undefined) out.accessToken = at;
  if (id !== undefined) out.idToken = id;
  return out;
}
