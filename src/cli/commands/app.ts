import { Option, type Command } from 'commander';
import { appTypes, type AppType } from '../../model/entities.js';
import { notFound, ServiceError } from '../../model/errors.js';
import { createApp, defineOnApi, definedOnApi, grantApp, requireApp, revokeGrant, updateApp, type UpdateAppInput } from '../../services/apps.js';
import { requireTenant } from '../../services/tenants.js';
import { numberOption, oneOf, repeatable, required, tenantOption, UsageError, type CliContext, type Run } from '../context.js';
import { appJson } from '../../model/views.js';
import { table } from '../output.js';
import { addAppSecret, listAppSecrets, revokeAppSecret } from '../../services/app-secrets.js';
import { readFileSync } from 'node:fs';
import type { App, Tenant } from '../../model/entities.js';
import pino from 'pino';
import { outboundMetadataFetch } from '../../federation/saml/metadata.js';
import { AddressPolicy } from '../../outbound/address-policy.js';
import { OutboundClient } from '../../outbound/outbound-client.js';
import { createSamlApp, removeSamlApp, samlAppJson } from '../../services/saml-apps.js';
import { declarePermission, listEnterpriseApps, permissionName, removeEnterpriseApp, removePermission } from '../../services/enterprise-apps.js';

/** Where a tenant's default policy publishes its SAML IdP metadata (printed with a SAML app, to register at the SP). */
function idpMetadataUrl(ctx: CliContext, tenant: Tenant): string {
  return `${ctx.config.baseUrl}/${tenant.slug}/${tenant.defaultPolicy}/samlp/metadata`;
}

