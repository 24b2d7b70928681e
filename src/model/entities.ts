/**
 * What Latchkey keeps: tenants, apps, users and the records of sign-ins and tokens, as every layer
 * sees them. The stores persist these; services are the only code that writes them.
 */

/**
 * The preset an app was registered with (`app create --type`): it chose the platform of its first
 * redirect URIs and whether it got a first secret. After that an app may have every platform (see
 * model/platforms.ts); `daemon` still means an app that signs in no user (client credentials only).
 */
export type AppType = 'web' | 'spa' | 'native' | 'daemon' | 'api';

export const appTypes: readonly AppType[] = ['web', 'spa', 'native', 'daemon', 'api'];

/** Presets registered with a first client secret (confidential from the start). */
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
  /**
   * The B2C tenant's name when it differs from the slug (`contosob2c` of `contosob2c.onmicrosoft.com`):
   * `{b2cName}.onmicrosoft.com` then names the tenant in URLs and issues its local identities.
   */
  b2cName: string | null;
  /** Calls per second to the old identity provider's ROPC endpoint (just-in-time migration); null: the default. */
  legacyRate: number | null;
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
  b2cName?: string | null;
  legacyRate?: number | null;
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
  /**
   * Redirect URIs by platform, as an Azure app registration has them: a URI is in one list only, and
   * the list decides how a request that uses it is treated (model/platforms.ts). Web: a server-side
   * app (its codes are redeemed with a secret); SPA: a browser app (PKCE, CORS, 24-hour refresh
   * tokens, no secret); public client: a mobile or desktop app (PKCE, no secret).
   */
  webRedirectUris: string[];
  spaRedirectUris: string[];
  publicClientRedirectUris: string[];
  postLogoutRedirectUris: string[];
  /** The exposed API's identifier URI (the prefix of its scopes), on an app of any type; null: it exposes none. */
  identifierUri: string | null;
  allowImplicit: boolean;
  allowRopc: boolean;
  logoutUrl: string | null;
  /** A third-party app: each user agrees to the scopes it asks for (a consent page) before it gets tokens. */
  thirdParty: boolean;
  /**
   * Usable by people (and, for a daemon, by administrators' consent) of other tenants, as Azure AD's
   * multi-tenant apps: signed in through `/common`, provisioned into a tenant by consent (EnterpriseApp).
   */
  multiTenant: boolean;
  createdAt: number;
}

/**
 * A permission a multi-tenant app declares it needs (Azure's "required resource access"): a delegated
 * scope or an app role of an API, the API named by its identifier URI (`urn:latchkey:admin`, which every
 * tenant has, or a multi-tenant API of the app's home tenant). Consent in a tenant grants from this list.
 */
export interface AppPermission {
  clientId: string;
  api: string;
  kind: 'scope' | 'role';
  name: string;
}

/**
 * A multi-tenant app provisioned into a tenant other than its home (Azure's enterprise app, or service
 * principal): made by the first consent there, a user's or an administrator's. `adminConsent` is what an
 * administrator consented to for the whole tenant (application permissions included), if one did.
 */
export interface EnterpriseApp {
  tenantId: string;
  clientId: string;
  homeTenantId: string;
  adminConsent: { permissions: Omit<AppPermission, 'clientId'>[]; by: string; at: number } | null;
  createdAt: number;
}

/** Directory roles a user may hold in a tenant (Azure's built-in roles of the same names). */
export type DirectoryRole = 'GlobalAdministrator' | 'GlobalReader';

/** Azure's role template ids, as tokens carry them in `wids`. */
export const DIRECTORY_ROLE_TEMPLATES: Record<DirectoryRole, string> = {
  GlobalAdministrator: '62e90394-69f5-4237-9190-012177145e10',
  GlobalReader: 'f2ef992c-3afb-46b9-b7cf-a126ee74c451',
};

export const directoryRoles = Object.keys(DIRECTORY_ROLE_TEMPLATES) as DirectoryRole[];

