import type { Deps } from '../../services/deps.js';
import type { Policy } from '../../model/policy.js';
import type { Tenant } from '../../model/entities.js';
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
