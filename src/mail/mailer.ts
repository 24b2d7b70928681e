import type { Transporter } from 'nodemailer';
import type { Logger } from 'pino';
import type { Clock } from '../model/clock.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../observability/metrics.js';

export interface MailMessage {
  tenantId: string;
  to: string;
  subject: string;
  text: string;
}

export interface Mailer {
  send(message: MailMessage): Promise<void>;
  close(): void;
}

/**
 * Sends mail through SMTP (nodemailer) when LATCHKEY_SMTP_URL is set. Every message is also kept in
 * the `outbox` table; without SMTP that and the log are where it goes (`latchkey outbox list`).
 */
export function createMailer(opts: { smtpUrl: string | undefined; from?: string; store: Store; logger: Logger; clock: Clock; metrics?: Metrics }): Mailer {
  // nodemailer is loaded only where mail goes out through SMTP (the CLI and most tests never need it).
  const smtpUrl = opts.smtpUrl;
  const transport: Promise<Transporter> | undefined = smtpUrl ? import('nodemailer').then((m) => m.default.createTransport(smtpUrl)) : undefined;
  const from = opts.from ?? 'Latchkey <no-reply@latchkey.local>';
  return {
    async send(m) {
      if (transport) {
        try {
          await (await transport).sendMail({ from, to: m.to, subject: m.subject, text: m.text });
        } catch (err) {
          opts.metrics?.mail.inc({ result: 'failed' });
          throw err;
        }
      }
      opts.metrics?.mail.inc({ result: transport ? 'sent' : 'outbox' });
      await opts.store.addOutboxMessage({
        tenantId: m.tenantId,
        to: m.to,
        subject: m.subject,
        body: m.text,
        transport: transport ? 'smtp' : 'outbox',
        createdAt: opts.clock.now(),
      });
      if (!transport) opts.logger.info({ to: m.to, subject: m.subject, body: m.text }, 'mail (no LATCHKEY_SMTP_URL: kept in the outbox)');
    },
    close() {
      void transport?.then((t) => t.close(), () => undefined);
    },
  };
}
