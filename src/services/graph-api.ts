import { ServiceError } from '../model/errors.js';
import { provisionDeps, type Deps } from './deps.js';
import { type LocalIdentity, type Tenant, type User, type UserIdentity } from '../model/entities.js';
import { graphFromUser } from './graph-users.js';
import { EMAIL, GUID } from '../model/patterns.js';
import { hasLocalAccount } from '../model/local-identities.js';
import { BUILTIN_ATTRIBUTES, EXTENSION_ATTRIBUTE as EXTENSION, extensionsAppIdOf, isLocalIssuer, localIssuer, type GraphIdentity } from '../model/graph-user.js';
import type { UserOrder, UserQuery } from '../store/store.js';
import { createUser as createUserOf, deleteUser as deleteUserOf } from './users.js';
import { updateUser as updateUserOf } from './users-update.js';
import { MAX_PASSWORD_LENGTH, type PasswordRule } from './users-rules.js';

/**
 * The subset of Microsoft Graph's `/v1.0/users` that B2C back offices use, on Latchkey's users: the
 * rules of each operation, independent of HTTP. Refusals are ServiceErrors in Graph's words; the
 * route says them in Graph's shape (http/error-mapper.ts).
 */
const bad = (message: string) => new ServiceError('invalid', message);
const notFound = (id: string) => new ServiceError('not_found', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);

/** Properties a user has here, in Graph's names; `$select` takes these and extension attributes. */
const PROPERTIES = ['id', 'accountEnabled', 'displayName', 'givenName', 'surname', 'mail', 'otherMails', 'userPrincipalName', 'createdDateTime', 'identities', 'passwordPolicies', ...BUILTIN_ATTRIBUTES] as const;
/** What Graph v1.0 returns without `$select` (identities and extensions only when selected). */
const DEFAULT_SELECT = ['id', 'displayName', 'givenName', 'surname', 'mail', 'userPrincipalName', 'jobTitle'];
/** Writable by POST and PATCH besides extension attributes. */
const WRITABLE = new Set(['accountEnabled', 'displayName', 'givenName', 'surname', 'mail', 'otherMails', 'identities', 'passwordProfile', 'passwordPolicies', ...BUILTIN_ATTRIBUTES]);
const PASSWORD_POLICIES = ['DisablePasswordExpiration', 'DisableStrongPassword'];

/** A user as Graph shows it, all properties (`$select` picks from this). */
function fullUser(tenant: Tenant, user: User, identities: UserIdentity[]): Record<string, unknown> {
  const out = graphFromUser(tenant, user, identities);
  out.userPrincipalName = `${user.id}@${localIssuer(tenant)}`;
  out.passwordPolicies = 'DisablePasswordExpiration';
  // Write-only here, as Graph answers it unless selected.
  delete out.passwordProfile;
  for (const b of BUILTIN_ATTRIBUTES) if (!(b in out)) out[b] = null;
  return out;
}

/** `$select=displayName,identities,extension_…`: checked against what users have. */
export function parseSelect(tenant: Tenant, select: string | undefined): string[] {
  if (select === undefined) return DEFAULT_SELECT;
  const names = select.split(',').map((s) => s.trim()).filter((s) => s !== '');
  const appId = extensionsAppIdOf(tenant);
  for (const n of names) {
    const ext = EXTENSION.exec(n);
    if ((PROPERTIES as readonly string[]).includes(n) || (ext && ext[1]!.toLowerCase() === appId)) continue;
    throw bad(`Could not find a property named '${n}' on type 'microsoft.graph.user'.`);
  }
  return names.includes('id') ? names : ['id', ...names];
}

function project(full: Record<string, unknown>, select: string[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const n of select) out[n] = full[n] ?? null;
  return out;
}

/** The `$filter` forms B2C back offices use. */
export type UserFilter =
  | { type: 'identity'; issuer: string; issuerAssignedId: string }
  | { type: 'list'; displayNamePrefix?: string; enabled?: boolean; email?: string };

const STRING = String.raw`'((?:[^']|'')*)'`;
const unquote = (s: string) => s.replace(/''/g, "'");