const APP_TYPES = [...appTypes, 'saml'] as const;
const SAML_FLAGS = ['metadataUrl', 'metadataFile', 'entityId', 'acsUrl', 'sloUrl', 'nameId', 'requireSignedRequests'] as const;
const OAUTH_FLAGS = ['redirectUri', 'webRedirectUri', 'spaRedirectUri', 'publicClientRedirectUri', 'postLogoutRedirectUri', 'identifierUri', 'allowImplicit', 'allowRopc', 'logoutUrl', 'clientId', 'thirdParty', 'multiTenant'] as const;
const flag = (name: string) => `--${name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

interface SamlCreateOptions { metadataUrl?: string; metadataFile?: string; entityId?: string; acsUrl?: string[]; sloUrl?: string; nameId?: string; requireSignedRequests?: boolean }

/** `app create --type saml`: a SAML application, from its metadata (URL or file) or its entity id and ACS URLs. */
async function createSaml(ctx: CliContext, o: { tenant: string; name: string } & SamlCreateOptions): Promise<void> {
  const given = o as unknown as Record<string, unknown>;
  const wrong = OAUTH_FLAGS.find((f) => given[f] !== undefined);
  if (wrong) throw new UsageError(`${flag(wrong)} is for OAuth apps; a SAML app takes ${SAML_FLAGS.map(flag).join(', ')}`);
  const d = await ctx.deps();
  const tenant = await requireTenant(d, o.tenant);
  let metadataXml: string | undefined;
  if (o.metadataFile !== undefined) {
    try {
      metadataXml = readFileSync(o.metadataFile, 'utf8');
    } catch (err) {
      throw new UsageError(`cannot read --metadata-file ${o.metadataFile} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    }
  }
  // Metadata is fetched as the server fetches: the same address policy (LATCHKEY_OUTBOUND_ALLOW).
  const outbound = new OutboundClient({ policy: new AddressPolicy(ctx.config.outboundAllow), logger: pino({ level: 'silent' }) });
  const saml = await createSamlApp({ ...d, fetch: outboundMetadataFetch(outbound) }, tenant, {
    name: o.name,
    ...(o.metadataUrl !== undefined ? { metadataUrl: o.metadataUrl } : {}),
    ...(metadataXml !== undefined ? { metadataXml } : {}),
    ...(o.entityId !== undefined ? { entityId: o.entityId } : {}),
    ...(o.acsUrl !== undefined ? { acsUrls: o.acsUrl } : {}),
    ...(o.sloUrl !== undefined ? { sloUrl: o.sloUrl } : {}),
    ...(o.nameId !== undefined ? { nameId: o.nameId } : {}),
    requireSignedRequests: o.requireSignedRequests ?? false,
  }, 'cli');
  const shown = samlAppJson(saml, { metadataUrl: idpMetadataUrl(ctx, tenant) });
  if (ctx.json) ctx.printJson(shown);
  else ctx.print(Object.entries(shown).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`).join('\n'));
}

interface Target { tenant: string; app: string }

const appOption = (what = "the app's client id") => required('--app <client_id>', what);
/** A secret's lifetime and overlap, as the secret services take them: a plain non-negative number. */
const amount = (flag: string) => numberOption(`invalid ${flag}: a number`, (text) => /^\d+(\.\d+)?$/.test(text));

async function target(ctx: CliContext, o: Target) {
  const d = await ctx.deps();
  const tenant = await requireTenant(d, o.tenant);
  return { d, tenant, app: await requireApp(d, tenant, o.app) };
}

/** `app scope|role add|list`: what an API app exposes, for other apps to be granted. */
function registerDefinitions(app: Command, run: Run, kind: 'scope' | 'role') {
  const group = app.command(kind).description(kind === 'scope' ? 'delegated permissions an app exposes on its API (full name <identifier-uri>/<scope>)' : 'app roles an app exposes on its API (application permissions, for daemons)');
  const show = async (ctx: CliContext, api: Awaited<ReturnType<typeof target>>['app'], names: string[]) => {
    if (ctx.json) ctx.printJson({ client_id: api.clientId, identifier_uri: api.identifierUri, [`${kind}s`]: names });
    else ctx.print(names.map((n) => (kind === 'scope' ? `${api.identifierUri}/${n}` : n)).join('\n') || '(none)');
  };
  const add = group.command('add').description(`add a ${kind} to the API an app exposes (it needs an identifier URI)`)
    .addOption(tenantOption()).addOption(appOption("the client id of the app exposing the API"))
    .addOption(required(`--${kind} <name>`, `the ${kind}'s name`));
  if (kind === 'scope') {
    add.option('--description <text>', 'shown to users on the consent page');
    add.option('--admin-consent', "only an administrator may consent to it (for the whole tenant); other users of a tenant see 'Need admin approval'");
  }
  add.action(run<Target & { scope?: string; role?: string; description?: string; adminConsent?: boolean }>(async (ctx, o) => {
    const { d, app: api } = await target(ctx, o);
    await show(ctx, api, await defineOnApi(d, api, kind, (kind === 'scope' ? o.scope : o.role)!, o.description, o.adminConsent));
  }));
  group.command('list').description(`list an API app's ${kind}s`)
    .addOption(tenantOption()).addOption(appOption("the API app's client id"))
    .action(run<Target>(async (ctx, o) => {
      const { d, app: api } = await target(ctx, o);
      await show(ctx, api, await definedOnApi(d, api, kind));
    }));
}

/** `app grant|revoke`: a client app's permission (a scope, or a role for daemons) on an API app. */
function registerGrant(app: Command, run: Run, revoke: boolean) {
  app.command(revoke ? 'revoke' : 'grant')
    .description(revoke ? "take a permission on an API app away from an app" : 'grant an app a scope (delegated) or a role (application permission) of an API app')
    .addOption(tenantOption()).addOption(appOption(`the client id of the app ${revoke ? 'losing' : 'getting'} the permission`))
    .addOption(required('--api <api>', "the API app's client id or identifier URI"))
    .addOption(new Option('--scope <name>', 'a scope the API defines').conflicts('role'))
    .addOption(new Option('--role <name>', 'a role the API defines'))
    .action(run<Target & { api: string; scope?: string; role?: string }>(async (ctx, o) => {
      if (o.scope === undefined && o.role === undefined) throw new UsageError('give exactly one of --scope or --role');
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      const client = await requireApp(d, tenant, o.app);
      const api = await requireApp(d, tenant, o.api);
      const kind = o.scope !== undefined ? 'scope' : 'role';
      const name = (o.scope ?? o.role)!;
      const grants = await (revoke ? revokeGrant : grantApp)(d, tenant, client, api, kind, name);
      if (ctx.json) ctx.printJson({ client_id: client.clientId, grants });
      else ctx.print(`${revoke ? 'revoked' : 'granted'} ${kind} ${name} on ${api.identifierUri ?? api.clientId} ${revoke ? 'from' : 'to'} ${client.name}`);
    }));
}

