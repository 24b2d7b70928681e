import { hashPassword } from '../crypto/password.js';
import { conflict, invalid } from '../model/errors.js';
import type { LocalIdentity, Tenant, User, UserIdentity } from '../model/entities.js';
import { hasLocalAccount } from '../model/local-identities.js';
import { normalizeEmail } from '../store/normalize.js';
import { StoreConflictError } from '../store/store.js';
import { auditChange, surface, type Origin, type ProfileChange, type UserDeps } from './users.js';
import { checkEmail, checkIdentity, checkLocalIdentities, checkPassword, checkProfile, DEFAULT_PASSWORD_RULE, identityKey, type PasswordRule } from './users-rules.js';

/**
 * Changes to an existing user: its profile, its password, and several things at once (Graph's
 * `PATCH /users/{id}`), each checked before anything is written and audited once.
 */

export interface UserChange extends ProfileChange {
  /** The local identities the user keeps, all of them (an email address keeps its case); none: the user signs in only upstream. */
  localIdentities?: LocalIdentity[];
  /** The upstream identities the user keeps: others are unlinked, new ones linked. */
  identities?: UserIdentity[];
  /**
   * The contact address of a user without an emailAddress identity (an emailAddress identity's is its
   * name, so this is left alone for one); with new local identities, null keeps the current one.
   */
  email?: string | null;
  /** More addresses (Graph's otherMails), all of them. */
  otherMails?: string[];
  password?: string;
  /** The new password's rule (default: 8–256 characters). */
  passwordRule?: PasswordRule;
  /** With a new password: whether the next sign-in asks for another one (default: no). */
  mustChangePassword?: boolean;
  enabled?: boolean;
}

function hasProfileChange(c: ProfileChange): boolean {
  return c.givenName !== undefined || c.familyName !== undefined || c.displayName !== undefined || Object.keys(c.attributes ?? {}).length > 0;
}

async function writeProfile(d: UserDeps, tenant: Tenant, user: User, c: ProfileChange, now: number): Promise<void> {
  const attributes = { ...user.attributes };
  for (const [k, v] of Object.entries(c.attributes ?? {})) {
    if (v === null) delete attributes[k];
    else attributes[k] = v;
  }
  await d.store.updateUserProfile(tenant.id, user.id, {
    ...(c.givenName !== undefined ? { givenName: c.givenName } : {}),
    ...(c.familyName !== undefined ? { familyName: c.familyName } : {}),
    ...(c.displayName !== undefined ? { displayName: c.displayName } : {}),
    attributes,
  }, now);
}

/** The user's own profile change (profile edit); an operator's is `updateUser`. */
export async function updateProfile(d: UserDeps, tenant: Tenant, user: User, change: ProfileChange, origin: Origin): Promise<void> {
  checkProfile(change);
  await writeProfile(d, tenant, user, change, d.clock.now());
  if (origin.by === 'journey') await auditChange(d, tenant, user.id, 'profile_update', origin);
  else await auditChange(d, tenant, user.id, 'user_updated', origin, surface(origin));
}

/** An operator sets a user's password (nothing else changes: sessions and refresh tokens stay). */
export async function setPassword(d: UserDeps, tenant: Tenant, user: User, password: string, origin: Origin, rule: PasswordRule = DEFAULT_PASSWORD_RULE): Promise<void> {
  await updateUser(d, tenant, user, { password, passwordRule: rule }, origin);
}

/**
 * Stores a new hash of the password the user just proved at sign-in: an imported or cheaper hash
 * replaced (`rehashed`), or one the old identity provider accepted (`migratedFrom` its host). No rule
 * applies: it is the password they have.
 */
export async function keepProvenPassword(d: UserDeps, tenant: Tenant, user: User, password: string, how: 'rehashed' | { migratedFrom: string }, trail: { clientId: string | null; ip: string }): Promise<void> {
  await d.store.setUserPassword(tenant.id, user.id, await hashPassword(password, d.passwordCost), d.clock.now());
  const base = { tenantId: tenant.id, outcome: 'success' as const, subject: user.id, clientId: trail.clientId, ip: trail.ip };
  if (how === 'rehashed') await d.audit.record({ ...base, event: 'password_rehashed', detail: (user.passwordHash ?? '').split('$', 2).join('$').slice(0, 30) });
  else await d.audit.record({ ...base, event: 'password_migrated', detail: how.migratedFrom });
}

