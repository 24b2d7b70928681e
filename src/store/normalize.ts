/**
 * Data rules every store shares: how values are compared and indexed. They belong to the model, not
 * to one storage engine, so SQLite, PostgreSQL and the journeys agree on them.
 */

/** Emails compare case-insensitively (as B2C's sign-in names do). */
export function normalizeEmail(email: string): string {
  return email.trim().toLowerCase();
}

/** Local sign-in names (email addresses and user names) compare case-insensitively, as B2C's do. */
export function normalizeSignInName(name: string): string {
  return name.trim().toLowerCase();
}

/** A phone number without its formatting (spaces, dashes, dots, brackets): E.164 as typed. */
export function normalizePhone(phone: string): string {
  return phone.trim().replace(/[\s().-]/g, '');
}

const PHONE_LIKE = /^\s*\+[\d\s().-]+$/;

/**
 * A name as sign-ins look it up, whoever typed it and whichever kind of identity has it: what reads as
 * a phone number (`+` and digits) without its formatting, any other name without case. One rule for
 * stored and typed names, so a name is found however it was written.
 */
export function normalizeLookupName(name: string): string {
  return PHONE_LIKE.test(name) ? normalizePhone(name) : normalizeSignInName(name);
}

/** A local identity's name as it is looked up (normalizeLookupName). */
export function normalizeLocalName(identity: { issuerAssignedId: string }): string {
  return normalizeLookupName(identity.issuerAssignedId);
}
