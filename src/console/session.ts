import { randomToken, sha256 } from '../crypto/secrets.js';
import type { JourneyRecord, Tenant } from '../model/entities.js';
import type { Deps } from '../services/deps.js';

/**
 * The console's sessions and its sign-ins in progress. Both are kept as journey records of the
 * pseudo-policy `latchkey:console` (no policy file can have that id): the journeys table already holds
 * short-lived state bound to a browser by an HttpOnly cookie, with a CSRF token, purged when it expires.
 * The cookie holds a random token; the record's id is the token's SHA-256, so a leaked database holds
 * no usable session. Each tenant has a cookie of its own (one browser may administer several), host-only,
 * HttpOnly, SameSite=Lax, and Secure with the `__Host-` prefix under https.
 */
export const CONSOLE_POLICY = 'latchkey:console';

/** An administrator stays signed in to the console this long, then signs in again (through SSO, usually silently). */
export const SESSION_MS = 8 * 3_600_000;
/** A sign-in (or a policy run) must come back within this time. */
const PENDING_MS = 15 * 60_000;

export interface ConsoleSession {
  id: string;
  tenantId: string;
  userId: string;
  csrf: string;
  expiresAt: number;
}

/** A flow started by the console: its sign-in, or a policy it runs for the administrator ("Run now"). */
export interface PendingFlow {
  kind: 'signin' | 'run';
  policyId: string;
  state: string;
  nonce: string;
  verifier: string;
  /** Where to go after signing in (a path of this tenant's console). */
  returnTo: string;
}

type SessionRequest = { type: 'session'; userId: string } | ({ type: 'pending' } & PendingFlow);

export function cookieName(secure: boolean, tenantId: string, what: 'session' | 'flow'): string {
  return `${secure ? '__Host-' : ''}lk_console_${what === 'flow' ? 'flow_' : ''}${tenantId.replace(/-/g, '')}`;
}

export function cookieOptions(secure: boolean, maxAgeSeconds: number) {
  return { path: '/', httpOnly: true, secure, sameSite: 'lax' as const, maxAge: maxAgeSeconds };
}

async function save(deps: Pick<Deps, 'store' | 'clock'>, tenant: Tenant, request: SessionRequest, lifetime: number): Promise<{ token: string; record: JourneyRecord }> {
  const token = randomToken(32);
  const now = deps.clock.now();
  const record: JourneyRecord = {
    id: sha256(token),
    tenantId: tenant.id,
    policyId: CONSOLE_POLICY,
    browserHash: sha256(randomToken(16)),
    request,
    state: {},
    csrf: randomToken(24),
    createdAt: now,
    expiresAt: now + lifetime,
  };
  await deps.store.createJourney(record);
  return { token, record };
}

async function load(deps: Pick<Deps, 'store' | 'clock'>, tenant: Tenant, token: string | undefined): Promise<JourneyRecord | undefined> {
  if (!token || !/^[\w-]{20,100}$/.test(token)) return undefined;
  const record = await deps.store.findJourney(sha256(token));
  if (!record || record.policyId !== CONSOLE_POLICY || record.tenantId !== tenant.id || record.expiresAt <= deps.clock.now()) return undefined;
  return record;
}

export async function startSession(deps: Pick<Deps, 'store' | 'clock'>, tenant: Tenant, userId: string): Promise<{ token: string; session: ConsoleSession }> {
  const { token, record } = await save(deps, tenant, { type: 'session', userId }, SESSION_MS);
  return { token, session: { id: record.id, tenantId: tenant.id, userId, csrf: record.csrf, expiresAt: record.expiresAt } };
}

export async function findSession(deps: Pick<Deps, 'store' | 'clock'>, tenant: Tenant, token: string | undefined): Promise<ConsoleSession | undefined> {
  const record = await load(deps, tenant, token);
  const request = record?.request as SessionRequest | undefined;
  if (!record || request?.type !== 'session') return undefined;
  return { id: record.id, tenantId: record.tenantId, userId: request.userId, csrf: record.csrf, expiresAt: record.expiresAt };
}

export async function endSession(deps: Pick<Deps, 'store'>, session: Pick<ConsoleSession, 'id'>): Promise<void> {
  await deps.store.deleteJourney(session.id);
}

export async function startFlow(deps: Pick<Deps, 'store' | 'clock'>, tenant: Tenant, flow: Omit<PendingFlow, 'state' | 'nonce' | 'verifier'>): Promise<{ token: string; flow: PendingFlow }> {
  const full: PendingFlow = { ...flow, state: randomToken(16), nonce: randomToken(16), verifier: randomToken(32) };
  const { token } = await save(deps, tenant, { type: 'pending', ...full }, PENDING_MS);
  return { token, flow: full };
}

/** The flow a callback belongs to, used once: it is gone whatever the callback brings. */
export async function takeFlow(deps: Pick<Deps, 'store' | 'clock'>, tenant: Tenant, token: string | undefined): Promise<PendingFlow | undefined> {
  const record = await load(deps, tenant, token);
  const request = record?.request as SessionRequest | undefined;
  if (!record || request?.type !== 'pending') return undefined;
  await deps.store.deleteJourney(record.id);
  const { type: _, ...flow } = request;
  return flow;
}

/**
 * Where a sign-in goes back to: a page of this tenant's console, as the browser will resolve it — a
 * path whose dot segments (also percent-encoded: `%2e%2e`, which browsers take as `..`) climb out of
 * the console is refused, as are other sites; anything else is the console's home.
 */
export function consoleReturnTo(slug: string, wanted: string | undefined): string {
  const home = `/console/${slug}/`;
  if (wanted === undefined || !wanted.startsWith(home) || /[\\\s]|\/\/|\/\.\.?(\/|$)/.test(wanted)) return home;
  let url: URL;
  try {
    url = new URL(wanted, 'http://console.invalid');
  } catch {
    return home;
  }
  if (url.origin !== 'http://console.invalid' || !url.pathname.startsWith(home)) return home;
  return `${url.pathname}${url.search}`;
}
