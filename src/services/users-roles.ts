import { invalid, notFound } from '../model/errors.js';
import { DIRECTORY_ROLE_TEMPLATES, directoryRoles, type DirectoryRole, type Tenant, type User } from '../model/entities.js';
import { auditChange, type Origin, type UserDeps } from './users.js';

/**
 * Directory roles: a tenant's administrators (GlobalAdministrator) and readers (GlobalReader), as Azure
 * AD names them. Tokens carry them as `wids` (Azure's role template ids); a Global Administrator may
 * consent to a multi-tenant app for the whole tenant (the admin-consent endpoint).
 */

export function parseDirectoryRole(name: string): DirectoryRole {
  const role = directoryRoles.find((r) => r.toLowerCase() === name.toLowerCase());
  if (!role) throw invalid(`invalid --role '${name}': one of ${directoryRoles.join(', ')}`);
  return role;
}

export async function addDirectoryRole(d: UserDeps, tenant: Tenant, user: User, role: DirectoryRole, origin: Origin): Promise<DirectoryRole[]> {
  await d.store.addUserRole(tenant.id, user.id, role, d.clock.now());
  await auditChange(d, tenant, user.id, 'directory_role', origin, `added ${role}`);
  return d.store.listUserRoles(tenant.id, user.id);
}

export async function removeDirectoryRole(d: UserDeps, tenant: Tenant, user: User, role: DirectoryRole, origin: Origin): Promise<DirectoryRole[]> {
  if (!(await d.store.removeUserRole(tenant.id, user.id, role))) throw notFound(`user '${user.id}' does not hold the role ${role}`);
  await auditChange(d, tenant, user.id, 'directory_role', origin, `removed ${role}`);
  return d.store.listUserRoles(tenant.id, user.id);
}

/** The role template ids of `wids`, for the user's roles. */
export function roleTemplateIds(roles: readonly DirectoryRole[]): string[] {
  return roles.map((r) => DIRECTORY_ROLE_TEMPLATES[r]);
}

/**
 * The directory roles a user holds in a tenant, none for an unknown or disabled user: what the web
 * console asks on every request, so a role taken away or an account disabled ends access at once.
 */
export function directoryRolesReader(d: Pick<UserDeps, 'store'>): (tenantId: string, userId: string) => Promise<readonly DirectoryRole[]> {
  return async (tenantId, userId) => {
    const user = await d.store.findUser(tenantId, userId);
    if (!user || user.disabled) return [];
    return d.store.listUserRoles(tenantId, userId);
  };
}
