/**
 * What Latchkey keeps: tenants, apps, users and the records of sign-ins and tokens, as every layer
 * sees them. The stores persist these; services are the only code that writes them.
 */

export type AppType = 'web' | 'spa' | 'native' | 'daemon' | 'api';

export const appTypes: readonly AppType[] = ['web', 'spa', 'native', 'daemon', 'api'];

export const confidentialTypes: ReadonlySet<AppType> = new Set(['web', 'daemon', 'api']);

/** The old identity provider's ROPC token endpoint, where imported users' passwords are checked once. */
export interface LegacyRopc {
  /** e.g. https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_ROPC/oauth2/v2.0/token (the policy is in it) */
  tokenUrl: string;
  clientId: string;
  /** Defaults to `openid {clientId}`, what B2C's ROPC flow asks for. */
  scope: string;
}

export interface Tenant {
  id: string;
  slug: string;
  displayName: string;
  defaultPolicy: string;
  issuerPattern: 'tenant' | 'tfp';
  configVersion: number;
  createdAt: number;
  legacyRopc: LegacyRopc | null;
  /** B2C's extension attributes are named extension_<this>_<name> (the b2c-extensions-app's id, no hyphens). */
  extensionsAppId: string | null;
}

/**
 * A host name a tenant is served on besides the shared one (B2C's custom domain, `login.contoso.com`):
 * on it every URL form serves this tenant and no other, and issuers and endpoints are written with it.
 */
export interface TenantDomain {
  /** Lower-case host name, without a port (a domain matches the request's host whatever the port). */
  host: string;
  tenantId: string;
  createdAt: number;
}

/** Tenant settings an operator changes after creation. */
export interface TenantSettings {
  legacyRopc?: LegacyRopc | null;
  extensionsAppId?: string | null;
}

/**
 * A tenant's secret (a connector's password, an upstream client secret), sealed under the master key.
 * Policies name it `{ "secret": NAME }`; its value is never shown again once set.
 */
export interface TenantSecret {
  tenantId: string;
  name: string;
  sealedValue: string;
  createdAt: number;
  updatedAt: number;
}

/** One of a confidential app's client secrets (the value is shown once; only its SHA-256 is kept). */
export interface AppSecret {
  id: string;
  hash: string;
  description: string | null;
  createdAt: number;
  /** Epoch ms after which the secret no longer authenticates; null: no expiry. */
  expiresAt: number | null;
}

export interface App {
  clientId: string;
  tenantId: string;
  name: string;
  type: AppType;
  /** Client secrets, live and expired (several live ones while a secret is rotated). */
  secrets: AppSecret[];
  redirectUris: string[];
  postLogoutRedirectUris: string[];
  identifierUri: string | null;
  allowImplicit: boolean;
  allowRopc: boolean;
  logoutUrl: string | null;
  /** A third-party app: each user agrees to the scopes it asks for (a consent page) before it gets tokens. */
  thirdParty: boolean;
  createdAt: number;
}

/** Where a SAML service provider takes responses (HTTP-POST) or logout messages. */
export interface SamlEndpoint {
  url: string;
  /** AssertionConsumerService index (an AuthnRequest may name the ACS by it). */
  index?: number;
  isDefault?: boolean;
}

/**
 * A SAML application (service provider) that signs users in through Latchkey, as B2C registers one:
 * its entity id, the ACS URLs responses may be posted to (nothing else ever gets one), its single logout
 * endpoint, and the certificates its signed requests are checked with. Kept apart from OAuth apps.
 */
export interface SamlApp {
  clientId: string;
  tenantId: string;
  name: string;
  entityId: string;
  acs: SamlEndpoint[];
  /** Single logout: where LogoutRequests (Redirect binding) and LogoutResponses go. */
  slo: { url: string; responseUrl: string | null; binding: 'redirect' | 'post' } | null;
  nameIdFormat: 'persistent' | 'email' | 'unspecified';
  /** Refuse AuthnRequests without a valid signature (also implied by metadata's AuthnRequestsSigned). */
  requireSignedRequests: boolean;
  /** The SP's signing certificates, base64 DER (from its metadata). */
  certificates: string[];
  /** Where the metadata came from, when from a URL. */
  metadataUrl: string | null;
  createdAt: number;
}

/** What a user agreed to let a third-party app do. */
export interface Consent {
  tenantId: string;
  userId: string;
  clientId: string;
  scopes: string[];
  grantedAt: number;
}

