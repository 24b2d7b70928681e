import { sha256 } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import type { App, AppPermission, Tenant } from '../model/entities.js';
import { AAD_CODES, B2C_CODES, OAuthError, pageError } from '../model/errors.js';
import type { Policy } from '../model/policy.js';
import { isGuest, permissionName } from '../services/enterprise-apps.js';
import { domainOf, tenantForDomain } from '../services/email-domains.js';
import { decodeJwt } from 'jose';
import { TargetedError, single, type AuthorizationRequest, type ErrorTarget, type RawParams, type ResponseMode } from './authorize-request.js';
import type { CodeGrant, RefreshGrant } from './grant.js';
import { refreshTokenRef } from './grants/refresh-token.js';
import { OIDC_SCOPES, parseScope, splitApiScope } from './scopes.js';
import type { CommonSegment } from '../model/issuer.js';
import { platformOf } from '../model/platforms.js';
import type { Site } from '../model/site.js';
import { endSession } from './logout.js';
import { verifyOwnSignature } from '../tokens/verify.js';

/**
 * Azure AD's tenant-independent endpoints, `/common` and `/organizations` (the same here: every
 * tenant is an organization): a multi-tenant app signs in people of any tenant without knowing which.
 * The app and its redirect URI are checked first (a single-tenant app is refused, AADSTS50194); then the
 * person's tenant is found from their email's domain (home realm discovery: `login_hint`, `domain_hint`,
 * or a page that asks), and the request continues as an authorization request of that tenant's
 * default policy — consent there provisions the app. Codes and refresh tokens are redeemed at
 * `/common`'s token endpoint (the grant names its tenant) or at the tenant's.
 */

/** The redirect-safe target of an error, once client and redirect URI check out. */
function targetOf(params: RawParams, redirectUri: string): ErrorTarget {
  const mode = single(params, 'response_mode');
  const type = typeof params.response_type === 'string' ? params.response_type.split(' ').filter(Boolean) : [];
  const responseMode: ResponseMode = mode === 'query' || mode === 'fragment' || mode === 'form_post' ? mode : type.length === 1 && type[0] === 'code' ? 'query' : type.length === 0 ? 'query' : 'fragment';
  const state = typeof params.state === 'string' && params.state !== '' && params.state.length <= 4096 ? params.state : undefined;
  return { redirectUri, responseMode, ...(state !== undefined ? { state } : {}) };
}

/** Whether the request is silent (`prompt=none`): it gets an error, never a page. */
export function isSilent(params: RawParams): boolean {
  return typeof params.prompt === 'string' && params.prompt.split(' ').includes('none');
}

/** Where a silent request's error goes (the request was checked already). */
export function silentTarget(params: RawParams, redirectUri: string): ErrorTarget {
  return targetOf(params, redirectUri);
}

/** AADSTS50194: what a single-tenant app hears at /common. */
export function notMultiTenant(app: App, segment: CommonSegment): OAuthError {
  return new OAuthError(
    'invalid_request',
    `Application '${app.clientId}'(${app.name}) is not configured as a multi-tenant application. Usage of the /${segment} endpoint is not supported for such applications. Use a tenant-specific endpoint or configure the application to be multi-tenant.`,
    { b2cCode: AAD_CODES.notMultiTenant },
  );
}

/**
 * The app a `/common` request names, in whatever tenant it is registered, and its redirect URI. An
 * unknown app or redirect URI is a page (never a redirect); a single-tenant app with a registered
 * redirect URI hears AADSTS50194 there.
 */
export async function commonClient(deps: Pick<Deps, 'store'>, segment: CommonSegment | undefined, params: RawParams): Promise<{ app: App; redirectUri: string }> {
  const clientId = single(params, 'client_id');
  if (!clientId) throw pageError('invalid_request', "The request is missing the 'client_id' parameter.", B2C_CODES.missingClientId);
  const app = /^[\w-]{1,64}$/.test(clientId) ? await deps.store.findAppAnyTenant(clientId.toLowerCase()) : undefined;
  if (!app) throw pageError('invalid_request', `Application with identifier '${clientId}' was not found.`, AAD_CODES.appNotInTenant);
  const redirectUri = single(params, 'redirect_uri');
  if (!redirectUri) throw pageError('invalid_request', "The request is missing the 'redirect_uri' parameter.", B2C_CODES.redirectUriNotRegistered);
  // Exact match against the redirect URIs of any of its platforms (what each allows, the request's checks say).
  if (platformOf(app, redirectUri) === undefined) {
    throw pageError('invalid_request', `The redirect URI '${redirectUri}' provided in the request is not registered for the client id '${clientId}'.`, B2C_CODES.redirectUriNotRegistered);
  }
  // (A tenant's admin-consent endpoint passes no segment: what the app may do there is its own check.)
  if (segment !== undefined && !app.multiTenant) throw new TargetedError(notMultiTenant(app, segment), targetOf(params, redirectUri));
  return { app, redirectUri };
}

