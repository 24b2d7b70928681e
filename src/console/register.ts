import type { FastifyInstance } from 'fastify';
import type { Deps } from '../services/deps.js';
import { registerHome } from './home.js';
import { registerConsoleRoutes, type ConsoleOptions } from './routes.js';
import { registerUsers } from './users.js';
import { registerApps } from './apps.js';
import { registerEnterpriseApps } from './enterprise-apps.js';
import { registerPolicies } from './policies.js';
import { registerKeys } from './keys.js';
import { registerTenant } from './tenant.js';
import { registerAudit } from './audit.js';

/** The web console and its sections (routes.ts has the sign-in, the session and the checks every page shares). */
export function registerConsole(app: FastifyInstance, deps: Deps, opts: ConsoleOptions): void {
  registerConsoleRoutes(app, deps, opts, [registerHome, registerUsers, registerApps, registerEnterpriseApps, registerPolicies, registerKeys, registerTenant, registerAudit]);
}

export type { ConsoleOptions, DirectoryRoles } from './routes.js';
