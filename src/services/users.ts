import { randomUUID } from 'node:crypto';
import { hashPassword } from '../crypto/password.js';
import { conflict, invalid, notFound } from '../model/errors.js';
import type { LocalIdentity, Tenant, User, UserIdentity } from '../model/entities.js';
import { isLocalIssuer } from '../model/graph-user.js';
import { hasLocalAccount, passwordIdentities } from '../model/local-identities.js';
import { EMAIL, GUID } from '../model/patterns.js';
import { normalizeLocalName } from '../store/normalize.js';
import { StoreConflictError } from '../store/store.js';
import type { AuditEventName } from '../security/audit.js';
import type { ProvisionDeps } from './deps.js';
import { checkEmail, checkIdentity, checkLocalIdentities, checkPassword, checkProfile, DEFAULT_PASSWORD_RULE, type PasswordRule } from './users-rules.js';

/**
 * Users: the only code that creates or changes a user, its identities, its password, its profile and
 * whether it may sign in (with users-update.ts for changes of several at once; user-import.ts writes
 * imported users in batches). Journeys, the Graph API, the admin API and the CLI call these with plain
 * inputs; each function checks them (users-rules.ts), writes, records one audit event, and returns
 * the user or throws a ServiceError.
 */

/** What the user functions need: the server's dependencies or the CLI's (provisionDeps). */
export type UserDeps = Pick<ProvisionDeps, 'store' | 'clock' | 'audit' | 'passwordCost'>;

/** Who changes a user, for the audit trail. */
export type Origin =
  /** The operator, at the command line. */
  | { by: 'cli' }
  /** A Graph API caller (a daemon app); `properties` are the Graph properties its request named. */
  | { by: 'graph'; clientId: string; properties?: string[] }
  /**
   * The user, in a journey of `policyId` that app `clientId` started from `ip`; `provider` when they
   * came through an upstream identity provider, `provedBy` what proved a link (a password, a code).
   */
  | { by: 'journey'; clientId: string; ip: string; policyId: string; provider?: string; provedBy?: string }
  /**
   * A tenant's administrator in the web console (app `clientId`, from `ip`); the console's audit trail
   * also names the person (services/deps' audit `as`).
   */
  | { by: 'console'; clientId: string; ip: string };

/** Records the one audit event of a change, with the journey's app and address or the Graph caller. */
export async function auditChange(d: Pick<UserDeps, 'audit'>, tenant: Tenant, subject: string, event: AuditEventName, origin: Origin, detail?: string): Promise<void> {
  await d.audit.record({
    tenantId: tenant.id,
    event,
    outcome: 'success',
    subject,
    ...(origin.by !== 'cli' ? { clientId: origin.clientId } : {}),
    ...(origin.by === 'journey' || origin.by === 'console' ? { ip: origin.ip } : {}),
    ...(detail !== undefined ? { detail } : {}),
  });
}

/** How an event's detail names where an operator's change came from. */
export function surface(origin: Origin): string {
  return origin.by === 'journey' ? origin.policyId : origin.by;
}

/** A profile: what a new user starts with, or a change of one (absent fields stay as they are). */
export interface ProfileChange {
  givenName?: string | null;
  familyName?: string | null;
  displayName?: string | null;
  /** Custom and built-in attributes by their short names; null removes one (a new user starts without it); those not named are kept. */
  attributes?: Record<string, unknown>;
}

export interface NewUser extends ProfileChange {
  /** What the user signs in with here (an email address keeps its case): an email address, a user name, or both; a phone number. */
  localIdentities?: LocalIdentity[];
  /** The password of the local account (needed with an email address or a user name). */
  password?: string;
  /** The password's rule (default: 8–256 characters). */
  passwordRule?: PasswordRule;
  /** The next sign-in asks for a new password before any token (Graph's forceChangePasswordNextSignIn). */
  mustChangePassword?: boolean;
  /** Accounts at upstream identity providers the user signs in with. */
  identities?: UserIdentity[];
  /** The contact address of a user without an emailAddress identity (an emailAddress identity's is its name). */
  email?: string | null;
  /** More addresses (Graph's otherMails). */
  otherMails?: string[];
  /** Whether the owner proved the address; default: an emailAddress account's is, as for B2C's accounts made by an administrator. */
  emailVerified?: boolean;
  disabled?: boolean;
}

