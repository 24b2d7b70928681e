import { randomUUID } from 'node:crypto';
import { hashPassword } from '../crypto/password.js';
import { conflict, invalid, notFound } from '../model/errors.js';
import type { Tenant, User, UserIdentity } from '../model/entities.js';
import { EMAIL } from '../model/patterns.js';
import { normalizeSignInName } from '../store/normalize.js';
import type { ProvisionDeps } from './deps.js';

/** Users an operator creates and finds, and the upstream identities linked to them. */

export interface CreateUserInput {
  email: string;
  password: string;
  givenName?: string;
  familyName?: string;
  displayName?: string;
  emailVerified?: boolean;
}

export const MIN_PASSWORD_LENGTH = 8;

export async function createUser(d: ProvisionDeps, tenant: Tenant, input: CreateUserInput): Promise<User> {
  const email = input.email.trim();
  if (!EMAIL.test(email)) throw invalid(`invalid --email '${input.email}'`);
  if (input.password.length < MIN_PASSWORD_LENGTH) throw invalid(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
  if (input.password.length > 256) throw invalid('the password must have at most 256 characters');
  if (await d.store.findUserBySignInName(tenant.id, email)) throw conflict(`a user with email '${email}' already exists`);
  const now = d.clock.now();
  const displayName = input.displayName ?? ([input.givenName, input.familyName].filter(Boolean).join(' ') || null);
  const user: User = {
    id: randomUUID(),
    tenantId: tenant.id,
    email,
    emailVerified: input.emailVerified ?? true,
    signInName: normalizeSignInName(email),
    signInType: 'emailAddress',
    passwordHash: await hashPassword(input.password, d.passwordCost),
    passwordAtLegacy: false,
    givenName: input.givenName ?? null,
    familyName: input.familyName ?? null,
    displayName,
    attributes: {},
    disabled: false,
    createdAt: now,
    updatedAt: now,
  };
  await d.store.createUser(user);
  await d.audit.record({ tenantId: tenant.id, event: 'user_created', outcome: 'success', subject: user.id, detail: 'cli' });
  return user;
}

export async function requireUser(d: Pick<ProvisionDeps, 'store'>, tenant: Tenant, idOrEmail: string): Promise<User> {
  const user = idOrEmail.includes('@')
    ? await d.store.findUserBySignInName(tenant.id, idOrEmail)
    : await d.store.findUser(tenant.id, idOrEmail);
  if (!user) throw notFound(`no user '${idOrEmail}' in tenant '${tenant.slug}'`);
  return user;
}

/** An upstream identity as operators type it: the provider's issuer (google.com…) and the user's id there. */
function checkIdentity(identity: UserIdentity): UserIdentity {
  const issuer = identity.issuer.trim();
  const id = identity.issuerAssignedId.trim();
  if (!/^\S{1,256}$/.test(issuer)) throw invalid(`invalid --issuer '${identity.issuer}': the provider's domain, such as google.com`);
  if (issuer.endsWith('.onmicrosoft.com')) throw invalid(`invalid --issuer '${issuer}': that is a local account's issuer; give an identity provider's domain`);
  if (id.length === 0 || id.length > 256) throw invalid('invalid --issuer-assigned-id: 1-256 characters');
  return { issuer, issuerAssignedId: id };
}

/** Links an upstream identity to a user (it signs in to this account from then on). */
export async function addIdentity(d: ProvisionDeps, tenant: Tenant, user: User, identity: UserIdentity): Promise<UserIdentity[]> {
  const checked = checkIdentity(identity);
  const owner = await d.store.findUserByIdentity(tenant.id, checked);
  if (owner) throw conflict(`the identity ${checked.issuer} ${checked.issuerAssignedId} already belongs to user ${owner.id}`);
  await d.store.addUserIdentity(tenant.id, user.id, checked, d.clock.now());
  await d.audit.record({ tenantId: tenant.id, event: 'identity_linked', outcome: 'success', subject: user.id, detail: `${checked.issuer} ${checked.issuerAssignedId} (cli)` });
  return d.store.listUserIdentities(tenant.id, user.id);
}

export async function removeIdentity(d: ProvisionDeps, tenant: Tenant, user: User, identity: UserIdentity): Promise<UserIdentity[]> {
  const checked = checkIdentity(identity);
  if (!(await d.store.removeUserIdentity(tenant.id, user.id, checked))) {
    throw notFound(`user ${user.id} has no identity ${checked.issuer} ${checked.issuerAssignedId}`);
  }
  await d.audit.record({ tenantId: tenant.id, event: 'identity_unlinked', outcome: 'success', subject: user.id, detail: `${checked.issuer} ${checked.issuerAssignedId} (cli)` });
  return d.store.listUserIdentities(tenant.id, user.id);
}
