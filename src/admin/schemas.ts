import { z } from 'zod';
import { appTypes, samlNameIdFormats } from '../model/entities.js';

/**
 * The admin API's inputs and outputs: the handlers parse requests with these, and the OpenAPI
 * document is generated from the same definitions (z.toJSONSchema), so the two cannot drift apart.
 */

export const TenantParams = z.object({ tenant: z.string().min(1).max(64).describe("The tenant's name (slug) or id") });
export const AppParams = TenantParams.extend({ clientId: z.string().min(1).max(200).describe("The app's client id (an API also by its identifier URI)") });
export const SamlAppParams = TenantParams.extend({ clientId: z.string().min(1).max(200).describe("The SAML app's client id") });
export const SecretParams = AppParams.extend({ secretId: z.string().min(1).max(64) });
export const GrantParams = AppParams.extend({ api: z.string().min(1).max(200), kind: z.enum(['scope', 'role']), name: z.string().min(1).max(100) });
export const KeyParams = TenantParams.extend({ kid: z.string().min(1).max(200) });
export const PolicyParams = TenantParams.extend({ policyId: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'must be 1-64 letters, digits, _ or -') });

export const UserParams = TenantParams.extend({ userId: z.string().regex(/^[0-9a-fA-F-]{36}$/, "must be a user's object id") });
export const ConsentParams = UserParams.extend({ clientId: z.string().min(1).max(200) });
export const ConsentsBody = z.object({ consents: z.array(z.object({ clientId: z.string(), appName: z.string(), scopes: z.array(z.string()), grantedAt: z.string() })) });
export const RemovedBody = z.object({ removed: z.boolean() });

export const ErrorBody = z.object({ error: z.object({ code: z.string(), message: z.string() }) });

export const TenantBody = z.object({
  id: z.string(),
  slug: z.string(),
  displayName: z.string(),
  defaultPolicy: z.string(),
  issuer: z.string(),
  legacyRopc: z.object({ tokenUrl: z.string(), clientId: z.string(), scope: z.string() }).nullable(),
  extensionsAppId: z.string().nullable(),
  createdAt: z.string(),
});

export const DomainParams = TenantParams.extend({ host: z.string().min(1).max(253).describe('The host name, such as login.contoso.com') });
export const AddDomain = z.object({ host: z.string().min(1).max(253).describe('A host name of the tenant\'s own, such as login.contoso.com (no scheme, port or path); its DNS and certificate are the operator\'s') }).strict();
export const DomainBody = z.object({
  host: z.string(),
  source: z.enum(['domain', 'pattern']).describe('domain: added here or with latchkey tenant domain add; pattern: LATCHKEY_TENANT_HOST_PATTERN\'s'),
  issuer: z.string().describe("The tenant's issuer on this host"),
  createdAt: z.string().nullable(),
});
export const DomainsBody = z.object({ domains: z.array(DomainBody) });

export const TenantPatch = z
  .object({
    legacyRopc: z.object({ tokenUrl: z.string(), clientId: z.string(), scope: z.string().optional() }).strict().nullable().optional().describe('The old B2C tenant\'s ROPC endpoint for just-in-time password migration; null ends it'),
    extensionsAppId: z.string().nullable().optional().describe("B2C's b2c-extensions-app id (extension_<id>_<name>)"),
  })
  .strict();

const PlatformBody = z.object({ redirect_uris: z.array(z.string()) });

export const AppBody = z.object({
  client_id: z.string(),
  name: z.string(),
  type: z.enum(appTypes),
  redirect_uris: z.array(z.string()).describe('Every redirect URI, of all platforms'),
  platforms: z
    .object({
      web: PlatformBody.optional(),
      spa: PlatformBody.optional(),
      public_client: PlatformBody.optional(),
    })
    .describe("The app registration's platforms (those with redirect URIs)"),
  post_logout_redirect_uris: z.array(z.string()),
  identifier_uri: z.string().optional(),
  scopes: z.array(z.string()).optional(),
  roles: z.array(z.string()).optional(),
  allow_implicit: z.boolean(),
  allow_ropc: z.boolean(),
  logout_url: z.string().optional(),
  token_endpoint_auth_method: z.string(),
  third_party: z.boolean(),
  multi_tenant: z.boolean(),
  created_at: z.string(),
  client_secret: z.string().optional().describe('Only in the answer that created the app: shown once'),
});

