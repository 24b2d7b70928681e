import { createRemoteJWKSet, jwtVerify, errors as joseErrors, type JWTPayload } from 'jose';

/**
 * Verifies Latchkey access tokens in a Node web API: signature against the tenant's JWKS (fetched,
 * cached, and re-fetched when a token names an unknown `kid`, so key rotation needs no restart),
 * issuer, audience, lifetime, and the scopes or roles an operation needs. Failures are RFC 6750
 * errors: 401 `invalid_token` (or no error code when no token was sent), 403 `insufficient_scope`.
 */
export interface VerifierOptions {
  /**
   * The tenant's issuer, exactly as in its tokens, e.g. `https://id.example.com/{tenant UUID}/v2.0/`; or,
   * for a multi-tenant API, Azure AD's template `https://id.example.com/{tenantid}/v2.0/` (as `/common`'s
   * discovery gives it) with `allowedTenants`: a token's issuer is then the template with its `tid`.
   */
  issuer: string;
  /**
   * With an issuer template: the tenant ids whose tokens are taken (Azure AD's advice for multi-tenant
   * apps: validate the tenant), or `'*'` for any tenant. Required with a template, refused without one.
   */
  allowedTenants?: string[] | '*';
  /** The API's client id: tokens for any other audience are refused. */
  audience: string;
  /** Where the keys are; by default read from `{issuer}.well-known/openid-configuration` (with a template, `/common`'s). */
  jwksUri?: string;
  /**
   * Least time between two JWKS fetches triggered by unknown `kid`s (a flood of forged kids must not
   * become a flood of fetches); 30 seconds by default.
   */
  jwksCooldownSeconds?: number;
  /** Allowed clock skew; 30 seconds by default. */
  clockToleranceSeconds?: number;
  /** Realm in WWW-Authenticate challenges. */
  realm?: string;
  /** For tests and custom transports. */
  fetch?: typeof fetch;
}

/**
 * What an operation needs. A user token passes with every listed scope in its `scp`; an app (daemon)
 * token passes with every listed role in its `roles`. With both, either kind of token may pass.
 */
export interface Requirement {
  scopes?: string[];
  roles?: string[];
}

export interface AccessTokenClaims extends JWTPayload {
  scp?: string;
  /** The token's tenant, in tokens a multi-tenant app or API is party to. */
  tid?: string;
  roles?: string[];
  oid?: string;
  azp?: string;
  tfp?: string;
}

export interface VerifiedToken {
  claims: AccessTokenClaims;
  /** `scp` split into names. */
  scopes: string[];
  roles: string[];
  /** The user's object id, or undefined for an app (daemon) token. */
  userId: string | undefined;
  /** The tenant the token is of (its `tid`), when it has one. */
  tenantId: string | undefined;
}

export class BearerError extends Error {
  constructor(
    readonly status: 401 | 403,
    readonly code: 'invalid_request' | 'invalid_token' | 'insufficient_scope' | undefined,
    message: string,
    readonly wwwAuthenticate: string,
  ) {
    super(message);
    this.name = 'BearerError';
  }

  /** The JSON body APIs usually send with the challenge. */
  toJSON(): { error: string; error_description: string } {
    return { error: this.code ?? 'invalid_token', error_description: this.message };
  }
}

function challenge(realm: string, code?: string, description?: string, scope?: string): string {
  const parts = [`Bearer realm="${realm}"`];
  if (code) parts.push(`error="${code}"`);
  if (description) parts.push(`error_description="${description.replace(/["\\]/g, "'")}"`);
  if (scope) parts.push(`scope="${scope}"`);
  return parts.join(', ');
}

export interface TokenVerifier {
  verify(authorization: string | undefined, requirement?: Requirement): Promise<VerifiedToken>;
}

/** Azure AD's placeholder in `/common`'s issuer. */
const TENANT_PLACEHOLDER = '{tenantid}';

