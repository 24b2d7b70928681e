import type { ErrorTarget, ResponseMode } from './authorize-request.js';
import type { OAuthError } from '../model/errors.js';

/** What goes back to the app's redirect URI, in the request's response mode. */
export interface AuthorizationResponse {
  redirectUri: string;
  mode: ResponseMode;
  params: Record<string, string>;
}

export function errorResponse(target: ErrorTarget, err: OAuthError, correlationId: string, now: Date): AuthorizationResponse {
  return {
    redirectUri: target.redirectUri,
    mode: target.responseMode,
    params: {
      error: err.code,
      error_description: err.describe(correlationId, now),
      ...(target.state !== undefined ? { state: target.state } : {}),
    },
  };
}

/** The redirect URL for query and fragment modes (form_post is rendered as a page instead). */
export function responseLocation(r: AuthorizationResponse): string {
  const encoded = new URLSearchParams(r.params).toString();
  if (r.mode === 'fragment') return `${r.redirectUri.split('#')[0]}#${encoded}`;
  const url = new URL(r.redirectUri);
  for (const [k, v] of Object.entries(r.params)) url.searchParams.set(k, v);
  return url.toString();
}
