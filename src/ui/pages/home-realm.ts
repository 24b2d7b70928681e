import { html } from '../html.js';
import type { Messages } from '../../model/messages/messages.js';
import type { ApiPage } from './api-page.js';
import { input, itemError, pageLevelError } from './forms.js';

/**
 * The first page at `/common`: which organization is the person of? They give their work email
 * address; its domain names their tenant (home realm discovery), whose sign-in page comes next. The
 * form sends the app's request again (GET, to the same endpoint) with the address as `login_hint`, so
 * no state is kept for it and a typo is simply asked again.
 */
export function homeRealmPage(p: { action: string; params: Record<string, string>; appName: string; email?: string | undefined; unknownDomain?: string | undefined }, m: Messages): ApiPage {
  const error = p.unknownDomain !== undefined ? m.t('homeRealm.unknownDomain', { domain: p.unknownDomain }) : undefined;
  const hidden = Object.entries(p.params).filter(([k]) => k !== 'login_hint' && k !== 'domain_hint');
  const content = html`<div class="heading"><h1>${m.t('homeRealm.heading')}</h1></div>
<div class="intro"><p>${m.t('homeRealm.intro', { app: p.appName })}</p></div>
${pageLevelError(error)}
<form id="localAccountForm" method="get" action="${p.action}">
${hidden.map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}
<div class="entry">
<div class="entry-item">
<label for="signInName">${m.t('label.email')}</label>
${itemError('signInName', undefined)}
${input({ id: 'signInName', name: 'login_hint', type: 'email', value: p.email, required: true, autocomplete: 'username', autofocus: true, maxLength: 256 })}
</div>
<div class="buttons"><button id="next" type="submit">${m.t('button.next')}</button></div>
</div>
</form>`;
  return { pageType: 'unifiedssp', title: m.t('homeRealm.heading'), content };
}
