import type { Tenant, User } from '../model/entities.js';
import { invalid } from '../model/errors.js';
import type { Origin, UserDeps } from './users.js';
import { updateProfile } from './users-update.js';

/**
 * PLACEHOLDER until directory roles (issue 26: `latchkey user role add|remove`, stored per user) land;
 * then both functions here are replaced by that service, and nothing else changes: every read of a
 * user's directory roles (the web console's checks) and every write (the console's tests) goes through
 * these two.
 *
 * Meanwhile a user's roles are kept in their attribute `latchkeyDirectoryRoles`: the role names
 * separated by spaces (a user's attributes hold text, numbers or true/false: services/users-rules.ts).
 */
export const DIRECTORY_ROLES = ['GlobalAdministrator', 'GlobalReader'] as const;
export type DirectoryRole = (typeof DIRECTORY_ROLES)[number];

const ATTRIBUTE = 'latchkeyDirectoryRoles';

const isRole = (r: unknown): r is DirectoryRole => (DIRECTORY_ROLES as readonly unknown[]).includes(r);

/** The directory roles a user holds in a tenant (none for an unknown or disabled user). */
export function directoryRolesReader(d: Pick<UserDeps, 'store'>): (tenantId: string, userId: string) => Promise<readonly DirectoryRole[]> {
  return async (tenantId, userId) => {
    const user = await d.store.findUser(tenantId, userId);
    if (!user || user.disabled) return [];
    const stored = user.attributes[ATTRIBUTE];
    const names = typeof stored === 'string' ? stored.split(/\s+/) : Array.isArray(stored) ? stored : [];
    return [...new Set(names.filter(isRole))];
  };
}

/** Gives a user exactly these directory roles (none removes them all); audited as a change of the user. */
export async function setDirectoryRoles(d: UserDeps, tenant: Tenant, user: User, roles: readonly string[], origin: Origin): Promise<void> {
  const unknown = roles.filter((r) => !isRole(r));
  if (unknown.length > 0) throw invalid(`unknown directory role '${unknown[0]}': one of ${DIRECTORY_ROLES.join(', ')}`);
  await updateProfile(d, tenant, user, { attributes: { [ATTRIBUTE]: roles.length > 0 ? [...new Set(roles)].join(' ') : null } }, origin);
}
