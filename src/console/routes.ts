import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { decodeJwt } from 'jose';
import { safeEqual } from '../crypto/secrets.js';
import type { Tenant, User } from '../model/entities.js';
import { OAuthError, ServiceError } from '../model/errors.js';
import type { Site } from '../model/site.js';
import { consoleErrorOf } from '../http/error-mapper.js';
import { formFields } from '../http/forms.js';
import { sendPage } from '../http/respond.js';
import { endpointUrl, servedOn } from '../oauth/tenant-context.js';
import { handleTokenRequest } from '../oauth/token.js';
import type { TokenResponse } from '../oauth/token-response.js';
import { staticDir } from '../paths.js';
import { consoleClientId, consoleUrls, ensureConsoleApp } from '../services/console-app.js';
import { provisionDeps, type Deps, type ProvisionDeps } from '../services/deps.js';
import { listTenantDomains } from '../services/tenant-domains.js';
import type { Origin } from '../services/users.js';
import { consolePage, type PageContent, type Shell } from './pages/layout.js';
import { accessOf, type Access, type ConsoleRole, type DirectoryRoles } from './roles.js';
import { consoleReturnTo, cookieName, cookieOptions, endSession, findSession, SESSION_MS, startFlow, startSession, takeFlow, type ConsoleSession, type PendingFlow } from './session.js';
import { NOTICES, type Notice } from './notices.js';
import { tokensBody } from './pages/tokens.js';
import { html } from '../ui/html.js';

/**
 * The web console, `/console/{tenant}/`: each tenant's administrators manage its users, apps,
 * policies, keys, settings and audit events in a browser. A surface like the admin API: pages and forms
 * parse their input, call the same services, and render. Administrators sign in through the tenant's own
 * default policy (code + PKCE, the built-in console app, the code redeemed in this process) and need a
 * directory role there (roles.ts); every change is a POST carrying the session's CSRF token, made by a
 * Global Administrator, and audited with who made it (the services' audit is stamped with the person).
 */
export type { DirectoryRoles } from './roles.js';

export interface ConsoleOptions {
  directoryRoles: DirectoryRoles;
}

/** What a page or form handler is given: the tenant, who is signed in, and the services acting as them. */
export interface Ctx {
  deps: Deps;
  req: FastifyRequest;
  reply: FastifyReply;
  tenant: Tenant;
  site: Site;
  session: ConsoleSession;
  admin: User;
  role: ConsoleRole;
  access: Access;
  shell: Shell;
  /** The console's own app (its client id names the console in the audit trail). */
  consoleClientId: string;
  /** The server's dependencies with the audit trail stamped with the signed-in administrator. */
  acting: Deps;
  /** The same for the operator's operations (services/apps, keys, tenants, users). */
  d: ProvisionDeps;
  /** How the users services record a change made here. */
  origin: Origin;
  /** A user's directory roles (the function the console was given). */
  directoryRoles: DirectoryRoles;
  query: Record<string, string>;
}

export interface Redisplay {
  error?: string;
  /** The fields of the form that failed, to show them again. */
  values?: Record<string, string>;
}

export type Render = (c: Ctx, o: Redisplay) => Promise<PageContent>;
export type ActionResult = { redirect: string; done?: Notice } | { page: PageContent; status?: number };

export interface ConsoleRouter {
  /** A page (GET) for anyone with a console role. */
  page(path: string, render: Render): void;
  /** A change (POST): a Global Administrator's, with the page's CSRF token; on a refused input `back` is shown again with the message. */
  action(path: string, run: (c: Ctx, form: Record<string, string>) => Promise<ActionResult>, back: Render): void;
  /** A GET that answers on its own (a redirect, another kind of page), for anyone with a console role. */
  get(path: string, handler: (c: Ctx) => Promise<FastifyReply>): void;
}

const ASSETS: Record<string, string> = { 'console.css': 'text/css; charset=utf-8', 'console.js': 'text/javascript; charset=utf-8' };

/** Statuses whose pages have a title of their own. */
const TITLES: Record<number, string> = { 400: 'That did not work', 401: 'Sign in again', 403: 'Not allowed', 404: 'Not found', 409: 'That did not work', 500: 'Something went wrong' };

