import type { Deps } from '../../services/deps.js';
import type { Policy } from '../../model/policy.js';
import type { Tenant } from '../../model/entities.js';
import { aRedirectUriOf, type Platform } from '../../model/platforms.js';
import type { RawParams } from '../authorize-request.js';
import type { AuthenticatedClient } from '../client-auth.js';
import { OAuthError, B2C_CODES } from '../../model/errors.js';
import type { Site } from '../../model/site.js';

/** A token request after client authentication, at one tenant's and policy's token endpoint. */
export interface TokenRequest {
  deps: Deps;
  tenant: Tenant;
  /** The policy of the endpoint the request was sent to. */
  policy: Policy;
  client: AuthenticatedClient;
  params: RawParams;
  /** The caller's address, for the audit trail. */
  ip: string;
  /** Where the request came in: tokens' issuer is written with its host. */
  site: Site;
  /** The Origin header: the request came from a browser page of this origin (a cross-origin call). */
  origin?: string;
}

export function param(params: RawParams, name: string): string | undefined {
  const v = params[name];
  if (v === undefined || v === '') return undefined;
  if (typeof v !== 'string') throw new OAuthError('invalid_request', `The parameter '${name}' was sent more than once.`);
  return v;
}

export function required(params: RawParams, name: string): string {
  const v = param(params, name);
  if (v === undefined) throw new OAuthError('invalid_request', `The request is missing the '${name}' parameter.`, { b2cCode: B2C_CODES.missingParameter });
  return v;
}

/** A grant minted under one policy is redeemed at that policy's endpoint (B2C's AADB2C90088). */
export function checkSamePolicy(req: TokenRequest, grantPolicyId: string): void {
  if (grantPolicyId.toLowerCase() !== req.policy.id.toLowerCase()) {
    throw new OAuthError('invalid_grant', 'The provided grant has not been issued for this endpoint.', { b2cCode: B2C_CODES.grantOfAnotherEndpoint });
  }
}

/**
 * Azure's rule for redeeming what was issued through a redirect URI (a code, its refresh tokens): one of
 * an SPA redirect URI only from the browser (a cross-origin request, with Origin), one of a web or
 * public-client redirect URI never from a browser page (AADSTS9002327 and AADSTS9002326 in Azure AD).
 */
export function checkRedemptionOrigin(req: TokenRequest, platform: Platform, what: 'authorization code' | 'refresh token'): void {
  if (platform === 'spa' && req.origin === undefined) {
    throw new OAuthError('invalid_request', `The ${what} was issued to a single-page application's redirect URI: it may only be redeemed by a cross-origin request (from the browser, with an Origin header).`);
  }
  if (platform !== 'spa' && req.origin !== undefined) {
    throw new OAuthError('invalid_request', `Cross-origin token redemption is permitted only for the single-page application platform: the ${what} was issued to ${aRedirectUriOf(platform)}.`);
  }
}
