/** Patterns every layer checks input against, written once. */

/** An email address as sign-in names and contact addresses take it (one `@`, no spaces, RFC 5321's lengths). */
export const EMAIL = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** A GUID: tenant ids, client ids, object ids (any case; stored lower-case). */
export const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/** This machine by name (a URL's hostname): where plain http is allowed, for development and tests. */
export function isLoopbackHost(hostname: string): boolean {
  return LOOPBACK_HOSTS.has(hostname.toLowerCase());
}
