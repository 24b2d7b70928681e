import { isLoopbackHost } from '../model/patterns.js';
import * as oidc from 'openid-client';
import { importPKCS8, SignJWT } from 'jose';
import type { Clock } from '../model/clock.js';
import type { OutboundClient, OutboundFetch } from '../outbound/outbound-client.js';
import type { IdentityProvider, SecretValue } from './config.js';
import { mapProfile, ProfileError, type MappedProfile, type UpstreamSources } from './presets.js';
import { SamlUpstreamError, type SamlUpstream } from './saml/upstream.js';

/**
 * The upstream side of federation, with openid-client doing the protocol: discovery, the authorization
 * request (code + PKCE, state, nonce), the callback's checks (state, `iss`, the id_token's signature,
 * issuer, audience, nonce, expiry) and the code exchange. Plain OAuth 2.0 providers (GitHub, Facebook)
 * get the same code flow with their user API in place of userinfo. Made per app instance (Deps), which
 * holds the discovered configurations.
 */

/** Why an upstream sign-in did not finish; each becomes a clear OAuth error for the app. */
export type FederationFailure = 'cancelled' | 'timeout' | 'unavailable' | 'rejected' | 'invalid_response';

export class FederationError extends Error {
  constructor(
    readonly kind: FederationFailure,
    message: string,
    cause?: unknown,
  ) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'FederationError';
  }
}

/** What the browser brought back to the callback. */
export interface UpstreamCallback {
  method: 'GET' | 'POST';
  /** The callback URL's own query or form fields. */
  params: Record<string, string>;
}

/** The secrets of one upstream round trip, kept in the journey between redirect and callback. */
export interface UpstreamChecks {
  state: string;
  nonce: string;
  codeVerifier: string;
  redirectUri: string;
  /** The tenant the sign-in is in (SAML providers: Latchkey's SP entity id, ACS and signing key are per tenant). */
  /** The tenant signing in, and the base URL of the host the browser is on (SAML's SP endpoints are written with it). */
  tenant?: { id: string; slug: string; baseUrl: string };
}

export interface UpstreamResult {
  profile: MappedProfile;
  /** The upstream access token (for `idp_access_token`); SAML providers have none. */
  accessToken: string;
  /** The issuer of the user's identity when the adapter knows it better than the configuration (SAML: the IdP's entity id host). */
  issuer?: string;
}

/** Discovered metadata is kept this long; a failed discovery is not kept. */
const DISCOVERY_TTL_MS = 60 * 60_000;
/** Apple client secrets are signed for an hour and reused for ten minutes. */
const APPLE_SECRET_SECONDS = 3600;
const APPLE_SECRET_REUSE_MS = 10 * 60_000;

function insecureAllowed(url: string): boolean {
  const u = new URL(url);
  return u.protocol === 'http:' && isLoopbackHost(u.hostname);
}

/** Turns what openid-client (or fetch) threw into one of the failures the journey reports. */
function classify(provider: IdentityProvider, err: unknown): FederationError {
  if (err instanceof FederationError) return err;
  if (err instanceof SamlUpstreamError) return new FederationError(err.kind, err.message, err);
  const name = provider.displayName;
  if (err instanceof oidc.AuthorizationResponseError) {
    if (err.error === 'access_denied') return new FederationError('cancelled', `The sign-in at ${name} was cancelled.`, err);
    return new FederationError('rejected', `${name} refused the sign-in: ${err.error}${err.error_description ? ` (${err.error_description.split(/\r?\n/)[0]!.slice(0, 200)})` : ''}.`, err);
  }
  if (err instanceof oidc.ResponseBodyError) {
    return new FederationError('rejected', `${name} refused the sign-in at its token endpoint: ${err.error}.`, err);
  }
  if (err instanceof oidc.ClientError && (err.code === 'OAUTH_TIMEOUT' || err.code === 'OAUTH_ABORT')) {
    return new FederationError('timeout', `${name} did not answer within ${provider.timeoutSeconds} seconds.`, err);
  }
  if (err instanceof TypeError) return new FederationError('unavailable', `${name} cannot be reached.`, err);
  if (err instanceof ProfileError) return new FederationError('invalid_response', `${name} sent an unusable answer: ${err.message}.`, err);
  const detail = err instanceof Error ? err.message : String(err);
  return new FederationError('invalid_response', `${name} sent an invalid answer (${detail}).`, err);
}

export class FederationClient {
  private readonly configs = new WeakMap<IdentityProvider, { at: number; metadata: Promise<oidc.ServerMetadata> }>();
  private readonly appleSecrets = new WeakMap<IdentityProvider, { at: number; secret: Promise<string> }>();

