import type { DirectoryRole } from '../model/entities.js';
/**
 * Who may use a tenant's console: users with a directory role there. `GlobalAdministrator` reads and
 * changes everything the console shows; `GlobalReader` reads it; anyone else is refused with a page
 * saying an administrator role is needed. The console is given the function that reads a user's roles
 * when it is registered (app.ts wires the directory's), and asks it on every request, so a role taken
 * away or an account disabled ends the access at once.
 */
export type ConsoleRole = DirectoryRole;

export type DirectoryRoles = (tenantId: string, userId: string) => Promise<readonly ConsoleRole[]>;

export type Access = 'write' | 'read';

/** What the roles allow in the console (undefined: nothing). */
export function accessOf(roles: readonly ConsoleRole[]): Access | undefined {
  if (roles.includes('GlobalAdministrator')) return 'write';
  if (roles.includes('GlobalReader')) return 'read';
  return undefined;
}

export const ROLE_NAMES: Record<ConsoleRole, string> = { GlobalAdministrator: 'Global Administrator', GlobalReader: 'Global Reader' };
