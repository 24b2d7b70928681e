import { Option, type Command } from 'commander';
import { createTenant, MAX_LEGACY_RATE, requireTenant, setTenantSettings } from '../../services/tenants.js';
import { numberOption, oneOf, required, tenantOption, UsageError, type CliContext, type Run } from '../context.js';
import { issuerFor } from '../../model/issuer.js';
import type { Tenant } from '../../model/entities.js';
import { tenantJson } from '../../model/views.js';

/** The tenant's JSON view, with its issuer for the default policy at this server's base URL. */
const shown = (ctx: CliContext, t: Tenant) => tenantJson(t, issuerFor(ctx.config.baseUrl, t, t.defaultPolicy));
import { listTenantSecrets, removeTenantSecret, setTenantSecret } from '../../services/tenant-secrets.js';
import { addEmailDomain, listEmailDomains, removeEmailDomain } from '../../services/email-domains.js';
import { addTenantDomain, listTenantDomains, removeTenantDomain, type DomainView } from '../../services/tenant-domains.js';

interface SetOptions {
  tenant: string;
  legacyRopcUrl?: string;
  legacyClientId?: string;
  legacyScope?: string;
  /** false when --no-legacy-ropc is given (commander's negated flag). */
  legacyRopc: boolean;
  extensionsAppId?: string;
  b2cName?: string | false;
  legacyRate?: number;
}

