import { notFound } from '../../model/errors.js';
import { addIdentity, createUser, removeIdentity, requireUser } from '../../services/users.js';
import { requireTenant } from '../../services/tenants.js';
import { need, parse, usageError, type Command } from '../context.js';
import { createWriteStream, type WriteStream } from 'node:fs';
import { basename, resolve } from 'node:path';
import { graphFromUser } from '../../services/graph-users.js';
import { MfaService } from '../../services/mfa.js';
import { countRows, importUsers } from '../../services/user-import.js';
import { identitiesJson, table, userJson } from '../output.js';
import { progressReporter } from '../progress.js';

function identityLines(identities: ReturnType<typeof identitiesJson>): string {
  return identities.length === 0 ? '(none)' : identities.map((i) => `\n  ${i.signInType} ${i.issuer} ${i.issuerAssignedId}`).join('');
}

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
      const d = await ctx.deps();
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
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const rows = (await d.store.listUsers(tenant.id)).map((u) => userJson(u));
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
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const user = await requireUser(d, tenant, who);
      if (sub === 'disable' || sub === 'enable') {
        await d.store.setUserDisabled(tenant.id, user.id, sub === 'disable', d.clock.now());
        await d.audit.record({ tenantId: tenant.id, event: sub === 'disable' ? 'user_disabled' : 'user_enabled', outcome: 'success', subject: user.id, detail: 'cli' });
        const updated = await requireUser(d, tenant, user.id);
        if (ctx.json) ctx.printJson(userJson(updated));
        else ctx.print(`${sub}d user ${user.email}${sub === 'disable' ? ' (sessions ended, refresh tokens revoked)' : ''}`);
      } else if (sub === 'delete') {
        if (!(await d.store.deleteUser(tenant.id, user.id))) throw notFound(`no user '${who}'`);
        await d.audit.record({ tenantId: tenant.id, event: 'user_deleted', outcome: 'success', subject: user.id, detail: 'cli' });
        if (ctx.json) ctx.printJson({ id: user.id, deleted: true });
        else ctx.print(`deleted user ${user.email}`);
      } else {
        const shown = userJson(user, identitiesJson(tenant, user, await d.store.listUserIdentities(tenant.id, user.id)));
        if (ctx.json) ctx.printJson(shown);
        else ctx.print(Object.entries(shown).map(([k, v]) => `${k}: ${k === 'identities' ? identityLines(v as ReturnType<typeof identitiesJson>) : (v ?? '')}`).join('\n'));
      }
      return;
    }
    case 'identity': {
      const [verb, ...args] = rest;
      if (verb !== 'add' && verb !== 'remove') throw usageError('usage: latchkey user identity add|remove --tenant T --user U --issuer DOMAIN --issuer-assigned-id ID');
      const { values } = parse(args, { tenant: { type: 'string' }, user: { type: 'string' }, issuer: { type: 'string' }, 'issuer-assigned-id': { type: 'string' } });
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const user = await requireUser(d, tenant, need(values.user, '--user'));
      const identity = { issuer: need(values.issuer, '--issuer'), issuerAssignedId: need(values['issuer-assigned-id'], '--issuer-assigned-id') };
      const list = verb === 'add' ? await addIdentity(d, tenant, user, identity) : await removeIdentity(d, tenant, user, identity);
      const identities = identitiesJson(tenant, user, list);
      if (ctx.json) ctx.printJson({ id: user.id, identities });
      else ctx.print(`${verb === 'add' ? 'linked' : 'unlinked'} ${identity.issuer} ${identity.issuerAssignedId}; identities now:\n${identityLines(identities)}`);
      return;
    }
    case 'mfa': {
      // Support desk: what a user enrolled, and a reset when they lost their device.
      const [verb, ...args] = rest;
      if (verb !== 'show' && verb !== 'reset') throw usageError('usage: latchkey user mfa show|reset --tenant T --user U');
      const { values } = parse(args, { tenant: { type: 'string' }, user: { type: 'string' } });
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const user = await requireUser(d, tenant, need(values.user, '--user'));
      const mfa = new MfaService(d);
      if (verb === 'reset') {
        const n = await mfa.reset(tenant, user, 'cli');
        if (ctx.json) ctx.printJson({ id: user.id, removed: n });
        else ctx.print(`removed ${n} authenticator${n === 1 ? '' : 's'} of ${user.signInName ?? user.email ?? user.id}; the next sign-in that asks for a second factor enrols one again`);
        return;
      }
      const list = await mfa.authenticators(tenant, user.id);
      const shown = list.map((a) => ({
        id: a.id,
        kind: a.kind,
        label: a.label,
        created: new Date(a.createdAt).toISOString(),
        lastUsed: a.lastUsedAt === null ? null : new Date(a.lastUsedAt).toISOString(),
        ...(a.kind === 'recovery' ? { codesLeft: MfaService.recoveryCodesLeft([a]) } : {}),
      }));
      if (ctx.json) ctx.printJson({ id: user.id, locked: await mfa.locked(tenant, user.id), authenticators: shown });
      else if (shown.length === 0) ctx.print(`${user.signInName ?? user.email ?? user.id} has no second factor or passkey`);
      else ctx.print(table(shown.map((a) => ({ kind: a.kind, label: a.kind === 'recovery' ? `${a.codesLeft} codes left` : a.label, created: a.created, lastUsed: a.lastUsed ?? 'never', id: a.id })), ['kind', 'label', 'created', 'lastUsed', 'id']));
      return;
    }
    case 'import': {
      const { values, positionals } = parse(rest, { tenant: { type: 'string' }, report: { type: 'string' } }, true);
      const file = need(positionals[0], 'FILE (JSON Lines or a JSON array of Graph users)');
      if (positionals.length > 1) throw usageError(`unexpected argument '${positionals[1]}'`);
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const reportPath = resolve(values.report ?? `${basename(file)}.failed.jsonl`);
      const progress = progressReporter('importing users', countRows(resolve(file)));
      const summary = await importUsers(d, tenant, resolve(file), { reportPath, onProgress: (n) => progress.update(n) });
      progress.end(summary.imported + summary.updated + summary.skipped + summary.failed);
      if (ctx.json) ctx.printJson(summary);
      else {
        ctx.print(`imported ${summary.imported}, updated ${summary.updated}, skipped ${summary.skipped} (unchanged), failed ${summary.failed}`);
        if (summary.report) ctx.print(`failed rows and their reasons: ${summary.report}`);
      }
      if (summary.failed > 0) process.exitCode = 1;
      return;
    }
    case 'export': {
      const { values } = parse(rest, { tenant: { type: 'string' }, 'with-password-hashes': { type: 'boolean' }, output: { type: 'string' } });
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      // A file of password hashes is for the operator alone (mode 600).
      const out: NodeJS.WritableStream = values.output ? createWriteStream(resolve(values.output), { encoding: 'utf8', mode: 0o600 }) : process.stdout;
      let n = 0;
      for (const user of await d.store.listUsers(tenant.id)) {
        const row = graphFromUser(tenant, user, await d.store.listUserIdentities(tenant.id, user.id), { withPasswordHash: values['with-password-hashes'] === true });
        if (!out.write(JSON.stringify(row) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
        n += 1;
      }
      if (out !== process.stdout) {
        await new Promise<void>((r) => (out as WriteStream).end(() => r()));
        process.stderr.write(`exported ${n} users to ${values.output}\n`);
      }
      await d.audit.record({ tenantId: tenant.id, event: 'users_exported', outcome: 'success', detail: `${n} users${values['with-password-hashes'] ? ' with password hashes' : ''}` });
      return;
    }
    default:
      throw usageError('usage: latchkey user create|list|show|disable|enable|delete|identity|mfa|import|export …');
  }
};