export const EnterpriseAppBody = z.object({
  client_id: z.string(),
  name: z.string(),
  type: z.string(),
  home_tenant: z.string().describe("The slug of the tenant the app is registered in"),
  enterprise_app: z.literal(true),
  admin_consent: z.object({ permissions: z.array(z.string()), by: z.string(), at: z.string() }).nullable().describe('What an administrator consented to for the whole tenant'),
  created_at: z.string(),
});
export const EnterpriseAppsBody = z.object({ enterpriseApps: z.array(EnterpriseAppBody) });

export const CreateApp = z
  .object({
    name: z.string().min(1).max(100),
    type: z.enum(appTypes),
    redirectUris: z.array(z.string()).max(100).optional().describe("Redirect URIs of the type's platform (web for web and api, SPA for spa, public client for native)"),
    webRedirectUris: z.array(z.string()).max(100).optional(),
    spaRedirectUris: z.array(z.string()).max(100).optional(),
    publicClientRedirectUris: z.array(z.string()).max(100).optional(),
    postLogoutRedirectUris: z.array(z.string()).max(100).optional(),
    identifierUri: z.string().optional().describe('Expose an API under this identifier URI (an api app gets api://{client id} without one)'),
    clientId: z.string().optional().describe("Keep an existing app's id (moving off B2C)"),
    allowImplicit: z.boolean().optional(),
    allowRopc: z.boolean().optional(),
    logoutUrl: z.string().optional(),
    thirdParty: z.boolean().optional().describe('Users consent to its scopes on first use'),
    multiTenant: z.boolean().optional().describe('People of other tenants may use it (through /common) once they or their administrator consent'),
  })
  .strict();

export const SamlAppBody = z.object({
  client_id: z.string().describe('Names the app in sessions and the audit log'),
  name: z.string(),
  type: z.literal('saml'),
  entity_id: z.string().describe("The service provider's entity id: the assertion's audience"),
  acs_urls: z.array(z.string()).describe('Where responses may be posted (nowhere else)'),
  slo_url: z.string().optional(),
  name_id: z.enum(samlNameIdFormats),
  require_signed_requests: z.boolean(),
  signing_certificates: z.number().int().describe("How many of the service provider's signing certificates its requests are checked with"),
  metadata_url: z.string().optional(),
  idp_metadata_url: z.string().optional().describe("The tenant's IdP metadata (its default policy's), to register at the service provider"),
  created_at: z.string(),
});
export const SamlAppsBody = z.object({ samlApps: z.array(SamlAppBody) });
export const CreateSamlApp = z
  .object({
    name: z.string().min(1).max(100),
    metadataXml: z.string().min(1).max(1_048_576).optional().describe("The service provider's metadata document (its entity id, ACS URLs, single logout URL and signing certificates come from it)"),
    metadataUrl: z.string().min(1).max(2048).optional().describe("Where to fetch the service provider's metadata (https; fetched once, from the server, public addresses only)"),
    entityId: z.string().min(1).max(1024).optional().describe("The service provider's entity id, with acsUrls (instead of metadata)"),
    acsUrls: z.array(z.string().min(1).max(2048)).max(32).optional().describe('Assertion consumer service URLs (https, or http on localhost), with entityId'),
    sloUrl: z.string().min(1).max(2048).optional().describe('The single logout URL'),
    nameId: z.enum(samlNameIdFormats).optional().describe("The NameID: persistent (the user's oid, the default), email, or unspecified (the oid)"),
    requireSignedRequests: z.boolean().optional().describe('Refuse unsigned AuthnRequests (needs the signing certificate of metadata; metadata with AuthnRequestsSigned implies it)'),
  })
  .strict()
  .describe('Exactly one of metadataXml, metadataUrl, or entityId with acsUrls');

export const UpdateApp = z
  .object({
    name: z.string().min(1).max(100).optional(),
    webRedirectUris: z.array(z.string()).max(256).optional().describe("The web platform's redirect URIs (replaced): codes redeemed with the app's secret"),
    spaRedirectUris: z.array(z.string()).max(256).optional().describe("The single-page application platform's redirect URIs (replaced): PKCE, CORS, 24-hour refresh tokens"),
    publicClientRedirectUris: z.array(z.string()).max(256).optional().describe("The mobile and desktop platform's redirect URIs (replaced): PKCE, no secret"),
    postLogoutRedirectUris: z.array(z.string()).max(256).optional(),
    identifierUri: z.string().min(1).max(300).optional().describe('Expose an API under this identifier URI (or move it there)'),
  })
  .strict();

