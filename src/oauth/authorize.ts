import { randomToken, sha256 } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import { newJourneyState } from '../journeys/journey.js';
import type { Policy } from '../model/policy.js';
import { journeyFor } from '../journeys/compile.js';
import type { App, SsoSession, Tenant, User } from '../model/entities.js';
import { preTokenIssuance } from '../services/api-connectors.js';
import { verifyOwnSignature } from '../tokens/verify.js';
import { pickLocale } from '../model/messages/messages.js';
import type { AuthorizationResponse } from './authorization-response.js';
import { TargetedError, type AuthorizationRequest } from './authorize-request.js';
import { OAuthError, B2C_CODES } from '../model/errors.js';
import type { CodeGrant, UserGrant } from './grant.js';
import { platformOf } from '../model/platforms.js';
import { mintUserTokens } from './mint.js';
import { findActiveSession, joinSession, sessionCovers, touchSession } from './sso.js';
import { secondFactorDue } from '../services/mfa.js';
import { consentDue } from '../services/consent.js';
import type { Site } from '../model/site.js';

export const AUTH_CODE_TTL_MS = 10 * 60_000;
export const JOURNEY_TTL_MS = 60 * 60_000;

/** Kinds whose journey may be skipped entirely when the browser has a usable SSO session. */
const SSO_KINDS = new Set<Policy['kind']>(['signIn', 'signUpOrSignIn']);

export type AuthorizeOutcome =
  | { type: 'respond'; response: AuthorizationResponse }
  | { type: 'journey'; journeyId: string }
  /** The preTokenIssuance connector refused the user (ShowBlockPage): its message, in `locale`'s page. */
  | { type: 'blocked'; message: string; locale: string };

export interface BrowserContext {
  ssoCookie: string | undefined;
  browserId: string;
  ip: string;
  acceptLanguage?: string | undefined;
  /** Where the request came in: tokens answered at once are issued with its host. */
  site: Site;
}

/** The subject an `id_token_hint` names, if it is a token we issued (expired ones are fine: OIDC §3.1.2.1). */
async function hintedSubject(deps: Deps, tenant: Tenant, hint: string): Promise<string | undefined> {
  const payload = await verifyOwnSignature(await deps.keys.forTenant(tenant.id), hint);
  return typeof payload?.sub === 'string' ? payload.sub : undefined;
}

/**
 * Decides what an authorization request gets: an immediate response from the SSO session (or an
 * error for prompt=none), or a journey of the policy's steps.
 */
export async function authorize(
  deps: Deps,
  tenant: Tenant,
  policy: Policy,
  app: App,
  request: AuthorizationRequest,
  browser: BrowserContext,
): Promise<AuthorizeOutcome> {
  const target = {
    redirectUri: request.redirectUri,
    responseMode: request.responseMode,
    ...(request.state !== undefined ? { state: request.state } : {}),
  };
  if (policy.kind === 'ropc') {
    throw new TargetedError(
      new OAuthError('invalid_request', `The policy '${policy.id}' is a resource owner password credentials policy: it has no pages; its apps use grant_type=password at the token endpoint.`),
      target,
    );
  }
  const now = deps.clock.now();
  const active = await findActiveSession(deps, tenant, browser.ssoCookie);
  let usable = active !== undefined && sessionCovers(policy, active.session, app.clientId) && !request.prompt.includes('login');
  let reason = "User does not have an existing session and request prompt parameter has a value of 'none'.";
  if (usable && active && request.maxAge !== undefined && active.session.authTime + request.maxAge < Math.floor(now / 1000)) {
    usable = false;
    reason = 'The last authentication is older than max_age allows.';
  }
  if (usable && active && request.idTokenHint !== undefined) {
    const sub = await hintedSubject(deps, tenant, request.idTokenHint);
    if (sub !== active.user.id) {
      usable = false;
      reason = 'The signed-in user is not the one id_token_hint names.';
    }
  }

  // A policy that asks for a second factor the session has not proven runs its journey from that step.
  const stepUp = usable && active !== undefined && (await secondFactorDue(deps, tenant, policy, active.user, active.session.amr));
  // A third-party app the user has not consented to (or prompt=consent): its consent page first.
  const consentFirst = usable && active !== undefined && (await consentDue(deps, tenant, app, active.user, request));
  if (usable && active && SSO_KINDS.has(policy.kind) && !stepUp && !consentFirst) {
    const locale = pickLocale({ uiLocales: request.uiLocales, policyLocale: policy.ui.locale, acceptLanguage: browser.acceptLanguage });
    const pre = await preTokenIssuance(deps, { tenant, policy, clientId: app.clientId, user: active.user, locale, ip: browser.ip });
    if (pre.type === 'failed') throw new TargetedError(pre.error, target);
    if (pre.type === 'block') {
      // Without a page to show (prompt=none), the app hears why.
      if (request.prompt.includes('none')) throw new TargetedError(new OAuthError('access_denied', pre.message), target);
      return { type: 'blocked', message: pre.message, locale };
    }
    await touchSession(deps, policy, active.session);
    const response = await respondWithGrant(deps, tenant, policy, app, request, active.user, {
      authTime: active.session.authTime,
      idp: active.session.idp,
      newUser: false,
      session: active.session,
      connectorClaims: pre.claims,
      amr: active.session.amr,
    }, browser.site);
    return { type: 'respond', response };
  }

  if (request.prompt.includes('none')) {
    if (usable && consentFirst && !stepUp && SSO_KINDS.has(policy.kind)) {
      throw new TargetedError(new OAuthError('consent_required', `The user has not consented to the application '${app.name}'.`, { b2cCode: B2C_CODES.noSession }), target);
    }
    const interaction = usable && (!SSO_KINDS.has(policy.kind) || stepUp);
    throw new TargetedError(
      interaction
        ? new OAuthError('interaction_required', stepUp ? `The policy '${policy.id}' asks for a second factor this session has not proven.` : `The policy '${policy.id}' needs the user to interact.`, { b2cCode: B2C_CODES.noSession })
        : new OAuthError('login_required', reason, { b2cCode: B2C_CODES.noSession }),
      target,
    );
  }

  journeyFor(policy); // compile now, so a broken policy fails here rather than on the page
  const id = randomToken(24);
  const state = newJourneyState();
  if ((policy.kind === 'profileEdit' || stepUp || (consentFirst && SSO_KINDS.has(policy.kind))) && usable && active) {
    // Profile edit runs on the SSO session's user; only without one does it ask to sign in. A
    // sign-in that needs a second factor the session lacks starts there, with what the session proved.
    state.userId = active.user.id;
    state.idp = active.session.idp;
    state.authTime = active.session.authTime;
    state.amr = active.session.amr.filter((v) => v !== 'mfa');
    state.mfa = active.session.amr.includes('mfa');
  }
  await deps.store.createJourney({
    id,
    tenantId: tenant.id,
    policyId: policy.id,
    browserHash: sha256(browser.browserId),
    request,
    state,
    csrf: randomToken(24),
    createdAt: now,
    expiresAt: now + JOURNEY_TTL_MS,
  });
  return { type: 'journey', journeyId: id };
}