/** The name a user's failed passwords are counted under, whichever of its names was typed: its first sign-in name. */
export function lockoutName(user: Pick<User, 'localIdentities'>): string | undefined {
  const first = passwordIdentities(user)[0];
  return first && normalizeLocalName(first);
}

/** Other addresses, trimmed and checked, each once. */
function checkOtherMails(mails: string[]): string[] {
  const out: string[] = [];
  for (const m of mails) {
    const mail = m.trim();
    checkEmail(mail);
    if (!out.some((o) => o.toLowerCase() === mail.toLowerCase())) out.push(mail);
  }
  if (out.length > 250) throw invalid('at most 250 other addresses');
  return out;
}

function fresh(tenant: Tenant, now: number, fields: Partial<User>): User {
  return {
    id: randomUUID(),
    tenantId: tenant.id,
    email: null,
    emailVerified: false,
    localIdentities: [],
    otherMails: [],
    passwordHash: null,
    passwordAtLegacy: false,
    mustChangePassword: false,
    givenName: null,
    familyName: null,
    displayName: null,
    attributes: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
    ...fields,
  };
}

/** Writes a new user with its identities in one transaction; a taken sign-in name or identity is a conflict that says which. */
async function insert(d: UserDeps, tenant: Tenant, user: User, identities: UserIdentity[], origin: Origin): Promise<User> {
  try {
    await d.store.createUser(user, identities);
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
    for (const l of user.localIdentities) {
      if (!(await d.store.findUserBySignInName(tenant.id, l.issuerAssignedId))) continue;
      const what = l.signInType === 'emailAddress' ? 'email' : l.signInType === 'userName' ? 'user name' : 'phone number';
      throw conflict(`a user with ${what} '${l.issuerAssignedId}' already exists`);
    }
    throw conflict('one of the identities already belongs to another user');
  }
  const event = origin.by === 'journey' ? 'signup' : 'user_created';
  const detail = origin.by === 'journey' && origin.provider ? `${origin.policyId} via ${origin.provider}` : surface(origin);
  await auditChange(d, tenant, user.id, event, origin, detail);
  return user;
}

/** A user with local identities, upstream identities, or both (Graph's `POST /users`). */
export async function createUser(d: UserDeps, tenant: Tenant, input: NewUser, origin: Origin): Promise<User> {
  const identities = (input.identities ?? []).map((i) => checkIdentity(tenant, i));
  const localIdentities = checkLocalIdentities(input.localIdentities ?? []);
  if (localIdentities.length === 0 && identities.length === 0) throw invalid('A user needs at least one identity to sign in with (emailAddress, userName or federated).');
  const local = hasLocalAccount({ localIdentities });
  if (local && input.password === undefined) throw invalid('A local account (an emailAddress or userName identity) needs a password.');
  if (!local && input.password !== undefined) throw invalid('A password needs a local account (an emailAddress or userName identity).');
  if (input.password !== undefined) checkPassword(input.password, input.passwordRule ?? DEFAULT_PASSWORD_RULE);
  const signInEmail = localIdentities.find((l) => l.signInType === 'emailAddress')?.issuerAssignedId;
  const email = signInEmail ?? (input.email ?? null);
  if (email !== null) checkEmail(email);
  const otherMails = checkOtherMails(input.otherMails ?? []);
  checkProfile(input);
  const user = fresh(tenant, d.clock.now(), {
    email,
    emailVerified: input.emailVerified ?? signInEmail !== undefined,
    localIdentities,
    otherMails,
    passwordHash: input.password !== undefined ? await hashPassword(input.password, d.passwordCost) : null,
    mustChangePassword: local && input.mustChangePassword === true,
    givenName: input.givenName ?? null,
    familyName: input.familyName ?? null,
    displayName: input.displayName ?? null,
    attributes: Object.fromEntries(Object.entries(input.attributes ?? {}).filter(([, v]) => v !== null)),
    disabled: input.disabled === true,
  });
  return insert(d, tenant, user, identities, origin);
}

export interface LocalUserInput extends ProfileChange {
  email: string;
  password: string;
  /** The password's rule (a journey's policy); default 8–256 characters. */
  passwordRule?: PasswordRule;
  /** Default true: an address the operator typed, or one a journey proved with a code. */
  emailVerified?: boolean;
}

