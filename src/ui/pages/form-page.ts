import { html, type SafeHtml } from '../html.js';
import type { ApiPage } from './api-page.js';
import type { PageType } from '../../model/page-layout.js';
import { csrfInput, input, itemError, pageLevelError, type InputOptions } from './forms.js';

/** One input of a self-asserted page; `id` is the element id (B2C's attribute id), `name` what is posted. */
export interface FormField extends Omit<InputOptions, 'selectPrompt' | 'placeholder'> {
  label: string;
}

export interface FormButton {
  action: string;
  label: string;
  /** The button's element id (B2C's: `continue`, `cancel`, `email_ver_but_send`…). */
  id: string;
  secondary?: boolean;
  /** Buttons that leave the page (cancel, back) skip the browser's field validation. */
  skipValidation?: boolean;
}

export interface FormPageProps {
  title: string;
  heading: string;
  intro?: string | undefined;
  notice?: string | undefined;
  error?: string | undefined;
  action: string;
  csrf: string;
  fields: FormField[];
  /** Read-only facts shown above the fields (e.g. the email being verified). */
  facts?: { id: string; label: string; value: string }[];
  buttons: FormButton[];
  /** "Select…", in the page's language. */
  selectPrompt: string;
  /** B2C's page type when it is not `selfasserted` (the second-factor pages are `multifactor`). */
  pageType?: PageType;
  /** Markup of the page's own inside the form, before the attributes (a QR code, a passkey button). */
  extra?: SafeHtml;
}

/** B2C's class for an attribute's `<li>` by input type (`li.TextBox.givenName_li`). */
const ITEM_CLASS: Record<FormField['type'], string> = {
  text: 'TextBox',
  email: 'EmailBox',
  password: 'Password',
  select: 'DropdownSingleSelect',
  checkbox: 'CheckboxMultiSelect',
  code: 'TextBox',
  tel: 'TextBox',
};

function item(f: FormField, selectPrompt: string): SafeHtml {
  const cls = `${ITEM_CLASS[f.type]} ${f.id}_li`;
  if (f.type === 'checkbox') {
    return html`<li class="${cls}"><div class="attrEntry checkbox">
${input(f)}<label for="${f.id}">${f.label}</label>
${itemError(f.id, f.error)}
</div></li>`;
  }
  return html`<li class="${cls}"><div class="attrEntry">
<label for="${f.id}">${f.label}</label>
${itemError(f.id, f.error)}
${input({ ...f, selectPrompt })}
</div></li>`;
}

/**
 * A self-asserted page (B2C's `selfasserted` type): heading, intro, messages, `#attributeList` with
 * an `<li>` per attribute, then the buttons; posted with the page's CSRF token.
 */
export function selfAssertedPage(p: FormPageProps): ApiPage {
  const content = html`<div class="heading"><h1>${p.heading}</h1></div>
${p.intro ? html`<div class="intro"><p>${p.intro}</p></div>` : ''}
${p.notice ? html`<div class="verificationInfoText" role="status"><p>${p.notice}</p></div>` : ''}
${pageLevelError(p.error)}
<form id="attributeVerification" method="post" action="${p.action}" novalidate>
${csrfInput(p.csrf)}
${p.extra ?? ''}
<div id="attributeList" class="attr">
<ul>
${(p.facts ?? []).map((f) => html`<li class="Readonly ${f.id}_li"><div class="attrEntry"><p><strong>${f.label}:</strong> <span id="${f.id}" class="readonly">${f.value}</span></p></div></li>`)}
${p.fields.map((f) => item(f, p.selectPrompt))}
</ul>
</div>
<div class="buttons">
${p.buttons.map((b) => html`<button type="submit" id="${b.id}" name="action" value="${b.action}"${b.secondary ? html` class="secondary"` : ''}${b.skipValidation ? html` formnovalidate` : ''}>${b.label}</button>`)}
</div>
</form>`;
  return { pageType: p.pageType ?? 'selfasserted', title: p.title, content };
}