/** Where home realm discovery got to: the person's tenant, or the page that asks for their email (with why). */
export type HomeRealm = { tenant: Tenant } | { ask: true; email?: string; unknownDomain?: string };

/**
 * The person's tenant from `login_hint` (an email address: its domain) or `domain_hint` (a domain):
 * a tenant's email domain, or `{slug}.onmicrosoft.com`. Without either, or with a domain no tenant
 * has, the page asks for an email address (saying so).
 */
export async function homeRealm(deps: Pick<Deps, 'store'>, params: RawParams): Promise<HomeRealm> {
  const loginHint = single(params, 'login_hint');
  const domainHint = single(params, 'domain_hint');
  const emailDomain = loginHint ? domainOf(loginHint) : undefined;
  for (const domain of [emailDomain, domainHint]) {
    if (!domain) continue;
    const tenant = await tenantForDomain(deps, domain);
    if (tenant) return { tenant };
    return { ask: true, ...(loginHint ? { email: loginHint } : {}), unknownDomain: domain };
  }
  return { ask: true, ...(loginHint ? { email: loginHint } : {}) };
}

/** The tenant's default policy, which its people sign in with from `/common`. */
export function defaultPolicyOf(deps: Pick<Deps, 'policies'>, tenant: Tenant): Policy {
  const policy = deps.policies.get(tenant.slug, tenant.defaultPolicy);
  if (!policy) throw pageError('server_error', `The organization '${tenant.displayName}' has no sign-in policy '${tenant.defaultPolicy}'.`);
  return policy;
}

/**
 * The permissions an admin-consent request asks for: `scope` lists `{identifier-uri}/.default` (all the
 * app declares on that API) or declared permissions by name (OpenID scopes are taken as they are);
 * without `scope`, all it declares. An undeclared one is `invalid_scope` at the app.
 */
export async function adminConsentPermissions(deps: Pick<Deps, 'store'>, app: App, params: RawParams, target: ErrorTarget): Promise<{ permissions: Omit<AppPermission, 'clientId'>[]; scope: string }> {
  const declared = (await deps.store.listAppPermissions(app.clientId)).map((p) => ({ api: p.api, kind: p.kind, name: p.name }));
  const requested = parseScope(single(params, 'scope', target));
  if (requested.length === 0) return { permissions: declared, scope: declared.map(permissionName).join(' ') };
  const chosen = new Map<string, Omit<AppPermission, 'clientId'>>();
  for (const s of requested) {
    if ((OIDC_SCOPES as readonly string[]).includes(s)) continue;
    const parts = splitApiScope(s);
    const matching = parts ? declared.filter((p) => p.api === parts.identifierUri && (parts.name === '.default' || p.name === parts.name)) : [];
    if (matching.length === 0) {
      throw new TargetedError(new OAuthError('invalid_scope', `The application '${app.name}' does not declare the permission '${s}' (latchkey app permission add).`), target);
    }
    for (const p of matching) chosen.set(`${p.kind} ${permissionName(p)}`, p);
  }
  return { permissions: [...chosen.values()], scope: requested.join(' ') };
}

/**
 * The admin-consent endpoint (`/{tenant|common|organizations}/v2.0/adminconsent`) as an authorization
 * request of the tenant's default policy: the administrator signs in (or has a session), then sees the
 * permissions; the answer is `admin_consent=True&tenant=…&state=…&scope=…`, or `error=access_denied`.
 */
export async function adminConsentRequest(
  deps: Pick<Deps, 'store'>,
  tenant: Tenant,
  policy: Policy,
  client: { app: App; redirectUri: string },
  params: RawParams,
): Promise<AuthorizationRequest> {
  const target = targetOf({ ...params, response_mode: 'query', response_type: 'code' }, client.redirectUri);
  if (!isGuest(client.app, tenant.id)) {
    throw new TargetedError(
      new OAuthError('invalid_request', client.app.multiTenant ? `The application '${client.app.name}' is registered in ${tenant.displayName}: its permissions there are grants (latchkey app grant), not consent.` : notMultiTenant(client.app, 'common').message, {
        b2cCode: client.app.multiTenant ? AAD_CODES.adminConsentDeclined : AAD_CODES.notMultiTenant,
      }),
      target,
    );
  }
  const consent = await adminConsentPermissions(deps, client.app, params, target);
  const loginHint = single(params, 'login_hint', target);
  const uiLocales = single(params, 'ui_locales', target);
  return {
    tenantId: tenant.id,
    tenantSegment: tenant.slug,
    form: 'path',
    policyId: policy.id,
    clientId: client.app.clientId,
    redirectUri: client.redirectUri,
    responseType: [],
    responseMode: 'query',
    scopes: { oidc: [], granted: [] },
    prompt: [],
    clientInfo: false,
    ...(target.state !== undefined ? { state: target.state } : {}),
    ...(loginHint !== undefined ? { loginHint } : {}),
    ...(uiLocales !== undefined ? { uiLocales } : {}),
    adminConsent: consent,
  };
}

