import type { SafeHtml } from '../html.js';

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

/**
 * A hosted page as a journey step builds it: what goes inside `<div id="api">`, and the document's
 * title. The document around it (Latchkey's default or the policy's template) is chosen when the page
 * is sent, with the page's language.
 */
export interface ApiPage {
  pageType: PageType;
  title: string;
  content: SafeHtml;
}
