import type { User, UserProfileUpdate } from '../../store/store.js';
import type { FormField } from '../../ui/pages/form-page.js';
import type { SignUpAttribute } from '../policy-schema.js';
import { EMAIL } from './common.js';

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

export function attributeFields(attrs: SignUpAttribute[], values: Record<string, string>, errors: Record<string, string>): FormField[] {
  return attrs.map((a) => ({
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

/** Reads and checks the posted attribute values; returns what the user typed and any errors. */
export function readAttributes(attrs: SignUpAttribute[], form: Record<string, string>): { values: Record<string, string>; errors: Record<string, string> } {
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
      if (a.required) errors[a.claim] = `Please enter your ${a.label}.`;
    } else if (raw.length > a.maxLength) {
      errors[a.claim] = `${a.label} must be at most ${a.maxLength} characters.`;
    } else if (a.type === 'email' && !EMAIL.test(raw)) {
      errors[a.claim] = 'Please enter a valid email address.';
    } else if (a.type === 'select' && !(a.options ?? []).includes(raw)) {
      errors[a.claim] = `Please choose one of the options for ${a.label}.`;
    }
  }
  return { values, errors };
}

/** The user update for checked values: known claims to their columns, others to `attributes`. */
export function profileUpdate(attrs: SignUpAttribute[], values: Record<string, string>, existing: Record<string, unknown> = {}): UserProfileUpdate {
  const update: UserProfileUpdate = {};
  const attributes: Record<string, unknown> = { ...existing };
  for (const a of attrs) {
    const v = values[a.claim] ?? '';
    const column = COLUMNS[a.claim];
    if (column) update[column] = v === '' ? null : v;
    else if (a.type === 'boolean') attributes[a.claim] = v === 'true';
    else if (v === '') delete attributes[a.claim];
    else attributes[a.claim] = v;
  }
  update.attributes = attributes;
  return update;
}
