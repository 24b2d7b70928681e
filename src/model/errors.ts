/**
 * The error catalogue: every error Latchkey answers with is named here once — the OAuth / OpenID
 * Connect codes (with their HTTP status and whether they may go back to an app), B2C's AADB2C codes,
 * and what a service refuses (ServiceError), which each surface (admin API, Graph API, CLI) maps with
 * one function of its own (http/error-mapper.ts). Protocol code throws OAuthError; services throw
 * ServiceError; neither knows about HTTP.
 */

/** OAuth 2.0 / OpenID Connect error codes (RFC 6749 §4.1.2.1, §5.2; OIDC Core §3.1.2.6; RFC 6750 §3.1). */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'unauthorized_client'
  | 'unsupported_grant_type'
  | 'unsupported_response_type'
  | 'invalid_scope'
  | 'access_denied'
  | 'server_error'
  | 'temporarily_unavailable'
  | 'login_required'
  | 'interaction_required'
  | 'consent_required'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'not_found';

/**
 * B2C's error codes (AADB2C9xxxx), by what they mean. They prefix error_description where B2C has
 * one, so apps and support documents written for B2C recognise them.
 */
export const B2C_CODES = {
  redirectUriNotRegistered: 'AADB2C90006',
  noRedirectUriRegistered: 'AADB2C90007',
  missingClientId: 'AADB2C90008',
  missingScope: 'AADB2C90010',
  scopeNotExposed: 'AADB2C90012',
  unsupportedResponseType: 'AADB2C90013',
  unsupportedResponseMode: 'AADB2C90014',
  unsupportedPrompt: 'AADB2C90043',
  scopeNotGranted: 'AADB2C90055',
  implicitNotEnabled: 'AADB2C90057',
  postLogoutRedirectNotRegistered: 'AADB2C90067',
  /** No session for a silent request (login_required, interaction_required, consent_required). */
  noSession: 'AADB2C90077',
  missingClientSecret: 'AADB2C90079',
  /** The refresh token's lifetime or sliding window is over. */
  grantExpired: 'AADB2C90080',
  wrongClientSecret: 'AADB2C90081',
  missingParameter: 'AADB2C90083',
  publicClientWithSecret: 'AADB2C90084',
  unsupportedGrantType: 'AADB2C90086',
  grantOfAnotherEndpoint: 'AADB2C90088',
  userCancelled: 'AADB2C90091',
  openidScopeMissing: 'AADB2C90110',
  accountLocked: 'AADB2C90114',
  scopeCombination: 'AADB2C90115',
  /** An unknown application, or a scope that belongs to none. */
  unknownApplicationOrScope: 'AADB2C90117',
  forgotPassword: 'AADB2C90118',
  invalidMaxAge: 'AADB2C90120',
  accountGone: 'AADB2C90128',
  grantRevoked: 'AADB2C90129',
  scopesOfSeveralApis: 'AADB2C90146',
  codeVerifierMismatch: 'AADB2C90182',
  invalidCodeChallengeOrVerifier: 'AADB2C90183',
  unsupportedCodeChallengeMethod: 'AADB2C90184',
  logoutClientMismatch: 'AADB2C90209',
  invalidIdTokenHint: 'AADB2C90210',
  ropcNotEnabled: 'AADB2C90224',
  invalidCredentials: 'AADB2C90225',
  /** An identity provider (or the consent page) answered no, or could not be used. */
  upstreamRefused: 'AADB2C90273',
  userDoesNotExist: 'AADB2C99002',
  pkceRequired: 'AADB2C99059',
} as const;

export type B2cCode = (typeof B2C_CODES)[keyof typeof B2C_CODES];

/**
 * Azure AD's error codes (AADSTS…) for what only Azure AD's multi-tenant endpoints do (`/common`,
 * enterprise apps, admin consent), so apps written for Azure AD recognise them.
 */
export const AAD_CODES = {
  /** A single-tenant app at /common or /organizations. */
  notMultiTenant: 'AADSTS50194',
  /** The app is not registered in, nor provisioned into, the tenant. */
  appNotInTenant: 'AADSTS700016',
  /** A daemon asks for a token in a tenant where it has no enterprise app. */
  noServicePrincipal: 'AADSTS7000229',
  /** The user or administrator has not consented (a silent request). */
  consentRequired: 'AADSTS65001',
  /** An administrator declined, or a permission needs an administrator's consent. */
  adminConsentDeclined: 'AADSTS65004',
  /** The email's domain belongs to no tenant. */
  unknownDomain: 'AADSTS50034',
  /** A grant type /common cannot take (it has no tenant). */
  tenantRequired: 'AADSTS90002',
} as const;

export type AadCode = (typeof AAD_CODES)[keyof typeof AAD_CODES];

