import { describe, expect, it } from 'vitest';
import { policySchema } from '../../src/model/policy.js';
import { CATALOGUES, LOCALES, MESSAGE_KEYS, Messages, pickLocale, placeholders } from '../../src/model/messages/messages.js';

describe('message catalogues', () => {
  it.each(LOCALES)('%s has every key, no other, each with the placeholders of the English one', (locale) => {
    const catalogue = CATALOGUES[locale] as Record<string, string>;
    expect(Object.keys(catalogue).sort()).toEqual([...MESSAGE_KEYS].sort());
    for (const key of MESSAGE_KEYS) {
      expect(catalogue[key]!.trim(), `${locale} ${key}`).not.toBe('');
      expect(placeholders(catalogue[key]!), `${locale} ${key}`).toEqual(placeholders(CATALOGUES.en[key]));
    }
  });

  it('translates: the languages other than English differ from it on the sign-in page', () => {
    for (const locale of LOCALES.filter((l) => l !== 'en')) {
      expect(CATALOGUES[locale]['label.password'], locale).not.toBe(CATALOGUES.en['label.password']);
      expect(CATALOGUES[locale]['signIn.forgotPassword'], locale).not.toBe(CATALOGUES.en['signIn.forgotPassword']);
    }
  });

  it('fills placeholders, and takes a policy override before the catalogue', () => {
    const m = new Messages('de', { 'button.signIn': 'Los geht’s' });
    expect(m.t('button.signIn')).toBe('Los geht’s');
    expect(m.t('error.passwordTooShort', { min: 12 })).toBe('Das Kennwort muss mindestens 12 Zeichen lang sein.');
  });
});

describe('choosing the language', () => {
  it('takes ui_locales first (its first shipped language), then the policy, then Accept-Language, then English', () => {
    expect(pickLocale({ uiLocales: 'it-IT fr-CA', policyLocale: 'de', acceptLanguage: 'es' })).toBe('fr');
    expect(pickLocale({ uiLocales: 'it', policyLocale: 'de', acceptLanguage: 'es' })).toBe('de');
    expect(pickLocale({ acceptLanguage: 'it;q=0.9, nl-BE;q=0.8, en;q=0.5' })).toBe('nl');
    expect(pickLocale({ acceptLanguage: 'es;q=0, fr' })).toBe('fr');
    expect(pickLocale({ acceptLanguage: 'ja, zh' })).toBe('en');
    expect(pickLocale({})).toBe('en');
  });
});

describe('ui.locale and ui.strings in a policy', () => {
  const base = { id: 'B2C_1_x', kind: 'signIn' };
  it('accepts overrides of known keys with known placeholders', () => {
    const r = policySchema.safeParse({ ...base, ui: { locale: 'fr', strings: { en: { 'button.signIn': 'Log in' }, de: { 'error.passwordTooShort': 'Mindestens {min} Zeichen.' } } } });
    expect(r.success).toBe(true);
  });
  it('refuses a key the catalogue does not have, a placeholder the message does not fill, and an unshipped language', () => {
    const unknownKey = policySchema.safeParse({ ...base, ui: { strings: { en: { 'button.logIn': 'Log in' } } } });
    expect(unknownKey.error?.issues[0]?.message).toMatch(/'button.logIn' is not a message key/);
    const unknownPlaceholder = policySchema.safeParse({ ...base, ui: { strings: { en: { 'button.signIn': 'Sign in, {name}' } } } });
    expect(unknownPlaceholder.error?.issues[0]?.message).toMatch(/uses \{name\}, which 'button.signIn' does not fill in/);
    const language = policySchema.safeParse({ ...base, ui: { locale: 'it' } });
    expect(language.error?.issues[0]?.message).toMatch(/shipped languages: en, nl, de, fr, es/);
    const stringsLanguage = policySchema.safeParse({ ...base, ui: { strings: { it: { 'button.signIn': 'Accedi' } } } });
    expect(stringsLanguage.success).toBe(false);
  });
});
