import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { compactVerify, decodeJwt, decodeProtectedHeader } from 'jose';
import type { Deps } from '../services/deps.js';
import { OAuthError } from '../model/errors.js';
import { endpointUrl } from '../oauth/tenant-context.js';
import { handleTokenRequest } from '../oauth/token.js';
import { createRequire } from 'node:module';
import { staticDir } from '../paths.js';

const require = createRequire(import.meta.url);
import { PLAYGROUND_APP, playgroundRedirectUri } from '../services/tenants.js';
import type { Tenant } from '../model/entities.js';
import { landingPage, tokenViewerPage, type DecodedToken } from '../ui/pages/playground.js';
import { formFields } from './forms.js';
import { sendPage } from './respond.js';

const STATIC_TYPES: Record<string, string> = { css: 'text/css; charset=utf-8', js: 'text/javascript; charset=utf-8' };
const PLAYGROUND_COOKIE = 'lk_playground';

interface PlaygroundFlow {
  tenant: string;
  policy: string;
  state: string;
  nonce: string;
  verifier: string;
}

/** Static assets, the landing page and the playground (run a policy, see its tokens). */
export function registerPageRoutes(app: FastifyInstance, deps: Deps): void {
  const files = new Map<string, { body: string; type: string }>();
  for (const name of ['latchkey.css', 'form-post.js', 'signed-out.js', 'passkey.js', 'themes/dark.css']) {
    files.set(name, { body: readFileSync(join(staticDir, name), 'utf8'), type: STATIC_TYPES[name.split('.').pop()!]! });
  }
  // The WebAuthn browser library, from its package (the passkey pages load it from Latchkey's origin).
  files.set('vendor/simplewebauthn-browser.js', { body: readFileSync(join(dirname(require.resolve('@simplewebauthn/browser')), '..', 'dist', 'bundle', 'index.umd.min.js'), 'utf8'), type: STATIC_TYPES.js! });
  // Served from memory: a fixed list, so no path from the URL ever reaches the file system.
  app.get('/static/*', { config: { errorFormat: 'html' } }, async (req, reply) => {
    const f = files.get((req.params as { '*': string })['*']);
    if (!f) throw new OAuthError('not_found', 'No such file.', { redirectable: false });
    return reply.header('cache-control', 'public, max-age=3600').type(f.type).send(f.body);
  });

  const playground = async (tenant: Tenant) => (await deps.store.listApps(tenant.id)).find((a) => a.name === PLAYGROUND_APP);

  // The playground is the shared host's (its redirect URI is registered there): a tenant's own host
  // serves that tenant's endpoints and pages only.
  const sharedHostOnly = (req: FastifyRequest) => {
    if (req.site.tenantId !== undefined) throw new OAuthError('not_found', 'There is nothing at this address.', { redirectable: false });
  };

  app.get('/', { config: { errorFormat: 'html' } }, async (req, reply) => {
    // On a tenant's own host, that tenant's policies (without the playground); on the shared host, demo's.
    const tenant = req.site.tenantId !== undefined ? await deps.tenants.find(req.site.tenantId) : await deps.store.findTenant('demo');
    const pg = tenant && req.site.tenantId === undefined ? await playground(tenant) : undefined;
    const policies = tenant
      ? deps.policies.list(tenant.slug).map((p) => ({
          id: p.id,
          kind: p.kind,
          ...(p.ui.title ? { title: p.ui.title } : {}),
          ...(pg && p.kind !== 'ropc' ? { runUrl: `/playground/run?tenant=${tenant.slug}&p=${encodeURIComponent(p.id)}` } : {}),
          discoveryUrl: endpointUrl('', { tenantSegment: tenant.slug, form: 'path' }, p.id, 'v2.0/.well-known/openid-configuration'),
        }))
      : [];
    return sendPage(reply, landingPage({ ...(tenant ? { tenant } : {}), policies, baseUrl: req.site.baseUrl }));
  });

  // Starts an authorization code + PKCE flow for the playground app, as a public client would.
  app.get('/playground/run', { config: { errorFormat: 'html' } }, async (req, reply) => {
    sharedHostOnly(req);
    const q = req.query as Record<string, unknown>;
    const tenant = typeof q.tenant === 'string' ? await deps.store.findTenant(q.tenant) : undefined;
    const policy = tenant && typeof q.p === 'string' ? deps.policies.get(tenant.slug, q.p) : undefined;
    const pg = tenant && (await playground(tenant));
    if (!tenant || !policy || !pg) throw new OAuthError('not_found', 'Unknown tenant or policy, or the tenant has no playground app.', { redirectable: false });
    const flow: PlaygroundFlow = {
      tenant: tenant.slug,
      policy: policy.id,
      state: randomBytes(16).toString('base64url'),
      nonce: randomBytes(16).toString('base64url'),
      verifier: randomBytes(32).toString('base64url'),
    };
    reply.setCookie(PLAYGROUND_COOKIE, Buffer.from(JSON.stringify(flow)).toString('base64url'), {
      path: '/playground',
      httpOnly: true,
      sameSite: 'lax',
      secure: req.site.baseUrl.startsWith('https://'),
      maxAge: 3600,
    });
    const url = new URL(endpointUrl(req.site.baseUrl, { tenantSegment: tenant.slug, form: 'path' }, policy.id, 'oauth2/v2.0/authorize'));
    url.search = new URLSearchParams({
      client_id: pg.clientId,
      redirect_uri: playgroundRedirectUri(req.site.baseUrl),
      response_type: 'code',
      scope: 'openid offline_access profile email',
      state: flow.state,
      nonce: flow.nonce,
      code_challenge: createHash('sha256').update(flow.verifier).digest('base64url'),
      code_challenge_method: 'S256',
    }).toString();
    return reply.redirect(url.toString(), 302);
  });

  const callback = async (req: FastifyRequest, reply: FastifyReply) => {
    sharedHostOnly(req);
    const params = req.method === 'POST' ? formFields(req) : stringParams(req.query);
    const flow = readFlow(req.cookies[PLAYGROUND_COOKIE]);
    const tenant = flow ? await deps.store.findTenant(flow.tenant) : undefined;
    const policy = tenant && flow ? deps.policies.get(tenant.slug, flow.policy) : undefined;
    const pg = tenant && (await playground(tenant));
    const links = [{ href: '/', text: 'Start page' }];
    if (tenant && flow && pg) {
      links.push({ href: `/playground/run?tenant=${tenant.slug}&p=${encodeURIComponent(flow.policy)}`, text: `Run ${flow.policy} again` });
      const logout = new URL(endpointUrl(req.site.baseUrl, { tenantSegment: tenant.slug, form: 'path' }, flow.policy, 'oauth2/v2.0/logout'));
      logout.searchParams.set('client_id', pg.clientId);
      logout.searchParams.set('post_logout_redirect_uri', `${req.site.baseUrl}/`);
      links.push({ href: logout.toString(), text: 'Sign out' });
    }
    if (params.error) {
      return sendPage(reply, tokenViewerPage({ tokens: [], error: { error: params.error, description: params.error_description ?? '' }, links }));
    }
    if (!flow || !tenant || !policy || !pg || params.state !== flow.state) {
      return sendPage(reply, tokenViewerPage({ tokens: [], error: { error: 'invalid_state', description: 'This response does not belong to a flow started here. Run a policy from the start page.' }, links }), { status: 400 });
    }
    const tokens: DecodedToken[] = [];
    const notes: string[] = [];
    if (params.code) {
      try {
        const res = await handleTokenRequest(deps, tenant, policy, {
          grant_type: 'authorization_code',
          client_id: pg.clientId,
          code: params.code,
          redirect_uri: playgroundRedirectUri(req.site.baseUrl),
          code_verifier: flow.verifier,
        }, undefined, 'internal', req.site);
        if (res.id_token) tokens.push(await decode(deps, tenant, 'id_token', res.id_token));
        tokens.push(await decode(deps, tenant, 'access_token', res.access_token));
        if (res.refresh_token) notes.push(`A refresh token was issued too (opaque, valid ${Math.round((res.refresh_token_expires_in ?? 0) / 86400)} days).`);
      } catch (err) {
        if (!(err instanceof OAuthError)) throw err;
        return sendPage(reply, tokenViewerPage({ tokens: [], error: { error: err.code, description: err.describe(req.id, new Date()) }, links }), { status: 400 });
      }
    }
    if (params.id_token) tokens.push(await decode(deps, tenant, 'id_token', params.id_token));
    if (params.access_token) tokens.push(await decode(deps, tenant, 'access_token', params.access_token));
    reply.clearCookie(PLAYGROUND_COOKIE, { path: '/playground' });
    return sendPage(reply, tokenViewerPage({ tokens, notes, links }));
  };
  app.get('/playground/callback', { config: { errorFormat: 'html' } }, callback);
  app.post('/playground/callback', { config: { errorFormat: 'html' } }, callback);

  app.get('/playground/token', { config: { errorFormat: 'html' } }, async (req, reply) => {
    sharedHostOnly(req);
    return sendPage(reply, tokenViewerPage({ tokens: [] }));
  });
  app.post('/playground/token', { config: { errorFormat: 'html' } }, async (req, reply) => {
    sharedHostOnly(req);
    const token = (formFields(req).token ?? '').trim().slice(0, 20_000);
    const tenant = await tenantOfToken(deps, token);
    const decoded = token ? [await decode(deps, tenant, 'Token', token)] : [];
    return sendPage(reply, tokenViewerPage({ tokens: decoded, pasted: token }));
  });
}

