import { ServiceError } from '../model/errors.js';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z, type ZodType } from 'zod';
import { sendAdminError } from '../http/error-mapper.js';
import { appJson, keyAdminJson, tenantAdminJson } from '../model/views.js';
import type { Deps } from '../services/deps.js';
import { policyWriteProblems, readPolicyText, writePolicy } from '../services/tenant-files.js';
import { listTenantSecrets, removeTenantSecret, setTenantSecret } from '../services/tenant-secrets.js';
import { issuerFor } from '../model/issuer.js';
import { provisionDeps, type ProvisionDeps } from '../services/deps.js';
import { retireKeys, rotateKeys } from '../services/keys.js';
import { listEnterpriseApps, removeEnterpriseApp } from '../services/enterprise-apps.js';
import { createSamlApp, removeSamlApp, requireSamlApp, samlAppJson } from '../services/saml-apps.js';
import { outboundMetadataFetch } from '../federation/saml/metadata.js';
import { requireUser } from '../services/users.js';
import { createApp, defineOnApi, definedOnApi, grantApp, listGrants, requireApp, revokeGrant, updateApp, type UpdateAppInput } from '../services/apps.js';
import { setTenantSettings } from '../services/tenants.js';
import { addTenantDomain, listTenantDomains, removeTenantDomain } from '../services/tenant-domains.js';
import { endpointUrl, servedOn } from '../oauth/tenant-context.js';
import type { Site } from '../model/site.js';
import { adminCaller } from '../http/admin-caller.js';
import { addAppSecret, listAppSecrets, revokeAppSecret } from '../services/app-secrets.js';
import { listConsentViews, revokeConsent } from '../services/consent.js';
import type { App, SamlApp, Tenant } from '../model/entities.js';
import * as S from './schemas.js';

/**
 * The admin API, `/admin/v1/tenants/{tenant}/…`: a tenant's settings, apps (scopes, roles, grants,
 * secrets), signing keys, policies and audit events, for operators' automation. The rules are the
 * CLI's (provision.ts, services/): nothing is decided here but HTTP. A caller is a daemon with an app
 * role on the tenant's `urn:latchkey:admin` API: `Admin.Read.All` reads, `Admin.ReadWrite.All` also
 * writes; a token reaches only its own tenant. Described at /admin/openapi.json.
 */

declare module 'fastify' {
  interface FastifyInstance {
    /** The admin API's routes as registered (the OpenAPI document must list each). */
    adminRoutes: { method: string; url: string }[];
  }
}

/** JSON Schema (2020-12, OpenAPI 3.1's) of a zod definition, for the route's documentation. */
function json(schema: ZodType, io: 'input' | 'output' = 'input'): Record<string, unknown> {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any' }) as Record<string, unknown>;
  return rest;
}



interface RouteSpec<P extends ZodType, Q extends ZodType, B extends ZodType> {
  method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  url: string;
  summary: string;
  tag: string;
  writing: boolean;
  params: P;
  query?: Q;
  body?: B;
  response: ZodType;
  status?: number;
  handler: (c: { deps: Deps; d: ProvisionDeps; tenant: Tenant; clientId: string; site: Site; params: z.infer<P>; query: z.infer<Q>; body: z.infer<B> }, reply: FastifyReply) => Promise<unknown>;
}

