import { Option, type Command } from 'commander';
import { accountName } from '../../model/local-identities.js';
import { createWriteStream, type WriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { createLocalUser, deleteUser, linkIdentity, requireUser, requireUserByIdentity, setEnabled, unlinkIdentity, type Origin } from '../../services/users.js';
import { requireTenant } from '../../services/tenants.js';
import { graphFromUser } from '../../services/graph-users.js';
import { MfaService, smsDataOf, smsFactorOf } from '../../services/mfa.js';
import { countRows, defaultReportPath, importUsers } from '../../services/user-import.js';
import { oneOf, required, tenantOption, UsageError, type CliContext, type Run } from '../context.js';
import { addDirectoryRole, removeDirectoryRole } from '../../services/users-roles.js';
import { BUILTIN_ATTRIBUTES, extensionsAppIdOf, graphIdentities, type GraphIdentity } from '../../model/graph-user.js';
import { directoryRoles, type DirectoryRole, type Tenant, type User, type UserIdentity } from '../../model/entities.js';
import { userJson } from '../../model/views.js';
import { table } from '../output.js';
import { progressReporter } from '../progress.js';

interface Who { tenant: string; user: string }

/** The CLI's changes are the operator's, audited as such. */
const CLI: Origin = { by: 'cli' };

const userOption = () => required('--user <user>', "the user's object id, e-mail or user name");

function identityLines(identities: GraphIdentity[]): string {
  return identities.length === 0 ? '(none)' : identities.map((i) => `\n  ${i.signInType} ${i.issuer} ${i.issuerAssignedId}`).join('');
}

/** `--identity issuer:id`: split at the last colon (issuers may be URLs, with colons of their own). */
function parseIdentity(value: string): UserIdentity {
  const at = value.lastIndexOf(':');
  if (at <= 0 || at === value.length - 1) throw new UsageError(`invalid --identity '${value}': issuer:id, such as google.com:1234 or https://appleid.apple.com:001234.abc`);
  return { issuer: value.slice(0, at), issuerAssignedId: value.slice(at + 1) };
}

/**
 * Everything a user has, for `user show`: the fields `user create` shows, the identities in Graph's
 * shape, and Graph's names for the rest (otherMails, built-in and extension attributes), so what an
 * export carries can be looked at user by user. Phone identities are among the identities
 * (`signInType: "phoneNumber"`, E.164); the SMS second factor's number is `smsPhoneNumber`.
 */
function shownUser(tenant: Tenant, u: User, upstream: UserIdentity[], smsPhoneNumber: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { ...userJson(u, graphIdentities(tenant, u, upstream)), otherMails: u.otherMails };
  if (smsPhoneNumber !== undefined) out.smsPhoneNumber = smsPhoneNumber;
  if (u.mustChangePassword) out.force_change_password_next_sign_in = true;
  if (u.passwordAtLegacy) out.password_at_old_provider = true;
  const appId = extensionsAppIdOf(tenant);
  for (const [name, value] of Object.entries(u.attributes)) out[(BUILTIN_ATTRIBUTES as readonly string[]).includes(name) ? name : `extension_${appId}_${name}`] = value;
  return out;
}

async function findUser(ctx: CliContext, o: { tenant: string; user?: string; identity?: UserIdentity }) {
  const d = await ctx.deps();
  const tenant = await requireTenant(d, o.tenant);
  return { d, tenant, user: o.identity ? await requireUserByIdentity(d, tenant, o.identity) : await requireUser(d, tenant, o.user!) };
}

/** `user show|disable|enable|delete`: one user, named by --user, --identity or as the argument. */
function registerOne(user: Command, run: Run, verb: 'show' | 'disable' | 'enable' | 'delete', description: string) {
  user.command(verb).description(description)
    .argument('[user]', 'the object id, e-mail, user name or phone number (or give --user or --identity)')
    .addOption(tenantOption())
    .option('--user <user>', "the user's object id, e-mail, user name or phone number")
    .option('--identity <issuer:id>', 'the user with this identity: an upstream one (google.com:1234, https://appleid.apple.com:001234.abc) or a local one ({tenant}.onmicrosoft.com:jdoe)')
    .action(run<{ tenant: string; user?: string; identity?: string }>(async (ctx, o, [named]) => {
      const who = o.user ?? named;
      if (o.identity !== undefined && who !== undefined) throw new UsageError('give the user once: --user, --identity or the argument');
      if (o.identity === undefined && (who === undefined || who === '')) throw new UsageError('missing --user <id, email or user name> (or --identity issuer:id)');
      const { d, tenant, user: u } = await findUser(ctx, { tenant: o.tenant, ...(who !== undefined ? { user: who } : {}), ...(o.identity !== undefined ? { identity: parseIdentity(o.identity) } : {}) });
      if (verb === 'disable' || verb === 'enable') {
        const updated = await setEnabled(d, tenant, u, verb === 'enable', CLI);
        if (ctx.json) ctx.printJson(userJson(updated));
        else ctx.print(`${verb}d user ${accountName(u)}${verb === 'disable' ? ' (sessions ended, refresh tokens revoked)' : ''}`);
      } else if (verb === 'delete') {
        await deleteUser(d, tenant, u, CLI);
        if (ctx.json) ctx.printJson({ id: u.id, deleted: true });
        else ctx.print(`deleted user ${accountName(u)}`);
      } else {
        const shown: Record<string, unknown> = { ...shownUser(tenant, u, await d.store.listUserIdentities(tenant.id, u.id), smsFactorOf(await d.store.listAuthenticators(tenant.id, u.id))?.phoneNumber), directory_roles: await d.store.listUserRoles(tenant.id, u.id) };
        if (ctx.json) ctx.printJson(shown);
        else ctx.print(Object.entries(shown).map(([k, v]) => `${k}: ${k === 'identities' ? identityLines(v as GraphIdentity[]) : Array.isArray(v) ? v.join(', ') || '(none)' : (v ?? '')}`).join('\n'));
      }
    }));
}

/** `user identity add|remove`: link or unlink an account at an upstream identity provider. */
function registerIdentity(user: Command, run: Run) {
  const identity = user.command('identity').description("a user's accounts at upstream identity providers (Graph's federated identities)");
  for (const verb of ['add', 'remove'] as const) {
    identity.command(verb).description(verb === 'add' ? 'link an upstream account: the user signs in with it from then on' : 'unlink an upstream account')
      .addOption(tenantOption()).addOption(userOption())
      .addOption(required('--issuer <domain>', "the identity provider's domain, such as google.com"))
      .addOption(required('--issuer-assigned-id <id>', "the user's id at that provider (its sub)"))
      .action(run<Who & { issuer: string; issuerAssignedId: string }>(async (ctx, o) => {
        const { d, tenant, user: u } = await findUser(ctx, o);
        const given = { issuer: o.issuer, issuerAssignedId: o.issuerAssignedId };
        const list = verb === 'add' ? await linkIdentity(d, tenant, u, given, CLI) : await unlinkIdentity(d, tenant, u, given, CLI);
        const identities = graphIdentities(tenant, u, list);
        if (ctx.json) ctx.printJson({ id: u.id, identities });
        else ctx.print(`${verb === 'add' ? 'linked' : 'unlinked'} ${given.issuer} ${given.issuerAssignedId}; identities now:\n${identityLines(identities)}`);
      }));
  }
}

/** `user role add|remove|list`: directory roles (Azure's GlobalAdministrator, GlobalReader), carried in tokens as `wids`. */
function registerRoles(user: Command, run: Run) {
  const role = user.command('role').description(`a user's directory roles (${directoryRoles.join(', ')}): in id tokens as wids; a GlobalAdministrator consents to multi-tenant apps for the tenant`);
  for (const verb of ['add', 'remove'] as const) {
    role.command(verb).description(verb === 'add' ? 'give the user a directory role' : 'take a directory role away')
      .addOption(tenantOption()).addOption(userOption())
      .addOption(required(`--role <${directoryRoles.join('|')}>`, 'the role').argParser(oneOf(directoryRoles, (v) => `invalid --role '${v}': one of ${directoryRoles.join(', ')}`)))
      .action(run<Who & { role: DirectoryRole }>(async (ctx, o) => {
        const { d, tenant, user: u } = await findUser(ctx, o);
        const roles = await (verb === 'add' ? addDirectoryRole : removeDirectoryRole)(d, tenant, u, o.role, CLI);
        if (ctx.json) ctx.printJson({ id: u.id, directory_roles: roles });
        else ctx.print(`${verb === 'add' ? 'gave' : 'took'} ${o.role} ${verb === 'add' ? 'to' : 'from'} ${accountName(u)}; roles now: ${roles.join(', ') || '(none)'}`);
      }));
  }
  role.command('list').description("list the user's directory roles")
    .addOption(tenantOption()).addOption(userOption())
    .action(run<Who>(async (ctx, o) => {
      const { d, tenant, user: u } = await findUser(ctx, o);
      const roles = await d.store.listUserRoles(tenant.id, u.id);
      if (ctx.json) ctx.printJson({ id: u.id, directory_roles: roles });
      else ctx.print(roles.join('\n') || '(none)');
    }));
}

/** `user mfa show|reset`: for the support desk, what a user enrolled, and a reset when they lost their device. */
function registerMfa(user: Command, run: Run) {
  const mfa = user.command('mfa').description("a user's second factors and passkeys");
  mfa.command('show').description('list what the user enrolled, and whether they are locked out')
    .addOption(tenantOption()).addOption(userOption())
    .action(run<Who>(async (ctx, o) => {
      const { d, tenant, user: u } = await findUser(ctx, o);
      const service = new MfaService(d);
      const shown = (await service.authenticators(tenant, u.id)).map((a) => ({
        id: a.id,
        kind: a.kind,
        label: a.label,
        created: new Date(a.createdAt).toISOString(),
        lastUsed: a.lastUsedAt === null ? null : new Date(a.lastUsedAt).toISOString(),
        ...(a.kind === 'recovery' ? { codesLeft: MfaService.recoveryCodesLeft([a]) } : {}),
        ...(a.kind === 'sms' ? { phoneNumber: smsDataOf(a).phoneNumber, phoneType: smsDataOf(a).phoneType } : {}),
      }));
      if (ctx.json) ctx.printJson({ id: u.id, locked: await service.locked(tenant, u.id), authenticators: shown });
      else if (shown.length === 0) ctx.print(`${accountName(u)} has no second factor or passkey`);
      else ctx.print(table(shown.map((a) => ({ kind: a.kind, label: a.kind === 'recovery' ? `${a.codesLeft} codes left` : a.kind === 'sms' ? `${a.label ?? 'Phone'} ${a.phoneNumber ?? ''}` : a.label, created: a.created, lastUsed: a.lastUsed ?? 'never', id: a.id })), ['kind', 'label', 'created', 'lastUsed', 'id']));
    }));
  mfa.command('reset').description('remove every second factor and passkey; the next sign-in that asks for one enrols again')
    .addOption(tenantOption()).addOption(userOption())
    .action(run<Who>(async (ctx, o) => {
      const { d, tenant, user: u } = await findUser(ctx, o);
      const n = await new MfaService(d).reset(tenant, u, 'cli');
      if (ctx.json) ctx.printJson({ id: u.id, removed: n });
      else ctx.print(`removed ${n} authenticator${n === 1 ? '' : 's'} of ${accountName(u)}; the next sign-in that asks for a second factor enrols one again`);
    }));
}

export function registerUser(program: Command, run: Run): void {
  const user = program.command('user').description('users: create, show, disable, delete, identities, directory roles, second factors, import and export');

  user.command('create').description('create a local account (e-mail and password)')
    .addOption(tenantOption())
    .addOption(required('--email <email>', 'the e-mail the user signs in with'))
    .addOption(new Option('--password <password>', 'the password (visible to other users of this machine: prefer --password-stdin)').conflicts('passwordStdin'))
    .option('--password-stdin', 'read the password from standard input')
    .option('--given-name <name>', 'given name')
    .option('--family-name <name>', 'family name')
    .option('--display-name <name>', 'display name')
    .action(run<{ tenant: string; email: string; password?: string; passwordStdin?: boolean; givenName?: string; familyName?: string; displayName?: string }>(async (ctx, o) => {
      if (o.password === undefined && o.passwordStdin !== true) throw new UsageError('give exactly one of --password or --password-stdin');
      const password = o.password ?? (await ctx.readStdin()).replace(/\r?\n$/, '');
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      const created = await createLocalUser(d, tenant, {
        email: o.email,
        password,
        ...(o.givenName ? { givenName: o.givenName } : {}),
        ...(o.familyName ? { familyName: o.familyName } : {}),
        ...(o.displayName ? { displayName: o.displayName } : {}),
      }, CLI);
      if (ctx.json) ctx.printJson(userJson(created));
      else ctx.print(`created user ${created.email} (oid ${created.id})`);
    }));

  user.command('list').description("list a tenant's users").addOption(tenantOption())
    .action(run<{ tenant: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      ctx.printList((await d.store.listUsers(tenant.id)).map((u) => userJson(u)), ['id', 'email', 'display_name', 'disabled']);
    }));

  registerOne(user, run, 'show', 'show a user with their identities');
  registerOne(user, run, 'disable', "disable a user: sessions end, refresh tokens are revoked, sign-in is refused");
  registerOne(user, run, 'enable', 'enable a disabled user');
  registerOne(user, run, 'delete', 'delete a user');
  registerIdentity(user, run);
  registerRoles(user, run);
  registerMfa(user, run);

  user.command('import').description("import users as B2C's Microsoft Graph returns them (JSON Lines of users or of Graph pages, a JSON array, a Graph list response, or PowerShell's Get-MgUser | ConvertTo-Json): ids, identities, addresses, extension attributes and password hashes kept; a re-run updates changed rows only")
    .argument('<file>', 'the users file')
    .addOption(tenantOption())
    .option('--report <file>', 'where failed rows and their reasons go (default: <file>.failed.jsonl beside the input)')
    .action(run<{ tenant: string; report?: string }>(async (ctx, o, [file]) => {
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      const reportPath = resolve(o.report ?? defaultReportPath(resolve(file!)));
      const progress = progressReporter('importing users', countRows(resolve(file!)));
      const summary = await importUsers(d, tenant, resolve(file!), { reportPath, onProgress: (n) => progress.update(n) });
      progress.end(summary.imported + summary.updated + summary.skipped + summary.failed);
      if (ctx.json) ctx.printJson(summary);
      else {
        ctx.print(`imported ${summary.imported}, updated ${summary.updated}, skipped ${summary.skipped} (unchanged), failed ${summary.failed}`);
        if (summary.report) ctx.print(`failed rows and their reasons: ${summary.report}`);
      }
      // Failed rows are in the report; the run failed only when none of the file is in.
      if (summary.failed > 0 && summary.imported + summary.updated + summary.skipped === 0) process.exitCode = 1;
    }));

  user.command('export').description("write a tenant's users as JSON Lines in Microsoft Graph's shape (the shape user import reads)")
    .addOption(tenantOption())
    .option('--with-password-hashes', 'include password hashes (the output file is made readable by its owner only)')
    .option('--output <file>', 'write to a file instead of standard output')
    .action(run<{ tenant: string; withPasswordHashes?: boolean; output?: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      // A file of password hashes is for the operator alone (mode 600).
      const out: NodeJS.WritableStream = o.output ? createWriteStream(resolve(o.output), { encoding: 'utf8', mode: 0o600 }) : process.stdout;
      let n = 0;
      for (const u of await d.store.listUsers(tenant.id)) {
        const row = graphFromUser(tenant, u, await d.store.listUserIdentities(tenant.id, u.id), { withPasswordHash: o.withPasswordHashes === true });
        if (!out.write(JSON.stringify(row) + '\n')) await new Promise<void>((r) => out.once('drain', () => r()));
        n += 1;
      }
      if (out !== process.stdout) {
        await new Promise<void>((r) => (out as WriteStream).end(() => r()));
        process.stderr.write(`exported ${n} users to ${o.output}\n`);
      }
      await d.audit.record({ tenantId: tenant.id, event: 'users_exported', outcome: 'success', detail: `${n} users${o.withPasswordHashes ? ' with password hashes' : ''}` });
    }));
}
