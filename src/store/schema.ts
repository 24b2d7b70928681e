import { normalizeEmail } from './normalize.js';
import type { AuditCountQuery, AuditFilter, UserFilterQuery, UserOrder, UserQuery } from './store.js';

/**
 * Statements both SQL engines build from one description, so a rule about the tables is written
 * once: INSERTs and UPDATEs from rows.ts's column lists, how refresh families are revoked, what a
 * user's sessions ending removes, which rows expire, and the users query. The engines differ only in
 * their placeholders (`?` or `$1`) and in what they add of their own dialect (conflict clauses, the
 * SQLite-only table of refresh tokens from before families were one row).
 */

/** The n-th parameter (from 1), as the engine writes it. */
export type Placeholder = (n: number) => string;

/** `INSERT INTO table (columns…) VALUES (…)`, parameters in the columns' order, then `tail` (a conflict clause). */
export function insertSql(columns: { table: string; names: readonly string[] }, p: Placeholder, tail = ''): string {
  const values = columns.names.map((_, i) => p(i + 1)).join(', ');
  return `INSERT INTO ${columns.table} (${columns.names.join(', ')}) VALUES (${values})${tail === '' ? '' : ` ${tail}`}`;
}

/** `UPDATE table SET set… WHERE where…`: parameters are the set values, then the where values. */
export function updateSql(table: string, set: readonly string[], where: readonly string[], p: Placeholder): string {
  const assignments = set.map((c, i) => `${c} = ${p(i + 1)}`).join(', ');
  return `UPDATE ${table} SET ${assignments} WHERE ${where.map((c, i) => `${c} = ${p(set.length + i + 1)}`).join(' AND ')}`;
}

/**
 * The ways a refresh family ends, by the columns that pick the families: revoked_at is set (the first
 * revocation's time stays). Both tables of refresh tokens revoke the same way.
 */
export const FAMILY_REVOCATIONS = {
  /** A rotated token presented again, a code replayed, a token revoked at /revoke. */
  family: ['family_id'],
  /** A user disabled, signed out everywhere, or its tokens revoked. */
  user: ['tenant_id', 'user_id'],
  /** A user's consent to one app withdrawn. */
  consent: ['tenant_id', 'user_id', 'client_id'],
  /** An enterprise app removed from a tenant: every user's tokens for it there. */
  app: ['tenant_id', 'client_id'],
} as const;

/** Revokes the families a revocation picks; parameters: now, then its columns' values. */
export function revokeFamiliesSql(by: keyof typeof FAMILY_REVOCATIONS, p: Placeholder, table = 'refresh_families', also = ''): string {
  const where = FAMILY_REVOCATIONS[by].map((c, i) => `${c} = ${p(i + 2)}`).join(' AND ');
  return `UPDATE ${table} SET revoked_at = ${p(1)} WHERE ${where} AND revoked_at IS NULL${also}`;
}

/** What a user's sessions ending deletes (disabled, or Graph's revokeSignInSessions); parameters: tenant id, user id. With it, the user's families are revoked (`user` above), in one transaction. */
export const endSessionsSql = (p: Placeholder): string => `DELETE FROM sso_sessions WHERE tenant_id = ${p(1)} AND user_id = ${p(2)}`;

/**
 * Rows that expire: purgeExpired deletes those whose `column` is before now (and `and` holds).
 * `sweep`: the column has no index in SQLite (its migration 0006), which deletes in rowid ranges.
 */
export const EXPIRING: readonly { table: string; column: string; and?: string; sweep?: true }[] = [
  { table: 'login_throttle', column: 'locked_until', and: 'failures = 0' },
  { table: 'counters', column: 'reset_at' },
  { table: 'journeys', column: 'expires_at' },
  { table: 'sso_sessions', column: 'expires_at' },
  { table: 'auth_codes', column: 'expires_at' },
  { table: 'refresh_families', column: 'expires_at', sweep: true },
  { table: 'revoked_access_tokens', column: 'expires_at' },
  { table: 'signing_keys', column: 'publish_until', and: "status = 'grace'" },
];

/** Deletes what expired of one table; parameter: now. */
export function purgeSql(e: (typeof EXPIRING)[number], p: Placeholder): string {
  return `DELETE FROM ${e.table} WHERE ${e.column} < ${p(1)}${e.and ? ` AND ${e.and}` : ''}`;
}

