/**
 * The one error type for protocol errors. The HTTP layer turns it into a JSON body (token, userinfo),
 * a redirect to a validated redirect URI (authorize), or an HTML page when redirecting is not safe.
 */
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

export interface OAuthErrorOptions {
  /** B2C's error code (AADB2C9xxxx) that prefixes error_description, where B2C has one. */
  b2cCode?: string;
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
  readonly b2cCode: string | undefined;
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
export function pageError(code: OAuthErrorCode, description: string, b2cCode?: string): OAuthError {
  return new OAuthError(code, description, { redirectable: false, ...(b2cCode ? { b2cCode } : {}) });
}
