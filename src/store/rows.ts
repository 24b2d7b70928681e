import { safeEqual } from '../crypto/secrets.js';
import { normalizeEmail, normalizeSignInName } from './normalize.js';
import type { UserQuery } from './store.js';
import type { App, AppSecret, AuditEvent, Authenticator, Consent, AuthenticatorKind, AuthCodeRecord, JourneyRecord, LegacyRopc, RefreshTokenRecord, SigningKey, SsoSession, Tenant, TenantDomain, TenantSecret, User } from '../model/entities.js';

/**
 * Rows to records and back, for every engine: SQLite and PostgreSQL store the same columns (times as
 * epoch milliseconds, flags as 0/1, structured values as JSON text), so one mapping serves both.
 */
export type Row = Record<string, unknown>;

export const str = (v: unknown): string => v as string;
export const optStr = (v: unknown): string | null => (v === null || v === undefined ? null : (v as string));
export const num = (v: unknown): number => v as number;
export const optNum = (v: unknown): number | null => (v === null || v === undefined ? null : (v as number));

/** `LIKE` pattern for a prefix, with the pattern's own characters escaped (by `\`). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The WHERE clause and parameters of a UserQuery, with the engine's placeholders and case-insensitive LIKE. */
export function userQuerySql(tenantId: string, q: UserQuery, placeholder: (n: number) => string, like: string): { sql: string; params: unknown[] } {
  const params: unknown[] = [tenantId];
  const where = [`tenant_id = ${placeholder(1)}`];
  const add = (clause: (p: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(placeholder(params.length)));
  };
  if (q.afterId !== undefined) add((p) => `id > ${p}`, q.afterId);
  if (q.displayNamePrefix !== undefined) add((p) => `display_name ${like} ${p} ESCAPE '\\'`, likePrefix(q.displayNamePrefix));
  if (q.enabled !== undefined) add((p) => `disabled = ${p}`, q.enabled ? 0 : 1);
  params.push(q.limit);
  return { sql: `SELECT * FROM users WHERE ${where.join(' AND ')} ORDER BY id LIMIT ${placeholder(params.length)}`, params };
}

export function toAuditEvent(r: Row): AuditEvent {
  return {
    id: num(r.id),
    at: num(r.at),
    tenantId: optStr(r.tenant_id),
    event: str(r.event),
    outcome: r.outcome === 'success' ? 'success' : 'failure',
    subject: optStr(r.subject),
    clientId: optStr(r.client_id),
    ip: optStr(r.ip),
    detail: optStr(r.detail),
  };
}

export function toTenant(r: Row): Tenant {
  return {
    id: str(r.id),
    slug: str(r.slug),
    displayName: str(r.display_name),
    defaultPolicy: str(r.default_policy),
    issuerPattern: r.issuer_pattern === 'tfp' ? 'tfp' : 'tenant',
    configVersion: num(r.config_version),
    createdAt: num(r.created_at),
    legacyRopc: r.legacy_ropc ? (JSON.parse(str(r.legacy_ropc)) as LegacyRopc) : null,
    extensionsAppId: optStr(r.extensions_app_id),
  };
}

export function toApp(r: Row): App {
  return {
    clientId: str(r.client_id),
    tenantId: str(r.tenant_id),
    name: str(r.name),
    type: str(r.type) as App['type'],
    secrets: JSON.parse(str(r.secrets ?? '[]')) as AppSecret[],
    redirectUris: JSON.parse(str(r.redirect_uris)) as string[],
    postLogoutRedirectUris: JSON.parse(str(r.post_logout_redirect_uris)) as string[],
    identifierUri: optStr(r.identifier_uri),
    allowImplicit: r.allow_implicit === 1,
    allowRopc: r.allow_ropc === 1,
    thirdParty: r.third_party === 1,
    logoutUrl: optStr(r.logout_url),
    createdAt: num(r.created_at),
  };
}

export function toUser(r: Row): User {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    email: optStr(r.email),
    emailVerified: r.email_verified === 1,
    signInName: optStr(r.sign_in_name),
    signInType: r.sign_in_type === 'emailAddress' || r.sign_in_type === 'userName' ? r.sign_in_type : null,
    passwordHash: optStr(r.password_hash),
    passwordAtLegacy: r.password_at_legacy === 1,
    givenName: optStr(r.given_name),
    familyName: optStr(r.family_name),
    displayName: optStr(r.display_name),
    attributes: JSON.parse(str(r.attributes)) as Record<string, unknown>,
    disabled: r.disabled === 1,
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}

export function toKey(r: Row): SigningKey {
  return {
    kid: str(r.kid),
    tenantId: str(r.tenant_id),
    alg: str(r.alg),
    publicJwk: JSON.parse(str(r.public_jwk)) as Record<string, unknown>,
    privateKey: str(r.private_key),
    status: r.status === 'active' ? 'active' : 'grace',
    createdAt: num(r.created_at),
    publishUntil: optNum(r.publish_until),
  };
}

