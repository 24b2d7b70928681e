import type { Platform } from '../model/platforms.js';
import type { ResolvedScopes } from './scopes.js';

/**
 * What a user granted a client, carried from the authorization through codes and refresh tokens.
 * A field added here must also be copied into refresh tokens (token-response.ts lists them).
 */
export interface UserGrant {
  /** The policy's configured id (for `tfp`/`acr`; endpoint checks compare case-insensitively). */
  policyId: string;
  scopes: ResolvedScopes;
  nonce?: string;
  /** Epoch seconds of the last interactive authentication. */
  authTime: number;
  idp: string;
  newUser: boolean;
  /** What the authentication proved (RFC 8176), `mfa` included when it was multi-factor; for `amr` and `acr`. */
  amr?: string[];
  /** The request asked for `client_info` (MSAL). */
  clientInfo: boolean;
  /** The SSO session's public id, when the grant was made within one (id_token `sid`). */
  sid?: string;
  /** The upstream identity provider's access token, sealed under the master key (`idp_access_token`). */
  idpAccessToken?: string;
  /** Claims the policy's preTokenIssuance API connector returned (only those it outputs, none that identify). */
  connectorClaims?: Record<string, unknown>;
}

/** An authorization code's payload: the grant plus what the token request must match. */
export interface CodeGrant extends UserGrant {
  redirectUri: string;
  /** The platform the redirect URI was registered under when the code was issued (absent in codes from before platforms). */
  platform?: Platform;
  codeChallenge?: string;
}

/** A refresh token's payload: the grant plus how its client is treated. */
export interface RefreshGrant extends UserGrant {
  /** Issued through an SPA redirect URI: a fixed 24 h life, redeemed from the browser without a secret. */
  spa: boolean;
  /** The platform of the redirect URI its grant was made through (absent in tokens from before platforms; see refresh-token.ts). */
  platform?: Platform;
}
