import { html } from '../html.js';
import type { Messages } from '../../model/messages/messages.js';
import type { ApiPage } from './api-page.js';
import { layout } from './layout.js';

/**
 * Shown when an error must not be redirected (unknown client, unregistered redirect URI…): B2C's
 * `globalexception` page. The heading is in the page's language; the error itself is protocol text.
 */
export function errorPage(p: { error: string; description: string; correlationId: string }, m: Messages): ApiPage {
  const content = html`<div class="heading"><h1>${m.t('errorPage.heading')}</h1></div>
<div class="error pageLevel" role="alert"><p><strong>${p.error}</strong></p></div>
<p class="error-description">${p.description}</p>
<p class="muted">${m.t('errorPage.correlationId', { id: p.correlationId })}</p>`;
  return { pageType: 'globalexception', title: m.t('errorPage.title'), content };
}

/**
 * An API connector's ShowBlockPage: its message, and nothing to press (B2C's block page); the
 * journey has ended.
 */
export function blockPage(message: string, title: string, m: Messages): ApiPage {
  const content = html`<div class="heading"><h1>${title}</h1></div>
<div class="error pageLevel" role="alert"><p>${message}</p></div>
<p class="muted">${m.t('blockPage.closeWindow')}</p>`;
  return { pageType: 'selfasserted', title, content };
}

/** response_mode=form_post: a form posted to the app by a same-origin script, or by hand without JS. */
export function formPostPage(action: string, params: Record<string, string>, m: Messages): string {
  const body = html`<h1>${m.t('formPost.heading')}</h1>
<form id="form-post" method="post" action="${action}">
${Object.entries(params).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<noscript><p>${m.t('formPost.noScript')}</p></noscript>
<div class="buttons"><button type="submit">${m.t('formPost.continue')}</button></div>
</form>`;
  return layout({ title: m.t('formPost.title'), body, lang: m.locale, scripts: ['/static/form-post.js'] });
}

/**
 * The way on to another site (the app, an identity provider) after a form post: the page goes there by
 * itself with a refresh (no script needed), or the user follows the link. See `sendOnward`.
 */
export function onwardPage(url: string, m: Messages): string {
  const body = html`<h1>${m.t('onward.heading')}</h1>
<p>${m.t('onward.note')}</p>
<p><a id="continue" href="${url}">${m.t('onward.continue')}</a></p>`;
  return layout({ title: m.t('onward.title'), body, lang: m.locale, head: html`<meta http-equiv="refresh" content="0;url=${url}">` });
}

/**
 * After logout. `frames` are the apps' front-channel logout URLs, loaded in invisible iframes; with
 * `continueTo` the browser moves on once they have loaded (a same-origin script; without JavaScript a
 * meta refresh after a few seconds, and a link).
 */
export function signedOutPage(m: Messages, p: { frames?: string[]; continueTo?: string } = {}): string {
  const frames = p.frames ?? [];
  const body = html`<h1>${m.t('signedOut.heading')}</h1>
${p.continueTo ? html`<p><a id="continue" href="${p.continueTo}">${m.t('signedOut.continue')}</a></p>` : html`<p>${m.t('signedOut.closeWindow')}</p>`}
${frames.map((src, i) => html`<iframe class="frontchannel-logout" src="${src}" title="${m.t('signedOut.frameTitle', { n: i + 1 })}" tabindex="-1" aria-hidden="true"></iframe>`)}`;
  return layout({
    title: m.t('signedOut.title'),
    body,
    lang: m.locale,
    ...(p.continueTo && frames.length > 0 ? { scripts: ['/static/signed-out.js'], head: html`<meta http-equiv="refresh" content="5;url=${p.continueTo}">` } : {}),
  });
}