  /** Every request openid-client makes (discovery, JWKS, token, userinfo, user APIs) goes through it. */
  private readonly fetch: OutboundFetch;

  constructor(
    private readonly clock: Clock,
    outbound: OutboundClient,
    /** A tenant's secret by the tenant's slug and the secret's name (identity-providers.json's `{ "secret": NAME }`). */
    private readonly tenantSecret: (tenant: string, name: string) => Promise<string | undefined> = async () => undefined,
    /** The SAML providers' adapter (upstream SAML identity providers). */
    private readonly saml?: SamlUpstream,
  ) {
    this.fetch = outbound.fetcher('identity provider');
  }

  private samlAdapter(provider: IdentityProvider, checks: UpstreamChecks): { saml: SamlUpstream; checks: { state: string; nonce: string; tenant: { id: string; slug: string; baseUrl: string } } } {
    if (!this.saml || !checks.tenant) throw new FederationError('unavailable', `${provider.displayName} is a SAML identity provider, which this server cannot reach.`);
    return { saml: this.saml, checks: { state: checks.state, nonce: checks.nonce, tenant: checks.tenant } };
  }

  /** The URL to send the browser to, with state, nonce (OIDC) and the PKCE challenge. */
  async authorizationUrl(provider: IdentityProvider, checks: UpstreamChecks): Promise<string> {
    try {
      if (provider.protocol === 'saml') {
        const a = this.samlAdapter(provider, checks);
        return await a.saml.begin(provider, a.checks);
      }
      const config = await this.configuration(provider);
      const params: Record<string, string> = {
        redirect_uri: checks.redirectUri,
        scope: provider.scopes.join(' '),
        state: checks.state,
        code_challenge: await oidc.calculatePKCECodeChallenge(checks.codeVerifier),
        code_challenge_method: 'S256',
      };
      if (provider.protocol === 'oidc') params.nonce = checks.nonce;
      if (provider.responseMode) params.response_mode = provider.responseMode;
      return oidc.buildAuthorizationUrl(config, params).toString();
    } catch (err) {
      throw classify(provider, err);
    }
  }

  /** Validates the callback, redeems the code, reads the user and maps the claims. */
  async complete(provider: IdentityProvider, callback: UpstreamCallback, checks: UpstreamChecks): Promise<UpstreamResult> {
    try {
      if (provider.protocol === 'saml') {
        const a = this.samlAdapter(provider, checks);
        const { profile, issuer } = await a.saml.complete(provider, callback.params, a.checks);
        return { profile, accessToken: '', issuer };
      }
      const config = await this.configuration(provider);
      const current =
        callback.method === 'POST'
          ? new Request(checks.redirectUri, {
              method: 'POST',
              headers: { 'content-type': 'application/x-www-form-urlencoded' },
              body: new URLSearchParams(callback.params).toString(),
            })
          : Object.assign(new URL(checks.redirectUri), { search: new URLSearchParams(callback.params).toString() });
      const tokens = await oidc.authorizationCodeGrant(config, current, {
        pkceCodeVerifier: checks.codeVerifier,
        expectedState: checks.state,
        ...(provider.protocol === 'oidc' ? { expectedNonce: checks.nonce, idTokenExpected: true } : {}),
      });
      const sources: UpstreamSources = {};
      if (provider.protocol === 'oidc') {
        const claims = tokens.claims();
        if (!claims) throw new ProfileError('no id_token');
        sources.idToken = { ...claims };
        if (config.serverMetadata().userinfo_endpoint) sources.userinfo = { ...(await oidc.fetchUserInfo(config, tokens.access_token, claims.sub)) };
        if (provider.type === 'apple' && callback.params.user !== undefined) sources.appleUser = callback.params.user;
      } else {
        sources.userinfo = await this.getJson(config, provider, tokens.access_token, provider.userinfoUrl!);
        if (provider.emailsUrl) sources.githubEmails = await this.getJson(config, provider, tokens.access_token, provider.emailsUrl);
      }
      return { profile: mapProfile(provider, sources), accessToken: tokens.access_token };
    } catch (err) {
      throw classify(provider, err);
    }
  }

