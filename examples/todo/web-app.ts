import { randomBytes } from 'node:crypto';
import fastifyCookie from '@fastify/cookie';
import fastifyFormbody from '@fastify/formbody';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import * as oidc from 'openid-client';
import { html } from '../../src/ui/html.js';
import type { Task } from './task-api.js';

/**
 * TaskWebApp: a server-rendered web app that signs users in with Latchkey (B2C's sign-up-or-sign-in,
 * profile-edit and password-reset policies) and calls the task API with the user's delegated scopes.
 * It asks for a fresh access token (refresh grant) for each API call, so a permission an operator
 * revokes shows at the next call.
 */
export interface WebAppOptions {
  /** Latchkey tenant base, e.g. http://localhost:3000/demo */
  authority: string;
  clientId: string;
  clientSecret: string;
  /** This app's public URL, e.g. http://localhost:5002 */
  baseUrl: string;
  apiUrl: string;
  apiScopes: string[];
  policies: { signUpSignIn: string; profileEdit: string; passwordReset: string };
  /** Allow plain http to Latchkey (local development and tests). */
  insecure?: boolean;
}

interface Session {
  name: string;
  oid: string;
  idToken: string;
  refreshToken: string;
  policy: string;
  csrf: string;
}

interface Pending {
  verifier: string;
  nonce: string;
  policy: string;
}

