import { invalid } from '../../model/errors.js';
import { appTypes, type AppType } from '../../model/entities.js';
import { createApp, defineOnApi, definedOnApi, grantApp, requireApp, revokeGrant } from '../../services/apps.js';
import { requireTenant } from '../../services/tenants.js';
import { need, parse, usageError, type CliContext, type Command } from '../context.js';
import { appJson, table } from '../output.js';
import { addAppSecret, listAppSecrets, revokeAppSecret } from '../../services/app-secrets.js';
import { readFileSync } from 'node:fs';
import { createSamlApp, samlAppJson } from '../../saml/apps.js';
import type { Tenant } from '../../model/entities.js';

/** Where a tenant's default policy publishes its SAML IdP metadata (printed with a SAML app, to register at the SP). */
function idpMetadataUrl(ctx: CliContext, tenant: Tenant): string {
  return `${ctx.config.baseUrl}/${tenant.slug}/${tenant.defaultPolicy}/samlp/metadata`;
}

const SAML_FLAGS = ['metadata-url', 'metadata-file', 'entity-id', 'acs-url', 'slo-url', 'name-id', 'require-signed-requests'] as const;
const OAUTH_FLAGS = ['redirect-uri', 'post-logout-redirect-uri', 'identifier-uri', 'allow-implicit', 'allow-ropc', 'logout-url', 'client-id', 'third-party'] as const;

async function showApp(ctx: CliContext, tenantSlug: string, clientId: string) {
  const d = await ctx.deps();
  const tenant = await requireTenant(d, tenantSlug);
  const saml = /^[\w-]{1,64}$/.test(clientId) ? await d.store.findSamlApp(tenant.id, clientId.toLowerCase()) : undefined;
  if (saml) return samlAppJson(saml, { metadataUrl: idpMetadataUrl(ctx, tenant) });
  const app = await requireApp(d, tenant, clientId);
  return appJson(app, app.type === 'api' ? { scopes: await d.store.listAppScopes(app.clientId), roles: await d.store.listAppRoles(app.clientId) } : {});
}

/** `app secret add|list|revoke`: several live secrets per app, rotated without downtime. */
async function secretCommand(ctx: CliContext, argv: string[]): Promise<void> {
  const [verb, ...rest] = argv;
  if (verb !== 'add' && verb !== 'list' && verb !== 'revoke') throw usageError('usage: latchkey app secret add|list|revoke --tenant T --app <client_id> …');
  const { values } = parse(rest, { tenant: { type: 'string' }, app: { type: 'string' }, description: { type: 'string' }, 'expires-in-days': { type: 'string' }, 'secret-id': { type: 'string' }, 'overlap-hours': { type: 'string' } });
  const d = await ctx.deps();
  const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
  const app = await requireApp(d, tenant, need(values.app, '--app'));
  const number = (flag: string, v: string | undefined) => {
    if (v === undefined) return undefined;
    if (!/^\d+(\.\d+)?$/.test(v)) throw invalid(`invalid ${flag}: a number`);
    return Number(v);
  };
  if (verb === 'add') {
    const { secret, value } = await addAppSecret(d, tenant, app, { ...(values.description !== undefined ? { description: values.description } : {}), ...(values['expires-in-days'] !== undefined ? { expiresInDays: number('--expires-in-days', values['expires-in-days'])! } : {}) });
    if (ctx.json) ctx.printJson({ ...secret, client_secret: value });
    else ctx.print(`secret ${secret.id} added${secret.expiresAt ? ` (expires ${secret.expiresAt})` : ''}\nclient_secret: ${value}\n(shown once: store it now; Latchkey keeps only its hash)`);
  } else if (verb === 'list') {
    const list = await listAppSecrets(d, tenant, app);
    if (ctx.json) ctx.printJson(list);
    else ctx.print(table(list.map((s) => ({ ...s, expiresAt: s.expiresAt ?? 'never', live: s.live ? 'yes' : 'expired' })), ['id', 'description', 'createdAt', 'expiresAt', 'live']));
  } else {
    const overlap = number('--overlap-hours', values['overlap-hours']);
    const s = await revokeAppSecret(d, tenant, app, need(values['secret-id'], '--secret-id'), overlap !== undefined ? { overlapHours: overlap } : {});
    if (ctx.json) ctx.printJson(s);
    else ctx.print(overlap ? `secret ${s.id} stops working at ${s.expiresAt}` : `secret ${s.id} revoked`);
  }
}