  /** GET a provider's user API with the access token (GitHub /user and /user/emails, Facebook /me). */
  private async getJson(config: oidc.Configuration, provider: IdentityProvider, accessToken: string, url: string): Promise<Record<string, unknown>> {
    const res = await oidc.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, new Headers({ accept: 'application/json', 'user-agent': 'Latchkey' }));
    if (!res.ok) throw new FederationError('rejected', `${provider.displayName} answered ${res.status} at ${new URL(url).pathname}.`);
    const body = (await res.json()) as unknown;
    if (body === null || typeof body !== 'object') throw new ProfileError(`${new URL(url).pathname} did not answer a JSON object`);
    return body as Record<string, unknown>;
  }

  /**
   * The provider's openid-client configuration: the server's metadata (discovered for OIDC, kept an
   * hour; built from the configured endpoints for OAuth 2.0) with the client's secret as it is now —
   * a tenant secret may have been replaced since, and Apple's client secret is a short-lived JWT.
   */
  private async configuration(provider: IdentityProvider): Promise<oidc.Configuration> {
    const server = await this.serverMetadata(provider);
    const secret = await this.clientSecret(provider);
    const auth =
      secret === undefined ? oidc.None()
      : provider.apple ? oidc.ClientSecretPost(secret)
      : provider.clientAuthentication === 'client_secret_basic' ? oidc.ClientSecretBasic(secret)
      : oidc.ClientSecretPost(secret);
    // The id_token's algorithm is pinned (an HS256 token, say, is refused where RS256 is configured).
    const metadata: Partial<oidc.ClientMetadata> = { id_token_signed_response_alg: provider.idTokenSigningAlg, ...(secret === undefined ? {} : { client_secret: secret }) };
    const config = new oidc.Configuration(server, provider.clientId, metadata, auth);
    config.timeout = provider.timeoutSeconds;
    config[oidc.customFetch] = this.fetch;
    const urls = provider.protocol === 'oidc' ? [provider.discoveryUrl!] : [provider.authorizationUrl!, provider.tokenUrl!, provider.userinfoUrl!];
    if (urls.some(insecureAllowed)) oidc.allowInsecureRequests(config);
    return config;
  }

  /** The authorization server's metadata; a failed discovery is not kept (the next sign-in tries again). */
  private serverMetadata(provider: IdentityProvider): Promise<oidc.ServerMetadata> {
    if (provider.protocol !== 'oidc') {
      return Promise.resolve({
        // Plain OAuth 2.0 providers publish no issuer; the authorization server's origin stands for it.
        issuer: new URL(provider.authorizationUrl!).origin,
        authorization_endpoint: provider.authorizationUrl!,
        token_endpoint: provider.tokenUrl!,
      });
    }
    const now = this.clock.now();
    let entry = this.configs.get(provider);
    if (!entry || now - entry.at > DISCOVERY_TTL_MS) {
      const url = provider.discoveryUrl!;
      const metadata = oidc
        .discovery(new URL(url), provider.clientId, undefined, oidc.None(), {
          timeout: provider.timeoutSeconds,
          [oidc.customFetch]: this.fetch,
          ...(insecureAllowed(url) ? { execute: [oidc.allowInsecureRequests] } : {}),
        })
        .then((c) => c.serverMetadata());
      const fresh = { at: now, metadata };
      entry = fresh;
      this.configs.set(provider, fresh);
      metadata.catch(() => {
        if (this.configs.get(provider) === fresh) this.configs.delete(provider);
      });
    }
    return entry.metadata;
  }

  /** The client secret now: Apple's signed JWT, a tenant secret read from the store, or the value from the environment. */
  private async clientSecret(provider: IdentityProvider): Promise<string | undefined> {
    if (provider.apple) return this.appleSecret(provider);
    return this.secretValue(provider, provider.clientSecret);
  }

  private async secretValue(provider: IdentityProvider, value: SecretValue | undefined): Promise<string | undefined> {
    if (value === undefined || typeof value === 'string') return value;
    const found = await this.tenantSecret(provider.tenant, value.tenantSecret);
    if (found === undefined) throw new FederationError('unavailable', `${provider.displayName} is not configured completely: the tenant secret '${value.tenantSecret}' is not set.`);
    return found;
  }

  /** Sign in with Apple's client secret: an ES256 JWT signed with the team's key (Apple's rules). */
  private appleSecret(provider: IdentityProvider): Promise<string> {
    const now = this.clock.now();
    const cached = this.appleSecrets.get(provider);
    if (cached && now - cached.at < APPLE_SECRET_REUSE_MS) return cached.secret;
    const apple = provider.apple!;
    const secret = this.secretValue(provider, apple.privateKeyPem).then((pem) => importPKCS8(pem!, 'ES256')).then((key) =>
      new SignJWT({})
        .setProtectedHeader({ alg: 'ES256', kid: apple.keyId })
        .setIssuer(apple.teamId)
        .setSubject(provider.clientId)
        .setAudience('https://appleid.apple.com')
        .setIssuedAt(Math.floor(now / 1000))
        .setExpirationTime(Math.floor(now / 1000) + APPLE_SECRET_SECONDS)
        .sign(key),
    );
    this.appleSecrets.set(provider, { at: now, secret });
    secret.catch(() => this.appleSecrets.delete(provider));
    return secret;
  }
}
