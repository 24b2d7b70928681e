import { html, type SafeHtml } from '../html.js';
import { type ApiPage } from './api-page.js';
import { API_DATA_NAME } from '../../model/page-layout.js';

export interface LayoutOptions {
  title: string;
  body: SafeHtml;
  lang?: string | undefined;
  theme?: string | undefined;
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

/** `<div id="api">` with B2C's `data-name`, holding a page's content: the part a page layout keeps. */
export function apiBlock(page: ApiPage): SafeHtml {
  return html`<div id="api" data-name="${API_DATA_NAME[page.pageType]}">
${page.content}
</div>`;
}

/** A hosted page in Latchkey's own layout (no template, or the template could not be had). */
export function defaultDocument(page: ApiPage, o: { lang: string; theme?: string | undefined }): string {
  return layout({ title: page.title, body: apiBlock(page), lang: o.lang, theme: o.theme });
}
