import { randomToken, sha256 } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import type { Policy } from '../model/policy.js';
import type { SsoSession, Tenant, User } from '../model/entities.js';

export interface ActiveSession {
  session: SsoSession;
  user: User;
}

/** The browser's SSO session for this tenant, if it is alive and its user still may sign in. */
export async function findActiveSession(deps: Deps, tenant: Tenant, cookieValue: string | undefined): Promise<ActiveSession | undefined> {
  if (!cookieValue || cookieValue.length > 100) return undefined;
  const session = await deps.store.findSsoSession(sha256(cookieValue));
  if (!session || session.tenantId !== tenant.id || session.expiresAt <= deps.clock.now()) return undefined;
  const user = await deps.store.findUser(tenant.id, session.userId);
  if (!user || user.disabled) return undefined;
  return { session, user };
}

/** Whether a session made under one policy and app may sign in silently here (the policy's SSO scope). */
export function sessionCovers(policy: Policy, session: SsoSession, clientId: string): boolean {
  switch (policy.session.sso) {
    case 'tenant':
      return true;
    case 'application':
      return session.clientId === clientId;
    case 'policy':
      return session.policyId.toLowerCase() === policy.id.toLowerCase();
    case 'suppressed':
      return false;
  }
}

/**
 * Starts an SSO session after an interactive sign-in and records the app it signed in. A session the
 * browser already had is ended: if it was the same user's (prompt=login, a step-up), the new session
 * keeps its `sid` and its apps, so a later logout still reaches every app the user signed in to.
 */
export async function createSession(
  deps: Deps,
  args: { tenant: Tenant; policy: Policy; userId: string; clientId: string; idp: string; authTime: number; amr: string[]; kmsiDays?: number; previousCookie?: string },
): Promise<{ cookieValue: string; session: SsoSession }> {
  const previous = args.previousCookie && args.previousCookie.length <= 100 ? await deps.store.endSsoSession(sha256(args.previousCookie)) : undefined;
  const carried = previous && previous.session.tenantId === args.tenant.id && previous.session.userId === args.userId ? previous : undefined;
  const cookieValue = randomToken();
  const now = deps.clock.now();
  // Keep me signed in replaces the session lifetime with its own (local accounts, B2C's KMSI).
  const expiresAt = now + (args.kmsiDays ? args.kmsiDays * 86_400_000 : args.policy.session.lifetimeMinutes * 60_000);
  const session: SsoSession = {
    idHash: sha256(cookieValue),
    sid: carried?.session.sid ?? randomToken(16),
    tenantId: args.tenant.id,
    userId: args.userId,
    policyId: args.policy.id,
    clientId: args.clientId,
    idp: args.idp,
    authTime: args.authTime,
    amr: args.amr,
    createdAt: now,
    expiresAt,
  };
  await deps.store.createSsoSession(session);
  for (const c of carried?.clients ?? []) await deps.store.addSsoSessionClient(session.idHash, c);
  return { cookieValue, session };
}

/** Records that the session signed in this app (front-channel logout reaches it later). */
export async function joinSession(deps: Deps, session: SsoSession, clientId: string, policyId: string): Promise<void> {
  await deps.store.addSsoSessionClient(session.idHash, { clientId, policyId });
}

/** Rolling sessions are extended on each use; absolute ones end at their first expiry. */
export async function touchSession(deps: Deps, policy: Policy, session: SsoSession): Promise<void> {
  if (policy.session.timeout !== 'rolling') return;
  const expiresAt = deps.clock.now() + policy.session.lifetimeMinutes * 60_000;
  if (expiresAt - session.expiresAt > 60_000) await deps.store.touchSsoSession(session.idHash, expiresAt);
}
