import { Option, type Command } from 'commander';
import { retireKeys, rotateKeys, type KeyOwner } from '../../services/keys.js';
import { requireTenant } from '../../services/tenants.js';
import { publishedKeys } from '../../tokens/keyring.js';
import { COMMON_KEY_SET } from '../../model/entities.js';
import { numberOption, UsageError, type CliContext, type Run } from '../context.js';
import { keyJson } from '../../model/views.js';
import type { ProvisionDeps } from '../../services/deps.js';

interface Whose { tenant?: string; common?: boolean }

/** `--tenant t` or `--common` (the instance's keys, which sign multi-tenant apps' tokens): exactly one. */
function whoseOptions(cmd: Command): Command {
  return cmd
    .option('--tenant <tenant>', "the tenant's slug or id")
    .option('--common', "the instance's keys instead of a tenant's: they sign multi-tenant apps' tokens (published at /common/discovery/v2.0/keys and in every tenant's JWKS)");
}

async function owner(ctx: CliContext, o: Whose): Promise<{ d: ProvisionDeps; owner: KeyOwner; id: string }> {
  if ((o.tenant === undefined) === (o.common !== true)) throw new UsageError('give exactly one of --tenant <tenant> or --common');
  const d = await ctx.deps();
  if (o.common) return { d, owner: COMMON_KEY_SET, id: COMMON_KEY_SET };
  const tenant = await requireTenant(d, o.tenant!);
  return { d, owner: tenant, id: tenant.id };
}

export function registerKeys(program: Command, run: Run): void {
  const keys = program.command('keys').description("token-signing keys, a tenant's or the instance's (--common): list, rotate (in one step or two), retire");

  whoseOptions(keys.command('list').description('list the keys and whether each is published in the JWKS'))
    .action(run<Whose>(async (ctx, o) => {
      const { d, id } = await owner(ctx, o);
      const all = await d.store.listSigningKeys(id);
      const published = new Set(publishedKeys(all, d.clock.now()).map((k) => k.kid));
      ctx.printList(all.map((k) => ({ ...keyJson(k), published: published.has(k.kid) })), ['kid', 'status', 'published', 'created_at', 'publish_until']);
    }));

  whoseOptions(keys.command('rotate').description('make the prepared next key (or a new one) active; the previous one stays published for the grace period, so tokens it signed still verify. With --prepare: publish a next key first, signing nothing with it'))
    .option('--prepare', 'publish the next key in the JWKS and SAML metadata without signing with it; a later `keys rotate` makes it active')
    .addOption(new Option('--grace-hours <hours>', 'how long the previous key stays published (default: 48)')
      .argParser(numberOption('invalid --grace-hours: a number of hours, 0 to 8760', (_, h) => Number.isFinite(h) && h >= 0 && h <= 24 * 365)))
    .action(run<Whose & { graceHours?: number; prepare?: boolean }>(async (ctx, o) => {
      const { d, owner: whose } = await owner(ctx, o);
      const graceMs = o.graceHours === undefined ? undefined : o.graceHours * 3600_000;
      const key = await rotateKeys(d, whose, { ...(graceMs !== undefined ? { graceMs } : {}), ...(o.prepare ? { prepare: true } : {}) });
      if (ctx.json) ctx.printJson(keyJson(key));
      else if (o.prepare) ctx.print(`next key ${key.kid} published (not signing yet); run keys rotate to make it active once clients have read it`);
      else ctx.print(`new active key ${key.kid}; the previous key stays published for ${(graceMs ?? 48 * 3600_000) / 3600_000} h`);
    }));

  whoseOptions(keys.command('retire').description('stop publishing replaced keys now (all of them, or one)'))
    .option('--kid <kid>', 'retire only this key')
    .action(run<Whose & { kid?: string }>(async (ctx, o) => {
      const { d, owner: whose } = await owner(ctx, o);
      const retired = await retireKeys(d, whose, o.kid);
      if (ctx.json) ctx.printJson({ retired });
      else ctx.print(retired.length > 0 ? `retired ${retired.join(', ')}` : 'no replaced keys to retire');
    }));
}
