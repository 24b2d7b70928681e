import { retireKeys, rotateKeys } from '../../services/keys.js';
import { requireTenant } from '../../services/tenants.js';
import { publishedKeys } from '../../tokens/keyring.js';
import { need, parse, usageError, type Command } from '../context.js';
import { keyJson, table } from '../output.js';

export const keysCommand: Command = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  const { values } = parse(rest, { tenant: { type: 'string' }, kid: { type: 'string' }, 'grace-hours': { type: 'string' } });
  const d = await ctx.deps();
  switch (sub) {
    case 'list': {
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const now = d.clock.now();
      const keys = await d.store.listSigningKeys(tenant.id);
      const published = new Set(publishedKeys(keys, now).map((k) => k.kid));
      const rows = keys.map((k) => ({ ...keyJson(k), published: published.has(k.kid) }));
      if (ctx.json) ctx.printJson(rows);
      else ctx.print(table(rows, ['kid', 'status', 'published', 'created_at', 'publish_until']));
      return;
    }
    case 'rotate': {
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      let graceMs: number | undefined;
      if (values['grace-hours'] !== undefined) {
        const h = Number(values['grace-hours']);
        if (!Number.isFinite(h) || h < 0 || h > 24 * 365) throw usageError('invalid --grace-hours: a number of hours, 0 to 8760');
        graceMs = h * 3600_000;
      }
      const key = await rotateKeys(d, tenant, graceMs);
      if (ctx.json) ctx.printJson(keyJson(key));
      else ctx.print(`new active key ${key.kid}; the previous key stays published for ${(graceMs ?? 48 * 3600_000) / 3600_000} h`);
      return;
    }
    case 'retire': {
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const retired = await retireKeys(d, tenant, values.kid);
      if (ctx.json) ctx.printJson({ retired });
      else ctx.print(retired.length > 0 ? `retired ${retired.join(', ')}` : 'no replaced keys to retire');
      return;
    }
    default:
      throw usageError('usage: latchkey keys list|rotate|retire --tenant T [--kid KID] [--grace-hours H]');
  }
};