export function createTokenVerifier(opts: VerifierOptions): TokenVerifier {
  const realm = opts.realm ?? 'api';
  const doFetch = opts.fetch ?? fetch;
  const template = opts.issuer.includes(TENANT_PLACEHOLDER);
  if (template && opts.allowedTenants === undefined) {
    throw new TypeError(`an issuer with ${TENANT_PLACEHOLDER} takes tokens of many tenants: name them in allowedTenants (tenant ids), or '*' for any`);
  }
  if (!template && opts.allowedTenants !== undefined) throw new TypeError(`allowedTenants goes with an issuer template (${TENANT_PLACEHOLDER} in the issuer)`);
  const allowed = opts.allowedTenants === '*' || opts.allowedTenants === undefined ? undefined : new Set(opts.allowedTenants.map((t) => t.toLowerCase()));
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;

  async function keySet(): Promise<ReturnType<typeof createRemoteJWKSet>> {
    if (jwks) return jwks;
    let uri = opts.jwksUri;
    if (!uri) {
      // A template's keys are `/common`'s: every tenant's multi-tenant tokens are signed with them.
      const res = await doFetch(`${opts.issuer.replace(TENANT_PLACEHOLDER, 'common').replace(/\/?$/, '/')}.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`cannot read the issuer's metadata (HTTP ${res.status})`);
      uri = ((await res.json()) as { jwks_uri?: string }).jwks_uri;
      if (!uri) throw new Error('the issuer metadata has no jwks_uri');
    }
    // jose caches the keys and re-fetches (at most once per cooldown) when a token names an unknown kid.
    jwks = createRemoteJWKSet(new URL(uri), { cooldownDuration: (opts.jwksCooldownSeconds ?? 30) * 1000, cacheMaxAge: 3600_000 });
    return jwks;
  }

  const unauthorized = (description: string) => new BearerError(401, 'invalid_token', description, challenge(realm, 'invalid_token', description));

  return {
    async verify(authorization, requirement) {
      const m = authorization ? /^Bearer +([A-Za-z0-9\-._~+/]+=*) *$/i.exec(authorization) : null;
      if (!authorization) throw new BearerError(401, undefined, 'The request has no bearer token.', challenge(realm));
      if (!m) throw new BearerError(401, 'invalid_request', 'The Authorization header is not a bearer token.', challenge(realm, 'invalid_request'));
      let claims: AccessTokenClaims;
      try {
        ({ payload: claims } = await jwtVerify<AccessTokenClaims>(m[1]!, await keySet(), {
          ...(template ? {} : { issuer: opts.issuer }),
          audience: opts.audience,
          algorithms: ['RS256'],
          typ: 'at+jwt',
          clockTolerance: opts.clockToleranceSeconds ?? 30,
        }));
      } catch (err) {
        if (err instanceof joseErrors.JWTExpired) throw unauthorized('The access token has expired.');
        if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'aud') throw unauthorized('The access token is for another audience.');
        if (err instanceof joseErrors.JWTClaimValidationFailed && err.claim === 'iss') throw unauthorized('The access token is from another issuer.');
        if (err instanceof joseErrors.JOSEError) throw unauthorized('The access token is invalid.');
        throw err;
      }
      if (template) {
        // The issuer names the token's tenant; the tenant must be one this API serves.
        const tid = typeof claims.tid === 'string' ? claims.tid.toLowerCase() : undefined;
        if (tid === undefined || claims.iss !== opts.issuer.replace(TENANT_PLACEHOLDER, tid)) throw unauthorized('The access token is from another issuer.');
        if (allowed && !allowed.has(tid)) throw unauthorized('The access token is from a tenant this API does not serve.');
      }
      const scopes = typeof claims.scp === 'string' ? claims.scp.split(' ').filter(Boolean) : [];
      const roles = Array.isArray(claims.roles) ? claims.roles.filter((r): r is string => typeof r === 'string') : [];
      const userId = typeof claims.oid === 'string' ? claims.oid : undefined;
      if (requirement && (requirement.scopes || requirement.roles)) {
        const byScope = requirement.scopes !== undefined && userId !== undefined && requirement.scopes.every((s) => scopes.includes(s));
        const byRole = requirement.roles !== undefined && requirement.roles.every((r) => roles.includes(r));
        if (!byScope && !byRole) {
          const needed = [...(requirement.scopes ?? []), ...(requirement.roles ?? [])].join(' ');
          const description = `The access token lacks the permission this operation needs (${needed}).`;
          throw new BearerError(403, 'insufficient_scope', description, challenge(realm, 'insufficient_scope', description, needed));
        }
      }
      return { claims, scopes, roles, userId, tenantId: typeof claims.tid === 'string' ? claims.tid : undefined };
    },
  };
}