export interface OAuthErrorOptions {
  /** B2C's error code (AADB2C9xxxx), or Azure AD's (AADSTS…), that prefixes error_description where there is one. */
  b2cCode?: B2cCode | AadCode;
  status?: number;
  /** false when the redirect URI itself is not trustworthy: the error is shown on a page instead. */
  redirectable?: boolean;
  /** WWW-Authenticate challenge to send with a 401/403 (RFC 6749 §5.2, RFC 6750 §3). */
  wwwAuthenticate?: string;
  /** Retry-After (seconds) for 429 answers. */
  retryAfter?: number;
}

const defaultStatus: Partial<Record<OAuthErrorCode, number>> = {
  invalid_client: 401,
  invalid_token: 401,
  insufficient_scope: 403,
  server_error: 500,
  temporarily_unavailable: 503,
  not_found: 404,
};

export class OAuthError extends Error {
  readonly code: OAuthErrorCode;
  readonly b2cCode: B2cCode | AadCode | undefined;
  readonly status: number;
  readonly redirectable: boolean;
  readonly wwwAuthenticate: string | undefined;
  readonly retryAfter: number | undefined;

  constructor(code: OAuthErrorCode, description: string, opts: OAuthErrorOptions = {}) {
    super(description);
    this.name = 'OAuthError';
    this.code = code;
    this.b2cCode = opts.b2cCode;
    this.status = opts.status ?? defaultStatus[code] ?? 400;
    this.redirectable = opts.redirectable ?? true;
    this.wwwAuthenticate = opts.wwwAuthenticate;
    this.retryAfter = opts.retryAfter;
  }

  /** B2C's shape: `AADB2C90118: text` then CRLF-separated Correlation ID and Timestamp lines. */
  describe(correlationId: string, now: Date): string {
    const head = this.b2cCode ? `${this.b2cCode}: ${this.message}` : this.message;
    const ts = now.toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return `${head}\r\nCorrelation ID: ${correlationId}\r\nTimestamp: ${ts}\r\n`;
  }
}

/** Shorthand for errors that must never be redirected (bad client or redirect URI). */
export function pageError(code: OAuthErrorCode, description: string, b2cCode?: B2cCode | AadCode): OAuthError {
  return new OAuthError(code, description, { redirectable: false, ...(b2cCode ? { b2cCode } : {}) });
}

/**
 * What a service refuses, by kind; each surface says it its own way (admin API: 400/404/409/403,
 * Graph: Request_BadRequest/Request_ResourceNotFound/…, CLI: one line and exit 1). The message is
 * one line, for operators and administrators alike.
 */
export type ServiceErrorKind =
  /** The input breaks a rule (a bad name, a missing option, an option that makes no sense here). */
  | 'invalid'
  | 'not_found'
  /** It exists already (a name or an id taken), or it changed under the request. */
  | 'conflict'
  /** The caller may not do this (a read-only role writing, a tenant it does not administer). */
  | 'forbidden'
  /** The caller is not known (no token, or one that is not valid). */
  | 'unauthenticated'
  /** A well-formed request for something not built (Graph's unsupported queries). */
  | 'unsupported';

export class ServiceError extends Error {
  constructor(
    readonly kind: ServiceErrorKind,
    message: string,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export const invalid = (message: string): ServiceError => new ServiceError('invalid', message);
export const notFound = (message: string): ServiceError => new ServiceError('not_found', message);
export const conflict = (message: string): ServiceError => new ServiceError('conflict', message);

/**
 * How the surfaces answer each kind: the admin API with its status and code, the Graph-compatible API
 * with Microsoft Graph's (Graph answers a taken name or id with 400 Request_BadRequest, "Another
 * object with the same value … already exists").
 */
const SURFACE_ERRORS: Record<ServiceErrorKind | 'server_error', { admin: [number, string]; graph: [number, string] }> = {
  invalid: { admin: [400, 'invalid_request'], graph: [400, 'Request_BadRequest'] },
  not_found: { admin: [404, 'not_found'], graph: [404, 'Request_ResourceNotFound'] },
  conflict: { admin: [409, 'conflict'], graph: [400, 'Request_BadRequest'] },
  forbidden: { admin: [403, 'insufficient_scope'], graph: [403, 'Authorization_RequestDenied'] },
  unauthenticated: { admin: [401, 'invalid_token'], graph: [401, 'InvalidAuthenticationToken'] },
  unsupported: { admin: [400, 'invalid_request'], graph: [400, 'Request_UnsupportedQuery'] },
  server_error: { admin: [500, 'server_error'], graph: [500, 'generalException'] },
};

/** The status and error code a surface answers a kind with. */
export function surfaceError(surface: 'admin' | 'graph', kind: ServiceErrorKind | 'server_error'): { status: number; code: string } {
  const [status, code] = SURFACE_ERRORS[kind][surface];
  return { status, code };
}