/**
 * The tenant and policy a `/common` token request's grant belongs to: a code or a refresh token names
 * its tenant. Grants without one (client credentials, passwords, on-behalf-of) need the tenant's own
 * endpoint, as at Azure AD.
 */
export async function grantTenant(deps: Deps, params: RawParams): Promise<{ tenant: Tenant; policy: Policy }> {
  const grantType = params.grant_type;
  let record: { tenantId: string; data: unknown } | undefined;
  if (grantType === 'authorization_code' && typeof params.code === 'string') {
    record = await deps.store.findAuthCode(sha256(params.code));
  } else if (grantType === 'refresh_token' && typeof params.refresh_token === 'string') {
    const ref = refreshTokenRef(params.refresh_token);
    record = ref && (await deps.store.findRefreshToken(ref));
  } else if (grantType === 'authorization_code' || grantType === 'refresh_token') {
    throw new OAuthError('invalid_request', `The request is missing the '${grantType === 'authorization_code' ? 'code' : 'refresh_token'}' parameter.`, { b2cCode: B2C_CODES.missingParameter });
  } else {
    throw new OAuthError('invalid_request', "This grant type needs a tenant: use the tenant's token endpoint, /{tenant}/oauth2/v2.0/token.", { b2cCode: AAD_CODES.tenantRequired });
  }
  const tenant = record && (await deps.store.findTenant(record.tenantId));
  if (!record || !tenant) throw new OAuthError('invalid_grant', grantType === 'authorization_code' ? 'The authorization code is invalid or has already been used.' : 'The refresh token is invalid.');
  const policyId = (record.data as CodeGrant | RefreshGrant).policyId;
  const policy = deps.policies.get(tenant.slug, policyId) ?? deps.policies.get(tenant.slug, tenant.defaultPolicy);
  if (!policy) throw new OAuthError('invalid_grant', `The policy '${policyId}' of this grant no longer exists.`);
  return { tenant, policy };
}

/** The client id a token request claims (Basic header or body); undefined when it names none. */
export function claimedClient(params: RawParams, authorization: string | undefined): string | undefined {
  if (authorization?.toLowerCase().startsWith('basic ')) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon > 0) {
      try {
        return decodeURIComponent(decoded.slice(0, colon).replace(/\+/g, ' '));
      } catch {
        return undefined;
      }
    }
  }
  return typeof params.client_id === 'string' ? params.client_id : undefined;
}

/**
 * RP-initiated logout at `/common`: ends the browser's SSO sessions in every tenant it has one in (the
 * caller clears their cookies whatever happens here), and redirects only to a post-logout URI that the
 * app named (`client_id` or the `id_token_hint`'s audience) registered.
 */
export async function commonLogout(deps: Deps, params: RawParams, sessions: { tenantId: string; cookie: string }[], site: Site): Promise<{ redirect?: string; frontChannel: string[] }> {
  const hint = single(params, 'id_token_hint');
  const clientId = single(params, 'client_id');
  const uri = single(params, 'post_logout_redirect_uri');
  const state = single(params, 'state');
  let hinted: { aud: string } | undefined;
  if (hint) {
    let claims: ReturnType<typeof decodeJwt> | undefined;
    try {
      claims = decodeJwt(hint);
    } catch {
      claims = undefined;
    }
    const tenant = typeof claims?.tid === 'string' ? await deps.tenants.find(claims.tid) : undefined;
    const verified = tenant && (await verifyOwnSignature(await deps.keys.forTenant(tenant.id), hint));
    const aud = Array.isArray(verified?.aud) ? verified.aud[0] : verified?.aud;
    if (!tenant || typeof aud !== 'string') throw pageError('invalid_request', 'The id_token_hint is not a valid token of a multi-tenant application.', B2C_CODES.invalidIdTokenHint);
    if (clientId && clientId !== aud) throw pageError('invalid_request', 'client_id does not match the id_token_hint.', B2C_CODES.logoutClientMismatch);
    hinted = { aud };
  }
  const named = hinted?.aud ?? clientId;
  const app = named ? await deps.store.findAppAnyTenant(named) : undefined;
  if (named && !app) throw pageError('invalid_request', `Application with identifier '${named}' was not found.`, AAD_CODES.appNotInTenant);
  const frontChannel: string[] = [];
  for (const s of sessions) {
    const tenant = await deps.tenants.find(s.tenantId);
    if (tenant) frontChannel.push(...(await endSession(deps, tenant, s.cookie, site)));
  }
  if (!uri) return { frontChannel };
  if (!app || !(app.postLogoutRedirectUris.includes(uri) || platformOf(app, uri) !== undefined)) {
    throw new OAuthError('invalid_request', `You are signed out, but the post_logout_redirect_uri '${uri}' is not registered by the application the request names, so you stay here.`, {
      redirectable: false,
      b2cCode: B2C_CODES.postLogoutRedirectNotRegistered,
    });
  }
  const url = new URL(uri);
  if (state !== undefined) url.searchParams.set('state', state);
  return { redirect: url.toString(), frontChannel };
}
