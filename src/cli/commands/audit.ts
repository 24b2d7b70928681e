import { requireTenant } from '../../services/tenants.js';
import { parse, usageError, type Command } from '../context.js';
import { table } from '../output.js';

/** `latchkey audit list [--tenant T] [--since 2026-01-01T00:00:00Z|24h] [--limit N]` */
export const auditCommand: Command = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  if (sub !== 'list') throw usageError('usage: latchkey audit list [--tenant T] [--since ISO-TIME|DURATION] [--limit N]');
  const { values } = parse(rest, { tenant: { type: 'string' }, since: { type: 'string' }, limit: { type: 'string' } });
  const d = await ctx.deps();
  let since: number | undefined;
  if (values.since !== undefined) {
    const rel = /^(\d+)([mhd])$/.exec(values.since);
    if (rel) since = d.clock.now() - Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'];
    else {
      since = Date.parse(values.since);
      if (Number.isNaN(since)) throw usageError(`invalid --since '${values.since}': an ISO time (2026-01-31T12:00:00Z) or a duration (30m, 24h, 7d)`);
    }
  }
  const limit = values.limit === undefined ? 1000 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100_000) throw usageError('invalid --limit: 1 to 100000');
  const tenant = values.tenant ? await requireTenant(d, values.tenant) : undefined;
  const events = await d.store.listAuditEvents({ ...(tenant ? { tenantId: tenant.id } : {}), ...(since !== undefined ? { since } : {}), limit });
  const rows = events.map((e) => ({
    time: new Date(e.at).toISOString(),
    tenant_id: e.tenantId,
    event: e.event,
    outcome: e.outcome,
    subject: e.subject,
    client_id: e.clientId,
    ip: e.ip,
    detail: e.detail,
  }));
  if (ctx.json) ctx.printJson(rows);
  else ctx.print(table(rows, ['time', 'event', 'outcome', 'subject', 'client_id', 'ip', 'detail']));
};
