import { html, type SafeHtml } from '../html.js';
import { layout } from './layout.js';

export interface LandingProps {
  tenant?: { slug: string; displayName: string; id: string };
  policies: { id: string; kind: string; title?: string; runUrl?: string; discoveryUrl: string }[];
  baseUrl: string;
}

const kindNames: Record<string, string> = {
  signUpOrSignIn: 'Sign up or sign in',
  signIn: 'Sign in',
  signUp: 'Sign up',
  profileEdit: 'Profile editing',
  passwordReset: 'Password reset',
  ropc: 'Resource owner password credentials (token endpoint only)',
};

export function landingPage(p: LandingProps): string {
  const body = html`<h1>Latchkey</h1>
<p>A self-hosted identity provider that speaks Azure AD B2C's dialect of OpenID Connect.</p>
${
  p.tenant
    ? html`<h2>Policies of the <code>${p.tenant.slug}</code> tenant</h2>
<p class="muted">Run a policy to go through its journey; the token viewer then shows the id_token it issued.</p>
<ul class="policies">
${p.policies.map(
  (pol) => html`<li><strong>${pol.id}</strong> (${kindNames[pol.kind] ?? pol.kind})
${pol.runUrl ? html` — <a href="${pol.runUrl}">Run ${pol.id}</a>` : ''} — <a href="${pol.discoveryUrl}">metadata</a></li>`,
)}
</ul>
<p>Administrators manage the tenant in its <a href="/console/${p.tenant.slug}/">console</a> (users with a directory role).</p>
<p class="muted">Tenant ID: <code>${p.tenant.id}</code>. Create a user with
<code>npx latchkey user create --tenant ${p.tenant.slug} --email you@example.com --password-stdin</code>.</p>`
    : html`<p>No <code>demo</code> tenant here. Create tenants and apps with <code>npx latchkey</code>.</p>`
}
<p><a href="/playground/token">Decode a token</a></p>`;
  return layout({ title: 'Latchkey', body, wide: true });
}

export interface DecodedToken {
  label: string;
  raw: string;
  header?: Record<string, unknown>;
  claims?: Record<string, unknown>;
  problem?: string;
  verified?: boolean;
}

function claimRows(claims: Record<string, unknown>): SafeHtml {
  return html`<table><thead><tr><th scope="col">Claim</th><th scope="col">Value</th></tr></thead><tbody>
${Object.entries(claims).map(([k, v]) => html`<tr><th scope="row">${k}</th><td>${typeof v === 'string' ? v : JSON.stringify(v)}${
    (k === 'exp' || k === 'iat' || k === 'nbf' || k === 'auth_time') && typeof v === 'number'
      ? html` <span class="muted">(${new Date(v * 1000).toISOString()})</span>`
      : ''
  }</td></tr>`)}
</tbody></table>`;
}

function tokenSection(t: DecodedToken): SafeHtml {
  return html`<section>
<h2>${t.label}</h2>
${t.problem ? html`<p class="error" role="alert">${t.problem}</p>` : ''}
${t.verified === true ? html`<p>Signature verified with the tenant's published keys.</p>` : ''}
${t.verified === false ? html`<p class="error">The signature could not be verified with this tenant's keys.</p>` : ''}
${t.header ? html`<h3>Header</h3><pre>${JSON.stringify(t.header, null, 2)}</pre>` : ''}
${t.claims ? html`<h3>Claims</h3>${claimRows(t.claims)}` : ''}
<h3>Encoded</h3><pre>${t.raw}</pre>
</section>`;
}

export interface ViewerProps {
  tokens: DecodedToken[];
  error?: { error: string; description: string };
  notes?: string[];
  links?: { href: string; text: string }[];
  pasted?: string;
}

/** The token viewer: the decoded header and claims of the tokens it received (like jwt.ms). */
export function tokenViewerPage(p: ViewerProps): string {
  const body = html`<h1>Token viewer</h1>
${p.error ? html`<div class="error-summary" role="alert"><p class="error"><strong>${p.error.error}</strong></p><pre>${p.error.description}</pre></div>` : ''}
${(p.notes ?? []).map((n) => html`<p>${n}</p>`)}
${p.tokens.map(tokenSection)}
${p.links && p.links.length > 0 ? html`<p class="links">${p.links.map((l) => html`<a href="${l.href}">${l.text}</a> `)}</p>` : ''}
<h2>Decode a token</h2>
<form method="post" action="/playground/token">
<label for="f-token">Token</label>
<textarea id="f-token" name="token" rows="6">${p.pasted ?? ''}</textarea>
<div class="actions"><button type="submit">Decode</button></div>
</form>
<p><a href="/">Back to the start page</a></p>`;
  return layout({ title: 'Token viewer', body, wide: true });
}
