import { issuerFor } from '../model/issuer.js';
import { listEmailDomains, removeEmailDomain } from '../services/email-domains.js';
import { addTenantDomain, listTenantDomains, removeTenantDomain } from '../services/tenant-domains.js';
import { listTenantSecrets, removeTenantSecret, setTenantSecret } from '../services/tenant-secrets.js';
import { setTenantSettings } from '../services/tenants.js';
import { html } from '../ui/html.js';
import { actionButton, canWrite, field, form, table, when } from './pages/layout.js';
import type { ConsoleRouter, Ctx, Redisplay } from './routes.js';

/**
 * The tenant: its custom domains (services/tenant-domains.ts), the settings for moving off another
 * identity provider (services/tenants.ts), and its secrets, written and listed, never shown again
 * (services/tenant-secrets.ts) — as the admin API offers them; and its email domains, which route
 * people to it at /common (services/email-domains.ts): listed and removed here, added by the operator
 * alone (`latchkey tenant email-domain add`), as a domain claimed by a tenant would send another
 * organization's people to its sign-in page.
 */
export function registerTenant(r: ConsoleRouter): void {
  const hostRules = (c: Ctx) => ({ baseUrl: c.deps.config.baseUrl, tenantHostPattern: c.deps.config.tenantHostPattern });

  const page = async (c: Ctx, o: Redisplay) => {
    const { tenant, shell } = c;
    const w = canWrite(shell);
    const v = o.values ?? {};
    const domains = await listTenantDomains(c.deps, hostRules(c), tenant);
    const emailDomains = await listEmailDomains(c.deps, tenant);
    const secrets = await listTenantSecrets(c.deps, tenant);
    return {
      title: 'Tenant',
      section: 'tenant' as const,
      error: o.error,
      body: html`<dl class="facts"><dt>Name</dt><dd>${tenant.displayName}</dd><dt>Tenant id</dt><dd><code>${tenant.id}</code></dd><dt>Issuer here</dt><dd><code>${issuerFor(c.site.baseUrl, tenant, tenant.defaultPolicy)}</code></dd><dt>Created</dt><dd>${when(tenant.createdAt)}</dd></dl>
<section aria-labelledby="h-domains"><h2 id="h-domains">Custom domains</h2>
<p>Hosts of this tenant's own: on them every URL serves this tenant, and its issuer is written with the host. Point the name at the server (DNS) and give it a certificate: both stay with the operator.</p>
${table('Custom domains', ['Host', 'From', 'Issuer there', ...(w ? [''] : [])], domains.map((d) => html`<tr><td><code>${d.host}</code></td><td>${d.source === 'pattern' ? 'the host pattern' : when(d.createdAt)}</td><td><code>${d.issuer}</code></td>${w ? html`<td>${d.source === 'domain' ? actionButton(shell, '/tenant/domains/remove', 'Remove', { fields: { host: d.host }, confirm: `Stop serving this tenant on ${d.host}?` }) : ''}</td>` : ''}</tr>`), 'None: the tenant is served on the shared host.')}
${w ? form(shell, '/tenant/domains', 'Add domain', field('Host name', 'host', { value: v.host, hint: 'Such as login.contoso.com (no scheme, port or path).' }), { label: 'Add a custom domain' }) : ''}</section>
<section aria-labelledby="h-email-domains"><h2 id="h-email-domains">Email domains</h2>
<p>At <code>/common</code> (multi-tenant apps), a person who gives an address at one of these domains signs in here. A domain belongs to one tenant on this server; <code>${tenant.slug}.onmicrosoft.com</code> always names this one.</p>
${table('Email domains', ['Domain', 'Added', ...(w ? [''] : [])], emailDomains.map((e) => html`<tr><td><code>${e.domain}</code></td><td>${when(e.createdAt)}</td>${w ? html`<td>${actionButton(shell, '/tenant/email-domains/remove', 'Remove', { fields: { domain: e.domain }, confirm: `Stop sending people with addresses at ${e.domain} to this tenant?` })}</td>` : ''}</tr>`), 'None: at /common, people find this tenant by its onmicrosoft.com name only.')}
<p>A domain sends other people's sign-ins here, so it is added by the server's operator once the domain is shown to be this organization's: <code>latchkey tenant email-domain add --tenant ${tenant.slug} --domain contoso.com</code>. ${w ? 'You may remove one here.' : ''}</p></section>
<section aria-labelledby="h-migration"><h2 id="h-migration">Moving off another identity provider</h2>
<p>Just-in-time password migration asks the old provider's ROPC endpoint once per imported user without a password hash; the extensions app id names B2C's extension attributes.</p>
${w ? form(shell, '/tenant/migration', 'Save settings', [
  field('Old ROPC token URL', 'tokenUrl', { type: 'url', value: v.tokenUrl ?? tenant.legacyRopc?.tokenUrl, hint: 'Such as https://contoso.b2clogin.com/contoso.onmicrosoft.com/B2C_1_ROPC/oauth2/v2.0/token. Empty: no migration.' }),
  field('Old client id', 'clientId', { value: v.clientId ?? tenant.legacyRopc?.clientId }),
  field('Old scope', 'scope', { value: v.scope ?? tenant.legacyRopc?.scope, hint: 'Default: openid and the client id.' }),
  field('Extensions app id', 'extensionsAppId', { value: v.extensionsAppId ?? tenant.extensionsAppId, hint: "The b2c-extensions-app's application id. Empty: none." }),
], { label: 'Migration settings' }) : html`<dl class="facts"><dt>Old ROPC token URL</dt><dd>${tenant.legacyRopc?.tokenUrl ?? '—'}</dd><dt>Old client id</dt><dd>${tenant.legacyRopc?.clientId ?? '—'}</dd><dt>Extensions app id</dt><dd>${tenant.extensionsAppId ?? '—'}</dd></dl>`}</section>
<section aria-labelledby="h-secrets"><h2 id="h-secrets">Tenant secrets</h2>
<p>Values policies and identity providers name as <code>{ "secret": "NAME" }</code>: sealed when stored and never shown again, here or anywhere.</p>
${table('Tenant secrets', ['Name', 'Set', 'Changed', ...(w ? [''] : [])], secrets.map((s) => html`<tr><td><code>${s.name}</code></td><td>${when(s.createdAt)}</td><td>${when(s.updatedAt)}</td>${w ? html`<td>${actionButton(shell, '/tenant/secrets/remove', 'Remove', { fields: { name: s.name }, confirm: `Remove the secret ${s.name}? What names it stops working.` })}</td>` : ''}</tr>`), 'No tenant secrets.')}
${w ? form(shell, '/tenant/secrets', 'Set secret', [field('Name', 'name', { id: 'secret-name', value: v.name, hint: 'A letter, then letters, digits, _ . or -. Setting an existing name replaces its value.' }), field('Value', 'value', { id: 'secret-value', type: 'password', autocomplete: 'off' })], { label: 'Set a tenant secret' }) : ''}</section>`,
    };
  };
  r.page('/tenant', page);
  r.action('/tenant/domains', async (c, f) => {
    await addTenantDomain(c.d, hostRules(c), c.tenant, f.host ?? '', 'console');
    // This instance serves the host at once (others hear of it through the store).
    await c.deps.tenants.loadHosts();
    return { redirect: '/tenant', done: 'domain-added' };
  }, page);
  r.action('/tenant/domains/remove', async (c, f) => {
    await removeTenantDomain(c.d, c.tenant, f.host ?? '', 'console');
    await c.deps.tenants.loadHosts();
    return { redirect: '/tenant', done: 'domain-removed' };
  }, page);
  r.action('/tenant/email-domains/remove', async (c, f) => {
    await removeEmailDomain(c.d, c.tenant, f.domain ?? '');
    return { redirect: '/tenant', done: 'email-domain-removed' };
  }, page);
  r.action('/tenant/migration', async (c, f) => {
    const url = f.tokenUrl?.trim() ?? '';
    await setTenantSettings(c.d, c.tenant, {
      legacyRopc: url === '' ? null : { tokenUrl: url, clientId: f.clientId?.trim() ?? '', ...(f.scope?.trim() ? { scope: f.scope.trim() } : {}) },
      extensionsAppId: f.extensionsAppId?.trim() ? f.extensionsAppId.trim() : null,
    });
    return { redirect: '/tenant', done: 'settings-saved' };
  }, page);
  r.action('/tenant/secrets', async (c, f) => {
    await setTenantSecret(c.acting, c.tenant, (f.name ?? '').trim(), f.value ?? '', 'console');
    return { redirect: '/tenant', done: 'secret-set' };
  }, async (c, o) => page(c, { ...o, values: { ...o.values, value: '' } }));
  r.action('/tenant/secrets/remove', async (c, f) => {
    await removeTenantSecret(c.acting, c.tenant, f.name ?? '', 'console');
    return { redirect: '/tenant', done: 'secret-removed' };
  }, page);
}