/**
 * Azure AD's answer of the admin-consent endpoint: `admin_consent=True`, the tenant consented in, the
 * app's state and the permissions consented to (as requested, `{identifier-uri}/{name}`).
 */
export function adminConsentResponse(tenant: Tenant, request: AuthorizationRequest): AuthorizationResponse {
  const params: Record<string, string> = { admin_consent: 'True', tenant: tenant.id };
  if (request.state !== undefined) params.state = request.state;
  params.scope = request.adminConsent?.scope ?? '';
  return { redirectUri: request.redirectUri, mode: 'query', params };
}

/** How the user was authenticated for a response, and the SSO session it belongs to (if any). */
export interface Authentication {
  authTime: number;
  idp: string;
  newUser: boolean;
  session?: SsoSession;
  /** The upstream provider's access token, sealed (for `idp_access_token`). */
  idpAccessToken?: string;
  /** What the preTokenIssuance API connector added. */
  connectorClaims?: Record<string, unknown>;
  /** RFC 8176 values of what the authentication proved (`mfa` included when it was multi-factor). */
  amr?: string[];
}

/**
 * Builds the authorization response for an authenticated user: a code (stored hashed, single use),
 * and for implicit/hybrid response types the id_token and access token. Within an SSO session the
 * app joins the session (front-channel logout reaches it) and its id_tokens carry the session's `sid`.
 */
export async function respondWithGrant(
  deps: Deps,
  tenant: Tenant,
  policy: Policy,
  app: App,
  request: AuthorizationRequest,
  user: User,
  auth: Authentication,
  /** Where the request came in (an id_token or access token in the response is issued with its host). */
  site: Site,
): Promise<AuthorizationResponse> {
  const grant: UserGrant = {
    policyId: policy.id,
    scopes: request.scopes,
    authTime: auth.authTime,
    idp: auth.idp,
    newUser: auth.newUser,
    clientInfo: request.clientInfo,
    ...(request.nonce !== undefined ? { nonce: request.nonce } : {}),
    ...(auth.session ? { sid: auth.session.sid } : {}),
    ...(auth.amr !== undefined ? { amr: auth.amr } : {}),
    ...(auth.idpAccessToken !== undefined && policy.outputClaims.includes('idp_access_token') ? { idpAccessToken: auth.idpAccessToken } : {}),
    ...(auth.connectorClaims !== undefined && Object.keys(auth.connectorClaims).length > 0 ? { connectorClaims: auth.connectorClaims } : {}),
  };
  if (auth.session) await joinSession(deps, auth.session, app.clientId, policy.id);
  const params: Record<string, string> = {};
  let code: string | undefined;
  if (request.responseType.includes('code')) {
    code = randomToken();
    const now = deps.clock.now();
    const platform = platformOf(app, request.redirectUri);
    const data: CodeGrant = {
      ...grant,
      redirectUri: request.redirectUri,
      ...(platform !== undefined ? { platform } : {}),
      ...(request.codeChallenge !== undefined ? { codeChallenge: request.codeChallenge } : {}),
    };
    await deps.store.createAuthCode({
      codeHash: sha256(code),
      tenantId: tenant.id,
      clientId: app.clientId,
      userId: user.id,
      data,
      createdAt: now,
      expiresAt: now + AUTH_CODE_TTL_MS,
      consumedAt: null,
      issuedJti: null,
    });
    params.code = code;
  }
  const wantsId = request.responseType.includes('id_token');
  const wantsAt = request.responseType.includes('token');
  if (wantsId || wantsAt) {
    const minted = await mintUserTokens(deps, {
      tenant,
      policy,
      client: app,
      user,
      grant,
      site,
      idToken: wantsId,
      accessToken: wantsAt,
      includeNonce: true,
      // OIDC Core §3.2.2.10 / §3.3.2.11: required when the access token travels with the id_token.
      atHash: true,
      ...(code !== undefined ? { code } : {}),
    });
    if (minted.accessToken) {
      params.access_token = minted.accessToken;
      params.token_type = 'Bearer';
      params.expires_in = String(minted.accessTokenExpiresIn);
      params.scope = grant.scopes.granted.join(' ');
    }
    if (minted.idToken) params.id_token = minted.idToken;
  }
  if (request.state !== undefined) params.state = request.state;
  return { redirectUri: request.redirectUri, mode: request.responseMode, params };
}
