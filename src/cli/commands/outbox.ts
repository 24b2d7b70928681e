import { requireTenant } from '../../services/tenants.js';
import { need, parse, usageError, type Command } from '../context.js';

/** Mail kept in the outbox (all mail when LATCHKEY_SMTP_URL is not set): verification codes and the like. */
export const outboxCommand: Command = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  if (sub !== 'list') throw usageError('usage: latchkey outbox list --tenant T [--to EMAIL]');
  const { values } = parse(rest, { tenant: { type: 'string' }, to: { type: 'string' } });
  const d = await ctx.deps();
  const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
  const messages = await d.store.listOutbox(tenant.id, values.to);
  if (ctx.json) {
    ctx.printJson(messages.map((m) => ({ id: m.id, to: m.to, subject: m.subject, body: m.body, transport: m.transport, created_at: new Date(m.createdAt).toISOString() })));
    return;
  }
  if (messages.length === 0) ctx.print('(no mail)');
  for (const m of messages) ctx.print(`--- #${m.id} ${new Date(m.createdAt).toISOString()} to ${m.to} (${m.transport})\nSubject: ${m.subject}\n\n${m.body}`);
};
