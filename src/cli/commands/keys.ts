import { Option, type Command } from 'commander';
import { retireKeys, rotateKeys } from '../../services/keys.js';
import { requireTenant } from '../../services/tenants.js';
import { publishedKeys } from '../../tokens/keyring.js';
import { numberOption, tenantOption, type Run } from '../context.js';
import { keyJson } from '../../model/views.js';


export function registerKeys(program: Command, run: Run): void {
  const keys = program.command('keys').description("a tenant's token-signing keys: list, rotate, retire");

  keys.command('list').description('list the keys and whether each is published in the JWKS').addOption(tenantOption())
    .action(run<{ tenant: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      const all = await d.store.listSigningKeys(tenant.id);
      const published = new Set(publishedKeys(all, d.clock.now()).map((k) => k.kid));
      ctx.printList(all.map((k) => ({ ...keyJson(k), published: published.has(k.kid) })), ['kid', 'status', 'published', 'created_at', 'publish_until']);
    }));

  keys.command('rotate').description('make a new active key; the previous one stays published for the grace period, so tokens it signed still verify')
    .addOption(tenantOption())
    .addOption(new Option('--grace-hours <hours>', 'how long the previous key stays published (default: 48)')
      .argParser(numberOption('invalid --grace-hours: a number of hours, 0 to 8760', (_, h) => Number.isFinite(h) && h >= 0 && h <= 24 * 365)))
    .action(run<{ tenant: string; graceHours?: number }>(async (ctx, o) => {
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      const graceMs = o.graceHours === undefined ? undefined : o.graceHours * 3600_000;
      const key = await rotateKeys(d, tenant, graceMs);
      if (ctx.json) ctx.printJson(keyJson(key));
      else ctx.print(`new active key ${key.kid}; the previous key stays published for ${(graceMs ?? 48 * 3600_000) / 3600_000} h`);
    }));

  keys.command('retire').description('stop publishing replaced keys now (all of them, or one)')
    .addOption(tenantOption())
    .option('--kid <kid>', 'retire only this key')
    .action(run<{ tenant: string; kid?: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      const retired = await retireKeys(d, await requireTenant(d, o.tenant), o.kid);
      if (ctx.json) ctx.printJson({ retired });
      else ctx.print(retired.length > 0 ? `retired ${retired.join(', ')}` : 'no replaced keys to retire');
    }));
}