/** `LIKE` pattern for a prefix, with the pattern's own characters escaped (by `\`). */
export function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** `LIKE` pattern for text anywhere in a value, with the pattern's own characters escaped (by `\`). */
export function likeAnywhere(text: string): string {
  return `%${likePrefix(text)}`;
}

/** What the engines' dialects differ in for users' queries: case-insensitive LIKE, and the binary collation that orders text by code point. */
export interface UserQueryDialect {
  like: 'LIKE' | 'ILIKE';
  /** Appended to a text expression that is ordered or compared: '' (SQLite's default is binary) or ` COLLATE "C"`. */
  binary: string;
}

/** The WHERE clauses of a filter, pushing their parameters after `params` (the tenant id first). */
function userWhere(tenantId: string, q: UserFilterQuery, p: Placeholder, d: UserQueryDialect, params: unknown[]): string[] {
  params.push(tenantId);
  const where = [`tenant_id = ${p(1)}`];
  const add = (clause: (param: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(p(params.length)));
  };
  if (q.displayNamePrefix !== undefined) add((param) => `display_name ${d.like} ${param} ESCAPE '\\'`, likePrefix(q.displayNamePrefix));
  if (q.enabled !== undefined) add((param) => `disabled = ${param}`, q.enabled ? 0 : 1);
  if (q.contains !== undefined) {
    // Each use of the pattern is a parameter of its own (SQLite's `?` are positional).
    const pattern = likeAnywhere(q.contains);
    const matches = (column: string) => {
      params.push(pattern);
      return `${column} ${d.like} ${p(params.length)} ESCAPE '\\'`;
    };
    const columns = ['display_name', 'given_name', 'family_name', 'email'].map(matches);
    where.push(
      `(${columns.join(' OR ')}` +
        ` OR EXISTS (SELECT 1 FROM user_sign_in_names n WHERE n.user_id = users.id AND ${matches('n.name')})` +
        ` OR EXISTS (SELECT 1 FROM user_identities i WHERE i.user_id = users.id AND ${matches('i.issuer_assigned_id')}))`,
    );
  }
  if (q.email !== undefined) add((param) => `email_normalized = ${param}`, normalizeEmail(q.email));
  return where;
}

/** The expression users are ordered by for an order's field (a missing display name sorts as ''). */
function orderExpression(by: UserOrder['by'], d: UserQueryDialect): string {
  return by === 'displayName' ? `COALESCE(display_name, '')${d.binary}` : 'created_at';
}

/**
 * The statement and parameters of a UserQuery with the engine's placeholders: filtered, in id order or
 * in a field's order with the id breaking ties, starting after the previous page's last user (keyset paging).
 */
export function userQuerySql(tenantId: string, q: UserQuery, p: Placeholder, d: UserQueryDialect): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = userWhere(tenantId, q, p, d, params);
  const next = (value: unknown) => {
    params.push(value);
    return p(params.length);
  };
  let order = 'id';
  if (q.orderBy) {
    const expr = orderExpression(q.orderBy.by, d);
    const dir = q.orderBy.desc ? 'DESC' : 'ASC';
    const cmp = q.orderBy.desc ? '<' : '>';
    if (q.afterId !== undefined && q.afterValue !== undefined) {
      // Each placeholder its own parameter (SQLite's `?` are positional).
      where.push(`(${expr} ${cmp} ${next(q.afterValue)} OR (${expr} = ${next(q.afterValue)} AND id ${cmp} ${next(q.afterId)}))`);
    }
    order = `${expr} ${dir}, id ${dir}`;
  } else if (q.afterId !== undefined) {
    where.push(`id > ${next(q.afterId)}`);
  }
  return { sql: `SELECT * FROM users WHERE ${where.join(' AND ')} ORDER BY ${order} LIMIT ${next(q.limit)}`, params };
}

/** How many users a filter keeps. */
export function countUsersSql(tenantId: string, q: UserFilterQuery, p: Placeholder, d: UserQueryDialect): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where = userWhere(tenantId, q, p, d, params);
  return { sql: `SELECT COUNT(*) AS n FROM users WHERE ${where.join(' AND ')}`, params };
}