export function toSession(r: Row): SsoSession {
  return {
    idHash: str(r.id_hash),
    sid: str(r.sid),
    tenantId: str(r.tenant_id),
    userId: str(r.user_id),
    policyId: str(r.policy_id),
    clientId: str(r.client_id),
    idp: str(r.idp),
    authTime: num(r.auth_time),
    amr: JSON.parse(str(r.amr ?? '[]')) as string[],
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

export function toConsent(r: Row): Consent {
  return { tenantId: str(r.tenant_id), userId: str(r.user_id), clientId: str(r.client_id), scopes: JSON.parse(str(r.scopes)) as string[], grantedAt: num(r.granted_at) };
}

export function toTenantSecret(r: Row): TenantSecret {
  return { tenantId: str(r.tenant_id), name: str(r.name), sealedValue: str(r.sealed_value), createdAt: num(r.created_at), updatedAt: num(r.updated_at) };
}

export function toTenantDomain(r: Row): TenantDomain {
  return { host: str(r.host), tenantId: str(r.tenant_id), createdAt: num(r.created_at) };
}

export function toAuthenticator(r: Row): Authenticator {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    userId: str(r.user_id),
    kind: str(r.kind) as AuthenticatorKind,
    credentialId: optStr(r.credential_id),
    label: optStr(r.label),
    data: JSON.parse(str(r.data)) as Record<string, unknown>,
    version: num(r.version),
    createdAt: num(r.created_at),
    lastUsedAt: optNum(r.last_used_at),
  };
}

export function toJourney(r: Row): JourneyRecord {
  return {
    id: str(r.id),
    tenantId: str(r.tenant_id),
    policyId: str(r.policy_id),
    browserHash: str(r.browser_hash),
    request: JSON.parse(str(r.request)) as unknown,
    state: JSON.parse(str(r.state)) as unknown,
    csrf: str(r.csrf),
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
  };
}

export function toCode(r: Row): AuthCodeRecord {
  return {
    codeHash: str(r.code_hash),
    tenantId: str(r.tenant_id),
    clientId: str(r.client_id),
    userId: str(r.user_id),
    data: JSON.parse(str(r.data)) as unknown,
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    consumedAt: optNum(r.consumed_at),
    issuedJti: optStr(r.issued_jti),
  };
}

/** A refresh-token record from a row of either table; the token hash and consumption are the caller's. */
export function refreshRecord(r: Row, tokenHash: string, consumedAt: number | null): RefreshTokenRecord {
  return {
    tokenHash,
    familyId: str(r.family_id),
    tenantId: str(r.tenant_id),
    clientId: str(r.client_id),
    userId: str(r.user_id),
    data: JSON.parse(str(r.data)) as unknown,
    createdAt: num(r.created_at),
    expiresAt: num(r.expires_at),
    familyExpiresAt: optNum(r.family_expires_at),
    consumedAt,
    revokedAt: optNum(r.revoked_at),
    originCodeHash: optStr(r.origin_code_hash),
  };
}

export function toRefresh(r: Row): RefreshTokenRecord {
  return refreshRecord(r, str(r.token_hash), optNum(r.consumed_at));
}

/**
 * A family row as the record of the presented secret: consumed (rotated away, or never issued) if it
 * is not the family's current one. (No spread of the row: this runs on every refresh.)
 */
export function toFamily(r: Row, presentedHash: string): RefreshTokenRecord {
  const current = safeEqual(str(r.secret_hash), presentedHash);
  return refreshRecord(r, presentedHash, current ? null : (optNum(r.rotated_at) ?? num(r.created_at)));
}

/** A user's record as the users table's columns want it (normalized names, 0/1 flags, JSON). */
export function userColumns(u: User) {
  return {
    emailNormalized: u.email === null ? null : normalizeEmail(u.email),
    signInName: u.signInName === null ? null : normalizeSignInName(u.signInName),
    emailVerified: u.emailVerified ? 1 : 0,
    passwordAtLegacy: u.passwordAtLegacy ? 1 : 0,
    attributes: JSON.stringify(u.attributes),
    disabled: u.disabled ? 1 : 0,
  };
}

/** Whether an import would change nothing of what it sets. */
export function sameImportedUser(a: User, b: User): boolean {
  return (
    a.email === b.email && a.emailVerified === b.emailVerified && a.signInName === (b.signInName === null ? null : normalizeSignInName(b.signInName)) &&
    a.signInType === b.signInType && a.passwordHash === b.passwordHash && a.passwordAtLegacy === b.passwordAtLegacy &&
    a.givenName === b.givenName && a.familyName === b.familyName && a.displayName === b.displayName &&
    a.disabled === b.disabled && JSON.stringify(a.attributes) === JSON.stringify(b.attributes)
  );
}