/** An email domain that routes people to a tenant (home realm discovery at `/common`); unique on the server. */
export interface EmailDomain {
  domain: string;
  tenantId: string;
  createdAt: number;
}

/** Where a SAML service provider takes responses (HTTP-POST) or logout messages. */
export interface SamlEndpoint {
  url: string;
  /** AssertionConsumerService index (an AuthnRequest may name the ACS by it). */
  index?: number;
  isDefault?: boolean;
}

/** The NameID formats a SAML app may be registered with (`--name-id`). */
export const samlNameIdFormats = ['persistent', 'email', 'unspecified'] as const;

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
  nameIdFormat: (typeof samlNameIdFormats)[number];
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

/** The local identities a password signs in with (B2C's signInType of a local identity). */
export type SignInType = 'emailAddress' | 'userName';

/** Every kind of local identity: a phone number signs in with a one-time code, never a password. */
export type LocalSignInType = SignInType | 'phoneNumber';

export const localSignInTypes: readonly LocalSignInType[] = ['emailAddress', 'userName', 'phoneNumber'];

/**
 * A name the user signs in with here, issued by the tenant itself (B2C's identities of issuer
 * `{tenant}.onmicrosoft.com`): an email address (its case kept), a user name, or a phone number (E.164).
 */
export interface LocalIdentity {
  signInType: LocalSignInType;
  issuerAssignedId: string;
}

/**
 * A user as B2C models one: any number of local identities (an email address and a user name side by
 * side, a phone number) sharing one password, and identities at upstream identity providers
 * (`UserIdentity`). `email` is contact information and may be absent; `otherMails` are more addresses
 * (B2C keeps a social account's address there).
 */
export interface User {
  id: string;
  tenantId: string;
  email: string | null;
  emailVerified: boolean;
  /** The names the user signs in with here, in the order given; empty when the user signs in only upstream. */
  localIdentities: LocalIdentity[];
  /** More addresses of the user (Graph's `otherMails`): in the `emails` claim after `email`. */
  otherMails: string[];
  passwordHash: string | null;
  /** Imported without a hash: the password is checked at the old identity provider at the first sign-in. */
  passwordAtLegacy: boolean;
  /** The next sign-in with the password asks for a new one before any token (Graph's forceChangePasswordNextSignIn). */
  mustChangePassword: boolean;
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

/**
 * The key set of the instance, not of a tenant: it signs the tokens of multi-tenant apps (as Azure AD
 * signs every directory's tokens with the same keys), published at `/common/discovery/v2.0/keys` and
 * in every tenant's JWKS. Its keys are stored as a tenant's are, under this id (never a tenant's: those
 * are GUIDs, and `common` is a reserved name).
 */
export const COMMON_KEY_SET = 'common';

export interface SigningKey {
  kid: string;
  /** The tenant's id, or COMMON_KEY_SET. */
  tenantId: string;
  alg: string;
  publicJwk: Record<string, unknown>;
  privateKey: string;
  /**
   * `active` signs; `next` is published (JWKS, SAML metadata) but signs nothing yet, so clients that
   * pin keys see it before it is used (`keys rotate --prepare`); `grace` is a replaced key, published
   * until `publishUntil`.
   */
  status: 'active' | 'grace' | 'next';
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

export type AuthenticatorKind = 'email' | 'totp' | 'passkey' | 'recovery' | 'sms';

/**
 * Something a user enrolled to prove who they are besides the password: e-mail codes (turned on),
 * an authenticator app, a passkey, a phone for text-message codes (Graph's phone methods), or their
 * recovery codes. `data` depends on the kind (services/mfa.ts);
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
  /** Mail: 'smtp' (sent) or 'outbox' (kept only); text messages: 'sms' (handed to the gateway) or 'sms-outbox'. */
  transport: 'outbox' | 'smtp' | 'sms' | 'sms-outbox';
  createdAt: number;
}

/** What a user signs in with here: its local identities, and its contact email (Store.setUserSignIn). */
export interface UserSignIn {
  localIdentities: LocalIdentity[];
  email: string | null;
  emailVerified: boolean;
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
