import type { Command } from 'commander';
import { requireTenant } from '../../services/tenants.js';
import { tenantOption, type Run } from '../context.js';

/**
 * Mail and text messages kept in the outbox (all of them when LATCHKEY_SMTP_URL / LATCHKEY_SMS_URL are
 * not set): verification codes and the like. A text message's transport is `sms` or `sms-outbox`.
 */
export function registerOutbox(program: Command, run: Run): void {
  const outbox = program.command('outbox').description('mail and text messages kept in the outbox (all of them when LATCHKEY_SMTP_URL / LATCHKEY_SMS_URL are not set)');
  outbox.command('list').description("list a tenant's mail and text messages")
    .addOption(tenantOption())
    .option('--to <address>', 'only messages to this e-mail address or phone number (E.164)')
    .action(run<{ tenant: string; to?: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      const messages = await d.store.listOutbox(tenant.id, o.to);
      if (ctx.json) {
        ctx.printJson(messages.map((m) => ({ id: m.id, to: m.to, subject: m.subject, body: m.body, transport: m.transport, created_at: new Date(m.createdAt).toISOString() })));
        return;
      }
      if (messages.length === 0) ctx.print('(no mail)');
      for (const m of messages) ctx.print(`--- #${m.id} ${new Date(m.createdAt).toISOString()} to ${m.to} (${m.transport})\nSubject: ${m.subject}\n\n${m.body}`);
    }));
}
