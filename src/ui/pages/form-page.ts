import { html, type SafeHtml } from '../html.js';
import { csrfInput, errorSummary, field } from './forms.js';
import { layout } from './layout.js';

/** One input of a journey page. Every input gets a <label>; an error is tied to it by aria-describedby. */
export interface FormField {
  name: string;
  label: string;
  type: 'text' | 'email' | 'password' | 'select' | 'checkbox' | 'code';
  value?: string;
  error?: string;
  required?: boolean;
  options?: string[];
  autocomplete?: string;
  maxLength?: number;
  autofocus?: boolean;
}

export interface FormButton {
  action: string;
  label: string;
  secondary?: boolean;
  /** Buttons that leave the page (cancel, back) skip the browser's field validation. */
  skipValidation?: boolean;
}

export interface FormPageProps {
  title: string;
  heading: string;
  intro?: string;
  notice?: string;
  error?: string;
  action: string;
  csrf: string;
  fields: FormField[];
  /** Read-only facts shown above the fields (e.g. the email being verified). */
  facts?: { label: string; value: string }[];
  buttons: FormButton[];
  lang?: string;
  theme?: string;
}

function renderField(f: FormField): SafeHtml {
  const id = `f-${f.name}`;
  const errId = `${id}-error`;
  const described = f.error ? html` aria-invalid="true" aria-describedby="${errId}"` : '';
  const err = f.error ? html`<p class="field-error" id="${errId}">${f.error}</p>` : '';
  switch (f.type) {
    case 'select':
      return html`<label for="${id}">${f.label}</label>
<select id="${id}" name="${f.name}"${f.required ? html` required` : ''}${described}>
<option value="">Select…</option>
${(f.options ?? []).map((o) => html`<option value="${o}"${o === f.value ? html` selected` : ''}>${o}</option>`)}
</select>
${err}`;
    case 'checkbox':
      return html`<p class="checkbox"><input id="${id}" name="${f.name}" type="checkbox" value="true"${f.value === 'true' ? html` checked` : ''}${described}>
<label for="${id}">${f.label}</label></p>
${err}`;
    case 'code':
      return html`<label for="${id}">${f.label}</label>
<input id="${id}" name="${f.name}" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="6" value="${f.value ?? ''}"${f.autofocus ? html` autofocus` : ''}${described}>
${err}`;
    default:
      return field({
        name: f.name,
        label: f.label,
        type: f.type,
        ...(f.value !== undefined ? { value: f.value } : {}),
        ...(f.error !== undefined ? { error: f.error } : {}),
        ...(f.required !== undefined ? { required: f.required } : {}),
        ...(f.autocomplete !== undefined ? { autocomplete: f.autocomplete } : {}),
        ...(f.maxLength !== undefined ? { maxLength: f.maxLength } : {}),
        ...(f.autofocus !== undefined ? { autofocus: f.autofocus } : {}),
      });
  }
}

/** A journey page: heading, messages, fields and buttons, posted with the page's CSRF token. */
export function formPage(p: FormPageProps): string {
  const body = html`<h1>${p.heading}</h1>
${p.intro ? html`<p>${p.intro}</p>` : ''}
${p.notice ? html`<p class="notice" role="status">${p.notice}</p>` : ''}
${errorSummary(p.error)}
<form method="post" action="${p.action}" novalidate>
${csrfInput(p.csrf)}
${(p.facts ?? []).map((f) => html`<p><strong>${f.label}:</strong> ${f.value}</p>`)}
${p.fields.map(renderField)}
<div class="actions">
${p.buttons.map((b) => html`<button type="submit" name="action" value="${b.action}"${b.secondary ? html` class="secondary"` : ''}${b.skipValidation ? html` formnovalidate` : ''}>${b.label}</button>`)}
</div>
</form>`;
  return layout({ title: p.title, body, lang: p.lang, theme: p.theme });
}
