import { keepProvenPassword } from './users-update.js';
import { lockoutName } from './users.js';
import { provisionDeps } from './deps.js';
import type { Deps } from './deps.js';
import { checkLegacyPassword } from '../migration/legacy-ropc.js';
import { normalizeLocalName, normalizeLookupName } from '../store/normalize.js';
import type { Store } from '../store/store.js';
import { passwordIdentities } from '../model/local-identities.js';
import type { LocalIdentity, LoginThrottle, SignInType, Tenant, User } from '../model/entities.js';

/** Failed passwords before a sign-in name is locked, and the lock's length (doubling with repeats, at most a day). */
export const LOCKOUT_THRESHOLD = 10;
export const lockoutMs = (lockouts: number): number => Math.min(60_000 * 2 ** (lockouts - 1), 86_400_000);

/** The lockout rule: how many failures lock a name, and for how long its n-th lock lasts. */
export interface LockoutRule {
  threshold: number;
  lockMs: (lockouts: number) => number;
}

/** The counts after one more failure: at the threshold the name is locked (longer each time) and counting starts again. */
export function afterFailure(t: LoginThrottle, now: number, rule: LockoutRule): LoginThrottle {
  const failures = t.failures + 1;
  if (failures < rule.threshold) return { ...t, failures };
  const lockouts = t.lockouts + 1;
  return { failures: 0, lockouts, lockedUntil: now + rule.lockMs(lockouts) };
}

/** Lost races before a failure gives up being counted (each lost race is another request's failure, counted). */
const MAX_RACES = 50;

/**
 * Counts a failed attempt for a name (a password, a second factor) under the lockout rule. The store
 * only compares and sets, so failures of requests racing each other, on one instance or several, are
 * all counted, one after another: a request that finds the counts changed reads them again.
 */
export async function recordLoginFailure(store: Store, tenantId: string, name: string, now: number, rule: LockoutRule = { threshold: LOCKOUT_THRESHOLD, lockMs: lockoutMs }): Promise<LoginThrottle> {
  let current = await store.getLoginThrottle(tenantId, name);
  for (let races = 0; races < MAX_RACES; races++) {
    const next = afterFailure(current, now, rule);
    if (await store.setLoginThrottle(tenantId, name, current, next, now)) return next;
    current = await store.getLoginThrottle(tenantId, name);
  }
  // So many failures were counted meanwhile that the name is locked by them.
  return current;
}

export type LocalAuthOutcome =
  | { ok: true; user: User }
  /** invalid: unknown name, wrong password or disabled account (one answer: no user enumeration). */
  | { ok: false; reason: 'invalid' | 'locked' | 'legacy_unavailable' | 'legacy_busy' };

/** The kinds of local identity a policy's `localAccount.signInName` takes. */
export function signInTypesOf(signInName: 'email' | 'username' | 'emailOrUsername'): SignInType[] {
  return signInName === 'email' ? ['emailAddress'] : signInName === 'username' ? ['userName'] : ['emailAddress', 'userName'];
}

/**
 * Checks a local account's sign-in name and password, the same way for the sign-in page and the
 * password grant: the name is one of the user's local identities of a kind the policy takes (`accepts`);
 * lockout per account (failures under any of a user's names count together under its first; an unknown
 * name is counted under itself, so the lockout reveals nothing); the same work for unknown names as for
 * known ones; a foreign or weaker hash replaced by Latchkey's own after a success; and a user imported
 * without a hash checked once at the old identity provider (just-in-time migration) and given a hash
 * here when the old provider says yes.
 */