export function parseFilter(filter: string | undefined): UserFilter {
  if (filter === undefined || filter.trim() === '') return { type: 'list' };
  const f = filter.trim();
  const identity =
    new RegExp(String.raw`^identities/any\(\s*(\w+)\s*:\s*\1/issuerAssignedId\s+eq\s+${STRING}\s+and\s+\1/issuer\s+eq\s+${STRING}\s*\)$`, 'i').exec(f) ??
    new RegExp(String.raw`^identities/any\(\s*(\w+)\s*:\s*\1/issuer\s+eq\s+${STRING}\s+and\s+\1/issuerAssignedId\s+eq\s+${STRING}\s*\)$`, 'i').exec(f);
  if (identity) {
    const assignedFirst = /issuerAssignedId\s+eq\s+'/i.test(f.split(' and ')[0]!);
    const [a, b] = [unquote(identity[2]!), unquote(identity[3]!)];
    return { type: 'identity', issuerAssignedId: assignedFirst ? a : b, issuer: assignedFirst ? b : a };
  }
  const out: { type: 'list'; displayNamePrefix?: string; enabled?: boolean; email?: string } = { type: 'list' };
  for (const part of f.split(/\s+and\s+/i)) {
    const starts = new RegExp(String.raw`^startswith\(\s*displayName\s*,\s*${STRING}\s*\)$`, 'i').exec(part);
    const enabled = /^accountEnabled\s+eq\s+(true|false)$/i.exec(part);
    const mail = new RegExp(String.raw`^mail\s+eq\s+${STRING}$`, 'i').exec(part);
    if (starts && out.displayNamePrefix === undefined) out.displayNamePrefix = unquote(starts[1]!);
    else if (enabled && out.enabled === undefined) out.enabled = enabled[1]!.toLowerCase() === 'true';
    else if (mail && out.email === undefined) out.email = unquote(mail[1]!);
    else throw new ServiceError('unsupported', `Unsupported or invalid query filter clause specified for property '${part.split(/[\s(,]/)[0]}' of resource 'User'. Latchkey supports identities/any(c:c/issuerAssignedId eq '…' and c/issuer eq '…'), startswith(displayName,'…'), mail eq '…' and accountEnabled eq true|false.`);
  }
  return out;
}

/** `$orderby`: displayName or createdDateTime, ascending (the default) or descending. */
export function parseOrderBy(orderBy: string | undefined): UserOrder | undefined {
  if (orderBy === undefined || orderBy.trim() === '') return undefined;
  const m = /^\s*(displayName|createdDateTime)(?:\s+(asc|desc))?\s*$/i.exec(orderBy);
  if (!m) throw new ServiceError('unsupported', `Sorting by '${orderBy.trim()}' is not supported: Latchkey sorts users by displayName or createdDateTime (asc or desc), one at a time.`);
  return { by: m[1]!.toLowerCase() === 'displayname' ? 'displayName' : 'createdAt', desc: m[2]?.toLowerCase() === 'desc' };
}

/** B2C's strong password rule (8–256 characters, 3 of 4 kinds) unless `passwordPolicies` has DisableStrongPassword. */
function passwordRule(strong: boolean): PasswordRule {
  return { minLength: 1, maxLength: MAX_PASSWORD_LENGTH, strong };
}

interface ParsedIdentities {
  local: LocalIdentity[];
  federated: UserIdentity[];
}

const LOCAL_TYPES = new Set(['emailAddress', 'userName', 'phoneNumber']);

function parseIdentities(tenant: Tenant, value: unknown): ParsedIdentities {
  if (!Array.isArray(value)) throw bad("Invalid value specified for property 'identities' of resource 'User'.");
  const out: ParsedIdentities = { local: [], federated: [] };
  for (const raw of value) {
    const i = raw as Partial<GraphIdentity> | null;
    if (!i || typeof i.signInType !== 'string' || typeof i.issuer !== 'string' || typeof i.issuerAssignedId !== 'string' || i.issuerAssignedId === '' || i.issuerAssignedId.length > 256) {
      throw bad('Each identity needs signInType, issuer and issuerAssignedId.');
    }
    if (LOCAL_TYPES.has(i.signInType)) {
      if (!isLocalIssuer(tenant, i.issuer)) throw bad(`A local account's issuer must be the tenant's domain, '${localIssuer(tenant)}'.`);
      out.local.push({ signInType: i.signInType as LocalIdentity['signInType'], issuerAssignedId: i.issuerAssignedId });
    } else if (i.signInType === 'federated') {
      out.federated.push({ issuer: i.issuer, issuerAssignedId: i.issuerAssignedId });
    } else if (i.signInType !== 'userPrincipalName') {
      throw bad(`The sign-in type '${i.signInType}' is not supported (emailAddress, userName, phoneNumber, federated).`);
    }
  }
  return out;
}

