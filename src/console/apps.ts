import type { App, AppType } from '../model/entities.js';
import { confidentialTypes } from '../model/entities.js';
import { invalid, notFound } from '../model/errors.js';
import { outboundMetadataFetch } from '../federation/saml/metadata.js';
import { endpointUrl } from '../oauth/tenant-context.js';
import { ADMIN_API_URI } from '../services/admin-api.js';
import { addAppSecret, listAppSecrets, revokeAppSecret } from '../services/app-secrets.js';
import { createApp, defineOnApi, grantApp, listGrants, requireApp, revokeGrant, updateApp } from '../services/apps.js';
import { createSamlApp, removeSamlApp, samlAppJson } from '../services/saml-apps.js';
import { html, type SafeHtml } from '../ui/html.js';
import { actionButton, canWrite, field, form, table, when, type PageContent } from './pages/layout.js';
import type { ConsoleRouter, Ctx, Redisplay } from './routes.js';

/**
 * Apps: register every type (web, SPA, native, daemon, API, SAML; multi-tenant ones too), their
 * redirect URIs, client secrets (a value shown once, on the page that made it), an API's scopes and
 * roles, and the grants between apps — through services/apps.ts, app-secrets.ts and saml-apps.ts, as
 * the CLI and admin API do. Enterprise apps (other tenants' apps consented here) are enterprise-apps.ts.
 */
const TYPES: [string, string][] = [
  ['web', 'Web app (server-side, confidential: gets a client secret)'],
  ['spa', 'Single-page app (public client, PKCE)'],
  ['native', 'Mobile or desktop app (public client, PKCE)'],
  ['daemon', 'Daemon or service (client credentials, confidential)'],
  ['api', 'Web API (exposes scopes and roles)'],
  ['saml', 'SAML application (service provider)'],
];

/** The platforms' redirect URI lists an app page edits, as the portal's Authentication blade shows them. */
const PLATFORM_FIELDS = [
  ['webRedirectUris', 'Web redirect URIs', 'A server redeems the code with the secret. One a line, matched exactly.'],
  ['spaRedirectUris', 'Single-page application redirect URIs', 'The browser redeems the code, with PKCE. One a line.'],
  ['publicClientRedirectUris', 'Mobile and desktop redirect URIs', 'A public client with PKCE. One a line.'],
] as const;

const lines = (s: string | undefined) => (s ?? '').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');

function builtIn(c: Ctx, a: App): string | undefined {
  if (a.identifierUri === ADMIN_API_URI) return "Latchkey's admin API: daemons are granted its roles to call the admin and users APIs.";
  if (a.clientId === c.consoleClientId) return "This console's own app: administrators sign in to the console with it. Its redirect URIs follow the console's hosts.";
  return undefined;
}

function secretBox(label: string, value: string): SafeHtml {
  return html`<div class="secret" role="alert"><p><strong>${label}</strong> — copy it now: it is shown only this once and stored as a hash.</p>
<p><code id="new-secret">${value}</code> <button type="button" data-copy="new-secret" hidden>Copy</button></p></div>`;
}

