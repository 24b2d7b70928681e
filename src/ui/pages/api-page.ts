import type { SafeHtml } from '../html.js';
import type { PageType } from '../../model/page-layout.js';

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