/** Several changes to a user at once (Graph's PATCH): all checked first, then written, and audited as one. */
export async function updateUser(d: UserDeps, tenant: Tenant, user: User, change: UserChange, origin: Origin): Promise<void> {
  // Check everything before the first write.
  const local = change.localIdentities === undefined ? undefined : checkLocalIdentities(change.localIdentities);
  const identities = change.identities?.map((i) => checkIdentity(tenant, i));
  if (typeof change.email === 'string') checkEmail(change.email);
  const otherMails = change.otherMails?.map((m) => m.trim());
  for (const m of otherMails ?? []) checkEmail(m);
  checkProfile(change);
  const hasLocal = hasLocalAccount({ localIdentities: local ?? user.localIdentities });
  if (local !== undefined || identities !== undefined) {
    const upstream = identities ?? (await d.store.listUserIdentities(tenant.id, user.id));
    if ((local ?? user.localIdentities).length === 0 && upstream.length === 0) throw invalid('A user needs at least one identity to sign in with (emailAddress, userName or federated).');
  }
  if (change.password !== undefined) {
    if (!hasLocal) throw invalid('A password needs a local account (an emailAddress or userName identity).');
    checkPassword(change.password, change.passwordRule ?? DEFAULT_PASSWORD_RULE);
  }
  if (hasLocal && !hasLocalAccount(user) && user.passwordHash === null && change.password === undefined) throw invalid('A new local account needs a password.');

  const now = d.clock.now();
  try {
    if (local !== undefined) {
      const signInEmail = local.find((l) => l.signInType === 'emailAddress')?.issuerAssignedId;
      const email = signInEmail ?? change.email ?? user.email;
      const sameAddress = email !== null && user.email !== null && normalizeEmail(email) === normalizeEmail(user.email);
      await d.store.setUserSignIn(tenant.id, user.id, { localIdentities: local, email, emailVerified: sameAddress ? user.emailVerified : signInEmail !== undefined }, now);
    } else if (change.email !== undefined && !user.localIdentities.some((l) => l.signInType === 'emailAddress')) {
      await d.store.setUserSignIn(tenant.id, user.id, { localIdentities: user.localIdentities, email: change.email, emailVerified: false }, now);
    }
    if (identities !== undefined) {
      const current = await d.store.listUserIdentities(tenant.id, user.id);
      const wanted = new Set(identities.map(identityKey));
      for (const i of current) if (!wanted.has(identityKey(i))) await d.store.removeUserIdentity(tenant.id, user.id, i);
      const have = new Set(current.map(identityKey));
      for (const i of identities) if (!have.has(identityKey(i))) await d.store.addUserIdentity(tenant.id, user.id, i, now);
    }
  } catch (err) {
    if (err instanceof StoreConflictError) throw conflict('another user already signs in with that name or identity');
    throw err;
  }
  if (otherMails !== undefined) await d.store.setUserOtherMails(tenant.id, user.id, [...new Map(otherMails.map((m) => [m.toLowerCase(), m])).values()], now);
  if (hasProfileChange(change)) await writeProfile(d, tenant, user, change, now);
  if (change.password !== undefined) await d.store.setUserPassword(tenant.id, user.id, await hashPassword(change.password, d.passwordCost), now, { mustChange: change.mustChangePassword === true });
  if (change.enabled !== undefined && change.enabled === user.disabled) await d.store.setUserDisabled(tenant.id, user.id, !change.enabled, now);
  const detail = origin.by === 'graph' && origin.properties ? `graph: ${origin.properties.join(', ')}` : surface(origin);
  await auditChange(d, tenant, user.id, 'user_updated', origin, detail);
}