/** `app permission add|remove|list`: what a multi-tenant app needs, consented to in each tenant that uses it. */
function registerPermissions(app: Command, run: Run) {
  const permission = app.command('permission').description("a multi-tenant app's required permissions: scopes (delegated) and roles (daemons') of urn:latchkey:admin or a multi-tenant API of its tenant, consented to in each tenant that uses it");
  const show = (ctx: CliContext, clientId: string, list: Awaited<ReturnType<typeof declarePermission>>) => {
    if (ctx.json) ctx.printJson({ client_id: clientId, permissions: list.map((p) => ({ api: p.api, kind: p.kind, name: p.name })) });
    else ctx.print(list.map((p) => `${p.kind} ${permissionName(p)}`).join('\n') || '(none)');
  };
  for (const verb of ['add', 'remove'] as const) {
    permission.command(verb).description(verb === 'add' ? 'declare a permission the app needs' : 'stop declaring a permission')
      .addOption(tenantOption()).addOption(appOption("the multi-tenant app's client id"))
      .addOption(required('--api <api>', `the API's identifier URI (urn:latchkey:admin, or a multi-tenant API of the tenant)`))
      .addOption(new Option('--scope <name>', 'a delegated permission (a scope the API defines)').conflicts('role'))
      .addOption(new Option('--role <name>', 'an application permission (an app role the API defines), for daemons'))
      .action(run<Target & { api: string; scope?: string; role?: string }>(async (ctx, o) => {
        if (o.scope === undefined && o.role === undefined) throw new UsageError('give exactly one of --scope or --role');
        const { d, tenant, app: client } = await target(ctx, o);
        const kind = o.scope !== undefined ? 'scope' : 'role';
        const list = await (verb === 'add' ? declarePermission : removePermission)(d, tenant, client, o.api, kind, (o.scope ?? o.role)!);
        show(ctx, client.clientId, list);
      }));
  }
  permission.command('list').description("list a multi-tenant app's permissions")
    .addOption(tenantOption()).addOption(appOption())
    .action(run<Target>(async (ctx, o) => {
      const { d, app: client } = await target(ctx, o);
      show(ctx, client.clientId, await d.store.listAppPermissions(client.clientId));
    }));
}

/** `app secret add|list|revoke`: several live secrets per app, rotated without downtime. */
function registerSecrets(app: Command, run: Run) {
  const secret = app.command('secret').description("a confidential app's client secrets: several live at once, rotated without downtime");
  secret.command('add').description('add a client secret (printed once; only its hash is kept)')
    .addOption(tenantOption()).addOption(appOption())
    .option('--description <text>', 'what the secret is for')
    .addOption(new Option('--expires-in-days <days>', 'the secret stops working after this many days (default: never)').argParser(amount('--expires-in-days')))
    .action(run<Target & { description?: string; expiresInDays?: number }>(async (ctx, o) => {
      const { d, tenant, app: client } = await target(ctx, o);
      const { secret: added, value } = await addAppSecret(d, tenant, client, { ...(o.description !== undefined ? { description: o.description } : {}), ...(o.expiresInDays !== undefined ? { expiresInDays: o.expiresInDays } : {}) });
      if (ctx.json) ctx.printJson({ ...added, client_secret: value });
      else ctx.print(`secret ${added.id} added${added.expiresAt ? ` (expires ${added.expiresAt})` : ''}\nclient_secret: ${value}\n(shown once: store it now; Latchkey keeps only its hash)`);
    }));
  secret.command('list').description("list an app's secrets (never their values)")
    .addOption(tenantOption()).addOption(appOption())
    .action(run<Target>(async (ctx, o) => {
      const { d, tenant, app: client } = await target(ctx, o);
      const list = await listAppSecrets(d, tenant, client);
      if (ctx.json) ctx.printJson(list);
      else ctx.print(table(list.map((s) => ({ ...s, expiresAt: s.expiresAt ?? 'never', live: s.live ? 'yes' : 'expired' })), ['id', 'description', 'createdAt', 'expiresAt', 'live']));
    }));
  secret.command('revoke').description('revoke a secret, at once or after an overlap')
    .addOption(tenantOption()).addOption(appOption())
    .addOption(required('--secret-id <id>', "the secret's id (from app secret list)"))
    .addOption(new Option('--overlap-hours <hours>', 'keep it working this many hours more (default: stop now)').argParser(amount('--overlap-hours')))
    .action(run<Target & { secretId: string; overlapHours?: number }>(async (ctx, o) => {
      const { d, tenant, app: client } = await target(ctx, o);
      const s = await revokeAppSecret(d, tenant, client, o.secretId, o.overlapHours !== undefined ? { overlapHours: o.overlapHours } : {});
      if (ctx.json) ctx.printJson(s);
      else ctx.print(o.overlapHours ? `secret ${s.id} stops working at ${s.expiresAt}` : `secret ${s.id} revoked`);
    }));
}

