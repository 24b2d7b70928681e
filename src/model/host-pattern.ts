import { HOST_NAME } from './patterns.js';

/**
 * LATCHKEY_TENANT_HOST_PATTERN: a host of its own for every tenant without a command, such as
 * `{tenant}.login.example.com` (`contoso.login.example.com` serves the tenant `contoso`). `{tenant}` is one
 * whole label (so one wildcard certificate covers every tenant) and stands for the tenant's slug.
 */
export interface TenantHostPattern {
  /** As configured, lower-case: `{tenant}.login.example.com`. */
  readonly pattern: string;
  /** The slug a host name stands for under the pattern, or undefined when it is not one of its hosts. */
  slugOf(hostname: string): string | undefined;
  /** The host the pattern gives a tenant. */
  hostFor(slug: string): string;
}

const PLACEHOLDER = '{tenant}';
const LABEL = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

/** Parses a pattern; throws an Error saying what is wrong with it. */
export function parseTenantHostPattern(raw: string): TenantHostPattern {
  const pattern = raw.trim().toLowerCase();
  if (/[/:@]/.test(pattern)) throw new Error('a host name pattern such as {tenant}.login.example.com, without scheme, port or path');
  const labels = pattern.split('.');
  const at = labels.indexOf(PLACEHOLDER);
  if (at < 0 || labels.filter((l) => l === PLACEHOLDER).length !== 1 || pattern.split(PLACEHOLDER).length !== 2) {
    throw new Error('must hold {tenant} once, as a whole label, such as {tenant}.login.example.com');
  }
  const rest = labels.filter((_, i) => i !== at);
  if (rest.length === 0 || !HOST_NAME.test(rest.join('.'))) throw new Error('the labels besides {tenant} must form a host name, such as {tenant}.login.example.com');
  return {
    pattern,
    slugOf(hostname) {
      const parts = hostname.toLowerCase().split('.');
      if (parts.length !== labels.length) return undefined;
      for (let i = 0; i < labels.length; i++) if (i !== at && parts[i] !== labels[i]) return undefined;
      const slug = parts[at]!;
      return LABEL.test(slug) ? slug : undefined;
    },
    hostFor: (slug) => labels.map((l, i) => (i === at ? slug : l)).join('.'),
  };
}