/** The statement and parameters of an AuditFilter, newest first, with the engine's placeholders. */
export function auditQuerySql(f: AuditFilter, p: Placeholder): { sql: string; params: unknown[] } {
  const params: unknown[] = [];
  const where: string[] = [];
  const add = (clause: (param: string) => string, value: unknown) => {
    params.push(value);
    where.push(clause(p(params.length)));
  };
  if (f.tenantId !== undefined) add((param) => `tenant_id = ${param}`, f.tenantId);
  add((param) => `at >= ${param}`, f.since ?? 0);
  if (f.until !== undefined) add((param) => `at < ${param}`, f.until);
  if (f.event !== undefined) add((param) => `event = ${param}`, f.event);
  if (f.outcome !== undefined) add((param) => `outcome = ${param}`, f.outcome);
  if (f.beforeId !== undefined) add((param) => `id < ${param}`, f.beforeId);
  if (f.user !== undefined) {
    params.push(f.user, f.user);
    where.push(`(subject = ${p(params.length - 1)} OR actor = ${p(params.length)})`);
  }
  params.push(f.limit ?? 1000);
  return { sql: `SELECT * FROM audit_events WHERE ${where.join(' AND ')} ORDER BY id DESC LIMIT ${p(params.length)}`, params };
}

/** The statement and parameters of an AuditCountQuery: counts per bucket (its index from the epoch), event and outcome. */
export function auditCountSql(q: AuditCountQuery, p: Placeholder, bigint = ''): { sql: string; params: unknown[] } {
  const params: unknown[] = [q.bucketMs, q.tenantId, q.since, ...q.events];
  const events = q.events.map((_, i) => p(4 + i)).join(', ');
  return {
    sql: `SELECT CAST(at / ${p(1)}${bigint} AS BIGINT) AS bucket, event, outcome, COUNT(*) AS n FROM audit_events
            WHERE tenant_id = ${p(2)} AND at >= ${p(3)} AND event IN (${events || 'NULL'}) GROUP BY bucket, event, outcome`,
    params,
  };
}

/** The conflict clauses both dialects share (a write that replaces, or keeps, the row with the same key). */
export const ON_CONFLICT = {
  ignore: 'ON CONFLICT DO NOTHING',
  tenantSecret: 'ON CONFLICT (tenant_id, name) DO UPDATE SET sealed_value = excluded.sealed_value, updated_at = excluded.updated_at',
  consent: 'ON CONFLICT (user_id, client_id) DO UPDATE SET scopes = excluded.scopes, granted_at = excluded.granted_at',
  sessionClient: 'ON CONFLICT (session_hash, client_id) DO UPDATE SET policy_id = excluded.policy_id',
  scope: 'ON CONFLICT (api_client_id, name) DO UPDATE SET description = COALESCE(excluded.description, app_scopes.description), admin_consent = CASE WHEN excluded.admin_consent = 1 THEN 1 ELSE app_scopes.admin_consent END',
  enterpriseApp: 'ON CONFLICT (tenant_id, client_id) DO UPDATE SET admin_consent = COALESCE(excluded.admin_consent, enterprise_apps.admin_consent)',
} as const;

/**
 * The login throttle's compare-and-set: the row becomes the new counts only if it still has the
 * expected ones (a name without a row is inserted). Parameters: tenant id, name, the new failures,
 * lockouts, locked-until and now, then the expected failures, lockouts and locked-until.
 */
export const setThrottleSql = (p: Placeholder): string =>
  `INSERT INTO login_throttle (tenant_id, name, failures, lockouts, locked_until, updated_at) VALUES (${p(1)}, ${p(2)}, ${p(3)}, ${p(4)}, ${p(5)}, ${p(6)})
   ON CONFLICT (tenant_id, name) DO UPDATE SET failures = excluded.failures, lockouts = excluded.lockouts, locked_until = excluded.locked_until, updated_at = excluded.updated_at
   WHERE login_throttle.failures = ${p(7)} AND login_throttle.lockouts = ${p(8)} AND login_throttle.locked_until = ${p(9)}`;

/** A fixed-window counter's hit (a window that ended starts again at 1). Parameters: key, the new window's end, now. */
export const hitCounterSql = (p: Placeholder): string =>
  `INSERT INTO counters (key, count, reset_at) VALUES (${p(1)}, 1, ${p(2)})
   ON CONFLICT (key) DO UPDATE SET
     count = CASE WHEN counters.reset_at <= ${p(3)} THEN 1 ELSE counters.count + 1 END,
     reset_at = CASE WHEN counters.reset_at <= ${p(3)} THEN ${p(2)} ELSE counters.reset_at END
   RETURNING count, reset_at`;