export function registerApps(r: ConsoleRouter): void {
  r.page('/apps', async (c) => {
    const apps = await c.deps.store.listApps(c.tenant.id);
    const saml = await c.deps.store.listSamlApps(c.tenant.id);
    return {
      title: 'Apps',
      section: 'apps',
      body: html`${canWrite(c.shell) ? html`<p><a class="button" href="${c.shell.base}/apps/new">Register an app</a></p>` : ''}
${table('OpenID Connect and OAuth apps', ['Name', 'Type', 'Application (client) id', 'Registered'], apps.map((a) => html`<tr><td><a href="${c.shell.base}/apps/${a.clientId}">${a.name}</a>${builtIn(c, a) ? html` <span class="muted">(built in)</span>` : ''}</td><td>${a.type}${a.thirdParty ? ' (third party)' : ''}${a.multiTenant ? ', multi-tenant' : ''}</td><td><code>${a.clientId}</code></td><td>${when(a.createdAt)}</td></tr>`), 'No apps yet.')}
${table('SAML applications', ['Name', 'Entity id', 'Registered'], saml.map((a) => html`<tr><td><a href="${c.shell.base}/apps/saml/${a.clientId}">${a.name}</a></td><td><code>${a.entityId}</code></td><td>${when(a.createdAt)}</td></tr>`), 'No SAML applications.')}
<p><a href="${c.shell.base}/enterprise-apps">Enterprise apps</a>: other organizations' multi-tenant apps that people here consented to.</p>`,
    };
  });

  const newApp = async (c: Ctx, o: Redisplay): Promise<PageContent> => {
    const v = o.values ?? {};
    if (!canWrite(c.shell)) return { title: 'Register an app', section: 'apps', body: html`<p>Registering apps needs the Global Administrator role.</p>` };
    return {
      title: 'Register an app',
      section: 'apps',
      error: o.error,
      body: form(c.shell, '/apps', 'Register', [
        field('Name', 'name', { value: v.name, required: true }),
        field('Type', 'type', { value: v.type ?? 'web', options: TYPES }),
        html`<fieldset><legend>OpenID Connect and OAuth apps</legend>
${field('Redirect URIs', 'redirectUris', { type: 'textarea', rows: 3, value: v.redirectUris, hint: 'One a line; https (http for localhost only). Web, SPA and native apps need one; a multi-tenant daemon may give one, where the admin-consent answer goes.' })}
${field('Post-logout redirect URIs', 'postLogoutRedirectUris', { type: 'textarea', rows: 2, value: v.postLogoutRedirectUris, hint: 'One a line (optional).' })}
${field('Identifier URI', 'identifierUri', { value: v.identifierUri, hint: 'For a web API: the prefix of its scopes, such as https://contoso.example/tasks (default api://{client id}).' })}
<div class="field"><label><input type="checkbox" name="allowImplicit" value="on"${v.allowImplicit ? html` checked` : ''}> Allow the implicit flow (id_token and token from the authorization endpoint)</label></div>
<div class="field"><label><input type="checkbox" name="thirdParty" value="on"${v.thirdParty ? html` checked` : ''}> Third-party app: users consent to its scopes on first use</label></div>
<div class="field"><label><input type="checkbox" name="multiTenant" value="on" aria-describedby="multi-tenant-hint"${v.multiTenant ? html` checked` : ''}> Accounts in any organization's directory (multi-tenant)</label><span class="hint" id="multi-tenant-hint">People of other tenants sign in to it through <code>/common</code> once they or their administrator consent; its tokens are signed with the instance's keys. Not for SAML applications.</span></div></fieldset>
<fieldset><legend>SAML applications</legend>
${field('Metadata URL', 'metadataUrl', { value: v.metadataUrl, type: 'url', hint: "The service provider's metadata (fetched now), or give its entity id and ACS URL below." })}
${field('Metadata XML', 'metadataXml', { type: 'textarea', rows: 3, value: v.metadataXml, hint: 'Or paste the metadata file.' })}
${field('Entity id', 'entityId', { value: v.entityId })}
${field('ACS URLs', 'acsUrls', { type: 'textarea', rows: 2, value: v.acsUrls, hint: 'Assertion consumer service URLs, one a line.' })}
${field('Single logout URL', 'sloUrl', { value: v.sloUrl, type: 'url' })}
${field('NameID', 'nameId', { value: v.nameId ?? 'persistent', options: [['persistent', "persistent (the user's object id)"], ['email', 'email'], ['unspecified', 'unspecified']] })}
<div class="field"><label><input type="checkbox" name="requireSignedRequests" value="on"${v.requireSignedRequests ? html` checked` : ''}> Require signed authentication requests</label></div></fieldset>`,
      ]),
    };
  };
  r.page('/apps/new', newApp);
  r.action('/apps', async (c, f) => {
    const multiTenant = f.multiTenant === 'on';
    if (f.type === 'saml') {
      // As the CLI refuses --multi-tenant with --type saml: a SAML application serves its own tenant.
      if (multiTenant) throw invalid('multi-tenant is for OpenID Connect and OAuth apps: a SAML application serves this tenant only');
      const given = (k: string) => (f[k]?.trim() ? f[k].trim() : undefined);
      const saml = await createSamlApp({ ...c.acting, fetch: outboundMetadataFetch(c.deps.outbound) }, c.tenant, {
        name: f.name ?? '',
        ...(given('metadataUrl') ? { metadataUrl: given('metadataUrl')! } : {}),
        ...(given('metadataXml') ? { metadataXml: given('metadataXml')! } : {}),
        ...(given('entityId') ? { entityId: given('entityId')!, acsUrls: lines(f.acsUrls) } : {}),
        ...(given('sloUrl') ? { sloUrl: given('sloUrl')! } : {}),
        nameId: f.nameId ?? 'persistent',
        requireSignedRequests: f.requireSignedRequests === 'on',
      });
      return { redirect: `/apps/saml/${saml.clientId}` };
    }
    const type = f.type as AppType;
    if (!TYPES.some(([t]) => t === type)) throw invalid(`unknown app type '${f.type ?? ''}'`);
    const { app, clientSecret } = await createApp(c.d, c.tenant, {
      name: f.name ?? '',
      type,
      redirectUris: lines(f.redirectUris),
      postLogoutRedirectUris: lines(f.postLogoutRedirectUris),
      ...(f.identifierUri?.trim() ? { identifierUri: f.identifierUri.trim() } : {}),
      allowImplicit: f.allowImplicit === 'on',
      thirdParty: f.thirdParty === 'on',
      multiTenant,
    });
    // The new secret is on this answer's page and nowhere else.
    return { page: await appPage(c, app, { secret: clientSecret, notice: 'The app was registered.' }), status: 201 };
  }, newApp);

  const show = async (c: Ctx, o: Redisplay) => appPage(c, await requireApp(c.deps, c.tenant, (c.req.params as { clientId: string }).clientId), o);
  r.page('/apps/:clientId', show);

  /** The app a change is for: one the tenant registered (the built-in ones are Latchkey's to keep). */
  const appOf = async (c: Ctx) => {
    const app = await requireApp(c.deps, c.tenant, (c.req.params as { clientId: string }).clientId);
    if (builtIn(c, app)) throw invalid('a built-in app is kept by Latchkey itself');
    return app;
  };
  r.action('/apps/:clientId/uris', async (c, f) => {
    const app = await appOf(c);
    // Each platform's list as the form holds it, as the portal's Authentication blade saves them.
    await updateApp(c.d, c.tenant, app, {
      webRedirectUris: { set: lines(f.webRedirectUris) },
      spaRedirectUris: { set: lines(f.spaRedirectUris) },
      publicClientRedirectUris: { set: lines(f.publicClientRedirectUris) },
      postLogoutRedirectUris: { set: lines(f.postLogoutRedirectUris) },
    });
    return { redirect: `/apps/${app.clientId}`, done: 'app-updated' };
  }, show);
  r.action('/apps/:clientId/secrets', async (c, f) => {
    const app = await appOf(c);
    const days = f.expiresInDays?.trim() ? Number(f.expiresInDays) : undefined;
    const { value } = await addAppSecret(c.acting, c.tenant, app, { ...(f.description?.trim() ? { description: f.description.trim() } : {}), ...(days !== undefined ? { expiresInDays: days } : {}) });
    return { page: await appPage(c, app, { secret: value, notice: 'A new client secret was added.' }), status: 201 };
  }, show);
  r.action('/apps/:clientId/secrets/revoke', async (c, f) => {
    const app = await appOf(c);
    const hours = f.overlapHours?.trim() ? Number(f.overlapHours) : undefined;
    await revokeAppSecret(c.acting, c.tenant, app, f.secretId ?? '', hours !== undefined ? { overlapHours: hours } : {});
    return { redirect: `/apps/${app.clientId}`, done: 'secret-revoked' };
  }, show);
  for (const kind of ['scope', 'role'] as const) {
    r.action(`/apps/:clientId/${kind}s`, async (c, f) => {
      const app = await appOf(c);
      await defineOnApi(c.d, app, kind, (f.name ?? '').trim(), f.description?.trim() ? f.description.trim() : undefined);
      await c.acting.audit.record({ tenantId: c.tenant.id, event: 'app_updated', outcome: 'success', clientId: app.clientId, detail: `${kind} ${f.name ?? ''} added` });
      return { redirect: `/apps/${app.clientId}`, done: kind === 'scope' ? 'scope-added' : 'role-added' };
    }, show);
  }
  r.action('/apps/:clientId/grants', async (c, f) => {
    const app = await appOf(c);
    const kind = f.kind === 'role' ? 'role' : 'scope';
    await grantApp(c.d, c.tenant, app, await requireApp(c.deps, c.tenant, f.api ?? ''), kind, (f.name ?? '').trim());
    return { redirect: `/apps/${app.clientId}`, done: 'granted' };
  }, show);
  r.action('/apps/:clientId/grants/revoke', async (c, f) => {
    const app = await appOf(c);
    await revokeGrant(c.d, c.tenant, app, await requireApp(c.deps, c.tenant, f.api ?? ''), f.kind === 'role' ? 'role' : 'scope', f.name ?? '');
    return { redirect: `/apps/${app.clientId}`, done: 'revoked' };
  }, show);

  const samlPage = async (c: Ctx): Promise<PageContent> => {
    const a = await c.deps.store.findSamlApp(c.tenant.id, (c.req.params as { clientId: string }).clientId);
    if (!a) throw notFound('No such SAML application in this tenant.');
    const metadata = endpointUrl(c.site.baseUrl, { tenantSegment: c.tenant.slug, form: 'path' }, c.tenant.defaultPolicy, 'samlp/metadata');
    const json = samlAppJson(a, { metadataUrl: metadata });
    return {
      title: a.name,
      section: 'apps',
      body: html`<dl class="facts">${Object.entries(json).map(([k, v]) => html`<dt>${k.replace(/_/g, ' ')}</dt><dd>${Array.isArray(v) ? v.join(', ') : String(v)}</dd>`)}</dl>
<p>Give the service provider Latchkey's metadata: <a href="${metadata}">${metadata}</a> (any policy's <code>samlp/metadata</code> runs that policy's journey).</p>
${canWrite(c.shell) ? actionButton(c.shell, `/apps/saml/${a.clientId}/remove`, 'Remove SAML application', { confirm: `Remove ${a.name}? Latchkey stops answering its sign-in requests.`, danger: true }) : ''}`,
    };
  };
  r.page('/apps/saml/:clientId', samlPage);
  r.action('/apps/saml/:clientId/remove', async (c) => {
    await removeSamlApp(c.acting, c.tenant, (c.req.params as { clientId: string }).clientId, 'console');
    return { redirect: '/apps', done: 'saml-app-removed' };
  }, samlPage);
}

