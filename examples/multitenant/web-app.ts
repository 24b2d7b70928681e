import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { html } from '../../src/ui/html.js';

/**
 * Timesheets: a SaaS web app that signs in people of any organization (any Latchkey tenant) through
 * the `/common` endpoint, as a multi-tenant Azure AD app does, and lists the organizations it has seen.
 * Each token names the person's tenant in `tid` and in its issuer (`{base}/{tid}/v2.0/`); openid-client
 * checks the issuer against the `{tenantid}` template of `/common`'s metadata with the token's `tid`.
 */
export interface WebAppOptions {
  /** Latchkey's base URL, e.g. http://localhost:3000 */
  latchkeyUrl: string;
  clientId: string;
  clientSecret: string;
  /** This app's public URL, e.g. http://localhost:5003 */
  baseUrl: string;
  /** Tenant ids the app serves; undefined: any organization may sign in. */
  allowedTenants?: string[];
  /** Allow plain http to Latchkey (local development and tests). */
  insecure?: boolean;
}

interface Session {
  name: string;
  username: string;
  tenantId: string;
  idToken: string;
}

interface Pending {
  verifier: string;
  nonce: string;
}

/** Entra ID's multi-tenant address, which openid-client knows the `{tenantid}` template of. */
const ENTRA = 'https://login.microsoftonline.com';

export async function buildWebApp(o: WebAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(fastifyCookie);
  const sessions = new Map<string, Session>();
  const pending = new Map<string, Pending>();
  /** Organizations seen, by tenant id: who signed in from each. */
  const seen = new Map<string, Set<string>>();
  const redirectUri = `${o.baseUrl}/signin-oidc`;

  // openid-client applies Entra ID's `{tenantid}` issuer template to Microsoft's address only: the app
  // keeps that address, as an app written for Azure AD's multi-tenant endpoint has it, and sends its
  // requests to Latchkey instead. Everything else (PKCE, state, nonce, signatures, the issuer with the
  // token's tid) is openid-client's.
  let config: Promise<oidc.Configuration> | undefined;
  const configuration = () => {
    config ??= oidc.discovery(new URL(`${ENTRA}/common/v2.0`), o.clientId, o.clientSecret, undefined, {
      [oidc.customFetch]: (url: string, options: oidc.CustomFetchOptions) => fetch(url.replace(ENTRA, o.latchkeyUrl), options as RequestInit),
      ...(o.insecure ? { execute: [oidc.allowInsecureRequests] } : {}),
    });
    config.catch(() => (config = undefined));
    return config;
  };
  const sessionOf = (req: FastifyRequest) => {
    const sid = req.cookies.saas_sid;
    return sid ? sessions.get(sid) : undefined;
  };

  function page(reply: FastifyReply, body: ReturnType<typeof html>, status = 200) {
    return reply.code(status).type('text/html; charset=utf-8').send(html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Timesheets</title></head><body>${body}</body></html>`.value);
  }

  function home(req: FastifyRequest, reply: FastifyReply, message?: string, status = 200) {
    const s = sessionOf(req);
    const organizations = [...seen.entries()].map(([tid, people]) => html`<li><span class="tenant">${tid}</span>: ${[...people].sort().join(', ')}</li>`);
    return page(
      reply,
      html`<h1>Timesheets</h1>
${message ? html`<p role="alert" id="message">${message}</p>` : ''}
${s ? html`<p id="who">Signed in as ${s.name} (${s.username}) of tenant <span id="tenant">${s.tenantId}</span>.</p><p><a href="/signout">Sign out</a></p>` : html`<p><a href="/signin">Sign in with your work account</a></p>`}
<h2>Organizations that signed in</h2>
<ul id="organizations">${organizations}</ul>`,
      status,
    );
  }

  app.get('/', (req, reply) => home(req, reply));

  app.get('/signin', async (_req, reply) => {
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    pending.set(state, { verifier, nonce });
    const url = oidc.buildAuthorizationUrl(await configuration(), {
      redirect_uri: redirectUri,
      scope: 'openid profile',
      code_challenge: await oidc.calculatePKCECodeChallenge(verifier),
      code_challenge_method: 'S256',
      state,
      nonce,
    });
    return reply.redirect(url.toString());
  });

  app.get('/signin-oidc', async (req, reply) => {
    const q = req.query as Record<string, string | undefined>;
    const flow = q.state ? pending.get(q.state) : undefined;
    if (q.state) pending.delete(q.state);
    if (q.error || !flow) return home(req, reply, `Sign-in did not complete: ${q.error ?? 'unknown state'}`, 400);
    const tokens = await oidc.authorizationCodeGrant(await configuration(), new URL(req.url, o.baseUrl), { pkceCodeVerifier: flow.verifier, expectedNonce: flow.nonce, expectedState: q.state });
    const claims = tokens.claims()!;
    const tenantId = String(claims.tid);
    // Azure AD's advice for multi-tenant apps: decide which organizations you serve.
    if (o.allowedTenants && !o.allowedTenants.includes(tenantId)) return home(req, reply, `Your organization (${tenantId}) has no subscription to Timesheets.`, 403);
    const username = String(claims.preferred_username ?? claims.sub);
    const people = seen.get(tenantId) ?? new Set<string>();
    people.add(username);
    seen.set(tenantId, people);
    const sid = randomBytes(24).toString('base64url');
    sessions.set(sid, { name: String(claims.name ?? username), username, tenantId, idToken: tokens.id_token! });
    reply.setCookie('saas_sid', sid, { path: '/', httpOnly: true, sameSite: 'lax' });
    return reply.redirect('/');
  });

  app.get('/signout', async (req, reply) => {
    const s = sessionOf(req);
    if (req.cookies.saas_sid) sessions.delete(req.cookies.saas_sid);
    reply.clearCookie('saas_sid', { path: '/' });
    if (!s) return reply.redirect('/');
    const url = oidc.buildEndSessionUrl(await configuration(), { id_token_hint: s.idToken, post_logout_redirect_uri: `${o.baseUrl}/` });
    return reply.redirect(url.toString());
  });
  return app;
}