/** An app as `app show` and `app update` print it: JSON, or a line per field (each platform on its own line). */
async function showApp(ctx: CliContext, d: Awaited<ReturnType<CliContext['deps']>>, a: App): Promise<void> {
  const shown = {
    ...appJson(a, a.identifierUri !== null ? { scopes: await d.store.listAppScopes(a.clientId), roles: await d.store.listAppRoles(a.clientId) } : {}),
    ...(a.multiTenant ? { permissions: (await d.store.listAppPermissions(a.clientId)).map((p) => `${p.kind} ${permissionName(p)}`) } : {}),
  };
  if (ctx.json) return ctx.printJson(shown);
  const { platforms, ...rest } = shown;
  const lines = Object.entries(rest).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`);
  for (const [name, p] of Object.entries(platforms)) lines.push(`platform ${name}: ${p.redirect_uris.join(' ')}`);
  ctx.print(lines.join('\n'));
}

/** `app update`: an app registration's platforms, logout URIs, exposed API and name, as Azure's are edited. */
function registerUpdate(app: Command, run: Run) {
  const cmd = app.command('update').description("change an app registration: add or remove redirect URIs per platform (web, SPA, public client), expose an API (--identifier-uri), rename it")
    .addOption(tenantOption()).addOption(appOption())
    .option('--name <name>', "the app's new display name");
  const lists = [
    ['web-redirect-uri', 'a web platform redirect URI (a server redeems its codes with the secret)'],
    ['spa-redirect-uri', 'a single-page app redirect URI (PKCE, CORS, 24-hour refresh tokens, no secret)'],
    ['public-client-redirect-uri', 'a mobile or desktop app redirect URI (PKCE, no secret)'],
    ['post-logout-redirect-uri', 'a post-logout redirect URI'],
  ] as const;
  for (const [flagName, what] of lists) {
    cmd.option(`--add-${flagName} <uri>`, `add ${what} (repeat for more)`, repeatable);
    cmd.option(`--remove-${flagName} <uri>`, `remove ${what.replace(/ \(.*\)$/, '')} (repeat for more)`, repeatable);
  }
  cmd.option('--identifier-uri <uri>', 'expose an API under this identifier URI (its scopes are <identifier-uri>/<scope>), or move it there');
  type ListOptions = { [K in `${'add' | 'remove'}${'Web' | 'Spa' | 'PublicClient' | 'PostLogout'}RedirectUri`]?: string[] };
  cmd.action(run<Target & ListOptions & { name?: string; identifierUri?: string }>(async (ctx, o) => {
    const change = (add: string[] | undefined, remove: string[] | undefined) => (add || remove ? { ...(add ? { add } : {}), ...(remove ? { remove } : {}) } : undefined);
    const input: UpdateAppInput = {};
    const web = change(o.addWebRedirectUri, o.removeWebRedirectUri);
    const spa = change(o.addSpaRedirectUri, o.removeSpaRedirectUri);
    const publicClient = change(o.addPublicClientRedirectUri, o.removePublicClientRedirectUri);
    const postLogout = change(o.addPostLogoutRedirectUri, o.removePostLogoutRedirectUri);
    if (web) input.webRedirectUris = web;
    if (spa) input.spaRedirectUris = spa;
    if (publicClient) input.publicClientRedirectUris = publicClient;
    if (postLogout) input.postLogoutRedirectUris = postLogout;
    if (o.name !== undefined) input.name = o.name;
    if (o.identifierUri !== undefined) input.identifierUri = o.identifierUri;
    if (Object.keys(input).length === 0) throw new UsageError('nothing to change: give --add-…-redirect-uri, --remove-…-redirect-uri, --identifier-uri or --name');
    const { d, tenant, app: current } = await target(ctx, o);
    await showApp(ctx, d, await updateApp(d, tenant, current, input));
  }));
}

export function registerApp(program: Command, run: Run): void {
  const app = program.command('app').description('apps: register, show, expose and grant scopes and roles, rotate secrets');

  app.command('create').description('register an app; confidential types (web, daemon, api) get a client secret, printed once')
    .addOption(tenantOption())
    .addOption(required('--name <name>', "the app's display name"))
    .addOption(required(`--type <${APP_TYPES.join('|')}>`, 'public clients (spa, native) use PKCE; confidential ones (web, daemon, api) get a secret; saml: a SAML application').argParser(oneOf(APP_TYPES, (v) => `invalid --type '${v}': one of ${APP_TYPES.join(', ')}`)))
    .option('--redirect-uri <uri>', "a redirect URI of the type's platform (web, spa, native: public client), matched exactly (repeat for more)", repeatable)
    .option('--web-redirect-uri <uri>', 'a web platform redirect URI: a server redeems its codes with the secret (repeat for more)', repeatable)
    .option('--spa-redirect-uri <uri>', 'a single-page app redirect URI: PKCE, CORS, 24-hour refresh tokens, no secret (repeat for more)', repeatable)
    .option('--public-client-redirect-uri <uri>', 'a mobile or desktop app redirect URI: PKCE, no secret (repeat for more)', repeatable)
    .option('--post-logout-redirect-uri <uri>', 'where logout may return to (repeat for more)', repeatable)
    .option('--identifier-uri <uri>', 'expose an API under this identifier URI (the prefix of its scopes; api apps get api://<client id>)')
    .option('--allow-implicit', 'allow the implicit flow (response_type=token id_token)')
    .option('--allow-ropc', 'allow resource owner password credentials (public clients only)')
    .option('--logout-url <url>', 'front-channel logout URL, loaded in a frame at sign-out')
    .option('--client-id <guid>', 'keep a given client id (e.g. the B2C application id)')
    .option('--third-party', 'users consent to its permissions on first use')
    .option('--multi-tenant', "people of other tenants may use it (through /common) once they or their administrator consent; its tokens are signed with the instance's keys")
    .option('--metadata-url <url>', "SAML: the service provider's metadata URL")
    .option('--metadata-file <file>', "SAML: the service provider's metadata file")
    .option('--entity-id <uri>', "SAML: the service provider's entity id (with --acs-url)")
    .option('--acs-url <url>', 'SAML: an assertion consumer service URL (repeat for more)', repeatable)
    .option('--slo-url <url>', 'SAML: the single logout URL')
    .option('--name-id <email|persistent|unspecified>', 'SAML: the NameID (default persistent, the oid)')
    .option('--require-signed-requests', 'SAML: refuse unsigned AuthnRequests')
    .action(run<{
      tenant: string; name: string; type: AppType | 'saml'; redirectUri?: string[]; webRedirectUri?: string[]; spaRedirectUri?: string[]; publicClientRedirectUri?: string[];
      postLogoutRedirectUri?: string[]; identifierUri?: string;
      allowImplicit?: boolean; allowRopc?: boolean; logoutUrl?: string; clientId?: string; thirdParty?: boolean; multiTenant?: boolean;
    } & SamlCreateOptions>(async (ctx, o) => {
      if (o.type === 'saml') return createSaml(ctx, o);
      const samlOnly = SAML_FLAGS.find((f) => o[f] !== undefined);
      if (samlOnly) throw new UsageError(`${flag(samlOnly)} is for SAML apps (--type saml)`);
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      const { app: created, clientSecret } = await createApp(d, tenant, {
        name: o.name,
        type: o.type as AppType,
        redirectUris: o.redirectUri ?? [],
        webRedirectUris: o.webRedirectUri ?? [],
        spaRedirectUris: o.spaRedirectUri ?? [],
        publicClientRedirectUris: o.publicClientRedirectUri ?? [],
        postLogoutRedirectUris: o.postLogoutRedirectUri ?? [],
        ...(o.identifierUri ? { identifierUri: o.identifierUri } : {}),
        allowImplicit: o.allowImplicit ?? false,
        allowRopc: o.allowRopc ?? false,
        thirdParty: o.thirdParty ?? false,
        multiTenant: o.multiTenant ?? false,
        ...(o.logoutUrl ? { logoutUrl: o.logoutUrl } : {}),
        ...(o.clientId !== undefined ? { clientId: o.clientId } : {}),
      });
      if (ctx.json) ctx.printJson(appJson(created, clientSecret ? { clientSecret } : {}));
      else {
        ctx.print(`client_id: ${created.clientId}`);
        if (clientSecret) ctx.print(`client_secret: ${clientSecret}\n(shown once: store it now; Latchkey keeps only its hash)`);
        if (created.identifierUri) ctx.print(`identifier_uri: ${created.identifierUri}`);
      }
    }));

  app.command('list').description("list a tenant's apps, and its enterprise apps (other tenants' multi-tenant apps consented to here) with their home tenant").addOption(tenantOption())
    .action(run<{ tenant: string }>(async (ctx, o) => {
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      ctx.printList([
        ...(await d.store.listApps(tenant.id)).map((a) => ({ ...appJson(a), home_tenant: tenant.slug })),
        ...(await d.store.listSamlApps(tenant.id)).map((a) => ({ ...samlAppJson(a), home_tenant: tenant.slug })),
        ...(await listEnterpriseApps(d, tenant)),
      ], ['client_id', 'name', 'type', 'home_tenant', 'redirect_uris']);
    }));

  app.command('remove').description("remove a SAML app of this tenant (its entity id is refused from then on), or an enterprise app (a multi-tenant app of another tenant): its consents here are withdrawn and its tokens here end")
    .addOption(tenantOption()).addOption(appOption("the SAML app's or enterprise app's client id"))
    .action(run<Target>(async (ctx, o) => {
      const d = await ctx.deps();
      const tenant = await requireTenant(d, o.tenant);
      const id = o.app.toLowerCase();
      if (await d.store.findSamlApp(tenant.id, id)) {
        const removed = await removeSamlApp(d, tenant, id, 'cli');
        if (ctx.json) ctx.printJson({ client_id: id, type: 'saml', removed: true });
        else ctx.print(`removed SAML app ${id} (${removed.entityId}) from ${tenant.slug}: its entity id is refused from now on`);
        return;
      }
      try {
        await removeEnterpriseApp(d, tenant, o.app);
      } catch (err) {
        if (err instanceof ServiceError && err.kind === 'not_found') throw notFound(`no SAML app or enterprise app '${id}' in tenant '${tenant.slug}'`);
        throw err;
      }
      if (ctx.json) ctx.printJson({ client_id: o.app.toLowerCase(), removed: true });
      else ctx.print(`removed enterprise app ${o.app.toLowerCase()} from ${tenant.slug}: its consents are withdrawn and its tokens end`);
    }));

  app.command('show').description('show an app: its platforms, and the API it exposes with its scopes and roles').addOption(tenantOption()).addOption(appOption())
    .action(run<Target>(async (ctx, o) => {
      const d0 = await ctx.deps();
      const t = await requireTenant(d0, o.tenant);
      const saml = /^[\w-]{1,64}$/.test(o.app) ? await d0.store.findSamlApp(t.id, o.app.toLowerCase()) : undefined;
      if (saml) {
        const shownSaml = samlAppJson(saml, { metadataUrl: idpMetadataUrl(ctx, t) });
        if (ctx.json) ctx.printJson(shownSaml);
        else ctx.print(Object.entries(shownSaml).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`).join('\n'));
        return;
      }
      const { d, app: a } = await target(ctx, o);
      await showApp(ctx, d, a);
    }));

  registerUpdate(app, run);

  registerDefinitions(app, run, 'scope');
  registerDefinitions(app, run, 'role');
  registerGrant(app, run, false);
  registerGrant(app, run, true);
  registerPermissions(app, run);
  registerSecrets(app, run);
}