export function registerTenant(program: Command, run: Run): void {
  const tenant = program.command('tenant').description('tenants: create, list, change settings, custom domains, email domains, secrets');

  tenant.command('create').description("create a tenant and copy the standard policies into its policies folder")
    .argument('<slug>', "the tenant's short name (lower-case letters, digits, dashes)")
    .option('--display-name <name>', "the tenant's display name")
    .option('--id <guid>', "keep a given tenant id, such as a B2C tenant's (and so its issuer)")
    .option('--b2c-name <name>', "the B2C tenant's name when it is not the slug (contosob2c of contosob2c.onmicrosoft.com): it names the tenant in URLs and issues its local identities")
    .addOption(new Option('--issuer-pattern <tenant|tfp>', "one issuer per tenant, {base}/{tenant id}/v2.0/ (tenant, the default), or per policy, {base}/tfp/{tenant id}/{policy}/v2.0/ (tfp)").argParser(oneOf(['tenant', 'tfp'] as const, () => "invalid --issuer-pattern: 'tenant' or 'tfp'")))
    .action(run<{ displayName?: string; id?: string; issuerPattern?: 'tenant' | 'tfp'; b2cName?: string }>(async (ctx, o, [slug]) => {
      const t = await createTenant(await ctx.deps(), slug!, {
        ...(o.displayName ? { displayName: o.displayName } : {}),
        ...(o.issuerPattern ? { issuerPattern: o.issuerPattern } : {}),
        ...(o.id !== undefined ? { id: o.id } : {}),
        ...(o.b2cName !== undefined ? { b2cName: o.b2cName } : {}),
      });
      if (ctx.json) ctx.printJson(shown(ctx, t));
      else ctx.print(`created tenant ${t.slug} (${t.id})\nissuer: ${shown(ctx, t).issuer}\npolicies: ${ctx.config.policiesDir}/${t.slug}/`);
    }));

  tenant.command('list').description('list the tenants')
    .action(run(async (ctx) => {
      ctx.printList((await (await ctx.deps()).store.listTenants()).map((t) => shown(ctx, t)), ['slug', 'id', 'display_name', 'default_policy']);
    }));

  tenant.command('set').description("change a tenant's settings: the old identity provider's ROPC endpoint for just-in-time password migration and its rate, the extensions app, the B2C tenant's name")
    .addOption(tenantOption())
    .option('--legacy-ropc-url <url>', "the old tenant's ROPC token endpoint, where passwords are checked once at first sign-in")
    .option('--legacy-client-id <id>', 'the client id used at that endpoint (with --legacy-ropc-url)')
    .option('--legacy-scope <scope>', "the scope sent there (default: 'openid <client id>')")
    .addOption(new Option('--no-legacy-ropc', 'stop migrating passwords from the old identity provider').conflicts('legacyRopcUrl'))
    .option('--legacy-rate <n>', 'calls per second to the old identity provider at most (default 20)', numberOption(`invalid --legacy-rate: calls per second, 1 to ${MAX_LEGACY_RATE}`, (_, n) => Number.isInteger(n) && n >= 1 && n <= MAX_LEGACY_RATE))
    .option('--extensions-app-id <guid>', "the b2c-extensions-app's id, which names imported extension attributes")
    .option('--b2c-name <name>', "the B2C tenant's name (contosob2c of contosob2c.onmicrosoft.com): it names the tenant in URLs and issues its local identities")
    .option('--no-b2c-name', "the tenant has no B2C name of its own (its slug names its domain again)")
    .action(run<SetOptions>(async (ctx, o) => {
      const url = o.legacyRopcUrl;
      const clientId = o.legacyClientId;
      const stop = o.legacyRopc === false;
      if ((url === undefined) !== (clientId === undefined)) throw new UsageError('give --legacy-ropc-url and --legacy-client-id together');
      if (o.legacyScope !== undefined && url === undefined) throw new UsageError('--legacy-scope goes with --legacy-ropc-url');
      if (url === undefined && !stop && o.extensionsAppId === undefined && o.b2cName === undefined && o.legacyRate === undefined) {
        throw new UsageError('nothing to set: give --legacy-ropc-url with --legacy-client-id, --no-legacy-ropc, --legacy-rate, --extensions-app-id or --b2c-name');
      }
      const d = await ctx.deps();
      const updated = await setTenantSettings(d, await requireTenant(d, o.tenant), {
        ...(url !== undefined && clientId !== undefined ? { legacyRopc: { tokenUrl: url, clientId, ...(o.legacyScope ? { scope: o.legacyScope } : {}) } } : {}),
        ...(stop ? { legacyRopc: null } : {}),
        ...(o.legacyRate !== undefined ? { legacyRate: o.legacyRate } : {}),
        ...(o.extensionsAppId !== undefined ? { extensionsAppId: o.extensionsAppId } : {}),
        ...(o.b2cName !== undefined ? { b2cName: o.b2cName === false ? null : o.b2cName } : {}),
      });
      if (ctx.json) ctx.printJson(shown(ctx, updated));
      else ctx.print(Object.entries(shown(ctx, updated)).map(([k, v]) => `${k}: ${typeof v === 'object' && v !== null ? JSON.stringify(v) : (v ?? '')}`).join('\n'));
    }));

  const emailDomain = tenant.command('email-domain').description("the tenant's email domains: at /common, people whose address is at one of them sign in at this tenant (home realm discovery)");
  for (const verb of ['add', 'remove'] as const) {
    emailDomain.command(verb).description(verb === 'add' ? 'route an email domain to the tenant (a domain belongs to one tenant)' : 'stop routing an email domain to the tenant')
      .addOption(tenantOption())
      .addOption(required('--domain <domain>', 'the domain, such as contoso.com'))
      .action(run<{ tenant: string; domain: string }>(async (ctx, o) => {
        const d = await ctx.deps();
        const t = await requireTenant(d, o.tenant);
        if (verb === 'add') await addEmailDomain(d, t, o.domain);
        else await removeEmailDomain(d, t, o.domain);
        const list = (await listEmailDomains(d, t)).map((e) => e.domain);
        if (ctx.json) ctx.printJson({ tenant: t.slug, email_domains: list });
        else ctx.print(`${verb === 'add' ? 'added' : 'removed'} ${o.domain.toLowerCase()}; ${t.slug}'s email domains: ${list.join(', ') || '(none)'}`);
      }));
  }
  emailDomain.command('list').description("list the tenant's email domains")
    .addOption(tenantOption())
    .action(run<{ tenant: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      ctx.printList((await listEmailDomains(d, await requireTenant(d, o.tenant))).map((e) => ({ domain: e.domain, created_at: new Date(e.createdAt).toISOString() })), ['domain', 'created_at']);
    }));

  const domain = tenant.command('domain').description("the tenant's own hosts (B2C's custom domains): on such a host every URL form serves this tenant only, and its issuer is written with the host");
  const domainJson = (v: DomainView) => ({ host: v.host, source: v.source, issuer: v.issuer, created_at: v.createdAt });

  domain.command('add').description('serve the tenant on a host of its own (point its DNS here; its certificate goes in LATCHKEY_TLS_DIR as {host}.crt/.key, or to your proxy)')
    .addOption(tenantOption())
    .addOption(required('--host <host>', 'the host name, such as login.contoso.com (no scheme, port or path)'))
    .action(run<{ tenant: string; host: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      const view = await addTenantDomain(d, ctx.config, await requireTenant(d, o.tenant), o.host, 'cli');
      if (ctx.json) ctx.printJson(domainJson(view));
      else ctx.print(`${view.host} now serves tenant ${o.tenant}\nissuer: ${view.issuer}\ncheck: curl ${new URL(view.issuer).origin}/${o.tenant}/v2.0/.well-known/openid-configuration`);
    }));

  domain.command('remove').description('stop serving the tenant on a host')
    .addOption(tenantOption())
    .addOption(required('--host <host>', 'the host name'))
    .action(run<{ tenant: string; host: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      await removeTenantDomain(d, await requireTenant(d, o.tenant), o.host, 'cli');
      if (ctx.json) ctx.printJson({ removed: o.host.trim().toLowerCase() });
      else ctx.print(`${o.host.trim().toLowerCase()} removed`);
    }));

  domain.command('list').description("list the tenant's own hosts: custom domains, and the one LATCHKEY_TENANT_HOST_PATTERN gives it")
    .addOption(tenantOption())
    .action(run<{ tenant: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      ctx.printList((await listTenantDomains(d, ctx.config, await requireTenant(d, o.tenant))).map(domainJson), ['host', 'source', 'issuer']);
    }));

  const secret = tenant.command('secret').description("the tenant's secrets (connector passwords, upstream client secrets), named { \"secret\": NAME } in policies and identity-providers.json; values are sealed and never shown again");

  secret.command('set').description('create or replace a tenant secret')
    .addOption(tenantOption())
    .addOption(required('--name <name>', "the secret's name, as policies name it"))
    .option('--value <value>', 'the value (prefer --value-stdin: a command line can be seen by other users of the machine)')
    .option('--value-stdin', 'read the value from standard input')
    .action(run<{ tenant: string; name: string; value?: string; valueStdin?: boolean }>(async (ctx, o) => {
      if ((o.value === undefined) === (o.valueStdin !== true)) throw new UsageError('give exactly one of --value or --value-stdin');
      const value = o.value ?? (await ctx.readStdin());
      const d = await ctx.deps();
      const view = await setTenantSecret(d, await requireTenant(d, o.tenant), o.name, value, 'cli');
      if (ctx.json) ctx.printJson(view);
      else ctx.print(`secret '${view.name}' set; name it in a policy as { "secret": "${view.name}" }`);
    }));

  secret.command('list').description("list the tenant's secrets (names and times, never values)")
    .addOption(tenantOption())
    .action(run<{ tenant: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      ctx.printList((await listTenantSecrets(d, await requireTenant(d, o.tenant))).map((v) => ({ ...v })), ['name', 'createdAt', 'updatedAt']);
    }));

  secret.command('remove').description('remove a tenant secret')
    .addOption(tenantOption())
    .addOption(required('--name <name>', "the secret's name"))
    .action(run<{ tenant: string; name: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      await removeTenantSecret(d, await requireTenant(d, o.tenant), o.name, 'cli');
      if (ctx.json) ctx.printJson({ removed: o.name });
      else ctx.print(`secret '${o.name}' removed`);
    }));
}
