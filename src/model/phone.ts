import { createRequire } from 'node:module';
import { E164 } from './local-identities.js';

/**
 * Phone numbers as Latchkey keeps and shows them: parsed and normalized to E.164 by libphonenumber-js
 * (Google's libphonenumber metadata: which numbers exist in which country, and their lengths), the
 * countries a policy allows, and the forms pages and Graph show.
 *
 * The library is loaded on first use (it takes about as long to load as the rest of a CLI command),
 * so only the pages and APIs that handle a number pay for it. Country codes are checked against its
 * smaller metadata file alone, so a policy with `phone.allowedCountries` is validated without it.
 */

let libraryModule: Promise<typeof import('libphonenumber-js/max')> | undefined;
const library = () => (libraryModule ??= import('libphonenumber-js/max'));

let countryCodes: ReadonlySet<string> | undefined;

/** Whether `code` is an ISO 3166-1 alpha-2 code of a country (or territory) with phone numbers. */
export function isPhoneCountry(code: string): boolean {
  if (!countryCodes) {
    const metadata = createRequire(import.meta.url)('libphonenumber-js/metadata.min.json') as { countries: Record<string, unknown> };
    countryCodes = new Set(Object.keys(metadata.countries));
  }
  return countryCodes.has(code);
}

export type PhoneParse = { ok: true; e164: string; country: string | undefined } | { ok: false };

/**
 * A number as a person typed it: international (`+31 6 1234 5678`, `0031…`) or, with `defaultCountry`,
 * national (`06 12345678`). Valid only when the number can exist (its country's lengths and prefixes);
 * `country` is where it belongs (undefined for numbers of no country, such as +800).
 */
export async function parsePhoneNumber(input: string, defaultCountry?: string): Promise<PhoneParse> {
  const typed = input.trim().replace(/^00(?=[1-9])/, '+');
  if (typed === '' || typed.length > 40 || !/^\+?[\d\s().\-/]+$/.test(typed)) return { ok: false };
  const lib = await library();
  const country = defaultCountry && lib.isSupportedCountry(defaultCountry) ? (defaultCountry as Parameters<typeof lib.parsePhoneNumberFromString>[1]) : undefined;
  const parsed = lib.parsePhoneNumberFromString(typed, country);
  if (!parsed || !parsed.isValid() || !E164.test(parsed.number)) return { ok: false };
  return { ok: true, e164: parsed.number, country: parsed.country };
}

/** Whether a policy's country list lets this number in (no list: every country). */
export function countryAllowed(country: string | undefined, allowed: readonly string[] | undefined): boolean {
  if (allowed === undefined) return true;
  return country !== undefined && allowed.includes(country);
}

/** Graph's form of a phone method's number: `+{country code} {national number}` (`+31 612345678`). */
export async function graphPhoneNumber(e164: string): Promise<string> {
  const parsed = (await library()).parsePhoneNumberFromString(e164);
  return parsed ? `+${parsed.countryCallingCode} ${parsed.nationalNumber}` : e164;
}

/** A number as a page shows it to someone who may not be its owner: its last two digits (`•••••••••78`). */
export function maskPhone(e164: string): string {
  const digits = e164.replace(/\D/g, '');
  return `${'•'.repeat(Math.max(digits.length - 2, 3))}${digits.slice(-2)}`;
}