/**
 * A local account that signs in with an email address and a password: `user create`, and sign-up.
 * Without a display name (undefined, not null) it is the given and family names joined, as the CLI
 * has always made it.
 */
export async function createLocalUser(d: UserDeps, tenant: Tenant, input: LocalUserInput, origin: Origin): Promise<User> {
  const email = input.email.trim();
  if (!EMAIL.test(email)) throw invalid(`invalid --email '${input.email}'`);
  const displayName = input.displayName !== undefined ? input.displayName : [input.givenName, input.familyName].filter(Boolean).join(' ') || null;
  return createUser(d, tenant, {
    localIdentities: [{ signInType: 'emailAddress', issuerAssignedId: email }],
    password: input.password,
    ...(input.passwordRule ? { passwordRule: input.passwordRule } : {}),
    emailVerified: input.emailVerified ?? true,
    givenName: input.givenName ?? null,
    familyName: input.familyName ?? null,
    displayName,
    ...(input.attributes ? { attributes: input.attributes } : {}),
  }, origin);
}

export interface FederatedUserInput extends ProfileChange {
  /** The upstream account the user signed up with. */
  identity: UserIdentity;
  /** The address the provider sent, as it sent it (it vouches for it; a sign-up is not refused over its form). */
  email: string | null;
  emailVerified: boolean;
}

/** A user who signs in only through an upstream identity provider, made at their first sign-in. */
export async function createFederatedUser(d: UserDeps, tenant: Tenant, input: FederatedUserInput, origin: Origin): Promise<User> {
  const identity = checkIdentity(tenant, input.identity);
  checkProfile(input);
  const user = fresh(tenant, d.clock.now(), {
    email: input.email,
    emailVerified: input.emailVerified,
    givenName: input.givenName ?? null,
    familyName: input.familyName ?? null,
    displayName: input.displayName ?? null,
    attributes: Object.fromEntries(Object.entries(input.attributes ?? {}).filter(([, v]) => v !== null)),
  });
  return insert(d, tenant, user, [identity], origin);
}

/**
 * A user by object id, by a name it signs in with (an email address, a user name, a phone number), or
 * by its contact address when one user alone has it.
 */
export async function requireUser(d: Pick<UserDeps, 'store'>, tenant: Tenant, who: string): Promise<User> {
  const key = who.trim();
  let user = GUID.test(key) ? await d.store.findUser(tenant.id, key.toLowerCase()) : undefined;
  user ??= key === '' ? undefined : await d.store.findUserBySignInName(tenant.id, key);
  if (!user && EMAIL.test(key)) {
    const owners = await d.store.findUsersByEmail(tenant.id, key);
    if (owners.length > 1) throw conflict(`${owners.length} users of tenant '${tenant.slug}' have the address '${key}': name one by its object id`);
    user = owners[0];
  }
  if (!user) throw notFound(`no user '${who}' in tenant '${tenant.slug}'`);
  return user;
}

/** A user by one of its identities: a local one (issuer: the tenant's domain) or an upstream provider's. */
export async function requireUserByIdentity(d: Pick<UserDeps, 'store'>, tenant: Tenant, identity: UserIdentity): Promise<User> {
  const user = isLocalIssuer(tenant, identity.issuer)
    ? await d.store.findUserBySignInName(tenant.id, identity.issuerAssignedId)
    : await d.store.findUserByIdentity(tenant.id, { issuer: identity.issuer.trim(), issuerAssignedId: identity.issuerAssignedId.trim() });
  if (!user) throw notFound(`no user with the identity ${identity.issuer} ${identity.issuerAssignedId} in tenant '${tenant.slug}'`);
  return user;
}

/**
 * Links an upstream identity to a user (it signs in to this account from then on). One already linked
 * to this user is left as it is (another tab linked it a moment ago); one linked to another is a conflict.
 */
export async function linkIdentity(d: UserDeps, tenant: Tenant, user: User, identity: UserIdentity, origin: Origin): Promise<UserIdentity[]> {
  const checked = checkIdentity(tenant, identity);
  try {
    await d.store.addUserIdentity(tenant.id, user.id, checked, d.clock.now());
  } catch (err) {
    if (!(err instanceof StoreConflictError)) throw err;
    const owner = await d.store.findUserByIdentity(tenant.id, checked);
    if (owner?.id === user.id) return d.store.listUserIdentities(tenant.id, user.id);
    throw conflict(`the identity ${checked.issuer} ${checked.issuerAssignedId} already belongs to ${owner ? `user ${owner.id}` : 'another user'}`);
  }
  await auditChange(d, tenant, user.id, 'identity_linked', origin, identityDetail(checked, origin));
  return d.store.listUserIdentities(tenant.id, user.id);
}