export function registerAdminRoutes(app: FastifyInstance, deps: Deps): void {
  const registered: { method: string; url: string }[] = [];
  app.decorate('adminRoutes', registered);
  const d = provisionDeps(deps);

  function route<P extends ZodType, Q extends ZodType = z.ZodObject, B extends ZodType = z.ZodUnknown>(spec: RouteSpec<P, Q, B>): void {
    const status = spec.status ?? 200;
    registered.push({ method: spec.method, url: `/admin/v1${spec.url}` });
    app.route({
      method: spec.method,
      url: `/admin/v1${spec.url}`,
      helmet: false,
      config: { errorFormat: 'json' },
      schema: {
        summary: spec.summary,
        tags: [spec.tag],
        security: [{ bearer: [] }],
        params: json(spec.params),
        ...(spec.query ? { querystring: json(spec.query) } : {}),
        ...(spec.body ? { body: json(spec.body) } : {}),
        response: { [status]: status === 204 ? { type: 'null', description: 'No content' } : json(spec.response, 'output'), '4XX': json(S.ErrorBody, 'output') },
      },
      // The schema documents; zod checks (the same definitions), so Fastify's own validation is off.
      validatorCompiler: () => (data: unknown) => ({ value: data }),
      serializerCompiler: () => (data: unknown) => JSON.stringify(data),
      errorHandler: (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => sendAdminError(err, req, reply),
      handler: async (req, reply) => {
        reply.header('x-content-type-options', 'nosniff');
        const params = spec.params.parse(req.params) as z.infer<P>;
        // Read now, not from the directory's cache: an answer about the tenant follows every write at once.
        // On a tenant's own host, that tenant's API alone.
        const tenant = servedOn(req.site, await deps.tenants.fresh((params as { tenant: string }).tenant));
        if (!tenant) throw new ServiceError('not_found', 'No such tenant.');
        const caller = await adminCaller(deps, tenant, req.headers.authorization, { read: 'Admin.Read.All', write: 'Admin.ReadWrite.All', writing: spec.writing });
        if (!caller.ok) throw new ServiceError(caller.status === 401 ? 'unauthenticated' : 'forbidden', caller.message);
        const query = (spec.query ? spec.query.parse(req.query ?? {}) : {}) as z.infer<Q>;
        const body = (spec.body ? spec.body.parse(req.body ?? {}) : undefined) as z.infer<B>;
        const result = await spec.handler({ deps, d, tenant, clientId: caller.clientId, site: req.site, params, query, body }, reply);
        if (status === 204) return reply.code(204).send();
        // A handler may have set its own status (a refused policy is 400 with its problems).
        if (reply.statusCode === 200) reply.code(status);
        return reply.header('cache-control', 'no-store').send(result);
      },
    });
  }

  // As the host the request came to writes it.
  const tenantJson = (t: Tenant, site: Site) => tenantAdminJson(t, issuerFor(site.baseUrl, t, t.defaultPolicy));
  const appView = async (a: App) => appJson(a, a.identifierUri !== null ? { scopes: await deps.store.listAppScopes(a.clientId), roles: await deps.store.listAppRoles(a.clientId) } : {});

  // tenant
  route({ method: 'GET', url: '/tenants/:tenant', tag: 'tenants', summary: 'Read the tenant', writing: false, params: S.TenantParams, response: S.TenantBody, handler: async ({ tenant, site }) => tenantJson(tenant, site) });
  route({
    method: 'PATCH', url: '/tenants/:tenant', tag: 'tenants', summary: 'Change migration settings (old ROPC endpoint, extensions app id)', writing: true, params: S.TenantParams, body: S.TenantPatch, response: S.TenantBody,
    handler: async ({ d, tenant, body, site }) => tenantJson(await setTenantSettings(d, tenant, body), site),
  });

  // custom domains (B2C's): hosts of the tenant's own; DNS and certificates stay with the operator
  const hostRules = { baseUrl: deps.config.baseUrl, tenantHostPattern: deps.config.tenantHostPattern };
  route({ method: 'GET', url: '/tenants/:tenant/domains', tag: 'tenants', summary: "List the tenant's own hosts (custom domains, and the host pattern's)", writing: false, params: S.TenantParams, response: S.DomainsBody, handler: async ({ d, tenant }) => ({ domains: await listTenantDomains(d, hostRules, tenant) }) });
  route({
    method: 'POST', url: '/tenants/:tenant/domains', tag: 'tenants', summary: 'Add a custom domain: on it every URL form serves this tenant, with its issuer written with the host', writing: true, status: 201, params: S.TenantParams, body: S.AddDomain, response: S.DomainBody,
    handler: async ({ d, tenant, body, clientId }) => {
      const added = await addTenantDomain(d, hostRules, tenant, body.host, `admin API (${clientId})`);
      // This instance serves the host at once (other instances hear of it through the store's notice).
      await deps.tenants.loadHosts();
      return added;
    },
  });
  route({
    method: 'DELETE', url: '/tenants/:tenant/domains/:host', tag: 'tenants', summary: 'Remove a custom domain', writing: true, params: S.DomainParams, response: S.RemovedBody,
    handler: async ({ d, tenant, params, clientId }) => {
      await removeTenantDomain(d, tenant, params.host, `admin API (${clientId})`);
      await deps.tenants.loadHosts();
      return { removed: true };
    },
  });

  // tenant secrets: written and listed, never read back
  route({ method: 'GET', url: '/tenants/:tenant/secrets', tag: 'tenants', summary: "List the tenant's secrets (names and times, never values)", writing: false, params: S.TenantParams, response: S.TenantSecretsBody, handler: async ({ tenant }) => ({ secrets: await listTenantSecrets(deps, tenant) }) });
  route({
    method: 'PUT', url: '/tenants/:tenant/secrets/:name', tag: 'tenants', summary: 'Set a tenant secret (policies name it { "secret": NAME }); the value is sealed and never shown again', writing: true, params: S.TenantSecretParams, body: S.TenantSecretValue, response: S.TenantSecretBody,
    handler: async ({ tenant, params, body, clientId }) => setTenantSecret(deps, tenant, params.name, body.value, `admin API (${clientId})`),
  });
  route({
    method: 'DELETE', url: '/tenants/:tenant/secrets/:name', tag: 'tenants', summary: 'Remove a tenant secret', writing: true, params: S.TenantSecretParams, response: S.RemovedBody,
    handler: async ({ tenant, params, clientId }) => {
      await removeTenantSecret(deps, tenant, params.name, `admin API (${clientId})`);
      return { removed: true };
    },
  });

  // apps
  route({ method: 'GET', url: '/tenants/:tenant/apps', tag: 'apps', summary: 'List apps', writing: false, params: S.TenantParams, response: z.object({ apps: z.array(S.AppBody) }), handler: async ({ tenant }) => ({ apps: await Promise.all((await deps.store.listApps(tenant.id)).map(appView)) }) });
  route({
    method: 'POST', url: '/tenants/:tenant/apps', tag: 'apps', summary: 'Register an app (a confidential one gets its first secret, shown once)', writing: true, status: 201, params: S.TenantParams, body: S.CreateApp, response: S.AppBody,
    handler: async ({ d, tenant, body }) => {
      const { app: created, clientSecret } = await createApp(d, tenant, stripUndefined(body));
      return { ...(await appView(created)), ...(clientSecret ? { client_secret: clientSecret } : {}) };
    },
  });
  route({ method: 'GET', url: '/tenants/:tenant/apps/:clientId', tag: 'apps', summary: 'Read an app', writing: false, params: S.AppParams, response: S.AppBody, handler: async ({ d, tenant, params }) => appView(await requireApp(d, tenant, params.clientId)) });
  route({
    method: 'PATCH', url: '/tenants/:tenant/apps/:clientId', tag: 'apps', summary: "Change an app registration: its platforms' redirect URIs (each list given is replaced), logout URIs, exposed API, name", writing: true, params: S.AppParams, body: S.UpdateApp, response: S.AppBody,
    handler: async ({ d, tenant, params, body }) => {
      const { name, identifierUri, webRedirectUris, spaRedirectUris, publicClientRedirectUris, postLogoutRedirectUris } = body;
      const set = (list: string[] | undefined) => (list === undefined ? undefined : { set: list });
      const input: UpdateAppInput = stripUndefined({
        name,
        identifierUri,
        webRedirectUris: set(webRedirectUris),
        spaRedirectUris: set(spaRedirectUris),
        publicClientRedirectUris: set(publicClientRedirectUris),
        postLogoutRedirectUris: set(postLogoutRedirectUris),
      });
      return appView(await updateApp(d, tenant, await requireApp(d, tenant, params.clientId), input));
    },
  });
  for (const kind of ['scope', 'role'] as const) {
    route({ method: 'GET', url: `/tenants/:tenant/apps/:clientId/${kind}s`, tag: 'apps', summary: `List an API's ${kind}s`, writing: false, params: S.AppParams, response: S.NamesBody, handler: async ({ d, tenant, params }) => ({ names: await definedOnApi(d, await requireApp(d, tenant, params.clientId), kind) }) });
    route({
      method: 'POST', url: `/tenants/:tenant/apps/:clientId/${kind}s`, tag: 'apps', summary: `Add a ${kind} to an API`, writing: true, params: S.AppParams, body: S.NameBody, response: S.NamesBody,
      handler: async ({ d, tenant, params, body }) => ({ names: await defineOnApi(d, await requireApp(d, tenant, params.clientId), kind, body.name, body.description, body.adminConsent) }),
    });
  }
  // enterprise apps: other tenants' multi-tenant apps provisioned here by consent
  route({ method: 'GET', url: '/tenants/:tenant/enterprise-apps', tag: 'apps', summary: "List enterprise apps (other tenants' multi-tenant apps consented to here)", writing: false, params: S.TenantParams, response: S.EnterpriseAppsBody, handler: async ({ d, tenant }) => ({ enterpriseApps: await listEnterpriseApps(d, tenant) }) });
  route({
    method: 'DELETE', url: '/tenants/:tenant/enterprise-apps/:clientId', tag: 'apps', summary: 'Remove an enterprise app: its consents here are withdrawn and its tokens here end', writing: true, params: S.AppParams, response: S.RemovedBody,
    handler: async ({ d, tenant, params }) => {
      await removeEnterpriseApp(d, tenant, params.clientId);
      return { removed: true };
    },
  });
  // SAML apps (service providers that sign users in through the tenant's policies): services/saml-apps.ts, as the CLI and the console
  const samlView = (a: SamlApp, t: Tenant, site: Site) => samlAppJson(a, { metadataUrl: endpointUrl(site.baseUrl, { tenantSegment: t.slug, form: 'path' }, t.defaultPolicy, 'samlp/metadata') });
  route({ method: 'GET', url: '/tenants/:tenant/saml-apps', tag: 'apps', summary: 'List SAML apps', writing: false, params: S.TenantParams, response: S.SamlAppsBody, handler: async ({ tenant, site }) => ({ samlApps: (await deps.store.listSamlApps(tenant.id)).map((a) => samlView(a, tenant, site)) }) });
  route({
    method: 'POST', url: '/tenants/:tenant/saml-apps', tag: 'apps', summary: "Register a SAML app from its metadata (the document, or a URL to fetch it from) or from its entity id and ACS URLs; the answer names the tenant's IdP metadata URL to give it", writing: true, status: 201, params: S.TenantParams, body: S.CreateSamlApp, response: S.SamlAppBody,
    handler: async ({ d, tenant, site, body, clientId }) => {
      // Metadata is fetched as the server fetches everything: through the outbound client (no private addresses unless the operator allows them).
      const created = await createSamlApp({ ...d, fetch: outboundMetadataFetch(deps.outbound) }, tenant, stripUndefined(body), `admin API (${clientId})`);
      return samlView(created, tenant, site);
    },
  });
  route({ method: 'GET', url: '/tenants/:tenant/saml-apps/:clientId', tag: 'apps', summary: 'Read a SAML app', writing: false, params: S.SamlAppParams, response: S.SamlAppBody, handler: async ({ d, tenant, site, params }) => samlView(await requireSamlApp(d, tenant, params.clientId), tenant, site) });
  route({
    method: 'DELETE', url: '/tenants/:tenant/saml-apps/:clientId', tag: 'apps', summary: 'Remove a SAML app: its entity id is refused from then on', writing: true, params: S.SamlAppParams, response: S.RemovedBody,
    handler: async ({ d, tenant, params, clientId }) => {
      await removeSamlApp(d, tenant, params.clientId, `admin API (${clientId})`);
      return { removed: true };
    },
  });
  route({ method: 'GET', url: '/tenants/:tenant/apps/:clientId/grants', tag: 'apps', summary: "List an app's grants", writing: false, params: S.AppParams, response: S.GrantsBody, handler: async ({ d, tenant, params }) => ({ grants: await listGrants(d, await requireApp(d, tenant, params.clientId)) }) });
  route({
    method: 'POST', url: '/tenants/:tenant/apps/:clientId/grants', tag: 'apps', summary: "Grant an app an API's scope (or a daemon an app role)", writing: true, params: S.AppParams, body: S.GrantBody, response: S.GrantsBody,
    handler: async ({ d, tenant, params, body }) => ({ grants: await grantApp(d, tenant, await requireApp(d, tenant, params.clientId), await requireApp(d, tenant, body.api), body.kind, body.name) }),
  });
  route({
    method: 'DELETE', url: '/tenants/:tenant/apps/:clientId/grants/:api/:kind/:name', tag: 'apps', summary: 'Revoke a grant', writing: true, params: S.GrantParams, response: S.GrantsBody,
    handler: async ({ d, tenant, params }) => ({ grants: await revokeGrant(d, tenant, await requireApp(d, tenant, params.clientId), await requireApp(d, tenant, params.api), params.kind, params.name) }),
  });
  route({ method: 'GET', url: '/tenants/:tenant/apps/:clientId/secrets', tag: 'apps', summary: "List an app's client secrets (never their values)", writing: false, params: S.AppParams, response: S.SecretsBody, handler: async ({ d, tenant, params }) => ({ secrets: await listAppSecrets(d, tenant, await requireApp(d, tenant, params.clientId)) }) });
  route({
    method: 'POST', url: '/tenants/:tenant/apps/:clientId/secrets', tag: 'apps', summary: 'Add a client secret (its value is in this answer only)', writing: true, status: 201, params: S.AppParams, body: S.NewSecret, response: S.SecretBody,
    handler: async ({ d, tenant, params, body }) => {
      const { secret, value } = await addAppSecret(d, tenant, await requireApp(d, tenant, params.clientId), stripUndefined(body));
      return { ...secret, client_secret: value };
    },
  });
  route({
    method: 'DELETE', url: '/tenants/:tenant/apps/:clientId/secrets/:secretId', tag: 'apps', summary: 'Revoke a client secret, at once or after an overlap', writing: true, params: S.SecretParams, query: S.RevokeSecretQuery, response: S.SecretBody,
    handler: async ({ d, tenant, params, query }) => revokeAppSecret(d, tenant, await requireApp(d, tenant, params.clientId), params.secretId, stripUndefined(query)),
  });

  // signing keys
  const keysJson = async (t: Tenant) => ({ keys: (await deps.store.listSigningKeys(t.id)).map(keyAdminJson) });
  route({ method: 'GET', url: '/tenants/:tenant/keys', tag: 'keys', summary: 'List signing keys', writing: false, params: S.TenantParams, response: S.KeysBody, handler: async ({ tenant }) => keysJson(tenant) });
  route({
    method: 'POST', url: '/tenants/:tenant/keys/rotate', tag: 'keys', summary: 'Make the prepared next key, or a new one, active (the old one stays published for the grace period); with prepare, publish a next key without signing with it', writing: true, params: S.TenantParams, body: S.RotateKeys, response: S.KeysBody,
    handler: async ({ d, tenant, body }) => {
      await rotateKeys(d, tenant, { ...(body.graceHours !== undefined ? { graceMs: Math.round(body.graceHours * 3_600_000) } : {}), ...(body.prepare ? { prepare: true } : {}) });
      return keysJson(tenant);
    },
  });
  route({ method: 'DELETE', url: '/tenants/:tenant/keys/:kid', tag: 'keys', summary: 'Retire a replaced key (no longer published)', writing: true, params: S.KeyParams, response: S.RetiredBody, handler: async ({ d, tenant, params }) => ({ retired: await retireKeys(d, tenant, params.kid) }) });

  // policies: the watcher's checks, and what a tenant's administrator may not do (services/tenant-files.ts)
  const secretHint = (t: Tenant) => `PUT /admin/v1/tenants/${t.slug}/secrets/{name}`;
  route({ method: 'GET', url: '/tenants/:tenant/policies', tag: 'policies', summary: 'List the loaded policies', writing: false, params: S.TenantParams, response: S.PoliciesBody, handler: async ({ tenant }) => ({ policies: deps.policies.list(tenant.slug).map((p) => ({ id: p.id, kind: p.kind })) }) });
  route({
    method: 'GET', url: '/tenants/:tenant/policies/:policyId', tag: 'policies', summary: "Read a policy's file", writing: false, params: S.PolicyParams, response: S.PolicyDocument,
    handler: async ({ tenant, params }) => JSON.parse(readPolicyText(deps, tenant, params.policyId).text) as unknown,
  });
  route({
    method: 'POST', url: '/tenants/:tenant/policies/:policyId/validate', tag: 'policies', summary: 'Check a policy as the file watcher would, without saving it', writing: false, params: S.PolicyParams, body: S.PolicyDocument, response: S.PolicyProblems,
    handler: async ({ tenant, params, body }) => {
      const problems = await policyWriteProblems(deps, tenant, params.policyId, JSON.stringify(body), secretHint(tenant));
      return { valid: problems.length === 0, problems };
    },
  });
  route({
    method: 'PUT', url: '/tenants/:tenant/policies/:policyId', tag: 'policies', summary: 'Save a policy that passes the checks (live at once); a failing one is refused with its problems', writing: true, params: S.PolicyParams, body: S.PolicyDocument, response: S.PolicyProblems,
    handler: async ({ tenant, params, body, clientId }, reply) => {
      const problems = await writePolicy(deps, tenant, params.policyId, `${JSON.stringify(body, null, 2)}\n`, secretHint(tenant), { clientId });
      if (problems.length > 0) {
        reply.code(400);
        return { valid: false, problems };
      }
      return { valid: true, problems: [] };
    },
  });

  // consent given to third-party apps
  route({
    method: 'GET', url: '/tenants/:tenant/users/:userId/consents', tag: 'consent', summary: 'The third-party apps a user let in, and to what', writing: false, params: S.UserParams, response: S.ConsentsBody,
    handler: async ({ d, tenant, params }) => ({ consents: await listConsentViews(deps, tenant, (await requireUser(d, tenant, params.userId.toLowerCase())).id) }),
  });
  route({
    method: 'DELETE', url: '/tenants/:tenant/users/:userId/consents/:clientId', tag: 'consent', summary: "Withdraw a user's consent to an app (its refresh tokens for the user end)", writing: true, params: S.ConsentParams, response: S.RemovedBody,
    handler: async ({ d, tenant, params, clientId }) => {
      const user = await requireUser(d, tenant, params.userId.toLowerCase());
      if (!(await revokeConsent(deps, tenant, user.id, params.clientId, `admin API (${clientId})`))) throw new ServiceError('not_found', `The user has not consented to '${params.clientId}'.`);
      return { removed: true };
    },
  });

  // audit events
  route({
    method: 'GET', url: '/tenants/:tenant/audit-events', tag: 'audit', summary: 'Audit events, newest first, by page', writing: false, params: S.TenantParams, query: S.AuditQuery, response: S.AuditBody,
    handler: async ({ tenant, query }) => {
      const events = await deps.store.listAuditEvents({
        tenantId: tenant.id,
        limit: query.limit + 1,
        ...(query.event ? { event: query.event } : {}),
        ...(query.outcome ? { outcome: query.outcome } : {}),
        ...(query.since ? { since: Date.parse(query.since) } : {}),
        ...(query.before ? { beforeId: query.before } : {}),
      });
      const page = events.slice(0, query.limit);
      return {
        events: page.map((e) => ({ id: e.id, time: new Date(e.at).toISOString(), event: e.event, outcome: e.outcome, subject: e.subject, clientId: e.clientId, ip: e.ip, detail: e.detail, actor: e.actor })),
        ...(events.length > query.limit ? { nextBefore: page.at(-1)!.id } : {}),
      };
    },
  });
}

/** zod's optional fields come out as `undefined`; the services take absent ones (exactOptionalPropertyTypes). */
function stripUndefined<T extends object>(o: T): { [K in keyof T]: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as { [K in keyof T]: Exclude<T[K], undefined> };
}
