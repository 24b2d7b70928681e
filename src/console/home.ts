import { html } from '../ui/html.js';
import { METHODS, signInChart, type HourCounts, type Method } from './pages/chart.js';
import { table, when } from './pages/layout.js';
import type { ConsoleRouter } from './routes.js';

/** The overview: sign-ins of the last 24 hours per hour, by result and method, and where to go next. */
const EVENT_METHOD: Record<string, Method> = { signin: 'password', federated_signin: 'identity provider', passkey_signin: 'passkey' };
const HOUR = 3_600_000;

export function registerHome(r: ConsoleRouter): void {
  r.page('/', async (c) => {
    const now = c.deps.clock.now();
    const first = Math.floor(now / HOUR) * HOUR - 23 * HOUR;
    const hours: HourCounts[] = Array.from({ length: 24 }, (_, i) => ({
      hour: first + i * HOUR,
      success: Object.fromEntries(METHODS.map((m) => [m, 0])) as Record<Method, number>,
      failure: Object.fromEntries(METHODS.map((m) => [m, 0])) as Record<Method, number>,
    }));
    for (const n of await c.deps.store.countAuditEvents({ tenantId: c.tenant.id, events: Object.keys(EVENT_METHOD), since: first, bucketMs: HOUR })) {
      const h = hours[Math.floor((n.at - first) / HOUR)];
      const method = EVENT_METHOD[n.event];
      if (h && method) h[n.outcome][method] += n.count;
    }
    const apps = await c.deps.store.listApps(c.tenant.id);
    const keys = await c.deps.store.listSigningKeys(c.tenant.id);
    const active = keys.find((k) => k.status === 'active');
    const recent = (await c.deps.store.listAuditEvents({ tenantId: c.tenant.id, limit: 8 })).filter((e) => e.actor !== null || !(e.event in EVENT_METHOD));
    return {
      title: 'Overview',
      section: 'home',
      body: html`<section aria-labelledby="h-signins"><h2 id="h-signins">Sign-ins, the last 24 hours</h2>
${signInChart(hours, 'Sign-ins per hour by result and method, the last 24 hours (UTC)')}</section>
<section aria-labelledby="h-tenant"><h2 id="h-tenant">This tenant</h2>
<dl class="facts"><dt>Tenant id</dt><dd><code>${c.tenant.id}</code></dd><dt>Default policy</dt><dd><a href="${c.shell.base}/policies/${c.tenant.defaultPolicy}">${c.tenant.defaultPolicy}</a></dd>
<dt>Policies</dt><dd><a href="${c.shell.base}/policies">${c.deps.policies.list(c.tenant.slug).length}</a></dd><dt>Apps</dt><dd><a href="${c.shell.base}/apps">${apps.length}</a></dd>
<dt>Signing key</dt><dd>${active ? html`<code>${active.kid}</code>, since ${when(active.createdAt)}` : 'none yet'} (<a href="${c.shell.base}/keys">keys</a>)</dd></dl></section>
<section aria-labelledby="h-recent"><h2 id="h-recent">Latest changes</h2>
${table('Latest changes', ['Time', 'Event', 'Detail'], recent.map((e) => html`<tr><td>${when(e.at)}</td><td>${e.event}</td><td>${e.detail ?? ''}</td></tr>`), 'Nothing yet.')}
<p><a href="${c.shell.base}/audit">The audit log</a></p></section>`,
    };
  });
}