/** `otherMails`: an array of addresses. */
function otherMailsOf(body: Record<string, unknown>): string[] | undefined {
  const v = body.otherMails;
  if (v === undefined) return undefined;
  if (v === null) return [];
  if (!Array.isArray(v) || v.length > 250 || v.some((m) => typeof m !== 'string' || !EMAIL.test(m.trim()))) throw bad("Invalid value specified for property 'otherMails' of resource 'User': an array of email addresses.");
  return v as string[];
}

function optionalString(body: Record<string, unknown>, name: string, max = 256): string | null | undefined {
  const v = body[name];
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (typeof v !== 'string' || v.length > max) throw bad(`Invalid value specified for property '${name}' of resource 'User'.`);
  return v;
}

/** Extension and built-in attributes of a body: stored under their short names; null removes one. */
function attributesOf(tenant: Tenant, body: Record<string, unknown>): Record<string, unknown> {
  const appId = extensionsAppIdOf(tenant);
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(body)) {
    const ext = EXTENSION.exec(key);
    let name: string | undefined;
    if (ext) {
      if (ext[1]!.toLowerCase() !== appId) throw bad(`Property '${key}' belongs to another application's extensions; this tenant's are extension_${appId}_<name>.`);
      name = ext[2]!;
    } else if ((BUILTIN_ATTRIBUTES as readonly string[]).includes(key)) {
      name = key;
    }
    if (name === undefined) continue;
    if (value !== null && typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') throw bad(`Invalid value specified for property '${key}' of resource 'User'.`);
    if (typeof value === 'string' && value.length > 1024) throw bad(`The value of '${key}' is longer than 1024 characters.`);
    out[name] = value;
  }
  return out;
}

function checkKnown(body: Record<string, unknown>): void {
  for (const key of Object.keys(body)) {
    if (WRITABLE.has(key) || EXTENSION.test(key) || key === '@odata.type') continue;
    throw bad(`Property '${key}' does not exist on type 'microsoft.graph.user' or cannot be written here.`);
  }
}

function objectBody(body: unknown): Record<string, unknown> {
  if (!body || typeof body !== 'object' || Array.isArray(body)) throw bad('The request body must be a JSON object.');
  return body as Record<string, unknown>;
}

function passwordPoliciesOf(body: Record<string, unknown>): { strong: boolean } {
  const v = body.passwordPolicies;
  if (v === undefined || v === null) return { strong: true };
  if (typeof v !== 'string') throw bad("Invalid value specified for property 'passwordPolicies' of resource 'User'.");
  const parts = v.split(',').map((s) => s.trim()).filter((s) => s !== '');
  for (const p of parts) if (!PASSWORD_POLICIES.includes(p)) throw bad(`The password policy '${p}' is not supported (${PASSWORD_POLICIES.join(', ')}).`);
  // Passwords never expire here, so DisablePasswordExpiration is what happens anyway.
  return { strong: !parts.includes('DisableStrongPassword') };
}

/** The new password and whether the next sign-in must change it, checked as Graph's shape; its rule is checked where every password is (users-rules.ts). */
function passwordOf(body: Record<string, unknown>): { password: string; mustChange: boolean } | undefined {
  const profile = body.passwordProfile;
  if (profile === undefined || profile === null) return undefined;
  if (typeof profile !== 'object' || Array.isArray(profile)) throw bad("Invalid value specified for property 'passwordProfile' of resource 'User'.");
  const p = profile as Record<string, unknown>;
  const force = p.forceChangePasswordNextSignIn;
  if (force !== undefined && force !== null && typeof force !== 'boolean') throw bad("Invalid value specified for property 'passwordProfile.forceChangePasswordNextSignIn' of resource 'User'.");
  if (p.forceChangePasswordNextSignInWithMfa === true) throw bad('forceChangePasswordNextSignInWithMfa is not available: use forceChangePasswordNextSignIn (the policy decides about a second factor).');
  if (typeof p.password !== 'string' || p.password.length === 0 || p.password.length > MAX_PASSWORD_LENGTH) throw bad('passwordProfile.password must be a string of 1 to 256 characters.');
  return { password: p.password, mustChange: force === true };
}

