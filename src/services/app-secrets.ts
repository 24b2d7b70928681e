import { invalid, notFound } from '../model/errors.js';
import { randomBytes } from 'node:crypto';
import { randomToken, sha256 } from '../crypto/secrets.js';
import type { Deps } from './deps.js';
import type { App, AppSecret, Tenant } from '../model/entities.js';
import { holdsCredentials } from '../model/platforms.js';

/**
 * Client secrets of confidential apps: several may be live at once, so a secret is rotated without
 * downtime (add a new one, move the app over, revoke the old one, at once or after an overlap). The
 * value is 256 random bits, shown once; only its SHA-256 is kept. Shared by the CLI and the admin API.
 */
export const MAX_LIVE_SECRETS = 10;

type SecretDeps = Pick<Deps, 'store' | 'clock' | 'audit'>;

export interface SecretView {
  id: string;
  description: string | null;
  createdAt: string;
  expiresAt: string | null;
  live: boolean;
}

export const isLive = (s: AppSecret, now: number): boolean => s.expiresAt === null || s.expiresAt > now;

export function secretView(s: AppSecret, now: number): SecretView {
  return { id: s.id, description: s.description, createdAt: new Date(s.createdAt).toISOString(), expiresAt: s.expiresAt === null ? null : new Date(s.expiresAt).toISOString(), live: isLive(s, now) };
}

/** A new secret record and its value (for a new app, or added to one). */
export function newSecret(now: number, opts: { description?: string | undefined; expiresAt?: number | null | undefined } = {}): { record: AppSecret; value: string } {
  const value = randomToken(32);
  return { value, record: { id: randomBytes(8).toString('hex'), hash: sha256(value), description: opts.description ?? null, createdAt: now, expiresAt: opts.expiresAt ?? null } };
}

/**
 * Secrets belong to apps that act as confidential clients: a web, daemon or api app, or an app of
 * another preset once it has a web platform (its web redirect URIs then need the secret).
 */
function confidential(app: App): void {
  if (!holdsCredentials(app) && app.webRedirectUris.length === 0) {
    throw invalid(`app '${app.clientId}' is a public client (${app.type}): it has no secrets (give it a web redirect URI first if a server of it signs users in)`);
  }
}

export async function addAppSecret(d: SecretDeps, tenant: Tenant, app: App, opts: { description?: string; expiresInDays?: number }): Promise<{ secret: SecretView; value: string }> {
  confidential(app);
  if (opts.description !== undefined && (opts.description.length === 0 || opts.description.length > 100)) throw invalid('invalid --description: 1-100 characters');
  if (opts.expiresInDays !== undefined && (!Number.isInteger(opts.expiresInDays) || opts.expiresInDays < 1 || opts.expiresInDays > 3650)) throw invalid('invalid --expires-in-days: a whole number of days from 1 to 3650');
  const now = d.clock.now();
  const made = newSecret(now, { description: opts.description, expiresAt: opts.expiresInDays === undefined ? null : now + opts.expiresInDays * 86_400_000 });
  await d.store.updateAppSecrets(tenant.id, app.clientId, (secrets) => {
    if (secrets.filter((s) => isLive(s, now)).length >= MAX_LIVE_SECRETS) throw invalid(`app '${app.clientId}' has ${MAX_LIVE_SECRETS} live secrets: revoke one first`);
    return [...secrets, made.record];
  });
  await d.audit.record({ tenantId: tenant.id, event: 'app_secret_added', outcome: 'success', clientId: app.clientId, detail: made.record.id });
  return { secret: secretView(made.record, now), value: made.value };
}

export async function listAppSecrets(d: SecretDeps, tenant: Tenant, app: App): Promise<SecretView[]> {
  confidential(app);
  const now = d.clock.now();
  const fresh = await d.store.findApp(tenant.id, app.clientId);
  return (fresh ?? app).secrets.map((s) => secretView(s, now));
}

/**
 * Ends a secret: at once, or after `overlapHours` (the app keeps working with it meanwhile). Expired
 * secrets are removed from the list when a secret is revoked, after a day of showing as expired.
 */
export async function revokeAppSecret(d: SecretDeps, tenant: Tenant, app: App, secretId: string, opts: { overlapHours?: number } = {}): Promise<SecretView> {
  confidential(app);
  if (opts.overlapHours !== undefined && (!Number.isFinite(opts.overlapHours) || opts.overlapHours < 0 || opts.overlapHours > 24 * 90)) throw invalid('invalid --overlap-hours: 0 to 2160');
  const now = d.clock.now();
  const until = now + Math.round((opts.overlapHours ?? 0) * 3_600_000);
  let found: AppSecret | undefined;
  await d.store.updateAppSecrets(tenant.id, app.clientId, (secrets) => {
    const next = secrets
      .filter((s) => s.expiresAt === null || s.expiresAt > now - 86_400_000 || s.id === secretId)
      .map((s) => {
        if (s.id !== secretId) return s;
        found = { ...s, expiresAt: s.expiresAt === null ? until : Math.min(s.expiresAt, until) };
        return found;
      });
    if (!found) throw notFound(`app '${app.clientId}' has no secret '${secretId}'`);
    return next;
  });
  await d.audit.record({ tenantId: tenant.id, event: 'app_secret_revoked', outcome: 'success', clientId: app.clientId, detail: `${secretId}${opts.overlapHours ? ` after ${opts.overlapHours} h` : ''}` });
  return secretView(found!, now);
}
