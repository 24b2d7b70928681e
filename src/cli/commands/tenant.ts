import { createTenant } from '../../provision.js';
import { need, parse, usageError, type Command } from '../context.js';
import { table, tenantJson } from '../output.js';

export const tenantCommand: Command = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      const { values, positionals } = parse(rest, { 'display-name': { type: 'string' }, 'issuer-pattern': { type: 'string' } }, true);
      const slug = need(positionals[0], '<slug>');
      if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}'`);
      const pattern = values['issuer-pattern'];
      if (pattern !== undefined && pattern !== 'tenant' && pattern !== 'tfp') throw usageError("invalid --issuer-pattern: 'tenant' or 'tfp'");
      const t = await createTenant(ctx.deps(), slug, {
        ...(values['display-name'] ? { displayName: values['display-name'] } : {}),
        ...(pattern ? { issuerPattern: pattern } : {}),
      });
      if (ctx.json) ctx.printJson(tenantJson(ctx.config, t));
      else ctx.print(`created tenant ${t.slug} (${t.id})\nissuer: ${tenantJson(ctx.config, t).issuer}\npolicies: ${ctx.config.policiesDir}/${t.slug}/`);
      return;
    }
    case 'list': {
      parse(rest, {});
      const rows = (await ctx.deps().store.listTenants()).map((t) => tenantJson(ctx.config, t));
      if (ctx.json) ctx.printJson(rows);
      else ctx.print(table(rows, ['slug', 'id', 'display_name', 'default_policy']));
      return;
    }
    default:
      throw usageError('usage: latchkey tenant create <slug> [--display-name NAME] | tenant list');
  }
};