export interface GraphContext {
  deps: Deps;
  tenant: Tenant;
  /** Who called, for the audit trail. */
  clientId: string;
}

async function requireUser(c: GraphContext, id: string): Promise<User> {
  const user = GUID.test(id) ? await c.deps.store.findUser(c.tenant.id, id.toLowerCase()) : undefined;
  if (!user) throw notFound(id);
  return user;
}

export async function getUser(c: GraphContext, id: string, select: string | undefined): Promise<Record<string, unknown>> {
  const fields = parseSelect(c.tenant, select);
  const user = await requireUser(c, id);
  return project(fullUser(c.tenant, user, await c.deps.store.listUserIdentities(c.tenant.id, user.id)), fields);
}

/** Where a page of users starts: after this user (its id, and its value of the order's field when ordered). */
export interface PageStart {
  id: string;
  value?: string | number;
}

/**
 * A page of users: at most `top`, after `after`, filtered and in `$orderby`'s order; `next` is where the
 * next page starts when there may be more; `count` (Graph's `$count=true`) how many the filter keeps.
 */
export async function listUsers(c: GraphContext, q: { select?: string; filter?: string; orderBy?: string; count?: boolean; top: number; after?: PageStart }): Promise<{ value: Record<string, unknown>[]; next?: PageStart; count?: number }> {
  const fields = parseSelect(c.tenant, q.select);
  const filter = parseFilter(q.filter);
  const order = parseOrderBy(q.orderBy);
  const { store } = c.deps;
  let users: User[];
  let count: number | undefined;
  if (filter.type === 'identity') {
    const local = isLocalIssuer(c.tenant, filter.issuer);
    const found = local ? await store.findUserBySignInName(c.tenant.id, filter.issuerAssignedId) : await store.findUserByIdentity(c.tenant.id, { issuer: filter.issuer, issuerAssignedId: filter.issuerAssignedId });
    users = found && (q.after === undefined || found.id > q.after.id) ? [found] : [];
    if (q.count) count = found ? 1 : 0;
  } else {
    const where = {
      ...(filter.displayNamePrefix !== undefined ? { displayNamePrefix: filter.displayNamePrefix } : {}),
      ...(filter.enabled !== undefined ? { enabled: filter.enabled } : {}),
      ...(filter.email !== undefined ? { email: filter.email } : {}),
    };
    const query: UserQuery = { ...where, limit: q.top + 1, ...(order ? { orderBy: order } : {}) };
    if (q.after) {
      query.afterId = q.after.id;
      if (order && q.after.value !== undefined) query.afterValue = q.after.value;
    }
    users = await store.queryUsers(c.tenant.id, query);
    if (q.count) count = await store.countUsers(c.tenant.id, where);
  }
  const page = users.slice(0, q.top);
  const needIdentities = fields.includes('identities');
  const value = await Promise.all(page.map(async (u) => project(fullUser(c.tenant, u, needIdentities ? await store.listUserIdentities(c.tenant.id, u.id) : []), fields)));
  const last = page.at(-1);
  const next = users.length > q.top && last ? { id: last.id, ...(order ? { value: order.by === 'displayName' ? (last.displayName ?? '') : last.createdAt } : {}) } : undefined;
  return { value, ...(next ? { next } : {}), ...(count !== undefined ? { count } : {}) };
}

/** Graph's words for a sign-in name or identity another user has. */
function graphConflict(err: unknown): unknown {
  return err instanceof ServiceError && err.kind === 'conflict' ? bad('Another object with the same value for property identities already exists.') : err;
}

