import { invalid } from '../model/errors.js';
import { endpointUrl } from '../oauth/tenant-context.js';
import { retireKeys, rotateKeys } from '../services/keys.js';
import { html } from '../ui/html.js';
import { actionButton, canWrite, field, form, table, when } from './pages/layout.js';
import type { ConsoleRouter, Ctx, Redisplay } from './routes.js';

/** Signing keys: the active one and those still published for their grace period; rotate and retire (services/keys.ts). */
export function registerKeys(r: ConsoleRouter): void {
  const page = async (c: Ctx, o: Redisplay) => {
    const keys = await c.deps.store.listSigningKeys(c.tenant.id);
    const jwks = endpointUrl(c.site.baseUrl, { tenantSegment: c.tenant.slug, form: 'path' }, c.tenant.defaultPolicy, 'discovery/v2.0/keys');
    const w = canWrite(c.shell);
    return {
      title: 'Signing keys',
      section: 'keys' as const,
      error: o.error,
      body: html`<p>Tokens are signed with the active key. After a rotation the previous key stays published in the <a href="${jwks}">JWKS</a> for its grace period, so apps that cache keys keep verifying; retire it to stop publishing it sooner.</p>
${table('Signing keys', ['Key id (kid)', 'Algorithm', 'State', 'Created', 'Published until', ...(w ? [''] : [])], keys.map((k) => html`<tr><td><code>${k.kid}</code></td><td>${k.alg}</td><td>${k.status === 'active' ? html`<strong>active</strong>` : k.status === 'next' ? 'next (published, signs after the next rotation)' : 'replaced (published)'}</td><td>${when(k.createdAt)}</td><td>${k.publishUntil === null ? '—' : when(k.publishUntil)}</td>${w ? html`<td>${k.status === 'grace' ? actionButton(c.shell, '/keys/retire', 'Retire', { fields: { kid: k.kid }, confirm: 'Stop publishing this key? Tokens it signed stop verifying.' }) : ''}</td>` : ''}</tr>`), 'No key yet: the first token makes one.')}
${w ? form(c.shell, '/keys/rotate', 'Rotate', field('Grace period (hours)', 'graceHours', { type: 'number', value: o.values?.graceHours ?? '', hint: 'How long the key being replaced stays published. Empty: the default (two days).' }), { label: 'Rotate the signing key', confirm: 'Make the next signing key active?' }) : ''}
${w ? html`<p>Apps that fetch keys only now and then can be given the next key before it signs: publish it, wait until they have fetched it, then rotate.</p>${form(c.shell, '/keys/prepare', 'Publish the next key', [], { label: 'Publish the next signing key' })}` : ''}`,
    };
  };
  r.page('/keys', page);
  r.action('/keys/rotate', async (c, f) => {
    const hours = f.graceHours?.trim() ? Number(f.graceHours) : undefined;
    if (hours !== undefined && (!Number.isFinite(hours) || hours < 0 || hours > 24 * 90)) throw invalid('the grace period is 0 to 2160 hours');
    await rotateKeys(c.d, c.tenant, hours !== undefined ? { graceMs: Math.round(hours * 3_600_000) } : {});
    // This instance signs with the new key at once (others hear of it through the store).
    c.deps.keys.invalidate(c.tenant.id);
    return { redirect: '/keys', done: 'key-rotated' };
  }, page);
  r.action('/keys/prepare', async (c) => {
    // Published at once, signing nothing until the next rotation (two-step rotation).
    await rotateKeys(c.d, c.tenant, { prepare: true });
    c.deps.keys.invalidate(c.tenant.id);
    return { redirect: '/keys', done: 'key-prepared' };
  }, page);
  r.action('/keys/retire', async (c, f) => {
    // Without a kid the service retires every replaced key: the console retires one at a time.
    if (!f.kid) throw invalid('name the key to retire');
    await retireKeys(c.d, c.tenant, f.kid);
    c.deps.keys.invalidate(c.tenant.id);
    return { redirect: '/keys', done: 'key-retired' };
  }, page);
}