/** An app's page: what it is, its URIs, secrets, scopes and roles (an API), grants; and a new secret when one was just made. */
async function appPage(c: Ctx, a: App, o: Redisplay & { secret?: string | undefined; notice?: string }): Promise<PageContent> {
  const { shell, tenant } = c;
  const w = canWrite(shell) && !builtIn(c, a);
  const v = o.values ?? {};
  const base = `/apps/${a.clientId}`;
  const confidential = confidentialTypes.has(a.type);
  const secrets = confidential ? await listAppSecrets(c.deps, tenant, a) : [];
  const scopes = a.type === 'api' ? await c.deps.store.listAppScopes(a.clientId) : [];
  const roles = a.type === 'api' ? await c.deps.store.listAppRoles(a.clientId) : [];
  const grants = await listGrants(c.deps, a);
  const permissions = a.multiTenant ? await c.deps.store.listAppPermissions(a.clientId) : [];
  const apis = (await c.deps.store.listApps(tenant.id)).filter((x) => x.type === 'api');
  const apiName = (id: string) => apis.find((x) => x.clientId === id)?.name ?? id;
  const discovery = endpointUrl(c.site.baseUrl, { tenantSegment: tenant.slug, form: 'path' }, tenant.defaultPolicy, 'v2.0/.well-known/openid-configuration');
  return {
    title: a.name,
    section: 'apps',
    error: o.error,
    ...(o.notice ? { notice: o.notice } : {}),
    body: html`${o.secret ? secretBox('Client secret', o.secret) : ''}
${builtIn(c, a) ? html`<p class="readonly">${builtIn(c, a)}</p>` : ''}
<dl class="facts"><dt>Application (client) id</dt><dd><code>${a.clientId}</code></dd><dt>Type</dt><dd>${a.type}${a.thirdParty ? ' (third party: users consent)' : ''}</dd>
${a.identifierUri ? html`<dt>Identifier URI</dt><dd><code>${a.identifierUri}</code></dd>` : ''}
<dt>Supported account types</dt><dd>${a.multiTenant ? "multi-tenant: accounts in any organization's directory (through /common, after consent)" : 'this tenant only'}</dd>
<dt>Client authentication</dt><dd>${confidential ? 'client secret (client_secret_basic or client_secret_post)' : 'none: public client with PKCE'}</dd>
<dt>Implicit flow</dt><dd>${a.allowImplicit ? 'allowed' : 'off'}</dd><dt>Registered</dt><dd>${when(a.createdAt)}</dd>
<dt>Discovery</dt><dd><a href="${discovery}">${discovery}</a></dd></dl>
${a.type !== 'daemon' && a.type !== 'api' ? html`<section aria-labelledby="h-uris"><h2 id="h-uris">Redirect URIs</h2>
${w ? form(shell, `${base}/uris`, 'Save redirect URIs', [
  ...PLATFORM_FIELDS.map(([name, label, hint]) => field(label, name, { type: 'textarea', rows: 2, value: v[name] ?? a[name].join('\n'), hint })),
  field('Post-logout redirect URIs', 'postLogoutRedirectUris', { type: 'textarea', rows: 2, value: v.postLogoutRedirectUris ?? a.postLogoutRedirectUris.join('\n') }),
], { label: 'Redirect URIs' }) : html`${PLATFORM_FIELDS.filter(([name]) => a[name].length > 0).map(([name, label]) => html`<p>${label}:</p><ul>${a[name].map((u) => html`<li><code>${u}</code></li>`)}</ul>`)}${a.postLogoutRedirectUris.length > 0 ? html`<p>After sign-out:</p><ul>${a.postLogoutRedirectUris.map((u) => html`<li><code>${u}</code></li>`)}</ul>` : ''}`}</section>` : ''}
${confidential ? html`<section aria-labelledby="h-secrets"><h2 id="h-secrets">Client secrets</h2>
${table('Client secrets', ['Id', 'Description', 'Created', 'Expires', 'State', ...(w ? [''] : [])], secrets.map((s) => html`<tr><td><code>${s.id}</code></td><td>${s.description ?? ''}</td><td>${when(s.createdAt)}</td><td>${s.expiresAt ? when(s.expiresAt) : 'never'}</td><td>${s.live ? 'live' : html`<span class="muted">expired</span>`}</td>${w ? html`<td>${s.live ? actionButton(shell, `${base}/secrets/revoke`, 'Revoke', { fields: { secretId: s.id }, confirm: 'Revoke this secret now? The app stops authenticating with it.' }) : ''}</td>` : ''}</tr>`))}
${w ? form(shell, `${base}/secrets`, 'Add a secret', [field('Description', 'description', { value: v.description }), field('Expires in (days)', 'expiresInDays', { type: 'number', value: v.expiresInDays, hint: 'Empty: never.' })], { label: 'Add a client secret' }) : ''}</section>` : ''}
${a.type === 'api' ? html`<section aria-labelledby="h-scopes"><h2 id="h-scopes">Scopes and roles</h2>
<p>Scopes (delegated permissions): ${scopes.length > 0 ? scopes.map((s, i) => html`${i > 0 ? ', ' : ''}<code>${s}</code>`) : 'none'}. Roles (application permissions): ${roles.length > 0 ? roles.map((s, i) => html`${i > 0 ? ', ' : ''}<code>${s}</code>`) : 'none'}.</p>
${w ? html`${form(shell, `${base}/scopes`, 'Add scope', [field('Scope name', 'name', { id: 'scope-name', hint: 'Such as tasks.read' }), field('Description', 'description', { id: 'scope-description', hint: 'Shown on consent pages (optional).' })], { label: 'Add a scope' })}
${form(shell, `${base}/roles`, 'Add role', field('Role name', 'name', { id: 'role-name', hint: 'Such as Tasks.ReadWrite.All' }), { label: 'Add a role' })}` : ''}</section>` : ''}
${a.multiTenant ? html`<section aria-labelledby="h-permissions"><h2 id="h-permissions">Permissions it asks for in other tenants</h2>
<p>What people (scopes) or an administrator (roles, and scopes that need an administrator) consent to when the app is first used in another organization (<code>latchkey app permission add</code>).</p>
${table('Permissions it asks for', ['API', 'Kind', 'Name'], permissions.map((p) => html`<tr><td><code>${p.api}</code></td><td>${p.kind}</td><td><code>${p.name}</code></td></tr>`), 'None declared: it asks for sign-in only.')}</section>` : ''}
<section aria-labelledby="h-grants"><h2 id="h-grants">Permissions granted to this app</h2>
${table('Grants', ['API', 'Kind', 'Name', ...(w ? [''] : [])], grants.map((g) => html`<tr><td>${apiName(g.api)}</td><td>${g.kind}</td><td><code>${g.name}</code></td>${w ? html`<td>${actionButton(shell, `${base}/grants/revoke`, 'Revoke', { fields: { api: g.api, kind: g.kind, name: g.name }, confirm: 'Revoke this permission?' })}</td>` : ''}</tr>`), 'No permissions granted.')}
${w && apis.length > 0 ? form(shell, `${base}/grants`, 'Grant', [
  field('API', 'api', { options: apis.map((x) => [x.clientId, x.identifierUri ? `${x.name} (${x.identifierUri})` : x.name]), value: v.api }),
  field('Kind', 'kind', { options: [['scope', 'scope (delegated: users of this app)'], ['role', 'role (application: daemons)']], value: v.kind ?? (a.type === 'daemon' ? 'role' : 'scope') }),
  field('Scope or role name', 'name', { id: 'grant-name', value: v.name }),
], { label: 'Grant a permission' }) : ''}</section>`,
  };
}