async function grantCommand(ctx: CliContext, rest: string[], revoke: boolean): Promise<void> {
  const { values } = parse(rest, { tenant: { type: 'string' }, app: { type: 'string' }, api: { type: 'string' }, scope: { type: 'string' }, role: { type: 'string' } });
  const d = await ctx.deps();
  const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
  const client = await requireApp(d, tenant, need(values.app, '--app'));
  const api = await requireApp(d, tenant, need(values.api, '--api'));
  if ((values.scope === undefined) === (values.role === undefined)) throw usageError('give exactly one of --scope or --role');
  const kind = values.scope !== undefined ? 'scope' : 'role';
  const name = (values.scope ?? values.role)!;
  const grants = await (revoke ? revokeGrant : grantApp)(d, tenant, client, api, kind, name);
  if (ctx.json) ctx.printJson({ client_id: client.clientId, grants });
  else ctx.print(`${revoke ? 'revoked' : 'granted'} ${kind} ${name} on ${api.identifierUri ?? api.clientId} ${revoke ? 'from' : 'to'} ${client.name}`);
}

async function defineCommand(ctx: CliContext, kind: 'scope' | 'role', rest: string[]): Promise<void> {
  const [verb, ...args] = rest;
  if (verb !== 'add' && verb !== 'list') throw usageError(`usage: latchkey app ${kind} add|list --tenant T --app API_CLIENT_ID [--${kind} NAME]`);
  const { values: parsed } = parse(args, { tenant: { type: 'string' }, app: { type: 'string' }, [kind]: { type: 'string' }, ...(kind === 'scope' ? { description: { type: 'string' } } : {}) });
  const values = parsed as Record<string, string | undefined>;
  const d = await ctx.deps();
  const tenant = await requireTenant(d, need(values.tenant as string | undefined, '--tenant'));
  const api = await requireApp(d, tenant, need(values.app as string | undefined, '--app'));
  const description = values.description;
  const names = verb === 'add' ? await defineOnApi(d, api, kind, need(values[kind] as string | undefined, `--${kind}`), description) : await definedOnApi(d, api, kind);
  if (ctx.json) ctx.printJson({ client_id: api.clientId, identifier_uri: api.identifierUri, [`${kind}s`]: names });
  else ctx.print(names.map((n) => (kind === 'scope' ? `${api.identifierUri}/${n}` : n)).join('\n') || '(none)');
}