export const NameBody = z
  .object({
    name: z.string().min(1).max(100),
    description: z.string().min(1).max(200).optional().describe("A scope's words on consent pages"),
    adminConsent: z.boolean().optional().describe('A scope only an administrator may consent to (for the whole tenant)'),
  })
  .strict();
export const NamesBody = z.object({ names: z.array(z.string()) });

export const GrantBody = z.object({ api: z.string().min(1).max(200).describe("The API's client id or identifier URI (urn:latchkey:admin for Latchkey's own)"), kind: z.enum(['scope', 'role']), name: z.string().min(1).max(100) }).strict();
export const GrantsBody = z.object({ grants: z.array(z.object({ api: z.string(), kind: z.enum(['scope', 'role']), name: z.string() })) });

export const NewSecret = z.object({ description: z.string().min(1).max(100).optional(), expiresInDays: z.number().int().min(1).max(3650).optional() }).strict();
export const SecretBody = z.object({ id: z.string(), description: z.string().nullable(), createdAt: z.string(), expiresAt: z.string().nullable(), live: z.boolean(), client_secret: z.string().optional().describe('Only when added: shown once') });
export const SecretsBody = z.object({ secrets: z.array(SecretBody) });
export const RevokeSecretQuery = z.object({ overlapHours: z.coerce.number().min(0).max(2160).optional().describe('Keep the secret working this many hours (rotation overlap)') }).strict();

export const KeyBody = z.object({ kid: z.string(), alg: z.string(), status: z.enum(['active', 'grace', 'next']).describe('next: published, not signing yet (prepared)'), createdAt: z.string(), publishUntil: z.string().nullable() });
export const KeysBody = z.object({ keys: z.array(KeyBody) });
export const RotateKeys = z
  .object({
    graceHours: z.number().min(0).max(2160).optional().describe('How long the replaced key stays published (48 by default)'),
    prepare: z.boolean().optional().describe('Publish a next key (JWKS, SAML metadata) without signing with it; the next rotation makes it active'),
  })
  .strict();
export const RetiredBody = z.object({ retired: z.array(z.string()) });

export const PolicySummary = z.object({ id: z.string(), kind: z.string() });
export const PoliciesBody = z.object({ policies: z.array(PolicySummary) });
export const PolicyDocument = z.record(z.string(), z.unknown()).describe('A policy file (policies/policy.schema.json)');
export const PolicyProblems = z.object({ valid: z.boolean(), problems: z.array(z.object({ path: z.string(), message: z.string() })) });

export const TenantSecretParams = TenantParams.extend({ name: z.string().regex(/^[A-Za-z][A-Za-z0-9_.-]{0,63}$/, "must be a letter, then up to 63 letters, digits, '_', '.' or '-'") });
export const TenantSecretValue = z.object({ value: z.string().min(1).max(16_384).describe('The value; it is sealed and never shown again') }).strict();
export const TenantSecretBody = z.object({ name: z.string(), createdAt: z.string(), updatedAt: z.string() });
export const TenantSecretsBody = z.object({ secrets: z.array(TenantSecretBody) });

export const AuditQuery = z
  .object({
    event: z.string().max(64).optional(),
    outcome: z.enum(['success', 'failure']).optional(),
    since: z.string().datetime({ offset: true }).optional().describe('ISO time'),
    before: z.coerce.number().int().min(1).optional().describe('Page back from this event id (the previous page\'s nextBefore)'),
    limit: z.coerce.number().int().min(1).max(1000).default(100),
  })
  .strict();
export const AuditBody = z.object({
  events: z.array(z.object({ id: z.number(), time: z.string(), event: z.string(), outcome: z.enum(['success', 'failure']), subject: z.string().nullable(), clientId: z.string().nullable(), ip: z.string().nullable(), detail: z.string().nullable(), actor: z.string().nullable().describe("Who made the change: a console administrator's object id (null for the CLI, APIs and journeys)") })),
  nextBefore: z.number().optional().describe('Pass as ?before= for the next (older) page'),
});
