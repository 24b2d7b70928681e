import type { User } from '../../model/entities.js';
import type { ProfileChange } from '../../services/users.js';
import type { Messages } from '../../model/messages/messages.js';
import type { FormField } from '../../ui/pages/form-page.js';
import type { SignUpAttribute } from '../../model/policy.js';
import { EMAIL } from '../../model/patterns.js';

/** Claims stored in their own user columns; every other attribute lives in `attributes`. */
const COLUMNS: Record<string, keyof Pick<User, 'givenName' | 'familyName' | 'displayName'>> = {
  given_name: 'givenName',
  family_name: 'familyName',
  name: 'displayName',
};

export function currentValue(user: User | undefined, claim: string): string {
  if (!user) return '';
  const column = COLUMNS[claim];
  const v = column ? user[column] : user.attributes[claim];
  return v === null || v === undefined ? '' : String(v);
}

/**
 * B2C's element id for an attribute on its pages (`#givenName`, `li.TextBox.givenName_li`), so CSS and
 * scripts written for B2C's pages find it: built-in attributes by B2C's name, custom ones as
 * `extension_<name>`.
 */
const B2C_IDS: Record<string, string> = {
  given_name: 'givenName',
  family_name: 'surname',
  name: 'displayName',
  email: 'email',
  country: 'country',
  city: 'city',
  state: 'state',
  postal_code: 'postalCode',
  postalCode: 'postalCode',
  street_address: 'streetAddress',
  streetAddress: 'streetAddress',
  job_title: 'jobTitle',
  jobTitle: 'jobTitle',
  givenName: 'givenName',
  surname: 'surname',
  displayName: 'displayName',
};

export function attributeElementId(claim: string): string {
  return B2C_IDS[claim] ?? (claim.startsWith('extension_') ? claim : `extension_${claim}`);
}

export function attributeFields(attrs: SignUpAttribute[], values: Record<string, string>, errors: Record<string, string>): FormField[] {
  return attrs.map((a) => ({
    id: attributeElementId(a.claim),
    name: `attr_${a.claim}`,
    label: a.label,
    type: a.type === 'select' ? 'select' : a.type === 'boolean' ? 'checkbox' : a.type === 'email' ? 'email' : 'text',
    value: values[a.claim] ?? '',
    required: a.required && a.type !== 'boolean',
    maxLength: a.maxLength,
    ...(a.options ? { options: a.options } : {}),
    ...(errors[a.claim] ? { error: errors[a.claim] } : {}),
  }));
}

/** Reads and checks the posted attribute values; returns what the user typed and any errors (in the page's language). */
export function readAttributes(attrs: SignUpAttribute[], form: Record<string, string>, m: Messages): { values: Record<string, string>; errors: Record<string, string> } {
  const values: Record<string, string> = {};
  const errors: Record<string, string> = {};
  for (const a of attrs) {
    const raw = (form[`attr_${a.claim}`] ?? '').trim();
    if (a.type === 'boolean') {
      values[a.claim] = raw === 'true' ? 'true' : 'false';
      continue;
    }
    values[a.claim] = raw.slice(0, a.maxLength);
    if (raw === '') {
      if (a.required) errors[a.claim] = m.t('error.attributeRequired', { label: a.label });
    } else if (raw.length > a.maxLength) {
      errors[a.claim] = m.t('error.attributeTooLong', { label: a.label, max: a.maxLength });
    } else if (a.type === 'email' && !EMAIL.test(raw)) {
      errors[a.claim] = m.t('error.invalidEmail');
    } else if (a.type === 'select' && !(a.options ?? []).includes(raw)) {
      errors[a.claim] = m.t('error.attributeOption', { label: a.label });
    }
  }
  return { values, errors };
}

/**
 * The profile change for checked values: known claims to their columns, others to `attributes` (an
 * emptied one is null: removed). The user's other attributes are kept (services/users-update.ts's updateProfile).
 */
export function profileUpdate(attrs: SignUpAttribute[], values: Record<string, string>): ProfileChange {
  const update: ProfileChange = {};
  const attributes: Record<string, unknown> = {};
  for (const a of attrs) {
    const v = values[a.claim] ?? '';
    const column = COLUMNS[a.claim];
    if (column) update[column] = v === '' ? null : v;
    else if (a.type === 'boolean') attributes[a.claim] = v === 'true';
    else attributes[a.claim] = v === '' ? null : v;
  }
  update.attributes = attributes;
  return update;
}