export async function unlinkIdentity(d: UserDeps, tenant: Tenant, user: User, identity: UserIdentity, origin: Origin): Promise<UserIdentity[]> {
  const checked = checkIdentity(tenant, identity);
  if (!(await d.store.removeUserIdentity(tenant.id, user.id, checked))) {
    throw notFound(`user ${user.id} has no identity ${checked.issuer} ${checked.issuerAssignedId}`);
  }
  await auditChange(d, tenant, user.id, 'identity_unlinked', origin, identityDetail(checked, origin));
  return d.store.listUserIdentities(tenant.id, user.id);
}

function identityDetail(i: UserIdentity, origin: Origin): string {
  return `${i.issuer} ${i.issuerAssignedId} (${origin.by === 'journey' && origin.provedBy ? `proved by ${origin.provedBy}` : surface(origin)})`;
}

/** Whether the user may sign in; disabling ends their sessions and revokes their refresh tokens. Returns the user as it is now. */
export async function setEnabled(d: UserDeps, tenant: Tenant, user: User, enabled: boolean, origin: Origin): Promise<User> {
  await d.store.setUserDisabled(tenant.id, user.id, !enabled, d.clock.now());
  await auditChange(d, tenant, user.id, enabled ? 'user_enabled' : 'user_disabled', origin, surface(origin));
  const now = await d.store.findUser(tenant.id, user.id);
  if (!now) throw notFound(`no user '${user.id}' in tenant '${tenant.slug}'`);
  return now;
}

/** Deletes the user with everything of theirs (identities, sessions, tokens, consents, authenticators). */
export async function deleteUser(d: UserDeps, tenant: Tenant, user: User, origin: Origin): Promise<void> {
  if (!(await d.store.deleteUser(tenant.id, user.id))) throw notFound(`no user '${user.id}' in tenant '${tenant.slug}'`);
  await auditChange(d, tenant, user.id, 'user_deleted', origin, surface(origin));
}

/**
 * A new password the user chose after proving their mailbox (password reset): their refresh tokens
 * are revoked (whoever held the old password loses what it got) and the sign-in lockout is cleared.
 */
export async function resetPassword(d: UserDeps, tenant: Tenant, user: User, password: string, rule: PasswordRule, origin: Origin): Promise<{ revoked: number }> {
  checkPassword(password, rule);
  const now = d.clock.now();
  await d.store.setUserPassword(tenant.id, user.id, await hashPassword(password, d.passwordCost), now, { mustChange: false });
  const revoked = await d.store.revokeUserRefreshTokens(tenant.id, user.id, now);
  const name = lockoutName(user);
  if (name !== undefined) await d.store.clearLoginFailures(tenant.id, name);
  await auditChange(d, tenant, user.id, 'password_reset', origin, `${revoked} refresh tokens revoked`);
  return { revoked };
}

/** Ends the user's SSO sessions and revokes their refresh tokens (Graph's revokeSignInSessions); access tokens run out. */
export async function revokeSessions(d: UserDeps, tenant: Tenant, user: User, origin: Origin): Promise<void> {
  await d.store.revokeUserSessions(tenant.id, user.id, d.clock.now());
  await auditChange(d, tenant, user.id, 'sessions_revoked', origin, surface(origin));
}

/**
 * The new password a user chose at sign-in because an operator required one (Graph's
 * forceChangePasswordNextSignIn, or an import's): the old one was just proved. Refresh tokens got with
 * the old password are revoked, and the requirement ends.
 */
export async function changeRequiredPassword(d: UserDeps, tenant: Tenant, user: User, password: string, rule: PasswordRule, origin: Origin): Promise<void> {
  checkPassword(password, rule);
  const now = d.clock.now();
  await d.store.setUserPassword(tenant.id, user.id, await hashPassword(password, d.passwordCost), now, { mustChange: false });
  const revoked = await d.store.revokeUserRefreshTokens(tenant.id, user.id, now);
  await auditChange(d, tenant, user.id, 'password_changed', origin, `required at sign-in; ${revoked} refresh tokens revoked`);
}
