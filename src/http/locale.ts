import type { FastifyRequest } from 'fastify';
import type { Policy } from '../model/policy.js';
import { messagesFor, pickLocale, type Messages } from '../model/messages/messages.js';

/**
 * The messages for a page outside a journey (error, signed-out and form-post pages): the request's
 * `ui_locales` (or `lang`), then the policy's language when known, then Accept-Language.
 */
export function requestMessages(req: FastifyRequest, policy?: Policy): Messages {
  const q = (req.query ?? {}) as Record<string, unknown>;
  const uiLocales = typeof q.ui_locales === 'string' ? q.ui_locales : typeof q.lang === 'string' ? q.lang : undefined;
  const locale = pickLocale({ uiLocales, policyLocale: policy?.ui.locale, acceptLanguage: req.headers['accept-language'] });
  return messagesFor(locale, policy?.ui.strings);
}
