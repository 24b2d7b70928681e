import { describe, expect, it } from 'vitest';
import { countryAllowed, graphPhoneNumber, isPhoneCountry, maskPhone, parsePhoneNumber } from '../../src/model/phone.js';
import { policySchema } from '../../src/model/policy.js';
import { finalAmr, isMultiFactor } from '../../src/tokens/amr.js';
import { loadConfig } from '../../src/config.js';

/** Phone numbers as people type them, normalized to E.164; the policy's countries; the SMS configuration. */
describe('phone numbers', () => {
  it('normalizes what people type to E.164: spaces, dashes, brackets, 00 for +, and a national number with the country given', async () => {
    await expect(parsePhoneNumber('+31 6 1234 5678')).resolves.toEqual({ ok: true, e164: '+31612345678', country: 'NL' });
    await expect(parsePhoneNumber('+31 (0)6-12345678')).resolves.toMatchObject({ ok: true, e164: '+31612345678' });
    await expect(parsePhoneNumber('0031 6 12345678')).resolves.toMatchObject({ ok: true, e164: '+31612345678', country: 'NL' });
    await expect(parsePhoneNumber('06 12345678', 'NL')).resolves.toMatchObject({ ok: true, e164: '+31612345678' });
    await expect(parsePhoneNumber('+1 (206) 555-0100')).resolves.toEqual({ ok: true, e164: '+12065550100', country: 'US' });
    await expect(parsePhoneNumber('+49 151 23456789')).resolves.toMatchObject({ ok: true, e164: '+4915123456789', country: 'DE' });
  });

  it('refuses what cannot be a number: letters, too short or long for its country, no country code without a default', async () => {
    for (const bad of ['', 'call me', '+31 6 123', '+31 6 1234567890123', '06 12345678', '+999 1234567', '+31 6 12345678; DROP', 'x'.repeat(50)]) {
      await expect(parsePhoneNumber(bad), bad).resolves.toEqual({ ok: false });
    }
  });

  it("keeps numbers to the policy's countries (none listed: all)", () => {
    expect(countryAllowed('NL', ['NL', 'BE'])).toBe(true);
    expect(countryAllowed('US', ['NL', 'BE'])).toBe(false);
    expect(countryAllowed(undefined, ['NL'])).toBe(false);
    expect(countryAllowed('US', undefined)).toBe(true);
  });

  it("shows numbers in Graph's form and masked on pages", async () => {
    await expect(graphPhoneNumber('+31612345678')).resolves.toBe('+31 612345678');
    await expect(graphPhoneNumber('+12065550100')).resolves.toBe('+1 2065550100');
    expect(maskPhone('+31612345678')).toBe('•••••••••78');
  });

  it('knows ISO 3166 codes of countries with phone numbers', () => {
    expect(isPhoneCountry('NL')).toBe(true);
    expect(isPhoneCountry('US')).toBe(true);
    expect(isPhoneCountry('XX')).toBe(false);
    expect(isPhoneCountry('nl')).toBe(false);
  });
});

describe('phone policies', () => {
  const base = { id: 'B2C_1_phone', kind: 'signUpOrSignIn' };

  it('takes phone sign-in, sms as a second factor and a list of countries', () => {
    const p = policySchema.parse({ ...base, localAccount: { signInName: 'phone' }, mfa: { mode: 'required', methods: ['sms', 'totp'] }, phone: { allowedCountries: ['NL', 'BE'] } });
    expect(p.localAccount.signInName).toBe('phone');
    expect(p.mfa.methods).toEqual(['sms', 'totp']);
    expect(p.phone.allowedCountries).toEqual(['NL', 'BE']);
    expect(policySchema.parse(base).phone.allowedCountries).toBeUndefined();
  });

  it('refuses unknown, lower-case, repeated or no country codes, with the JSON path', () => {
    const issue = (phone: unknown) => policySchema.safeParse({ ...base, phone }).error?.issues[0];
    expect(issue({ allowedCountries: ['NL', 'XX'] })).toMatchObject({ path: ['phone', 'allowedCountries', 1], message: "'XX' is not an ISO 3166 country code with phone numbers (two capital letters, such as NL, DE, US)" });
    expect(issue({ allowedCountries: ['nl'] })?.message).toContain("'nl' is not an ISO 3166 country code");
    expect(issue({ allowedCountries: ['NLD'] })?.message).toContain("'NLD' is not an ISO 3166 country code");
    expect(issue({ allowedCountries: ['NL', 'NL'] })?.message).toBe('lists a country twice');
    expect(issue({ allowedCountries: [] })?.message).toContain('lists no country');
    expect(issue({ blockedCountries: ['NL'] })?.code).toBe('unrecognized_keys');
  });

  it('refuses phone sign-in where it would do nothing: no password to reset, no pages, passkeys on a password page it has not', () => {
    const message = (extra: Record<string, unknown>) => policySchema.safeParse({ ...base, ...extra, localAccount: { signInName: 'phone' } }).error?.issues[0]?.message;
    expect(message({ kind: 'passwordReset' })).toContain('phone accounts have no password');
    expect(message({ kind: 'ropc' })).toContain('phone accounts have no password');
    expect(message({ forgotPassword: 'inline' })).toContain('no password to forget');
    expect(message({ mfa: { methods: ['passkey'] } })).toContain('leave passkey out');
    expect(policySchema.safeParse({ ...base, kind: 'profileEdit', localAccount: { signInName: 'phone' } }).success).toBe(true);
    expect(policySchema.safeParse({ ...base, kind: 'signIn', localAccount: { signInName: 'phone' } }).success).toBe(true);
  });
});

describe('amr with text messages', () => {
  it('a password and a text-message code are two factors; a phone sign-in alone is one', () => {
    expect(isMultiFactor(['pwd', 'sms'])).toBe(true);
    expect(finalAmr(['pwd', 'sms'])).toEqual(['pwd', 'sms', 'mfa']);
    expect(isMultiFactor(['sms'])).toBe(false);
    expect(finalAmr(['sms'])).toEqual(['sms']);
  });
});

describe('SMS configuration', () => {
  it('reads the gateway, its token and the hourly limits, with defaults', () => {
    expect(loadConfig({}).sms).toEqual({ url: undefined, token: undefined, perNumberHourly: 5, perAddressHourly: 20, perTenantHourly: 1000 });
    const c = loadConfig({ LATCHKEY_SMS_URL: 'https://sms.example/send', LATCHKEY_SMS_TOKEN: 'token-123456', LATCHKEY_SMS_PER_NUMBER_HOURLY: '3', LATCHKEY_SMS_PER_ADDRESS_HOURLY: '7', LATCHKEY_SMS_PER_TENANT_HOURLY: '50' }).sms;
    expect(c).toEqual({ url: 'https://sms.example/send', token: 'token-123456', perNumberHourly: 3, perAddressHourly: 7, perTenantHourly: 50 });
  });

  it('stops with one line naming the variable', () => {
    expect(() => loadConfig({ LATCHKEY_SMS_URL: 'ftp://sms.example' })).toThrow(/^invalid LATCHKEY_SMS_URL: must be an http\(s\) URL/);
    expect(() => loadConfig({ LATCHKEY_SMS_PER_NUMBER_HOURLY: '0' })).toThrow(/^invalid LATCHKEY_SMS_PER_NUMBER_HOURLY/);
    expect(() => loadConfig({ LATCHKEY_SMS_TOKEN: 'short' })).toThrow(/^invalid LATCHKEY_SMS_TOKEN: must be at least 8 characters/);
  });
});