export async function createUser(c: GraphContext, input: unknown): Promise<Record<string, unknown>> {
  const body = objectBody(input);
  checkKnown(body);
  const { deps, tenant } = c;
  const displayName = optionalString(body, 'displayName');
  if (!displayName) throw bad("Invalid value specified for property 'displayName' of resource 'User': it is required.");
  if (body.accountEnabled !== undefined && typeof body.accountEnabled !== 'boolean') throw bad("Invalid value specified for property 'accountEnabled' of resource 'User'.");
  const ids = parseIdentities(tenant, body.identities ?? []);
  const { strong } = passwordPoliciesOf(body);
  const password = passwordOf(body);
  const local = hasLocalAccount({ localIdentities: ids.local });
  if (local && password === undefined) throw bad('A local account (emailAddress or userName identity) needs passwordProfile.password.');
  if (!local && password !== undefined) throw bad('passwordProfile needs a local account (an emailAddress or userName identity).');
  const otherMails = otherMailsOf(body);
  const user = await createUserOf(provisionDeps(deps), tenant, {
    localIdentities: ids.local,
    ...(password ? { password: password.password, mustChangePassword: password.mustChange } : {}),
    passwordRule: passwordRule(strong),
    identities: ids.federated,
    // An empty mail is no mail.
    email: optionalString(body, 'mail') || null,
    ...(otherMails ? { otherMails } : {}),
    givenName: optionalString(body, 'givenName') ?? null,
    familyName: optionalString(body, 'surname') ?? null,
    displayName,
    attributes: attributesOf(tenant, body),
    disabled: body.accountEnabled === false,
  }, { by: 'graph', clientId: c.clientId }).catch((err: unknown) => {
    throw graphConflict(err);
  });
  return fullUser(tenant, user, ids.federated);
}

export async function updateUser(c: GraphContext, id: string, input: unknown): Promise<void> {
  const body = objectBody(input);
  checkKnown(body);
  const { deps, tenant } = c;
  const user = await requireUser(c, id);
  if (body.accountEnabled !== undefined && typeof body.accountEnabled !== 'boolean') throw bad("Invalid value specified for property 'accountEnabled' of resource 'User'.");
  const { strong } = passwordPoliciesOf(body);
  const password = passwordOf(body);
  const ids = body.identities !== undefined ? parseIdentities(tenant, body.identities) : undefined;
  const given = optionalString(body, 'mail');
  const mail = given === '' ? null : given;
  const displayName = optionalString(body, 'displayName');
  const givenName = optionalString(body, 'givenName');
  const surname = optionalString(body, 'surname');
  const otherMails = otherMailsOf(body);
  if (displayName === null) throw bad("Invalid value specified for property 'displayName' of resource 'User': it cannot be removed.");
  await updateUserOf(provisionDeps(deps), tenant, user, {
    ...(ids ? { localIdentities: ids.local, identities: ids.federated } : {}),
    ...(mail !== undefined ? { email: mail } : {}),
    ...(otherMails !== undefined ? { otherMails } : {}),
    ...(displayName !== undefined ? { displayName } : {}),
    ...(givenName !== undefined ? { givenName } : {}),
    ...(surname !== undefined ? { familyName: surname } : {}),
    attributes: attributesOf(tenant, body),
    ...(password !== undefined ? { password: password.password, mustChangePassword: password.mustChange, passwordRule: passwordRule(strong) } : {}),
    ...(typeof body.accountEnabled === 'boolean' ? { enabled: body.accountEnabled } : {}),
  }, { by: 'graph', clientId: c.clientId, properties: Object.keys(body) }).catch((err: unknown) => {
    throw graphConflict(err);
  });
}

export async function deleteUser(c: GraphContext, id: string): Promise<void> {
  const user = await requireUser(c, id);
  await deleteUserOf(provisionDeps(c.deps), c.tenant, user, { by: 'graph', clientId: c.clientId }).catch((err: unknown) => {
    throw err instanceof ServiceError && err.kind === 'not_found' ? notFound(id) : err;
  });
}

/** Graph's revokeSignInSessions: the user's refresh tokens and SSO sessions end (access tokens run out). */
export async function revokeSignInSessions(c: GraphContext, id: string): Promise<void> {
  const user = await requireUser(c, id);
  await c.deps.store.revokeUserSessions(c.tenant.id, user.id, c.deps.clock.now());
  await c.deps.audit.record({ tenantId: c.tenant.id, event: 'sessions_revoked', outcome: 'success', subject: user.id, clientId: c.clientId, detail: 'graph' });
}
