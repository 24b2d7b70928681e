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