export function registerConsoleRoutes(app: FastifyInstance, deps: Deps, opts: ConsoleOptions, areas: ((r: ConsoleRouter) => void)[]): void {
  const assets = new Map(Object.keys(ASSETS).map((name) => [name, readFileSync(join(staticDir, 'console', name), 'utf8')]));
  app.get('/console/assets/:name', { config: { errorFormat: 'html' } }, async (req, reply) => {
    const name = (req.params as { name: string }).name;
    const body = assets.get(name);
    if (!body) throw new OAuthError('not_found', 'No such file.', { redirectable: false });
    return reply.header('cache-control', 'public, max-age=3600').type(ASSETS[name]!).send(body);
  });

  const secure = (site: Site) => site.baseUrl.startsWith('https://');
  const shellOf = (tenant: Tenant): Shell => ({ tenant: { slug: tenant.slug, displayName: tenant.displayName }, base: `/console/${tenant.slug}` });

  /** A page of the console outside a session (signed out, refused, an error before the tenant is known). */
  const bare = (reply: FastifyReply, tenant: Tenant | undefined, status: number, title: string, body: PageContent['body']) =>
    sendPage(reply, consolePage(tenant ? shellOf(tenant) : { tenant: { slug: '', displayName: 'Latchkey' }, base: '/console' }, { title, body }), { status });

  const tenantOf = async (req: FastifyRequest): Promise<Tenant> => {
    // On a tenant's own host, that tenant's console alone.
    const tenant = servedOn(req.site, await deps.tenants.fresh((req.params as { tenant: string }).tenant));
    if (!tenant) throw new ServiceError('not_found', 'There is no such tenant here.');
    return tenant;
  };

  const consoleAppFor = async (tenant: Tenant, site: Site) =>
    ensureConsoleApp(deps, tenant, {
      shared: deps.config.baseUrl,
      current: site.baseUrl,
      ownHosts: (await listTenantDomains(deps, { baseUrl: deps.config.baseUrl, tenantHostPattern: deps.config.tenantHostPattern }, tenant)).map((h) => h.host),
    });

  /** The console's error page, in the frame of the signed-in console when there is one. */
  const errorHandler = async (err: FastifyError | Error, req: FastifyRequest, reply: FastifyReply) => {
    const e = consoleErrorOf(err, req);
    const shell = req.consoleShell;
    const title = TITLES[e.status] ?? 'That did not work';
    return sendPage(reply, consolePage(shell ?? { tenant: { slug: '', displayName: 'Latchkey' }, base: '/console' }, { title, body: backLink(shell), error: e.message }), { status: e.status });
  };

  /** The tenant's logout (its sign-in session ends), then the console's signed-out page. */
  const logoutUrl = (tenant: Tenant, site: Site) => {
    const url = new URL(endpointUrl(site.baseUrl, { tenantSegment: tenant.slug, form: 'path' }, tenant.defaultPolicy, 'oauth2/v2.0/logout'));
    url.searchParams.set('client_id', consoleClientId(tenant.id));
    url.searchParams.set('post_logout_redirect_uri', consoleUrls(site.baseUrl, tenant.slug).signedOut);
    return url.toString();
  };

  const notAllowed = (req: FastifyRequest, reply: FastifyReply, tenant: Tenant, message: string) =>
    bare(reply, tenant, 403, 'Needs an administrator role', html`<p>${message}</p>
<p>The console is for the tenant's administrators: users with the <strong>Global Administrator</strong> role (read and change) or the <strong>Global Reader</strong> role (read only). Ask an administrator of <code>${tenant.slug}</code> to give you one.</p>
<p><a href="${logoutUrl(tenant, req.site)}">Sign out, to sign in as someone else</a></p>`);

  /**
   * Who is signed in, with which role: every request asks again (the account and its roles), so a
   * disabled account or a role taken away ends the access at once. Undefined when the answer was sent.
   */
  async function guard(req: FastifyRequest, reply: FastifyReply, need: 'read' | 'write'): Promise<Ctx | undefined> {
    const tenant = await tenantOf(req);
    const token = req.cookies[cookieName(secure(req.site), tenant.id, 'session')];
    const session = await findSession(deps, tenant, token);
    const base = `/console/${tenant.slug}`;
    if (!session) {
      if (req.method === 'GET') {
        const path = req.url.split('?')[0]!.startsWith(`${base}/`) ? req.url : `${base}/`;
        return void reply.redirect(`${base}/signin?returnTo=${encodeURIComponent(path)}`, 303);
      }
      return void (await bare(reply, tenant, 401, 'Sign in again', html`<p>Your console session has ended, so nothing was changed.</p><p><a href="${base}/signin">Sign in</a></p>`));
    }
    const admin = await deps.store.findUser(tenant.id, session.userId);
    const roles = admin && !admin.disabled ? await opts.directoryRoles(tenant.id, admin.id) : [];
    const access = accessOf(roles);
    if (!admin || !access) {
      await endSession(deps, session);
      reply.clearCookie(cookieName(secure(req.site), tenant.id, 'session'), cookieOptions(secure(req.site), 0));
      return void (await notAllowed(req, reply, tenant, 'Your account has no administrator role in this tenant (any more).'));
    }
    const role: ConsoleRole = access === 'write' ? 'GlobalAdministrator' : 'GlobalReader';
    const shell: Shell = { ...shellOf(tenant), user: { name: admin.displayName ?? admin.email ?? admin.id, role }, access, csrf: session.csrf };
    req.consoleShell = shell;
    if (req.method === 'POST') {
      const sent = formFields(req).csrf;
      // The session's token in the form, or nothing happens: a page of another site cannot know it.
      if (!sent || !safeEqual(sent, session.csrf)) {
        req.log.info({ tenant: tenant.slug }, 'console form without its CSRF token refused');
        return void (await sendPage(reply, consolePage(shell, { title: 'Not allowed', body: backLink(shell), error: "This form's security token is missing or out of date, so nothing was changed. Reload the page and try again." }), { status: 403 }));
      }
      if (need === 'write' && access !== 'write') {
        return void (await sendPage(reply, consolePage(shell, { title: 'Not allowed', body: backLink(shell), error: 'Changes need the Global Administrator role; yours is Global Reader, so nothing was changed.' }), { status: 403 }));
      }
    }
    const consoleClient = consoleClientId(tenant.id);
    const audit = deps.audit.as({ actor: admin.id, ip: req.ip, clientId: consoleClient, surface: 'console' });
    const acting: Deps = { ...deps, audit };
    return {
      deps,
      req,
      reply,
      tenant,
      site: req.site,
      session,
      admin,
      role,
      access,
      shell,
      consoleClientId: consoleClient,
      acting,
      d: { ...provisionDeps(deps), audit },
      origin: { by: 'console', clientId: consoleClient, ip: req.ip },
      directoryRoles: opts.directoryRoles,
      query: stringsOf(req.query),
    };
  }

  const routeOptions = { config: { errorFormat: 'html' as const }, errorHandler };
  const send = (c: Ctx, content: PageContent, status = 200) => {
    const done = c.query.done;
    const notice = done !== undefined && Object.hasOwn(NOTICES, done) ? NOTICES[done as Notice] : undefined;
    return sendPage(c.reply, consolePage(c.shell, { ...content, notice: content.notice ?? notice }), { status });
  };

  const router: ConsoleRouter = {
    page(path, render) {
      app.get(`/console/:tenant${path}`, routeOptions, async (req, reply) => {
        const c = await guard(req, reply, 'read');
        if (!c) return reply;
        return send(c, await render(c, {}));
      });
    },
    get(path, handler) {
      app.get(`/console/:tenant${path}`, routeOptions, async (req, reply) => {
        const c = await guard(req, reply, 'read');
        if (!c) return reply;
        return handler(c);
      });
    },
    action(path, run, back) {
      app.post(`/console/:tenant${path}`, routeOptions, async (req, reply) => {
        const c = await guard(req, reply, 'write');
        if (!c) return reply;
        const form = formFields(req);
        let result: ActionResult;
        try {
          result = await run(c, form);
        } catch (err) {
          const e = consoleErrorOf(err, req);
          if (e.kind === 'server_error' || e.kind === 'forbidden' || e.kind === 'unauthenticated') throw err;
          const { csrf: _, ...values } = form;
          return send(c, await back(c, { error: e.message, values }), e.status);
        }
        if ('page' in result) return send(c, result.page, result.status);
        const [path, query] = result.redirect.split('?');
        const params = new URLSearchParams(query);
        if (result.done) params.set('done', result.done);
        const q = params.toString();
        return reply.redirect(`${c.shell.base}${path}${q ? `?${q}` : ''}`, 303);
      });
    },
  };

  // Signing in: the tenant's default policy, code + PKCE, for the console's own app.
  app.get('/console/:tenant/signin', routeOptions, async (req, reply) => {
    const tenant = await tenantOf(req);
    const policy = deps.policies.get(tenant.slug, tenant.defaultPolicy);
    if (!policy) throw new ServiceError('not_found', `The tenant's default policy ${tenant.defaultPolicy} is not loaded, so nobody can sign in to the console.`);
    // Back to a page of this console only (never another site, nor another path of this one).
    const returnTo = consoleReturnTo(tenant.slug, stringsOf(req.query).returnTo);
    return startAt(req, reply, tenant, { kind: 'signin', policyId: policy.id, returnTo }, consoleUrls(req.site.baseUrl, tenant.slug).callback, 'openid profile');
  });

  async function startAt(req: FastifyRequest, reply: FastifyReply, tenant: Tenant, flow: Omit<PendingFlow, 'state' | 'nonce' | 'verifier'>, redirectUri: string, scope: string) {
    const consoleApp = await consoleAppFor(tenant, req.site);
    const started = await startFlow(deps, tenant, flow);
    reply.setCookie(cookieName(secure(req.site), tenant.id, 'flow'), started.token, cookieOptions(secure(req.site), 15 * 60));
    const url = new URL(endpointUrl(req.site.baseUrl, { tenantSegment: tenant.slug, form: 'path' }, flow.policyId, 'oauth2/v2.0/authorize'));
    url.search = new URLSearchParams({
      client_id: consoleApp.clientId,
      redirect_uri: redirectUri,
      response_type: 'code',
      scope,
      state: started.flow.state,
      nonce: started.flow.nonce,
      code_challenge: createHash('sha256').update(started.flow.verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return reply.redirect(url.toString(), 303);
  }

  /** The flow a callback belongs to and its tokens (redeemed here, in this process), or the page saying why not. */
  async function finishFlow(req: FastifyRequest, reply: FastifyReply, tenant: Tenant, kind: PendingFlow['kind'], redirectUri: string): Promise<{ refused: FastifyReply } | { flow: PendingFlow; tokens: TokenResponse }> {
    const flowCookie = cookieName(secure(req.site), tenant.id, 'flow');
    const flow = await takeFlow(deps, tenant, req.cookies[flowCookie]);
    reply.clearCookie(flowCookie, cookieOptions(secure(req.site), 0));
    const q = stringsOf(req.query);
    const again = kind === 'signin' ? html`<p><a href="/console/${tenant.slug}/signin">Sign in again</a></p>` : html`<p><a href="/console/${tenant.slug}/policies">Back to the policies</a></p>`;
    if (!flow || flow.kind !== kind || q.state === undefined || !safeEqual(q.state, flow.state)) {
      return { refused: await bare(reply, tenant, 400, 'That did not work', html`<p>This answer does not belong to a sign-in started here (or it came too late).</p>${again}`) };
    }
    if (q.error !== undefined || q.code === undefined) {
      return { refused: await bare(reply, tenant, 400, 'That did not work', html`<p>The sign-in ended without signing in: <code>${q.error ?? 'no code'}</code> ${q.error_description?.split('\r\n')[0] ?? ''}</p>${again}`) };
    }
    const policy = deps.policies.get(tenant.slug, flow.policyId);
    if (!policy) throw new ServiceError('not_found', `The policy ${flow.policyId} is not loaded any more.`);
    const consoleApp = await consoleAppFor(tenant, req.site);
    const tokens = await handleTokenRequest(deps, tenant, policy, { grant_type: 'authorization_code', client_id: consoleApp.clientId, code: q.code, redirect_uri: redirectUri, code_verifier: flow.verifier }, undefined, req.ip, req.site);
    return { flow, tokens };
  }

  app.get('/console/:tenant/callback', routeOptions, async (req, reply) => {
    const tenant = await tenantOf(req);
    const done = await finishFlow(req, reply, tenant, 'signin', consoleUrls(req.site.baseUrl, tenant.slug).callback);
    if ('refused' in done) return done.refused;
    // Minted by this process a moment ago for this flow: its claims are read, and the nonce matched.
    const claims = decodeJwt(done.tokens.id_token ?? '');
    if (typeof claims.nonce !== 'string' || !safeEqual(claims.nonce, done.flow.nonce) || typeof claims.sub !== 'string') throw new ServiceError('invalid', 'The sign-in answer does not match the sign-in started here.');
    const user = await deps.store.findUser(tenant.id, claims.sub);
    const access = user && !user.disabled ? accessOf(await opts.directoryRoles(tenant.id, user.id)) : undefined;
    if (!user || !access) return notAllowed(req, reply, tenant, `You are signed in as ${user?.email ?? user?.displayName ?? claims.sub}, who has no administrator role in this tenant.`);
    const { token } = await startSession(deps, tenant, user.id);
    reply.setCookie(cookieName(secure(req.site), tenant.id, 'session'), token, cookieOptions(secure(req.site), SESSION_MS / 1000));
    return reply.redirect(done.flow.returnTo, 303);
  });

  app.post('/console/:tenant/signout', routeOptions, async (req, reply) => {
    const tenant = await tenantOf(req);
    const cookie = cookieName(secure(req.site), tenant.id, 'session');
    const session = await findSession(deps, tenant, req.cookies[cookie]);
    const sent = formFields(req).csrf;
    if (session && (!sent || !safeEqual(sent, session.csrf))) return bare(reply, tenant, 403, 'Not allowed', html`<p>This form's security token is missing or out of date. Reload the page and try again.</p>`);
    if (session) await endSession(deps, session);
    reply.clearCookie(cookie, cookieOptions(secure(req.site), 0));
    // The tenant's sign-in session ends too (single sign-out), then back to the console's signed-out page.
    await consoleAppFor(tenant, req.site);
    return reply.redirect(logoutUrl(tenant, req.site), 303);
  });
  app.get('/console/:tenant/signed-out', routeOptions, async (req, reply) => {
    const tenant = await tenantOf(req);
    return bare(reply, tenant, 200, 'Signed out', html`<p>You have signed out of the console.</p><p><a href="/console/${tenant.slug}/signin">Sign in again</a></p>`);
  });

  // Run now: the policy's journey for the console's app; the tokens it issues are shown, nothing is kept.
  router.get('/policies/:policy/run', async (c) => {
    const policy = c.deps.policies.get(c.tenant.slug, (c.req.params as { policy: string }).policy);
    if (!policy || policy.kind === 'ropc') throw new ServiceError('not_found', 'No such policy with pages to run.');
    return startAt(c.req, c.reply, c.tenant, { kind: 'run', policyId: policy.id, returnTo: `${c.shell.base}/policies/${policy.id}` }, consoleUrls(c.site.baseUrl, c.tenant.slug).runCallback, 'openid');
  });
  router.get('/run/callback', async (c): Promise<FastifyReply> => {
    const done = await finishFlow(c.req, c.reply, c.tenant, 'run', consoleUrls(c.site.baseUrl, c.tenant.slug).runCallback);
    if ('refused' in done) return done.refused;
    return sendPage(c.reply, consolePage(c.shell, { title: `Tokens from ${done.flow.policyId}`, section: 'policies', body: tokensBody(c.shell, done.flow.policyId, done.tokens) }));
  });

  for (const area of areas) area(router);
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The console's frame for this request, once its administrator is known (error pages use it). */
    consoleShell?: Shell;
  }
}

function backLink(shell: Shell | undefined): PageContent['body'] {
  return shell ? html`<p><a href="${shell.base}/">Back to the console</a></p>` : html``;
}

export function stringsOf(q: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((q ?? {}) as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}
