import type { Logger } from 'pino';
import type { Clock } from '../model/clock.js';
import type { Store } from '../store/store.js';
import type { OutboundClient } from '../outbound/outbound-client.js';

/** One text message: to a number in E.164, in the page's language, for a tenant (by slug, as the gateway sees it). */
export interface SmsMessage {
  tenantId: string;
  tenantSlug: string;
  to: string;
  text: string;
  locale: string;
}

export interface SmsSender {
  /** Hands the message to the gateway (or keeps it in the outbox); rejects when the gateway did not take it. */
  send(message: SmsMessage): Promise<'gateway' | 'outbox'>;
}

/** How long the gateway may take to answer before the send counts as failed. */
const GATEWAY_TIMEOUT_MS = 10_000;

/** What the outbox says a text message is (its rows share the mail's table). */
export const SMS_SUBJECT = 'Text message';

/**
 * Sends text messages through the operator's gateway: `POST LATCHKEY_SMS_URL` with
 * `{to, text, locale, tenant}` as JSON (and `Authorization: Bearer LATCHKEY_SMS_TOKEN` when set), through
 * the outbound client (so the gateway's address is checked as every outbound call's is). Any 2xx answer
 * is taken as sent. Every message is also kept in the `outbox` table; without a gateway that and the
 * log are where it goes (`latchkey outbox list`), as mail without SMTP.
 */
export function createSmsSender(opts: { url: string | undefined; token: string | undefined; outbound: OutboundClient; store: Store; logger: Logger; clock: Clock }): SmsSender {
  const { url, token } = opts;
  return {
    async send(m) {
      if (url) {
        const answer = await opts.outbound.request(url, {
          purpose: 'SMS gateway',
          method: 'POST',
          headers: { 'content-type': 'application/json', accept: 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
          body: JSON.stringify({ to: m.to, text: m.text, locale: m.locale, tenant: m.tenantSlug }),
          timeoutMs: GATEWAY_TIMEOUT_MS,
          maxBytes: 64 * 1024,
        });
        if (answer.status < 200 || answer.status > 299) throw new Error(`the SMS gateway answered ${answer.status}`);
      }
      await opts.store.addOutboxMessage({ tenantId: m.tenantId, to: m.to, subject: SMS_SUBJECT, body: m.text, transport: url ? 'sms' : 'sms-outbox', createdAt: opts.clock.now() });
      if (!url) opts.logger.info({ to: m.to, text: m.text, locale: m.locale }, 'text message (no LATCHKEY_SMS_URL: kept in the outbox)');
      return url ? 'gateway' : 'outbox';
    },
  };
}
