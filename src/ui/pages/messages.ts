import { html } from '../html.js';
import { layout } from './layout.js';

/** Shown when an error must not be redirected (unknown client, unregistered redirect URI…). */
export function errorPage(p: { error: string; description: string; correlationId: string; status: number }): string {
  const body = html`<h1>Sorry, we can't complete your request</h1>
<p role="alert" class="error"><strong>${p.error}</strong></p>
<p>${p.description}</p>
<p class="muted">Correlation ID: ${p.correlationId}</p>`;
  return layout({ title: 'Error', body });
}

/** response_mode=form_post: a form posted to the app by a same-origin script, or by hand without JS. */
export function formPostPage(action: string, params: Record<string, string>): string {
  const body = html`<h1>Continue to the application</h1>
<form id="form-post" method="post" action="${action}">
${Object.entries(params).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<noscript><p>JavaScript is off: press Continue to return to the application.</p></noscript>
<div class="actions"><button type="submit">Continue</button></div>
</form>`;
  return layout({ title: 'Continue', body, scripts: ['/static/form-post.js'] });
}

/**
 * After logout. `frames` are the apps' front-channel logout URLs, loaded in invisible iframes; with
 * `continueTo` the browser moves on once they have loaded (a same-origin script; without JavaScript a
 * meta refresh after a few seconds, and a link).
 */
export function signedOutPage(p: { frames?: string[]; continueTo?: string } = {}): string {
  const frames = p.frames ?? [];
  const body = html`<h1>You have signed out</h1>
${p.continueTo ? html`<p><a id="continue" href="${p.continueTo}">Continue</a></p>` : html`<p>You can close this window.</p>`}
${frames.map((src, i) => html`<iframe class="frontchannel-logout" src="${src}" title="Signing out of application ${i + 1}" tabindex="-1" aria-hidden="true"></iframe>`)}`;
  return layout({
    title: 'Signed out',
    body,
    ...(p.continueTo && frames.length > 0 ? { scripts: ['/static/signed-out.js'], head: html`<meta http-equiv="refresh" content="5;url=${p.continueTo}">` } : {}),
  });
}