export const appCommand: Command = async (ctx, argv) => {
  const [sub, ...rest] = argv;
  switch (sub) {
    case 'create': {
      const { values } = parse(rest, {
        tenant: { type: 'string' },
        name: { type: 'string' },
        type: { type: 'string' },
        'redirect-uri': { type: 'string', multiple: true },
        'post-logout-redirect-uri': { type: 'string', multiple: true },
        'identifier-uri': { type: 'string' },
        'allow-implicit': { type: 'boolean' },
        'allow-ropc': { type: 'boolean' },
        'logout-url': { type: 'string' },
        'client-id': { type: 'string' },
        'third-party': { type: 'boolean' },
        'metadata-url': { type: 'string' },
        'metadata-file': { type: 'string' },
        'entity-id': { type: 'string' },
        'acs-url': { type: 'string', multiple: true },
        'slo-url': { type: 'string' },
        'name-id': { type: 'string' },
        'require-signed-requests': { type: 'boolean' },
      });
      const type = need(values.type, '--type');
      if (type === 'saml') {
        const wrong = OAUTH_FLAGS.find((f) => values[f] !== undefined);
        if (wrong) throw usageError(`--${wrong} is for OAuth apps; a SAML app takes ${SAML_FLAGS.map((f) => `--${f}`).join(', ')}`);
        const d = await ctx.deps();
        const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
        let metadataXml: string | undefined;
        if (values['metadata-file'] !== undefined) {
          try {
            metadataXml = readFileSync(values['metadata-file'], 'utf8');
          } catch (err) {
            throw usageError(`cannot read --metadata-file ${values['metadata-file']} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
          }
        }
        const saml = await createSamlApp({ ...d, fetch: (url, init) => fetch(url, init) }, tenant, {
          name: need(values.name, '--name'),
          ...(values['metadata-url'] !== undefined ? { metadataUrl: values['metadata-url'] } : {}),
          ...(metadataXml !== undefined ? { metadataXml } : {}),
          ...(values['entity-id'] !== undefined ? { entityId: values['entity-id'] } : {}),
          ...(values['acs-url'] !== undefined ? { acsUrls: values['acs-url'] } : {}),
          ...(values['slo-url'] !== undefined ? { sloUrl: values['slo-url'] } : {}),
          ...(values['name-id'] !== undefined ? { nameId: values['name-id'] } : {}),
          requireSignedRequests: values['require-signed-requests'] ?? false,
        });
        const shown = samlAppJson(saml, { metadataUrl: idpMetadataUrl(ctx, tenant) });
        if (ctx.json) ctx.printJson(shown);
        else ctx.print(Object.entries(shown).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`).join('\n'));
        return;
      }
      const samlOnly = SAML_FLAGS.find((f) => values[f] !== undefined);
      if (samlOnly) throw usageError(`--${samlOnly} is for SAML apps (--type saml)`);
      if (!appTypes.includes(type as AppType)) throw usageError(`invalid --type '${type}': one of ${appTypes.join(', ')}, saml`);
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const { app, clientSecret } = await createApp(d, tenant, {
        name: need(values.name, '--name'),
        type: type as AppType,
        redirectUris: values['redirect-uri'] ?? [],
        postLogoutRedirectUris: values['post-logout-redirect-uri'] ?? [],
        ...(values['identifier-uri'] ? { identifierUri: values['identifier-uri'] } : {}),
        allowImplicit: values['allow-implicit'] ?? false,
        allowRopc: values['allow-ropc'] ?? false,
        thirdParty: values['third-party'] ?? false,
        ...(values['logout-url'] ? { logoutUrl: values['logout-url'] } : {}),
        ...(values['client-id'] !== undefined ? { clientId: values['client-id'] } : {}),
      });
      if (ctx.json) ctx.printJson(appJson(app, clientSecret ? { clientSecret } : {}));
      else {
        ctx.print(`client_id: ${app.clientId}`);
        if (clientSecret) ctx.print(`client_secret: ${clientSecret}\n(shown once: store it now; Latchkey keeps only its hash)`);
        if (app.identifierUri) ctx.print(`identifier_uri: ${app.identifierUri}`);
      }
      return;
    }
    case 'list': {
      const { values } = parse(rest, { tenant: { type: 'string' } });
      const d = await ctx.deps();
      const tenant = await requireTenant(d, need(values.tenant, '--tenant'));
      const rows = [...(await d.store.listApps(tenant.id)).map((a) => appJson(a)), ...(await d.store.listSamlApps(tenant.id)).map((a) => samlAppJson(a))];
      if (ctx.json) ctx.printJson(rows);
      else ctx.print(table(rows, ['client_id', 'name', 'type', 'redirect_uris']));
      return;
    }
    case 'show': {
      const { values } = parse(rest, { tenant: { type: 'string' }, app: { type: 'string' } });
      const shown = await showApp(ctx, need(values.tenant, '--tenant'), need(values.app, '--app'));
      if (ctx.json) ctx.printJson(shown);
      else ctx.print(Object.entries(shown).map(([k, v]) => `${k}: ${Array.isArray(v) ? v.join(' ') : String(v)}`).join('\n'));
      return;
    }
    case 'scope':
      return defineCommand(ctx, 'scope', rest);
    case 'role':
      return defineCommand(ctx, 'role', rest);
    case 'grant':
      return grantCommand(ctx, rest, false);
    case 'revoke':
      return grantCommand(ctx, rest, true);
    case 'secret':
      return secretCommand(ctx, rest);
    default:
      throw usageError('usage: latchkey app create|list|show|scope add|role add|grant|revoke|secret …');
  }
};
