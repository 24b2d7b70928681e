import { invalid } from '../model/errors.js';
import type { LocalIdentity, LocalSignInType, Tenant, UserIdentity } from '../model/entities.js';
import { isLocalIssuer } from '../model/graph-user.js';
import { E164 } from '../model/local-identities.js';
import { EMAIL } from '../model/patterns.js';
import { normalizeLocalName, normalizePhone } from '../store/normalize.js';

/**
 * What a user must be, checked in one place for every way a user is written (services/users.ts): the
 * password rules, sign-in names and addresses, names, custom attributes and upstream identities. The
 * surfaces check their own dialect first where they word it their own way (a journey page in the
 * user's language, Graph's property names); these checks are what no surface can get past.
 */

/** A password's length: the policy's (journeys), Graph's, or the operator's default. */
export interface PasswordRule {
  minLength: number;
  maxLength: number;
  /** B2C's strong password (Graph's default): 8 or more characters of three of the four kinds. */
  strong?: boolean;
}

/** No password is longer than this, whatever a rule says (the forms' and Graph's limit). */
export const MAX_PASSWORD_LENGTH = 256;

/** The rule for passwords an operator sets (`user create`). */
export const DEFAULT_PASSWORD_RULE: PasswordRule = { minLength: 8, maxLength: MAX_PASSWORD_LENGTH };

export type PasswordProblem = { tooShort: number } | { tooLong: number } | { weak: true };

/** What is wrong with a password under a rule, if anything; each surface words it (a journey in the page's language). */
export function passwordProblem(password: string, rule: PasswordRule = DEFAULT_PASSWORD_RULE): PasswordProblem | undefined {
  if (password.length < rule.minLength) return { tooShort: rule.minLength };
  const max = Math.min(rule.maxLength, MAX_PASSWORD_LENGTH);
  if (password.length > max) return { tooLong: max };
  if (rule.strong) {
    const kinds = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^A-Za-z0-9]/].filter((r) => r.test(password)).length;
    if (password.length < 8 || kinds < 3) return { weak: true };
  }
  return undefined;
}

export function checkPassword(password: string, rule: PasswordRule = DEFAULT_PASSWORD_RULE): void {
  const problem = passwordProblem(password, rule);
  if (!problem) return;
  if ('tooShort' in problem) throw invalid(`the password must have at least ${problem.tooShort} characters`);
  if ('tooLong' in problem) throw invalid(`the password must have at most ${problem.tooLong} characters`);
  // B2C's words, which Graph clients know.
  throw invalid('The specified password does not comply with password complexity requirements. Please provide a different password.');
}

/** An address a user can be written to (the pattern is model/patterns.ts's EMAIL). */
export function checkEmail(email: string): void {
  if (!EMAIL.test(email)) throw invalid(`'${email}' is not an email address.`);
}

/**
 * A local identity's name, trimmed: an email address, a user name of 1–256 characters, or a phone
 * number in E.164 (its formatting removed: `+31 6 1234 5678` is `+31612345678`).
 */
export function checkSignInName(type: LocalSignInType, name: string): string {
  const trimmed = name.trim();
  if (type === 'emailAddress') checkEmail(trimmed);
  else if (type === 'phoneNumber') {
    const phone = normalizePhone(trimmed);
    if (!E164.test(phone)) throw invalid(`invalid phone number '${name}': international format, such as +31612345678`);
    return phone;
  } else if (trimmed === '' || trimmed.length > 256) throw invalid(`invalid user name '${name}': 1 to 256 characters`);
  return trimmed;
}

/** A user's local identities, each checked (checkSignInName), none named twice (names compare as sign-ins look them up). */
export function checkLocalIdentities(identities: LocalIdentity[]): LocalIdentity[] {
  const seen = new Set<string>();
  return identities.map((i) => {
    const checked = { signInType: i.signInType, issuerAssignedId: checkSignInName(i.signInType, i.issuerAssignedId) };
    const key = normalizeLocalName(checked);
    if (seen.has(key)) throw invalid(`the sign-in name '${checked.issuerAssignedId}' is given twice`);
    seen.add(key);
    return checked;
  });
}

/** Given, family and display names: at most as long as a policy's attribute may be. */
export const MAX_NAME_LENGTH = 1024;

function checkName(what: string, value: string | null | undefined): void {
  if (typeof value === 'string' && value.length > MAX_NAME_LENGTH) throw invalid(`the ${what} is longer than ${MAX_NAME_LENGTH} characters`);
}

/** Names and attributes of a new user or a change (absent ones are not checked). */
export function checkProfile(p: { givenName?: string | null; familyName?: string | null; displayName?: string | null; attributes?: Record<string, unknown> }): void {
  checkName('given name', p.givenName);
  checkName('family name', p.familyName);
  checkName('display name', p.displayName);
  checkAttributes(p.attributes ?? {});
}

/** A custom or built-in attribute's value: text of at most 1024 characters, a number or true/false (null removes it where a change allows). */
export function checkAttributes(attributes: Record<string, unknown>): void {
  for (const [name, value] of Object.entries(attributes)) {
    if (name === '' || name.length > 256) throw invalid(`invalid attribute name '${name}'`);
    if (value === null || typeof value === 'number' || typeof value === 'boolean') continue;
    if (typeof value !== 'string') throw invalid(`the attribute '${name}' must be text, a number or true/false`);
    if (value.length > 1024) throw invalid(`The value of '${name}' is longer than 1024 characters.`);
  }
}

/**
 * An account at an upstream identity provider, trimmed: the provider's domain (google.com…) and the
 * user's id there. The tenant's own domain issues its local accounts, never an upstream one.
 */
export function checkIdentity(tenant: Tenant, identity: UserIdentity): UserIdentity {
  const issuer = identity.issuer.trim();
  const id = identity.issuerAssignedId.trim();
  if (!/^\S{1,256}$/.test(issuer)) throw invalid(`invalid issuer '${identity.issuer}': the provider's domain, such as google.com`);
  if (isLocalIssuer(tenant, issuer)) {
    throw invalid(`invalid issuer '${issuer}': that is a local account's issuer; give an identity provider's domain`);
  }
  if (id.length === 0 || id.length > 256) throw invalid("invalid issuer-assigned id: 1-256 characters");
  return { issuer, issuerAssignedId: id };
}

/** Two identities are one when the issuer matches in any case and the id exactly. */
export function identityKey(i: UserIdentity): string {
  return `${i.issuer.toLowerCase()}\n${i.issuerAssignedId}`;
}
