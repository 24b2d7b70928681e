import { de } from './de.js';
import { en, type Catalogue, type MessageKey } from './en.js';
import { es } from './es.js';
import { fr } from './fr.js';
import { nl } from './nl.js';

export type { MessageKey } from './en.js';

/** The languages Latchkey ships, by their RFC 5646 primary subtag. */
export const LOCALES = ['en', 'nl', 'de', 'fr', 'es'] as const;
export type Locale = (typeof LOCALES)[number];

export const CATALOGUES: Record<Locale, Catalogue> = { en, nl, de, fr, es };
export const MESSAGE_KEYS = Object.keys(en) as MessageKey[];

export function isLocale(value: string): value is Locale {
  return (LOCALES as readonly string[]).includes(value);
}

/** The `{name}` placeholders of a message. */
export function placeholders(message: string): string[] {
  return [...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!).sort();
}

/** A shipped language for a language tag (`de-AT` → `de`), or undefined. */
function shipped(tag: string): Locale | undefined {
  const primary = tag.trim().toLowerCase().split(/[-_]/)[0] ?? '';
  return isLocale(primary) ? primary : undefined;
}

/** Accept-Language (RFC 9110 §12.5.4): tags by descending weight; `q=0` means "not this one". */
function acceptedTags(header: string): string[] {
  return header
    .split(',')
    .slice(0, 20)
    .map((part, index) => {
      const [tag = '', ...params] = part.trim().split(';');
      const q = params.map((p) => /^\s*q=([01](?:\.\d{0,3})?)\s*$/.exec(p)).find((m) => m)?.[1];
      return { tag: tag.trim(), q: q === undefined ? 1 : Number(q), index };
    })
    .filter((t) => t.tag !== '' && t.tag !== '*' && t.q > 0)
    .sort((a, b) => b.q - a.q || a.index - b.index)
    .map((t) => t.tag);
}

/**
 * The page's language: the first shipped one of `ui_locales` (B2C's parameter, space-separated, most
 * preferred first; `lang` is taken the same way), then the policy's `ui.locale`, then the browser's
 * Accept-Language, then English.
 */
export function pickLocale(o: { uiLocales?: string | undefined; policyLocale?: string | undefined; acceptLanguage?: string | undefined }): Locale {
  for (const tag of (o.uiLocales ?? '').split(/\s+/).slice(0, 20)) {
    const l = tag ? shipped(tag) : undefined;
    if (l) return l;
  }
  const fromPolicy = o.policyLocale ? shipped(o.policyLocale) : undefined;
  if (fromPolicy) return fromPolicy;
  for (const tag of acceptedTags(o.acceptLanguage ?? '')) {
    const l = shipped(tag);
    if (l) return l;
  }
  return 'en';
}

export type MessageParams = Record<string, string | number>;

/** The messages of one language, with a policy's overrides for it; `t` fills in the placeholders. */
export class Messages {
  constructor(
    readonly locale: Locale,
    private readonly overrides: Partial<Record<string, string>> = {},
  ) {}

  t(key: MessageKey, params: MessageParams = {}): string {
    const template = this.overrides[key] ?? CATALOGUES[this.locale][key];
    return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
  }
}

/** Messages for a language with the overrides a policy gives for it (`ui.strings.{locale}`). */
export function messagesFor(locale: Locale, strings?: Partial<Record<string, Record<string, string>>>): Messages {
  return new Messages(locale, strings?.[locale] ?? {});
}
