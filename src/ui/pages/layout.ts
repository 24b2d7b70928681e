import { html, type SafeHtml } from '../html.js';

export interface LayoutOptions {
  title: string;
  body: SafeHtml;
  lang?: string;
  theme?: string;
  wide?: boolean;
  /** Scripts by path (never inline: the CSP allows same-origin scripts only). */
  scripts?: string[];
  /** Extra elements for <head>. */
  head?: SafeHtml;
}

export function layout(o: LayoutOptions): string {
  const theme = o.theme && o.theme !== 'default' ? html`<link rel="stylesheet" href="/static/themes/${o.theme}.css">` : '';
  return html`<!doctype html>
<html lang="${o.lang ?? 'en'}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${o.title}</title>
<link rel="stylesheet" href="/static/latchkey.css">${theme}
${(o.scripts ?? []).map((s) => html`<script src="${s}"></script>`)}
${o.head ?? ''}
</head>
<body>
<main class="${o.wide ? 'wide' : ''}">
${o.body}
</main>
</body>
</html>
`.value;
}
