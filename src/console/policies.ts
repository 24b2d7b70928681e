import { callbackUrl } from '../federation/config.js';
import { endpointUrl } from '../oauth/tenant-context.js';
import { readIdentityProvidersText, readPolicyText, writeIdentityProviders, writePolicy } from '../services/tenant-files.js';
import { html } from '../ui/html.js';
import { jsonEditor, placeProblems } from './pages/json-editor.js';
import { canWrite, table, type PageContent } from './pages/layout.js';
import type { ConsoleRouter, Ctx } from './routes.js';

/**
 * Policies and identity providers: their JSON files edited in the browser, saved only when they pass
 * the file watcher's checks and the rules for a tenant's administrator (services/tenant-files.ts: no
 * environment variables, tenant secrets that exist), live at once; the problems are shown at their JSON
 * path. "Run now" runs a policy's journey and shows the tokens it issued.
 */
const KINDS: Record<string, string> = {
  signUpOrSignIn: 'Sign up or sign in',
  signIn: 'Sign in',
  signUp: 'Sign up',
  profileEdit: 'Profile editing',
  passwordReset: 'Password reset',
  ropc: 'Resource owner password credentials',
};

const SECRET_HINT = "the Tenant page's tenant secrets";

export function registerPolicies(r: ConsoleRouter): void {
  r.page('/policies', async (c) => {
    const policies = c.deps.policies.list(c.tenant.slug);
    return {
      title: 'Policies',
      section: 'policies',
      body: html`<p>User flows of this tenant, one JSON file each. The default policy (<code>${c.tenant.defaultPolicy}</code>) signs administrators in to this console too.</p>
${table('Policies', ['Policy', 'Kind', 'Title', 'Run', 'Metadata'], policies.map((p) => html`<tr><td><a href="${c.shell.base}/policies/${p.id}">${p.id}</a></td><td>${KINDS[p.kind] ?? p.kind}</td><td>${p.ui.title ?? ''}</td><td>${p.kind === 'ropc' ? html`<span class="muted">no pages</span>` : html`<a href="${c.shell.base}/policies/${p.id}/run">Run now</a>`}</td><td><a href="${endpointUrl(c.site.baseUrl, { tenantSegment: c.tenant.slug, form: 'path' }, p.id, 'v2.0/.well-known/openid-configuration')}">discovery</a></td></tr>`), 'No policies are loaded.')}`,
    };
  });

  const editor = (c: Ctx, id: string, text: string, problems: ReturnType<typeof placeProblems>): PageContent => {
    const policy = c.deps.policies.get(c.tenant.slug, id);
    return {
      title: id,
      section: 'policies',
      body: html`<p>${policy ? html`${KINDS[policy.kind] ?? policy.kind}. ` : ''}${policy && policy.kind !== 'ropc' ? html`<a class="button" href="${c.shell.base}/policies/${id}/run">Run now</a> ` : ''}<span class="muted">Runs the journey as a user would and shows the tokens it issues.</span></p>
${jsonEditor(c.shell, { action: `/policies/${id}`, text, problems, writable: canWrite(c.shell), label: `policies/${c.tenant.slug}/${id}.json`, submit: 'Save policy' })}
<p class="muted">Secrets are named <code>{ "secret": "NAME" }</code> and set on the <a href="${c.shell.base}/tenant">Tenant</a> page; environment variables are for the operator's own files.</p>`,
    };
  };
  r.page('/policies/:policy', async (c) => {
    const { id, text } = readPolicyText(c.deps, c.tenant, (c.req.params as { policy: string }).policy);
    return editor(c, id, text, []);
  });
  r.action('/policies/:policy', async (c, f) => {
    const { id } = readPolicyText(c.deps, c.tenant, (c.req.params as { policy: string }).policy);
    const text = f.json ?? '';
    const problems = await writePolicy(c.acting, c.tenant, id, text, SECRET_HINT);
    if (problems.length > 0) return { page: editor(c, id, text, placeProblems(text, problems)), status: 400 };
    return { redirect: `/policies/${id}`, done: 'policy-saved' };
  }, async (c, o) => editor(c, (c.req.params as { policy: string }).policy, o.values?.json ?? '', [{ path: '$', message: o.error ?? '' }]));

  const providersPage = (c: Ctx, text: string, problems: ReturnType<typeof placeProblems>): PageContent => {
    const loaded = [...c.deps.policies.providers(c.tenant.slug).values()];
    return {
      title: 'Identity providers',
      section: 'providers',
      body: html`<p>Upstream identity providers the policies may offer next to local accounts (a policy lists their ids in <code>identityProviders</code>).</p>
${table('Identity providers in use', ['Id', 'Type', 'Name', 'Redirect URI to register there'], loaded.map((p) => html`<tr><td><code>${p.id}</code></td><td>${p.type}</td><td>${p.displayName}</td><td><code>${callbackUrl(c.site.baseUrl, c.tenant.slug, p.id)}</code></td></tr>`), 'None: the policies offer local accounts only.')}
${jsonEditor(c.shell, { action: '/identity-providers', text, problems, writable: canWrite(c.shell), label: `policies/${c.tenant.slug}/identity-providers.json`, submit: 'Save identity providers' })}`,
    };
  };
  r.page('/identity-providers', async (c) => providersPage(c, readIdentityProvidersText(c.deps, c.tenant), []));
  r.action('/identity-providers', async (c, f) => {
    const text = f.json ?? '';
    const problems = await writeIdentityProviders(c.acting, c.tenant, text, SECRET_HINT);
    if (problems.length > 0) return { page: providersPage(c, text, placeProblems(text, problems)), status: 400 };
    return { redirect: '/identity-providers', done: 'providers-saved' };
  }, async (c, o) => providersPage(c, o.values?.json ?? '', [{ path: '$', message: o.error ?? '' }]));
}