function stringParams(q: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries((q ?? {}) as Record<string, unknown>)) if (typeof v === 'string') out[k] = v;
  return out;
}

function readFlow(cookie: string | undefined): PlaygroundFlow | undefined {
  if (!cookie || cookie.length > 2000) return undefined;
  try {
    const f = JSON.parse(Buffer.from(cookie, 'base64url').toString('utf8')) as Partial<PlaygroundFlow>;
    if (typeof f.tenant === 'string' && typeof f.policy === 'string' && typeof f.state === 'string' && typeof f.verifier === 'string' && typeof f.nonce === 'string') {
      return f as PlaygroundFlow;
    }
  } catch {
    // a cookie we did not write
  }
  return undefined;
}

/** The tenant whose issuer a pasted token names, to verify its signature against that tenant's keys. */
async function tenantOfToken(deps: Deps, token: string): Promise<Tenant | undefined> {
  try {
    const iss = decodeJwt(token).iss;
    const m = typeof iss === 'string' ? /\/(?:tfp\/)?([0-9a-f-]{36})\//.exec(iss) : null;
    return m ? await deps.store.findTenant(m[1]!) : undefined;
  } catch {
    return undefined;
  }
}

async function decode(deps: Deps, tenant: Tenant | undefined, label: string, raw: string): Promise<DecodedToken> {
  try {
    const header = decodeProtectedHeader(raw) as Record<string, unknown>;
    const claims = decodeJwt(raw) as Record<string, unknown>;
    let verified: boolean | undefined;
    if (tenant) {
      const keys = await deps.keys.forTenant(tenant.id);
      const key = typeof header.kid === 'string' ? keys.verifyKeys.get(header.kid) : undefined;
      verified = key ? await compactVerify(raw, key).then(() => true, () => false) : false;
    }
    return { label, raw, header, claims, ...(verified !== undefined ? { verified } : {}) };
  } catch {
    return { label, raw, problem: 'This is not a JSON Web Token (three base64url parts separated by dots).' };
  }
}