export async function buildWebApp(o: WebAppOptions): Promise<FastifyInstance> {
  const app = Fastify({ logger: false });
  await app.register(fastifyCookie);
  await app.register(fastifyFormbody);
  const sessions = new Map<string, Session>();
  const pending = new Map<string, Pending>();
  const configs = new Map<string, Promise<oidc.Configuration>>();
  const redirectUri = `${o.baseUrl}/signin-oidc`;

  const config = (policy: string) => {
    let c = configs.get(policy);
    if (!c) {
      c = oidc.discovery(new URL(`${o.authority}/${policy}/v2.0/.well-known/openid-configuration`), o.clientId, undefined, oidc.ClientSecretPost(o.clientSecret), o.insecure ? { execute: [oidc.allowInsecureRequests] } : undefined);
      c.catch(() => configs.delete(policy));
      configs.set(policy, c);
    }
    return c;
  };
  const sessionOf = (req: FastifyRequest) => {
    const sid = req.cookies.todo_sid;
    return sid ? sessions.get(sid) : undefined;
  };

  /** A fresh access token for the API via the refresh grant (rotated refresh token kept). */
  async function accessToken(s: Session): Promise<string> {
    const tokens = await oidc.refreshTokenGrant(await config(s.policy), s.refreshToken);
    if (tokens.refresh_token) s.refreshToken = tokens.refresh_token;
    return tokens.access_token;
  }

  function page(reply: FastifyReply, body: ReturnType<typeof html>, status = 200) {
    return reply.code(status).type('text/html; charset=utf-8').send(html`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>To-do</title></head><body>${body}</body></html>`.value);
  }

  async function home(req: FastifyRequest, reply: FastifyReply, message?: string, status = 200) {
    const s = sessionOf(req);
    if (!s) {
      return page(reply, html`<h1>To-do list</h1><p><a href="/signin">Sign up or sign in</a></p>${message ? html`<p role="alert">${message}</p>` : ''}`, status);
    }
    let tasks: Task[] = [];
    let listError: string | undefined;
    const res = await fetch(`${o.apiUrl}/tasks`, { headers: { authorization: `Bearer ${await accessToken(s)}` } });
    if (res.ok) tasks = (await res.json()) as Task[];
    else listError = `The task service refused to list tasks (HTTP ${res.status}).`;
    return page(
      reply,
      html`<h1>To-do list of ${s.name}</h1>
${message ? html`<p role="alert" id="message">${message}</p>` : ''}
${listError ? html`<p role="alert">${listError}</p>` : ''}
<ul id="tasks">${tasks.map((t) => html`<li>${t.text}</li>`)}</ul>
<form method="post" action="/tasks">
<input type="hidden" name="csrf" value="${s.csrf}">
<label for="text">New task</label> <input id="text" name="text" maxlength="200">
<button type="submit">Add task</button>
</form>
<p><a href="/signin?p=${o.policies.profileEdit}">Edit profile</a> · <a href="/signin?p=${o.policies.passwordReset}">Reset password</a> · <a href="/signout">Sign out</a></p>`,
      status,
    );
  }

  app.get('/', (req, reply) => home(req, reply));

  app.get('/signin', async (req, reply) => {
    const q = req.query as { p?: string };
    const policy = Object.values(o.policies).includes(q.p ?? '') ? q.p! : o.policies.signUpSignIn;
    const verifier = oidc.randomPKCECodeVerifier();
    const state = oidc.randomState();
    const nonce = oidc.randomNonce();
    pending.set(state, { verifier, nonce, policy });
    const url = oidc.buildAuthorizationUrl(await config(policy), {
      redirect_uri: redirectUri,
      scope: `openid offline_access ${o.apiScopes.join(' ')}`,
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
    // B2C's classic contract: "Forgot your password?" comes back as AADB2C90118; start the reset policy.
    if (q.error === 'access_denied' && q.error_description?.startsWith('AADB2C90118')) return reply.redirect(`/signin?p=${o.policies.passwordReset}`);
    if (q.error === 'access_denied' && q.error_description?.startsWith('AADB2C90091')) return reply.redirect('/');
    if (q.error || !flow) return home(req, reply, `Sign-in did not complete: ${q.error ?? 'unknown state'}`, 400);
    const tokens = await oidc.authorizationCodeGrant(await config(flow.policy), new URL(req.url, o.baseUrl), {
      pkceCodeVerifier: flow.verifier,
      expectedNonce: flow.nonce,
      expectedState: q.state,
    });
    const claims = tokens.claims()!;
    const sid = randomBytes(24).toString('base64url');
    sessions.set(sid, {
      name: typeof claims.name === 'string' ? claims.name : String((claims.emails as string[] | undefined)?.[0] ?? claims.sub),
      oid: String(claims.oid ?? claims.sub),
      idToken: tokens.id_token!,
      refreshToken: tokens.refresh_token!,
      policy: flow.policy,
      csrf: randomBytes(16).toString('base64url'),
    });
    reply.setCookie('todo_sid', sid, { path: '/', httpOnly: true, sameSite: 'lax' });
    return reply.redirect('/');
  });

  app.post('/tasks', async (req, reply) => {
    const s = sessionOf(req);
    const form = req.body as { text?: string; csrf?: string };
    if (!s || form.csrf !== s.csrf) return reply.redirect('/');
    const res = await fetch(`${o.apiUrl}/tasks`, {
      method: 'POST',
      headers: { authorization: `Bearer ${await accessToken(s)}`, 'content-type': 'application/json' },
      body: JSON.stringify({ text: form.text ?? '' }),
    });
    if (res.status === 403) {
      const err = (await res.json()) as { error: string };
      return home(req, reply, `The task service refused to add the task: this app is not allowed to write tasks (${err.error}).`, 403);
    }
    if (!res.ok) return home(req, reply, `The task service refused to add the task (HTTP ${res.status}).`, res.status);
    return reply.redirect('/');
  });

  app.get('/signout', async (req, reply) => {
    const s = sessionOf(req);
    if (req.cookies.todo_sid) sessions.delete(req.cookies.todo_sid);
    reply.clearCookie('todo_sid', { path: '/' });
    if (!s) return reply.redirect('/');
    const url = oidc.buildEndSessionUrl(await config(s.policy), { id_token_hint: s.idToken, post_logout_redirect_uri: `${o.baseUrl}/` });
    return reply.redirect(url.toString());
  });
  return app;
}
