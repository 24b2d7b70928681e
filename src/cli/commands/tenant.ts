import { createTenant, requireTenant, setTenantSettings } from '../../services/tenants.js';
import { need, parse, usageError, type Command } from '../context.js';
import { table, tenantJson } from '../output.js';

const USAGE = `usage: latchkey tenant create <slug> [--display-name NAME] [--id GUID] [--issuer-pattern tenant|tfp] | tenant list
       latchkey tenant set --tenant T [--legacy-ropc-url URL --legacy-client-id ID [--legacy-scope S] | --no-legacy-ropc] [--extensions-app-id GUID]`;

export const tenantCommand: Command = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      const { values, positionals } = parse(rest, { 'display-name': { type: 'string' }, 'issuer-pattern': { type: 'string' }, id: { type: 'string' } }, true);
      const slug = need(positionals[0], '<slug>');
      if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}'`);
      const pattern = values['issuer-pattern'];
      if (pattern !== undefined && pattern !== 'tenant' && pattern !== 'tfp') throw usageError("invalid --issuer-pattern: 'tenant' or 'tfp'");
      const t = await createTenant((await ctx.deps()), slug, {
        ...(values['display-name'] ? { displayName: values['display-name'] } : {}),
        ...(pattern ? { issuerPattern: pattern } : {}),
        ...(values.id !== undefined ? { id: values.id } : {}),
      });
      if (ctx.json) ctx.printJson(tenantJson(ctx.config, t));
      else ctx.print(`created tenant ${t.slug} (${t.id})\nissuer: ${tenantJson(ctx.config, t).issuer}\npolicies: ${ctx.config.policiesDir}/${t.slug}/`);
      return;
    }
    case 'set': {
      const { values } = parse(rest, {
        tenant: { type: 'string' },
        'legacy-ropc-url': { type: 'string' },
        'legacy-client-id': { type: 'string' },
        'legacy-scope': { type: 'string' },
        'no-legacy-ropc': { type: 'boolean' },
        'extensions-app-id': { type: 'string' },
      });
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const url = values['legacy-ropc-url'];
      const clientId = values['legacy-client-id'];
      if ((url === undefined) !== (clientId === undefined)) throw usageError('give --legacy-ropc-url and --legacy-client-id together');
      if (values['no-legacy-ropc'] && url !== undefined) throw usageError('give either --legacy-ropc-url or --no-legacy-ropc');
      if (values['legacy-scope'] !== undefined && url === undefined) throw usageError('--legacy-scope goes with --legacy-ropc-url');
      if (url === undefined && !values['no-legacy-ropc'] && values['extensions-app-id'] === undefined) throw usageError(USAGE);
      const updated = await setTenantSettings(d, tenant, {
        ...(url !== undefined && clientId !== undefined ? { legacyRopc: { tokenUrl: url, clientId, ...(values['legacy-scope'] ? { scope: values['legacy-scope'] } : {}) } } : {}),
        ...(values['no-legacy-ropc'] ? { legacyRopc: null } : {}),
        ...(values['extensions-app-id'] !== undefined ? { extensionsAppId: values['extensions-app-id'] } : {}),
      });
      if (ctx.json) ctx.printJson(tenantJson(ctx.config, updated));
      else ctx.print(Object.entries(tenantJson(ctx.config, updated)).map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : (v ?? '')}`).join('\n'));
      return;
    }
    case 'list': {
      parse(rest, {});
      const rows = (await (await ctx.deps()).store.listTenants()).map((t) => tenantJson(ctx.config, t));
      if (ctx.json) ctx.printJson(rows);
      else ctx.print(table(rows, ['slug', 'id', 'display_name', 'default_policy']));
      return;
    }
    default:
      throw usageError(USAGE);
  }
};
