import { html, type SafeHtml } from '../html.js';

/**
 * Form building blocks shared by hosted pages, in B2C's markup (ids and classes customers' CSS and
 * scripts select): every input has a label, an error is tied to its input by aria-describedby and
 * announced (role="alert").
 */

export interface InputOptions {
  /** The element id (B2C's: `signInName`, `newPassword`, `givenName`…). */
  id: string;
  /** The posted field name. */
  name: string;
  type: 'text' | 'email' | 'password' | 'select' | 'checkbox' | 'code' | 'tel';
  value?: string | undefined;
  error?: string | undefined;
  required?: boolean | undefined;
  autocomplete?: string | undefined;
  autofocus?: boolean | undefined;
  maxLength?: number | undefined;
  options?: string[] | undefined;
  /** The first option of a select, with no value ("Select…"). */
  selectPrompt?: string | undefined;
  placeholder?: string | undefined;
}

const errorId = (id: string) => `${id}-error`;

/** B2C's field-level error: `<div class="error itemLevel">`, present only when there is one. */
export function itemError(id: string, message: string | undefined): SafeHtml {
  return message ? html`<div class="error itemLevel" id="${errorId(id)}" role="alert"><p>${message}</p></div>` : html``;
}

/** B2C's page-level error (`.error.pageLevel`), announced to screen readers. */
export function pageLevelError(message: string | undefined): SafeHtml {
  return message ? html`<div class="error pageLevel" role="alert"><p>${message}</p></div>` : html``;
}

export function csrfInput(token: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}

/** The input element alone (its label and error are placed by the caller, as B2C's pages place them). */
export function input(f: InputOptions): SafeHtml {
  const invalid = f.error ? html` aria-invalid="true" aria-describedby="${errorId(f.id)}"` : '';
  const req = f.required ? html` required aria-required="true"` : '';
  const focus = f.autofocus ? html` autofocus` : '';
  switch (f.type) {
    case 'select':
      return html`<select id="${f.id}" name="${f.name}" class="dropdown_single"${req}${invalid}>
<option value="">${f.selectPrompt ?? ''}</option>
${(f.options ?? []).map((o) => html`<option value="${o}"${o === f.value ? html` selected` : ''}>${o}</option>`)}
</select>`;
    case 'checkbox':
      return html`<input id="${f.id}" name="${f.name}" type="checkbox" value="true"${f.value === 'true' ? html` checked` : ''}${invalid}>`;
    case 'code':
      return html`<input id="${f.id}" name="${f.name}" class="textInput" type="text" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]*" maxlength="6" value="${f.value ?? ''}"${focus}${invalid}>`;
    default:
      return html`<input id="${f.id}" name="${f.name}" class="textInput" type="${f.type}" value="${f.type === 'password' ? '' : (f.value ?? '')}"${f.placeholder ? html` placeholder="${f.placeholder}"` : ''}${req}${
        f.autocomplete ? html` autocomplete="${f.autocomplete}"` : ''
      }${focus}${f.maxLength ? html` maxlength="${f.maxLength}"` : ''}${invalid}>`;
  }
}
