import type { Store } from '../store/store.js';
import type { App, AppPermission } from '../model/entities.js';
import { clientKindFor, platformOf, redirectUrisOf, type Platform } from '../model/platforms.js';
import { B2C_CODES, OAuthError, pageError, type AadCode, type B2cCode } from '../model/errors.js';
import { findClient } from '../services/enterprise-apps.js';
import { parseScope, resolveDelegatedScopes, type ResolvedScopes } from './scopes.js';

export type ResponseMode = 'query' | 'fragment' | 'form_post';
export type Prompt = 'none' | 'login' | 'consent' | 'select_account';

/** A validated authorization request: everything the journey and the response need. */
export interface AuthorizationRequest {
  tenantId: string;
  tenantSegment: string;
  form: 'path' | 'query' | 'tfp';
  policyId: string;
  clientId: string;
  redirectUri: string;
  /** Sorted parts: ['code'], ['id_token', 'token'], ['code', 'id_token']… */
  responseType: string[];
  responseMode: ResponseMode;
  scopes: ResolvedScopes;
  state?: string;
  nonce?: string;
  codeChallenge?: string;
  prompt: Prompt[];
  maxAge?: number;
  loginHint?: string;
  domainHint?: string;
  idTokenHint?: string;
  clientInfo: boolean;
  /** `ui_locales` (or B2C's older `lang`): the languages the app asks the pages to use, most preferred first. */
  uiLocales?: string;
  /**
   * An administrator's consent for the whole tenant (the admin-consent endpoint) rather than a sign-in:
   * the permissions asked for, and the `scope` the answer echoes. Its journey ends in
   * `admin_consent=True&tenant=…`, never in a token.
   */
  adminConsent?: { permissions: Omit<AppPermission, 'clientId'>[]; scope: string };
}

/** Where an error about this request may be sent (known only once client and redirect URI check out). */
export interface ErrorTarget {
  redirectUri: string;
  responseMode: ResponseMode;
  state?: string;
}

export type RawParams = Record<string, unknown>;

const RESPONSE_TYPES = new Set(['code', 'id_token', 'token', 'code id_token', 'code token', 'code id_token token', 'id_token token']);
const PROMPTS = new Set<Prompt>(['none', 'login', 'consent', 'select_account']);
const MAX_PARAM = 4096;
/** RFC 7636 §4.2: 43–128 characters of the unreserved set; S256 output is 43 base64url characters. */
const CODE_CHALLENGE = /^[A-Za-z0-9._~-]{43,128}$/;

/** Reads one parameter: absent → undefined; repeated → invalid_request (RFC 6749 §3.1). */
export function single(params: RawParams, name: string, target?: ErrorTarget): string | undefined {
  const v = params[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') {
    throw target
      ? new OAuthError('invalid_request', `The parameter '${name}' was sent more than once.`)
      : pageError('invalid_request', `The parameter '${name}' was sent more than once.`);
  }
  if (v.length > MAX_PARAM) {
    const msg = `The parameter '${name}' is too long.`;
    throw target ? new OAuthError('invalid_request', msg) : pageError('invalid_request', msg);
  }
  return v;
}

/**
 * The client and redirect URI, checked before anything may be redirected; the platform the redirect
 * URI is registered under decides how the request is treated (model/platforms.ts).
 */
export async function validateClientAndRedirect(
  store: Store,
  tenantId: string,
  params: RawParams,
): Promise<{ app: App; redirectUri: string; platform: Platform }> {
  const clientId = single(params, 'client_id');
  if (!clientId) throw pageError('invalid_request', "The request is missing the 'client_id' parameter.", B2C_CODES.missingClientId);
  // The tenant's own app, or a multi-tenant app of another tenant (its consent there provisions it).
  const app = /^[\w-]{1,64}$/.test(clientId) ? await findClient(store, tenantId, clientId) : undefined;
  if (!app) throw pageError('invalid_request', `The application '${clientId}' is not registered in this tenant.`, B2C_CODES.unknownApplicationOrScope);
  if (redirectUrisOf(app).length === 0) {
    throw pageError('invalid_request', `The application '${clientId}' has no registered redirect URI.`, B2C_CODES.noRedirectUriRegistered);
  }
  const redirectUri = single(params, 'redirect_uri');
  if (!redirectUri) throw pageError('invalid_request', "The request is missing the 'redirect_uri' parameter.", B2C_CODES.redirectUriNotRegistered);
  // Exact string match (RFC 9700 §4.1.3): no prefix, no wildcard, no normalisation.
  const platform = platformOf(app, redirectUri);
  if (!platform) {
    throw pageError(
      'invalid_request',
      `The redirect URI '${redirectUri}' provided in the request is not registered for the client id '${clientId}'.`,
      B2C_CODES.redirectUriNotRegistered,
    );
  }
  return { app, redirectUri, platform };
}

