import type { App, SigningKey, Tenant, User } from './entities.js';
import { localIssuer, type GraphIdentity } from './graph-user.js';
import { redirectUrisOf } from './platforms.js';

/**
 * The JSON views of the entities, written once for every surface that shows them: the CLI's `--json`
 * output, the admin API's answers (and, through graph-user.ts, the Graph API's identities). Field
 * names are OAuth's where they exist (SPEC). The admin API's tenant and key answers are camelCase, as
 * its OpenAPI document has published them; they are kept beside the CLI's so a change to one is seen
 * next to the other.
 */

/** A tenant as the CLI shows it; `issuer` is the tenant's issuer for its default policy (oauth/tenant-context.ts). */
export function tenantJson(t: Tenant, issuer: string) {
  return {
    id: t.id,
    slug: t.slug,
    display_name: t.displayName,
    issuer,
    default_policy: t.defaultPolicy,
    issuer_pattern: t.issuerPattern,
    domain_name: localIssuer(t),
    b2c_name: t.b2cName,
    legacy_ropc: t.legacyRopc ? { token_url: t.legacyRopc.tokenUrl, client_id: t.legacyRopc.clientId, scope: t.legacyRopc.scope } : null,
    legacy_rate: t.legacyRate,
    extensions_app_id: t.extensionsAppId,
    created_at: new Date(t.createdAt).toISOString(),
  };
}

/** A tenant as the admin API answers (`TenantBody` in admin/schemas.ts). */
export function tenantAdminJson(t: Tenant, issuer: string) {
  return {
    id: t.id,
    slug: t.slug,
    displayName: t.displayName,
    defaultPolicy: t.defaultPolicy,
    issuer,
    legacyRopc: t.legacyRopc,
    extensionsAppId: t.extensionsAppId,
    createdAt: new Date(t.createdAt).toISOString(),
  };
}

/**
 * An app, for the CLI and the admin API alike; an app that exposes an API with its scopes and roles
 * when given. `platforms` lists the platforms it has (web, spa, public_client), each with its redirect
 * URIs; `redirect_uris` is all of them, as before platforms.
 */
export function appJson(a: App, extra: { clientSecret?: string; scopes?: string[]; roles?: string[] } = {}) {
  const platforms: { web?: { redirect_uris: string[] }; spa?: { redirect_uris: string[] }; public_client?: { redirect_uris: string[] } } = {};
  if (a.webRedirectUris.length > 0) platforms.web = { redirect_uris: a.webRedirectUris };
  if (a.spaRedirectUris.length > 0) platforms.spa = { redirect_uris: a.spaRedirectUris };
  if (a.publicClientRedirectUris.length > 0) platforms.public_client = { redirect_uris: a.publicClientRedirectUris };
  return {
    client_id: a.clientId,
    ...(extra.clientSecret !== undefined ? { client_secret: extra.clientSecret } : {}),
    name: a.name,
    type: a.type,
    redirect_uris: redirectUrisOf(a),
    platforms,
    post_logout_redirect_uris: a.postLogoutRedirectUris,
    ...(a.identifierUri ? { identifier_uri: a.identifierUri } : {}),
    ...(extra.scopes ? { scopes: extra.scopes } : {}),
    ...(extra.roles ? { roles: extra.roles } : {}),
    allow_implicit: a.allowImplicit,
    allow_ropc: a.allowRopc,
    ...(a.logoutUrl ? { logout_url: a.logoutUrl } : {}),
    token_endpoint_auth_method: a.secrets.length > 0 ? 'client_secret_basic' : 'none',
    third_party: a.thirdParty,
    multi_tenant: a.multiTenant,
    created_at: new Date(a.createdAt).toISOString(),
  };
}

/** A user (never its password hash); with its identities in Graph's shape when given (`user show`: graphIdentities). */
export function userJson(u: User, identities?: GraphIdentity[]) {
  return {
    id: u.id,
    email: u.email,
    email_verified: u.emailVerified,
    ...(identities ? { identities } : {}),
    given_name: u.givenName,
    family_name: u.familyName,
    display_name: u.displayName,
    disabled: u.disabled,
    created_at: new Date(u.createdAt).toISOString(),
    updated_at: new Date(u.updatedAt).toISOString(),
  };
}

/** A signing key as the CLI shows it (never its private part). */
export function keyJson(k: SigningKey) {
  return {
    kid: k.kid,
    alg: k.alg,
    status: k.status,
    created_at: new Date(k.createdAt).toISOString(),
    publish_until: k.publishUntil === null ? null : new Date(k.publishUntil).toISOString(),
  };
}

/** A signing key as the admin API answers (`KeyBody` in admin/schemas.ts): the CLI's, its times camelCase. */
export function keyAdminJson(k: SigningKey) {
  const { created_at: createdAt, publish_until: publishUntil, ...rest } = keyJson(k);
  return { ...rest, createdAt, publishUntil };
}
