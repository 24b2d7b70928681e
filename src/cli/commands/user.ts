import { createUser, requireTenant, requireUser, ProvisionError } from '../../provision.js';
import { need, parse, usageError, type Command } from '../context.js';
import { table, userJson } from '../output.js';

export const userCommand: Command = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      const { values } = parse(rest, {
        tenant: { type: 'string' },
        email: { type: 'string' },
        password: { type: 'string' },
        'password-stdin': { type: 'boolean' },
        'given-name': { type: 'string' },
        'family-name': { type: 'string' },
        'display-name': { type: 'string' },
      });
      if ((values.password !== undefined) === (values['password-stdin'] === true)) throw usageError('give exactly one of --password or --password-stdin');
      const password = values.password ?? (await ctx.readStdin()).replace(/\r?\n$/, '');
      const d = ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const user = await createUser(d, tenant, {
        email: need(values.email, '--email'),
        password,
        ...(values['given-name'] ? { givenName: values['given-name'] } : {}),
        ...(values['family-name'] ? { familyName: values['family-name'] } : {}),
        ...(values['display-name'] ? { displayName: values['display-name'] } : {}),
      });
      if (ctx.json) ctx.printJson(userJson(user));
      else ctx.print(`created user ${user.email} (oid ${user.id})`);
      return;
    }
    case 'list': {
      const { values } = parse(rest, { tenant: { type: 'string' } });
      const d = ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const rows = (await d.store.listUsers(tenant.id)).map(userJson);
      if (ctx.json) ctx.printJson(rows);
      else ctx.print(table(rows, ['id', 'email', 'display_name', 'disabled']));
      return;
    }
    case 'show':
    case 'disable':
    case 'enable':
    case 'delete': {
      const { values, positionals } = parse(rest, { tenant: { type: 'string' }, user: { type: 'string' } }, true);
      const who = need(values.user ?? positionals[0], '--user <id or email>');
      const d = ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const user = await requireUser(d, tenant, who);
      if (sub === 'disable' || sub === 'enable') {
        await d.store.setUserDisabled(tenant.id, user.id, sub === 'disable', d.clock.now());
        await d.audit.record({ tenantId: tenant.id, event: sub === 'disable' ? 'user_disabled' : 'user_enabled', outcome: 'success', subject: user.id, detail: 'cli' });
        const updated = await requireUser(d, tenant, user.id);
        if (ctx.json) ctx.printJson(userJson(updated));
        else ctx.print(`${sub}d user ${user.email}${sub === 'disable' ? ' (sessions ended, refresh tokens revoked)' : ''}`);
      } else if (sub === 'delete') {
        if (!(await d.store.deleteUser(tenant.id, user.id))) throw new ProvisionError(`no user '${who}'`);
        await d.audit.record({ tenantId: tenant.id, event: 'user_deleted', outcome: 'success', subject: user.id, detail: 'cli' });
        if (ctx.json) ctx.printJson({ id: user.id, deleted: true });
        else ctx.print(`deleted user ${user.email}`);
      } else if (ctx.json) ctx.printJson(userJson(user));
      else ctx.print(Object.entries(userJson(user)).map(([k, v]) => `${k}: ${v ?? ''}`).join('\n'));
      return;
    }
    default:
      throw usageError('usage: latchkey user create|list|show|disable|enable|delete …');
  }
};