function defaultMode(responseType: string[]): ResponseMode {
  return responseType.length === 1 && responseType[0] === 'code' ? 'query' : 'fragment';
}

/**
 * Validates an authorization request (RFC 6749 §4.1.1, OIDC Core §3). Errors before the client
 * and redirect URI are known are page errors; later ones carry `target` so they can be redirected.
 */
export async function parseAuthorizationRequest(
  store: Store,
  ctx: { tenantId: string; tenantSegment: string; form: 'path' | 'query' | 'tfp'; policyId: string },
  params: RawParams,
): Promise<{ request: AuthorizationRequest; app: App }> {
  const { app, redirectUri, platform } = await validateClientAndRedirect(store, ctx.tenantId, params);

  // The state and a usable response mode are needed to send any later error back.
  const stateRaw = params.state;
  const state = typeof stateRaw === 'string' && stateRaw !== '' && stateRaw.length <= MAX_PARAM ? stateRaw : undefined;
  const rtRaw = typeof params.response_type === 'string' ? params.response_type : undefined;
  const rtParts = rtRaw ? [...new Set(rtRaw.split(' ').filter(Boolean))].sort() : [];
  const modeRaw = typeof params.response_mode === 'string' ? params.response_mode : undefined;
  const validMode = modeRaw === 'query' || modeRaw === 'fragment' || modeRaw === 'form_post' ? modeRaw : undefined;
  const target: ErrorTarget = {
    redirectUri,
    responseMode: validMode ?? defaultMode(rtParts.length > 0 ? rtParts : ['code']),
    ...(state !== undefined ? { state } : {}),
  };
  const fail = (code: ConstructorParameters<typeof OAuthError>[0], msg: string, b2cCode?: B2cCode | AadCode): never => {
    throw new TargetedError(new OAuthError(code, msg, b2cCode ? { b2cCode } : {}), target);
  };

  try {
    for (const name of ['state', 'response_type', 'response_mode', 'scope', 'nonce', 'code_challenge', 'code_challenge_method', 'prompt', 'max_age', 'login_hint', 'domain_hint', 'id_token_hint', 'client_info', 'ui_locales', 'lang']) {
      single(params, name, target);
    }
    // A multi-tenant daemon's redirect URI receives the admin-consent answer only: it signs no one in.
    if (app.type === 'daemon') fail('unauthorized_client', 'A daemon application signs no one in: it uses the client credentials grant.');
    if (params.request !== undefined) fail('invalid_request', 'Request objects are not supported.');
    if (params.request_uri !== undefined) fail('invalid_request', 'request_uri is not supported.');

    if (!rtRaw) fail('invalid_request', "The request is missing the 'response_type' parameter.", B2C_CODES.missingParameter);
    const responseType = rtParts;
    if (!RESPONSE_TYPES.has(responseType.join(' '))) {
      fail('unsupported_response_type', `The response type '${rtRaw}' is not supported.`, B2C_CODES.unsupportedResponseType);
    }
    const implicit = responseType.includes('id_token') || responseType.includes('token');
    if (implicit && !app.allowImplicit) {
      fail('unauthorized_client', 'The implicit flow is not enabled for this application.', B2C_CODES.implicitNotEnabled);
    }
    if (modeRaw !== undefined && validMode === undefined) {
      fail('invalid_request', `The response mode '${modeRaw}' is not supported.`, B2C_CODES.unsupportedResponseMode);
    }
    if (implicit && target.responseMode === 'query') {
      fail('invalid_request', 'Tokens cannot be returned in the query string; use fragment or form_post.', B2C_CODES.unsupportedResponseMode);
    }

    const requested = parseScope(single(params, 'scope', target));
    if (requested.length === 0) fail('invalid_request', "The request is missing the 'scope' parameter.", B2C_CODES.missingScope);
    const scopes = await resolveDelegatedScopes(store, app, requested, ctx.tenantId);
    const hasOpenid = scopes.oidc.includes('openid');
    if (responseType.includes('id_token') && !hasOpenid) {
      fail('invalid_scope', "An id_token needs the 'openid' scope.", B2C_CODES.openidScopeMissing);
    }
    if (!hasOpenid && !scopes.api && !scopes.granted.includes(app.clientId)) {
      fail('invalid_scope', "The scope must contain 'openid', the client id, or an API scope.", B2C_CODES.scopeCombination);
    }
    if (responseType.includes('token') && !scopes.api && !scopes.granted.includes(app.clientId)) {
      fail('invalid_scope', 'An access token needs a resource scope (an API scope or the client id).', B2C_CODES.unknownApplicationOrScope);
    }

    const nonce = single(params, 'nonce', target);
    if (implicit && responseType.includes('id_token') && !nonce) {
      fail('invalid_request', "The 'nonce' parameter is required when an id_token is returned from the authorization endpoint.");
    }

    const codeChallenge = single(params, 'code_challenge', target);
    const method = single(params, 'code_challenge_method', target);
    if (responseType.includes('code')) {
      if (codeChallenge !== undefined) {
        if ((method ?? 'plain') !== 'S256') {
          fail('invalid_request', "Only the 'S256' code challenge method is supported.", B2C_CODES.unsupportedCodeChallengeMethod);
        }
        if (!CODE_CHALLENGE.test(codeChallenge)) fail('invalid_request', 'The code challenge is malformed.', B2C_CODES.invalidCodeChallengeOrVerifier);
      } else if (clientKindFor(app, platform) === 'public') {
        // The redirect URI's platform decides: SPA and public-client ones, and web ones of an app without a secret.
        fail('invalid_request', "Public clients must use PKCE: 'code_challenge' is required.", platform === 'spa' ? B2C_CODES.pkceRequired : undefined);
      } else if (method !== undefined) {
        fail('invalid_request', "'code_challenge_method' was sent without 'code_challenge'.");
      }
    }

    const promptRaw = single(params, 'prompt', target);
    const prompt = promptRaw ? [...new Set(promptRaw.split(' ').filter(Boolean))] : [];
    for (const p of prompt) {
      if (!PROMPTS.has(p as Prompt)) fail('invalid_request', `The prompt value '${p}' is not supported.`, B2C_CODES.unsupportedPrompt);
    }
    if (prompt.includes('none') && prompt.length > 1) {
      fail('invalid_request', "prompt=none cannot be combined with other prompt values.", B2C_CODES.unsupportedPrompt);
    }

    const maxAgeRaw = single(params, 'max_age', target);
    let maxAge: number | undefined;
    if (maxAgeRaw !== undefined) {
      if (!/^\d{1,10}$/.test(maxAgeRaw)) fail('invalid_request', "'max_age' must be a non-negative integer.", B2C_CODES.invalidMaxAge);
      maxAge = Number(maxAgeRaw);
    }

    const loginHint = single(params, 'login_hint', target);
    const domainHint = single(params, 'domain_hint', target);
    const idTokenHint = single(params, 'id_token_hint', target);
    const uiLocales = single(params, 'ui_locales', target) ?? single(params, 'lang', target);
    const request: AuthorizationRequest = {
      tenantId: ctx.tenantId,
      tenantSegment: ctx.tenantSegment,
      form: ctx.form,
      policyId: ctx.policyId,
      clientId: app.clientId,
      redirectUri,
      responseType,
      responseMode: target.responseMode,
      scopes,
      prompt: prompt as Prompt[],
      clientInfo: single(params, 'client_info', target) === '1',
      ...(state !== undefined ? { state } : {}),
      ...(nonce !== undefined ? { nonce } : {}),
      ...(codeChallenge !== undefined ? { codeChallenge } : {}),
      ...(maxAge !== undefined ? { maxAge } : {}),
      ...(loginHint !== undefined ? { loginHint } : {}),
      ...(domainHint !== undefined ? { domainHint } : {}),
      ...(idTokenHint !== undefined ? { idTokenHint } : {}),
      ...(uiLocales !== undefined ? { uiLocales } : {}),
    };
    return { request, app };
  } catch (err) {
    if (err instanceof TargetedError) throw err;
    if (err instanceof OAuthError && err.redirectable) throw new TargetedError(err, target);
    throw err;
  }
}

/** A protocol error that may be sent to the client's (validated) redirect URI. */
export class TargetedError extends Error {
  constructor(
    readonly error: OAuthError,
    readonly target: ErrorTarget,
  ) {
    super(error.message);
    this.name = 'TargetedError';
  }
}
