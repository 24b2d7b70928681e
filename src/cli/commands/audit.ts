import type { Command } from 'commander';
import { requireTenant } from '../../services/tenants.js';
import { numberOption, UsageError, type Run } from '../context.js';

/** `--since`: an ISO time, or a duration back from now (taken from the store's clock when the command runs). */
type Since = { at: number } | { ago: number };

function since(value: string): Since {
  const rel = /^(\d+)([mhd])$/.exec(value);
  if (rel) return { ago: Number(rel[1]) * { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'] };
  const at = Date.parse(value);
  if (Number.isNaN(at)) throw new UsageError(`invalid --since '${value}': an ISO time (2026-01-31T12:00:00Z) or a duration (30m, 24h, 7d)`);
  return { at };
}

export function registerAudit(program: Command, run: Run): void {
  const audit = program.command('audit').description('the audit log: sign-ins, lockouts, changes made by operators and administrators');
  audit.command('list').description('list audit events, newest first')
    .option('--tenant <tenant>', "only this tenant's events (slug or id)")
    .option('--since <time>', 'only events since an ISO time (2026-01-31T12:00:00Z) or a duration ago (30m, 24h, 7d)', since)
    .option('--limit <n>', 'at most this many events, 1 to 100000 (default: 1000)', numberOption('invalid --limit: 1 to 100000', (_, n) => Number.isInteger(n) && n >= 1 && n <= 100_000))
    .action(run<{ tenant?: string; since?: Since; limit?: number }>(async (ctx, o) => {
      const d = await ctx.deps();
      const from = o.since === undefined ? undefined : 'at' in o.since ? o.since.at : d.clock.now() - o.since.ago;
      const tenant = o.tenant ? await requireTenant(d, o.tenant) : undefined;
      const events = await d.store.listAuditEvents({ ...(tenant ? { tenantId: tenant.id } : {}), ...(from !== undefined ? { since: from } : {}), limit: o.limit ?? 1000 });
      const rows = events.map((e) => ({
        time: new Date(e.at).toISOString(),
        tenant_id: e.tenantId,
        event: e.event,
        outcome: e.outcome,
        subject: e.subject,
        client_id: e.clientId,
        ip: e.ip,
        detail: e.detail,
        actor: e.actor,
      }));
      ctx.printList(rows, ['time', 'event', 'outcome', 'subject', 'actor', 'client_id', 'ip', 'detail']);
    }));
}
