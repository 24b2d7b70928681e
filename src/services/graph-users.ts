import { importedHash } from '../crypto/foreign-hashes.js';
import { normalizeSignInName } from '../store/normalize.js';
import type { ImportedUser, Tenant, User, UserIdentity } from '../model/entities.js';
import { BUILTIN_ATTRIBUTES, EXTENSION_ATTRIBUTE, extensionsAppIdOf, graphIdentities, type GraphIdentity } from '../model/graph-user.js';
import { EMAIL, GUID } from '../model/patterns.js';

/**
 * Users in Microsoft Graph's shape, as B2C back offices and `GET /v1.0/users?$select=…` see them, and
 * back: what `user import` reads, `user export` writes, and the Graph-compatible API speaks.
 *
 * - `id` is the user's `oid` (and so `sub`); kept as it is.
 * - `identities[]`: `emailAddress` or `userName` is the local account (one per user here),
 *   `federated` an account at an upstream provider (`issuer` its domain, `issuerAssignedId` its id);
 *   B2C's technical `userPrincipalName` identity is left out.
 * - `extension_<appId>_<name>` attributes become custom attributes named `<name>`; B2C's built-in user
 *   attributes (`country`, `city`…) keep their names.
 * - `passwordHash` (not Graph's: B2C never exports hashes) carries a hash from another system.
 */
export type FromGraph = { user: ImportedUser; extensionsAppId?: string } | { error: string };

function text(row: Record<string, unknown>, name: string, max = 256): string | null | { error: string } {
  const v = row[name];
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') return { error: `${name} must be a string` };
  if (v.length > max) return { error: `${name} is longer than ${max} characters` };
  return v;
}

/** Reads one Graph user; everything wrong with it becomes the one reason it is refused. */
export function userFromGraph(tenantId: string, input: unknown, now: number): FromGraph {
  if (!input || typeof input !== 'object' || Array.isArray(input)) return { error: 'not a JSON object' };
  const row = input as Record<string, unknown>;
  if (typeof row.id !== 'string' || !GUID.test(row.id)) return { error: 'id must be the user\'s object id (a GUID)' };
  const id = row.id.toLowerCase();

  const strings: Record<string, string | null> = {};
  for (const name of ['displayName', 'givenName', 'surname', 'mail']) {
    const v = text(row, name);
    if (v !== null && typeof v === 'object') return { error: v.error };
    strings[name] = v;
  }
  if (strings.mail !== null && !EMAIL.test(strings.mail!)) return { error: `mail '${strings.mail}' is not an email address` };
  if (row.accountEnabled !== undefined && typeof row.accountEnabled !== 'boolean') return { error: 'accountEnabled must be true or false' };

  const identities = row.identities ?? [];
  if (!Array.isArray(identities)) return { error: 'identities must be an array' };
  let local: { type: 'emailAddress' | 'userName'; name: string } | undefined;
  const upstream: UserIdentity[] = [];
  for (const [i, raw] of identities.entries()) {
    const ident = raw as Partial<GraphIdentity> | null;
    if (!ident || typeof ident.signInType !== 'string' || typeof ident.issuerAssignedId !== 'string' || ident.issuerAssignedId === '' || ident.issuerAssignedId.length > 256) {
      return { error: `identities[${i}] needs signInType, issuer and issuerAssignedId` };
    }
    switch (ident.signInType) {
      case 'emailAddress':
      case 'userName':
        if (local) return { error: 'has more than one local sign-in name (emailAddress/userName); Latchkey keeps one per user' };
        if (ident.signInType === 'emailAddress' && !EMAIL.test(ident.issuerAssignedId)) return { error: `identities[${i}]: '${ident.issuerAssignedId}' is not an email address` };
        local = { type: ident.signInType, name: ident.issuerAssignedId.trim() };
        break;
      case 'federated':
        if (typeof ident.issuer !== 'string' || !/^\S{1,256}$/.test(ident.issuer)) return { error: `identities[${i}]: a federated identity needs the provider's issuer` };
        upstream.push({ issuer: ident.issuer, issuerAssignedId: ident.issuerAssignedId });
        break;
      case 'userPrincipalName':
        break; // B2C's technical identity, nothing anyone signs in with
      default:
        return { error: `identities[${i}]: sign-in type '${ident.signInType}' is not supported (emailAddress, userName, federated)` };
    }
  }
  if (!local && upstream.length === 0) return { error: 'has no identity to sign in with (emailAddress, userName or federated)' };

  const attributes: Record<string, unknown> = {};
  let extensionsAppId: string | undefined;
  for (const [key, value] of Object.entries(row)) {
    const ext = EXTENSION_ATTRIBUTE.exec(key);
    const name = ext ? ext[2]! : (BUILTIN_ATTRIBUTES as readonly string[]).includes(key) ? key : undefined;
    if (name === undefined || value === null || value === undefined) continue;
    if (typeof value !== 'string' && typeof value !== 'number' && typeof value !== 'boolean') return { error: `${key} must be a string, a number or true/false` };
    if (typeof value === 'string' && value.length > 1024) return { error: `${key} is longer than 1024 characters` };
    attributes[name] = value;
    if (ext) extensionsAppId ??= ext[1]!.toLowerCase();
  }

  let passwordHash: string | null = null;
  if (row.passwordHash !== undefined && row.passwordHash !== null) {
    if (!local) return { error: 'passwordHash needs a local account (an emailAddress or userName identity)' };
    const h = importedHash(row.passwordHash);
    if ('error' in h) return { error: h.error };
    passwordHash = h.hash;
  }
  const created = typeof row.createdDateTime === 'string' ? Date.parse(row.createdDateTime) : NaN;
  const email = local?.type === 'emailAddress' ? local.name : strings.mail!;
  const user: User = {
    id,
    tenantId,
    email,
    // A local email account was proven at sign-up in B2C; a contact address alone was not.
    emailVerified: local?.type === 'emailAddress',
    signInName: local ? normalizeSignInName(local.name) : null,
    signInType: local?.type ?? null,
    passwordHash,
    passwordAtLegacy: local !== undefined && passwordHash === null,
    givenName: strings.givenName!,
    familyName: strings.surname!,
    displayName: strings.displayName!,
    attributes,
    disabled: row.accountEnabled === false,
    createdAt: Number.isNaN(created) ? now : created,
    updatedAt: now,
  };
  return { user: { user, identities: upstream }, ...(extensionsAppId ? { extensionsAppId } : {}) };
}

/** A user in Graph's shape (what `user export` writes; `passwordHash` only when asked for). */
export function graphFromUser(tenant: Tenant, user: User, identities: UserIdentity[], opts: { withPasswordHash?: boolean } = {}): Record<string, unknown> {
  const ids = graphIdentities(tenant, user, identities);
  const out: Record<string, unknown> = {
    id: user.id,
    accountEnabled: !user.disabled,
    displayName: user.displayName,
    givenName: user.givenName,
    surname: user.familyName,
    mail: user.email,
    createdDateTime: new Date(user.createdAt).toISOString(),
    identities: ids,
  };
  const appId = extensionsAppIdOf(tenant);
  for (const [name, value] of Object.entries(user.attributes)) {
    out[(BUILTIN_ATTRIBUTES as readonly string[]).includes(name) ? name : `extension_${appId}_${name}`] = value;
  }
  if (opts.withPasswordHash && user.passwordHash) out.passwordHash = user.passwordHash;
  return out;
}
