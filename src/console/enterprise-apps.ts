import { listEnterpriseApps, removeEnterpriseApp } from '../services/enterprise-apps.js';
import { html } from '../ui/html.js';
import { actionButton, canWrite, table, when } from './pages/layout.js';
import type { ConsoleRouter, Ctx, Redisplay } from './routes.js';

/**
 * Enterprise apps: other tenants' multi-tenant apps provisioned here by consent (Azure's service
 * principals), with their home tenant, when they were first consented to and what an administrator
 * consented to for everyone. A Global Administrator removes one, which withdraws every consent to it
 * here and ends its tokens here — services/enterprise-apps.ts, as `latchkey app remove` and the admin
 * API's `DELETE …/enterprise-apps/{clientId}` do.
 */
export function registerEnterpriseApps(r: ConsoleRouter): void {
  const page = async (c: Ctx, o: Redisplay) => {
    const { shell, tenant } = c;
    const w = canWrite(shell);
    const apps = await listEnterpriseApps(c.deps, tenant);
    // Who consented for the organization: a user of this tenant, named when they still exist.
    const names = new Map<string, string>();
    for (const a of apps) {
      const by = a.admin_consent?.by;
      if (by && !names.has(by)) {
        const u = await c.deps.store.findUser(tenant.id, by);
        names.set(by, u?.displayName ?? u?.email ?? by);
      }
    }
    const granted = (a: (typeof apps)[number]) =>
      a.admin_consent
        ? html`${a.admin_consent.permissions.length > 0 ? html`<ul class="plain">${a.admin_consent.permissions.map((p) => html`<li><code>${p}</code></li>`)}</ul>` : 'sign-in only'}<span class="muted">by <a href="${shell.base}/users/${a.admin_consent.by}">${names.get(a.admin_consent.by) ?? a.admin_consent.by}</a>, ${when(a.admin_consent.at)}</span>`
        : html`<span class="muted">no administrator consent: each person consents for themselves</span>`;
    return {
      title: 'Enterprise apps',
      section: 'apps' as const,
      error: o.error,
      body: html`<p>Multi-tenant apps of other organizations that people of ${tenant.displayName} signed in to, or that an administrator consented to for everyone (the first consent adds the app here). ${w ? 'Removing one withdraws every consent to it here and ends the tokens it holds here; it comes back only when someone consents again.' : ''}</p>
${table('Enterprise apps', ['Name', 'Application (client) id', 'Home tenant', 'Added', 'Permissions granted for everyone', ...(w ? [''] : [])], apps.map((a) => html`<tr><td>${a.name} <span class="muted">(${a.type})</span></td><td><code>${a.client_id}</code></td><td><code>${a.home_tenant}</code></td><td>${when(a.created_at)}</td><td>${granted(a)}</td>${w ? html`<td>${actionButton(shell, '/enterprise-apps/remove', 'Remove', { fields: { clientId: a.client_id }, danger: true, confirm: `Remove ${a.name} from this tenant? Every consent to it here is withdrawn and its tokens here end.` })}</td>` : ''}</tr>`), 'No enterprise apps: no other organization\'s app has been consented to here.')}
<p><a href="${shell.base}/apps">Back to the apps</a></p>`,
    };
  };
  r.page('/enterprise-apps', page);
  r.action('/enterprise-apps/remove', async (c, f) => {
    await removeEnterpriseApp(c.d, c.tenant, f.clientId ?? '');
    return { redirect: '/enterprise-apps', done: 'enterprise-app-removed' };
  }, page);
}
