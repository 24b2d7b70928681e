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

/**
 * A DNS host name as custom domains, the host pattern and TLS file names take it: lower-case labels of
 * letters, digits and inner hyphens, dot-separated, 253 characters at most. No port, no trailing dot.
 */
export const HOST_NAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A host name that is an IPv4 address (custom domains are names: passkeys and certificates need them). */
export const IPV4 = /^\d{1,3}(?:\.\d{1,3}){3}$/;
