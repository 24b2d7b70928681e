import { isLoopbackHost } from './patterns.js';
/**
 * Where a page layout comes from: an `https` URL (B2C's contract; `http` only on the loopback
 * interface, for development and tests) or a file under the tenant's policy folder. `{Culture:RFC5646}`
 * in either is replaced by the page's language.
 */
export const CULTURE = '{Culture:RFC5646}';

export type TemplateLocation = { kind: 'url'; url: string } | { kind: 'file'; path: string };


/** Why a template location is unusable, or undefined when it is fine. */
export function checkTemplateLocation(template: string): string | undefined {
  if (template.length > 2000) return 'is too long';
  if (/^[a-z][a-z0-9+.-]*:/i.test(template)) {
    let url: URL;
    try {
      url = new URL(template.replaceAll(CULTURE, 'en'));
    } catch {
      return 'is not a valid URL';
    }
    if (url.protocol === 'https:') return undefined;
    if (url.protocol === 'http:' && isLoopbackHost(url.hostname)) return undefined;
    return 'must be an https URL (http only on 127.0.0.1 or localhost), or a file in the policy folder';
  }
  const path = template.replaceAll(CULTURE, 'en');
  if (path.startsWith('/') || path.includes('\\')) return 'must be a path relative to the tenant\'s policy folder';
  if (path.split('/').some((seg) => seg === '..' || seg === '' || seg.startsWith('.'))) return 'must stay inside the tenant\'s policy folder (no "..", no hidden files)';
  if (!/\.html?$/i.test(path)) return 'must be an .html file';
  return undefined;
}

/** The location for a page in `locale`. */
export function templateLocation(template: string, locale: string): TemplateLocation {
  const resolved = template.replaceAll(CULTURE, locale);
  return /^[a-z][a-z0-9+.-]*:/i.test(resolved) ? { kind: 'url', url: resolved } : { kind: 'file', path: resolved };
}

/**
 * B2C's page types: what a page layout (`ui.pageLayouts`) is chosen by. `unifiedssp` is sign-in (with
 * sign-up link and social buttons), `selfasserted` every form that collects or verifies attributes,
 * `providerselection` the social buttons alone, `globalexception` the error page.
 */
export const PAGE_TYPES = ['unifiedssp', 'selfasserted', 'providerselection', 'multifactor', 'globalexception'] as const;
export type PageType = (typeof PAGE_TYPES)[number];

/** B2C's `data-name` of `<div id="api">` per page type, which customers' scripts test. */
export const API_DATA_NAME: Record<PageType, string> = {
  unifiedssp: 'Unified',
  selfasserted: 'SelfAsserted',
  providerselection: 'IdpSelections',
  multifactor: 'Phonefactor',
  globalexception: 'GlobalException',
};