export interface AppGrant {
  clientId: string;
  apiClientId: string;
  kind: 'scope' | 'role';
  name: string;
}

/** How a local account signs in (B2C's signInType of a local identity). */
export type SignInType = 'emailAddress' | 'userName';

/**
 * A user as B2C models one: an optional local account (sign-in name + password) and identities at
 * upstream identity providers (`UserIdentity`). `email` is contact information and may be absent.
 */
export interface User {
  id: string;
  tenantId: string;
  email: string | null;
  emailVerified: boolean;
  /** The local account's sign-in name, normalized; null when the user signs in only through identity providers. */
  signInName: string | null;
  signInType: SignInType | null;
  passwordHash: string | null;
  /** Imported without a hash: the password is checked at the old identity provider at the first sign-in. */
  passwordAtLegacy: boolean;
  givenName: string | null;
  familyName: string | null;
  displayName: string | null;
  attributes: Record<string, unknown>;
  disabled: boolean;
  createdAt: number;
  updatedAt: number;
}

/** An account at an upstream identity provider: its issuer domain (google.com…) and its subject there. */
export interface UserIdentity {
  issuer: string;
  issuerAssignedId: string;
}

export interface SigningKey {
  kid: string;
  tenantId: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateKey: string;
  status: 'active' | 'grace';
  createdAt: number;
  publishUntil: number | null;
}

export interface SsoSession {
  idHash: string;
  /** Public session id (OIDC `sid`): in id_tokens and front-channel logout requests. */
  sid: string;
  tenantId: string;
  userId: string;
  policyId: string;
  clientId: string;
  idp: string;
  authTime: number;
  /** What the sign-in proved, as RFC 8176 `amr` values (pwd, otp, hwk, swk, fed, mfa). */
  amr: string[];
  createdAt: number;
  expiresAt: number;
}

/** An app the SSO session signed in, and under which policy (front-channel logout). */
export interface SessionClient {
  clientId: string;
  policyId: string;
}

export type AuthenticatorKind = 'email' | 'totp' | 'passkey' | 'recovery';

/**
 * Something a user enrolled to prove who they are besides the password: e-mail codes (turned on),
 * an authenticator app, a passkey, or their recovery codes. `data` depends on the kind (services/mfa.ts);
 * `version` changes with every use, so a use is recorded only by the request that saw the old one.
 */
export interface Authenticator {
  id: string;
  tenantId: string;
  userId: string;
  kind: AuthenticatorKind;
  /** A passkey's WebAuthn credential id (base64url), unique in the tenant; null for other kinds. */
  credentialId: string | null;
  label: string | null;
  data: Record<string, unknown>;
  version: number;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface JourneyRecord {
  id: string;
  tenantId: string;
  policyId: string;
  browserHash: string;
  request: unknown;
  state: unknown;
  csrf: string;
  createdAt: number;
  expiresAt: number;
}

/** What a code and a refresh token both hold: whose grant it is, its data, and its lifetime and use. */
interface GrantRecord {
  tenantId: string;
  clientId: string;
  userId: string;
  data: unknown;
  createdAt: number;
  expiresAt: number;
  consumedAt: number | null;
}

export interface AuthCodeRecord extends GrantRecord {
  codeHash: string;
  issuedJti: string | null;
}

export interface RefreshTokenRecord extends GrantRecord {
  tokenHash: string;
  familyId: string;
  familyExpiresAt: number | null;
  revokedAt: number | null;
  originCodeHash: string | null;
}

export interface OutboxMessage {
  id: number;
  tenantId: string;
  to: string;
  subject: string;
  body: string;
  transport: 'outbox' | 'smtp';
  createdAt: number;
}

/** Profile fields a journey may change. */
export interface UserProfileUpdate {
  givenName?: string | null;
  familyName?: string | null;
  displayName?: string | null;
  attributes?: Record<string, unknown>;
}

export interface AuditEvent {
  id: number;
  at: number;
  tenantId: string | null;
  event: string;
  outcome: 'success' | 'failure';
  subject: string | null;
  clientId: string | null;
  ip: string | null;
  detail: string | null;
  /** Who made the change (a console user's oid); null for the CLI, the APIs and journeys. */
  actor: string | null;
}

export interface LoginThrottle {
  failures: number;
  lockouts: number;
  lockedUntil: number;
}

/** A user as `user import` brings it in, with its upstream identities. */
export interface ImportedUser {
  user: User;
  identities: UserIdentity[];
}