export async function authenticateLocal(
  deps: Deps,
  tenant: Tenant,
  input: { signInName: string; password: string; clientId: string | null; ip: string; via: string; accepts: SignInType[] },
): Promise<LocalAuthOutcome> {
  const { store, clock, audit, passwords } = deps;
  const typed = normalizeLookupName(input.signInName);
  const base = { tenantId: tenant.id, clientId: input.clientId, ip: input.ip };
  const count = (result: 'success' | 'failure' | 'locked') => deps.metrics.signIns.inc({ policy: input.via, method: 'password', result });
  const isLocked = async (name: string) => (await store.getLoginThrottle(tenant.id, name)).lockedUntil > clock.now();
  const locked = async (subject: string): Promise<LocalAuthOutcome> => {
    count('locked');
    await audit.record({ ...base, event: 'signin', outcome: 'failure', subject, detail: `${input.via}: locked` });
    return { ok: false, reason: 'locked' };
  };
  if (await isLocked(typed)) return locked(typed);
  const found = await store.findUserBySignInName(tenant.id, typed);
  // The name must be one of the user's identities of a kind this policy signs in with.
  const identity = found && passwordIdentities(found).find((i) => input.accepts.includes(i.signInType) && normalizeLocalName(i) === typed);
  let user = identity ? found : undefined;
  const name = (user && lockoutName(user)) ?? typed;
  if (name !== typed && (await isLocked(name))) return locked(user!.id);
  let ok: boolean;
  if (user && identity && !user.disabled && user.passwordHash === null && user.passwordAtLegacy) {
    const migrated = await migrateFromLegacy(deps, tenant, user, identity, input);
    if (migrated === 'unavailable' || migrated === 'busy') count('failure');
    if (migrated === 'unavailable' || migrated === 'busy') return { ok: false, reason: migrated === 'busy' ? 'legacy_busy' : 'legacy_unavailable' };
    ok = migrated === 'valid';
    if (ok) user = (await store.findUser(tenant.id, user.id)) ?? user;
  } else {
    ok = await passwords.verify(input.password, user?.passwordHash);
  }
  if (!user || !ok || user.disabled || user.passwordHash === null) {
    const now = clock.now();
    const t = await recordLoginFailure(store, tenant.id, name, now);
    await audit.record({ ...base, event: 'signin', outcome: 'failure', subject: user?.id ?? name, detail: `${input.via}: ${user?.disabled ? 'disabled' : 'bad credentials'}` });
    count(t.lockedUntil > now ? 'locked' : 'failure');
    if (t.lockedUntil > now) {
      await audit.record({ ...base, event: 'lockout', outcome: 'success', subject: user?.id ?? name, detail: `locked for ${Math.round((t.lockedUntil - now) / 1000)} s` });
      return { ok: false, reason: 'locked' };
    }
    return { ok: false, reason: 'invalid' };
  }
  await store.clearLoginFailures(tenant.id, name);
  if (name !== typed) await store.clearLoginFailures(tenant.id, typed);
  if (passwords.needsRehash(user.passwordHash)) {
    // An imported hash (bcrypt, argon2, PBKDF2…) or a lower cost: replaced now that the password is known.
    await keepProvenPassword(provisionDeps(deps), tenant, user, input.password, 'rehashed', { clientId: input.clientId, ip: input.ip });
  }
  await audit.record({ ...base, event: 'signin', outcome: 'success', subject: user.id, detail: input.via });
  count('success');
  return { ok: true, user };
}

/** Asks the old provider; on yes, stores Latchkey's own hash and ends the migration for this user. */
async function migrateFromLegacy(
  deps: Deps,
  tenant: Tenant,
  user: User,
  identity: LocalIdentity,
  input: { password: string; clientId: string | null; ip: string },
): Promise<'valid' | 'invalid' | 'unavailable' | 'busy'> {
  const { store, clock, audit, passwords } = deps;
  const base = { tenantId: tenant.id, clientId: input.clientId, ip: input.ip, subject: user.id };
  // Read fresh: the operator may have set or changed the old provider since this tenant was cached.
  const current = await store.findTenant(tenant.id, { fresh: true });
  const legacy = current?.legacyRopc;
  if (!legacy) {
    await passwords.verify(input.password, null);
    return 'invalid';
  }
  if (!(await deps.legacyCalls.take(tenant.id, clock.now(), current?.legacyRate ?? undefined))) {
    await audit.record({ ...base, event: 'password_migrated', outcome: 'failure', detail: 'too many calls to the old identity provider; not called' });
    return 'busy';
  }
  // The name the account has, not what was typed: the typed one only matched it after normalizing
  // (case, spaces), and the old provider must be asked about this account and no other.
  const check = await checkLegacyPassword(deps.outbound, legacy, identity.issuerAssignedId, input.password);
  if (check.result === 'unavailable') {
    await audit.record({ ...base, event: 'password_migrated', outcome: 'failure', detail: `old identity provider ${check.reason}` });
    return 'unavailable';
  }
  if (check.result === 'invalid') return 'invalid';
  await keepProvenPassword(provisionDeps(deps), tenant, user, input.password, { migratedFrom: new URL(legacy.tokenUrl).host }, { clientId: input.clientId, ip: input.ip });
  return 'valid';
}
