import type { Command } from 'commander';
import { requireTenant } from '../../services/tenants.js';
import { tenantOption, type Run } from '../context.js';

/** Mail kept in the outbox (all mail when LATCHKEY_SMTP_URL is not set): verification codes and the like. */
export function registerOutbox(program: Command, run: Run): void {
  const outbox = program.command('outbox').description('mail kept in the outbox (all mail when LATCHKEY_SMTP_URL is not set)');
  outbox.command('list').description("list a tenant's mail")
    .addOption(tenantOption())
    .option('--to <email>', 'only mail to this address')
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
