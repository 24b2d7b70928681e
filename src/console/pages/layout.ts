import { html, type SafeHtml } from '../../ui/html.js';
import { ROLE_NAMES, type Access, type ConsoleRole } from '../roles.js';

/**
 * The console's frame: a skip link, the tenant's name, the sections, who is signed in and with which
 * role, and the page. Server-rendered, no inline script or style (the CSP allows this origin's files
 * only); /console/assets/console.js only adds conveniences (confirmations, copying), so every page and
 * form works without it. Narrow screens get the sections as a wrapping row and tables that scroll.
 */
export type Section = 'home' | 'users' | 'apps' | 'policies' | 'providers' | 'keys' | 'tenant' | 'audit';

export interface Shell {
  tenant: { slug: string; displayName: string };
  /** `/console/{slug}`: every link and form of the console starts with it. */
  base: string;
  user?: { name: string; role: ConsoleRole };
  access?: Access;
  csrf?: string;
}

const SECTIONS: [Section, string, string][] = [
  ['home', 'Overview', '/'],
  ['users', 'Users', '/users'],
  ['apps', 'Apps', '/apps'],
  ['policies', 'Policies', '/policies'],
  ['providers', 'Identity providers', '/identity-providers'],
  ['keys', 'Keys', '/keys'],
  ['tenant', 'Tenant', '/tenant'],
  ['audit', 'Audit', '/audit'],
];

export interface PageContent {
  title: string;
  section?: Section;
  body: SafeHtml;
  /** A change that went through (fixed messages only: never text from the address bar). */
  notice?: string | undefined;
  /** What stopped a change, in the administrator's words. */
  error?: string | undefined;
}

export function csrfField(shell: Shell): SafeHtml {
  return shell.csrf ? html`<input type="hidden" name="csrf" value="${shell.csrf}">` : html``;
}

/** A one-button form (POST), with a confirmation question for what cannot be undone. */
export function actionButton(shell: Shell, path: string, label: string, o: { confirm?: string; danger?: boolean; fields?: Record<string, string> } = {}): SafeHtml {
  return html`<form method="post" action="${shell.base}${path}" class="inline"${o.confirm ? html` data-confirm="${o.confirm}"` : ''}>${csrfField(shell)}${Object.entries(o.fields ?? {}).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button type="submit"${o.danger ? html` class="danger"` : ''}>${label}</button></form>`;
}

export function consolePage(shell: Shell, page: PageContent): string {
  const nav = shell.user
    ? html`<nav aria-label="Console sections"><ul>${SECTIONS.map(
        ([id, label, path]) => html`<li><a href="${shell.base}${path}"${page.section === id ? html` aria-current="page"` : ''}>${label}</a></li>`,
      )}</ul></nav>`
    : '';
  const who = shell.user
    ? html`<div class="who"><span>${shell.user.name}</span> <span class="role">${ROLE_NAMES[shell.user.role]}</span>
<form method="post" action="${shell.base}/signout" class="inline">${csrfField(shell)}<button type="submit" class="link">Sign out</button></form></div>`
    : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${page.title} · ${shell.tenant.displayName} · Latchkey console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script src="/console/assets/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">Skip to the page</a>
<header class="top">
<p class="brand"><a href="${shell.base}/">Latchkey console</a> <span class="tenant">${shell.tenant.displayName} <code>${shell.tenant.slug}</code></span></p>
${who}
${nav}
</header>
<main id="main" tabindex="-1">
<h1>${page.title}</h1>
${page.notice ? html`<p class="notice" role="status">${page.notice}</p>` : ''}
${page.error ? html`<p class="error" role="alert">${page.error}</p>` : ''}
${shell.access === 'read' ? html`<p class="readonly">You have read access (Global Reader): changes need the Global Administrator role.</p>` : ''}
${page.body}
</main>
</body>
</html>
`.value;
}

/** A table that scrolls sideways on a narrow screen, with a caption for screen readers. */
export function table(caption: string, head: string[], rows: SafeHtml[], empty = 'None.'): SafeHtml {
  if (rows.length === 0) return html`<p class="muted">${empty}</p>`;
  return html`<div class="table-wrap" role="region" aria-label="${caption}" tabindex="0"><table><caption>${caption}</caption><thead><tr>${head.map((h) => html`<th scope="col">${h}</th>`)}</tr></thead><tbody>${rows}</tbody></table></div>`;
}

export function when(at: number | string | null | undefined): SafeHtml {
  if (at === null || at === undefined) return html`<span class="muted">never</span>`;
  const iso = new Date(at).toISOString();
  return html`<time datetime="${iso}">${iso.replace('T', ' ').replace(/\.\d+Z$/, ' UTC')}</time>`;
}

/** A labelled input (its id made from the name, with a hint tied to it by aria-describedby). */
export function field(label: string, name: string, o: { type?: string; value?: string | null | undefined; required?: boolean; autocomplete?: string; hint?: string; id?: string; options?: [string, string][]; rows?: number; placeholder?: string } = {}): SafeHtml {
  // Unique on a page as long as no two fields share name and label (give `id` when they would).
  const id = o.id ?? `f-${name}-${label.toLowerCase().replace(/[^a-z0-9]+/g, '-')}`;
  const hint = o.hint ? html`<span class="hint" id="${id}-hint">${o.hint}</span>` : '';
  const described = o.hint ? html` aria-describedby="${id}-hint"` : '';
  const common = html` id="${id}" name="${name}"${o.required ? html` required` : ''}${described}`;
  let control: SafeHtml;
  if (o.options) {
    control = html`<select${common}>${o.options.map(([v, text]) => html`<option value="${v}"${v === (o.value ?? '') ? html` selected` : ''}>${text}</option>`)}</select>`;
  } else if (o.type === 'textarea') {
    control = html`<textarea${common} rows="${o.rows ?? 4}" spellcheck="false"${o.placeholder ? html` placeholder="${o.placeholder}"` : ''}>${o.value ?? ''}</textarea>`;
  } else {
    control = html`<input${common} type="${o.type ?? 'text'}" value="${o.value ?? ''}"${o.autocomplete ? html` autocomplete="${o.autocomplete}"` : ''}${o.placeholder ? html` placeholder="${o.placeholder}"` : ''}>`;
  }
  return html`<div class="field"><label for="${id}">${label}</label>${hint}${control}</div>`;
}

/** A form that changes something (POST with the session's CSRF token). */
export function form(shell: Shell, path: string, submit: string, fields: SafeHtml | SafeHtml[], o: { confirm?: string; danger?: boolean; label?: string } = {}): SafeHtml {
  return html`<form method="post" action="${shell.base}${path}"${o.confirm ? html` data-confirm="${o.confirm}"` : ''}${o.label ? html` aria-label="${o.label}"` : ''}>${csrfField(shell)}${fields}<div class="buttons"><button type="submit"${o.danger ? html` class="danger"` : ''}>${submit}</button></div></form>`;
}

/** Whether the signed-in administrator may change things (Global Administrator): forms are shown to them only. */
export const canWrite = (shell: Shell): boolean => shell.access === 'write';
