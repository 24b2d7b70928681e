import { html, type SafeHtml } from '../html.js';

/** Form building blocks shared by journey pages: every input has a label, errors are tied to fields. */

export interface FieldOptions {
  name: string;
  label: string;
  type?: 'text' | 'email' | 'password';
  value?: string;
  error?: string;
  required?: boolean;
  autocomplete?: string;
  autofocus?: boolean;
  maxLength?: number;
}

export function field(f: FieldOptions): SafeHtml {
  const id = `f-${f.name}`;
  const errId = `${id}-error`;
  return html`<label for="${id}">${f.label}</label>
<input id="${id}" name="${f.name}" type="${f.type ?? 'text'}" value="${f.type === 'password' ? '' : (f.value ?? '')}"${
    f.required ? html` required` : ''
  }${f.autocomplete ? html` autocomplete="${f.autocomplete}"` : ''}${f.autofocus ? html` autofocus` : ''}${
    f.maxLength ? html` maxlength="${f.maxLength}"` : ''
  }${f.error ? html` aria-invalid="true" aria-describedby="${errId}"` : ''}>
${f.error ? html`<p class="field-error" id="${errId}">${f.error}</p>` : ''}`;
}

export function errorSummary(message: string | undefined): SafeHtml {
  return message ? html`<div class="error-summary" role="alert"><p class="error">${message}</p></div>` : html``;
}

export function csrfInput(token: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}
