import type { Config } from '../config.js';
import { issuerFor } from '../model/issuer.js';
import type { App, SigningKey, Tenant, User, UserIdentity } from '../model/entities.js';

/** JSON shapes of the CLI: OAuth's field names where they exist (SPEC). */

export function tenantJson(config: Config, t: Tenant) {
  return {
    id: t.id,
    slug: t.slug,
    display_name: t.displayName,
    issuer: issuerFor(config.baseUrl, t, t.defaultPolicy),
    default_policy: t.defaultPolicy,
    issuer_pattern: t.issuerPattern,
    domain_name: `${t.slug}.onmicrosoft.com`,
    legacy_ropc: t.legacyRopc ? { token_url: t.legacyRopc.tokenUrl, client_id: t.legacyRopc.clientId, scope: t.legacyRopc.scope } : null,
    extensions_app_id: t.extensionsAppId,
    created_at: new Date(t.createdAt).toISOString(),
  };
}

export function appJson(a: App, extra: { clientSecret?: string; scopes?: string[]; roles?: string[] } = {}) {
  return {
    client_id: a.clientId,
    ...(extra.clientSecret !== undefined ? { client_secret: extra.clientSecret } : {}),
    name: a.name,
    type: a.type,
    redirect_uris: a.redirectUris,
    post_logout_redirect_uris: a.postLogoutRedirectUris,
    ...(a.identifierUri ? { identifier_uri: a.identifierUri } : {}),
    ...(extra.scopes ? { scopes: extra.scopes } : {}),
    ...(extra.roles ? { roles: extra.roles } : {}),
    allow_implicit: a.allowImplicit,
    allow_ropc: a.allowRopc,
    ...(a.logoutUrl ? { logout_url: a.logoutUrl } : {}),
    token_endpoint_auth_method: a.secrets.length > 0 ? 'client_secret_basic' : 'none',
    third_party: a.thirdParty,
    created_at: new Date(a.createdAt).toISOString(),
  };
}

/**
 * A user's identities in Microsoft Graph's shape (B2C's): the local account as `emailAddress` or
 * `userName` issued by `{tenant}.onmicrosoft.com`, and each upstream account as `federated`.
 */
export function identitiesJson(tenant: Tenant, u: User, upstream: UserIdentity[]) {
  const local = u.signInName !== null && u.signInType !== null
    ? [{ signInType: u.signInType, issuer: `${tenant.slug}.onmicrosoft.com`, issuerAssignedId: u.signInType === 'emailAddress' && u.email ? u.email : u.signInName }]
    : [];
  return [...local, ...upstream.map((i) => ({ signInType: 'federated', issuer: i.issuer, issuerAssignedId: i.issuerAssignedId }))];
}

export function userJson(u: User, identities?: ReturnType<typeof identitiesJson>) {
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

export function keyJson(k: SigningKey) {
  return {
    kid: k.kid,
    alg: k.alg,
    status: k.status,
    created_at: new Date(k.createdAt).toISOString(),
    publish_until: k.publishUntil === null ? null : new Date(k.publishUntil).toISOString(),
  };
}

/** Plain-text table for humans. */
export function table(rows: Record<string, unknown>[], columns: string[]): string {
  if (rows.length === 0) return '(none)';
  const cell = (v: unknown) => (v === null || v === undefined ? '' : Array.isArray(v) ? v.join(',') : String(v));
  const widths = columns.map((c) => Math.max(c.length, ...rows.map((r) => cell(r[c]).length)));
  const line = (vals: string[]) => vals.map((v, i) => v.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(columns), ...rows.map((r) => line(columns.map((c) => cell(r[c]))))].join('\n');
}
