import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { latchkeyAuthPlugin } from '../../src/resource-server/index.js';
import { rotateKeys } from '../../src/services/keys.js';
import { Agent, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';

/**
 * Web APIs protected with Latchkey's resource-server helper (Fastify plugin form), called with
 * tokens from the real token endpoint: audience, scopes, roles, expiry, on-behalf-of.
 */
const CB = 'http://127.0.0.1:9/cb';
const TASKS = 'https://demo.example/tasks';
const REPORTS = 'https://demo.example/reports';

let s: TestServer;
let web: { clientId: string; secret: string };
let tasks: { clientId: string; secret: string };
let reports: { clientId: string; secret: string };
let daemon: { clientId: string; secret: string };
let tasksApi: FastifyInstance;
let reportsApi: FastifyInstance;

async function token(form: Record<string, string>, client: { clientId: string; secret: string }) {
  const res = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ ...form, client_id: client.clientId, client_secret: client.secret }),
  });
  return { status: res.status, body: (await res.json()) as Record<string, string> };
}

async function userToken(scope: string): Promise<string> {
  const { verifier, challenge } = pkce();
  const url = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: web.clientId, redirect_uri: CB, response_type: 'code', scope, code_challenge: challenge, code_challenge_method: 'S256' })}`;
  const back = await signInViaPages(new Agent(), s.baseUrl, url, 'quinn@example.com', 'quinn-password-1');
  const res = await token({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: CB, code_verifier: verifier }, web);
  if (res.status !== 200) throw new Error(JSON.stringify(res.body));
  return res.body.access_token!;
}

function call(api: FastifyInstance, method: 'GET' | 'POST', url: string, accessToken?: string) {
  return api.inject({ method, url, headers: accessToken ? { authorization: `Bearer ${accessToken}` } : {} });
}

beforeAll(async () => {
  s = await startServer();
  await s.createUser('quinn@example.com', 'quinn-password-1');
  const make = async (name: string, type: 'web' | 'api' | 'daemon', extra: object = {}) => {
    const r = await s.createApp({ name, type, ...extra });
    return { clientId: r.app.clientId, secret: r.clientSecret! };
  };
  web = await make('web', 'web', { redirectUris: [CB] });
  tasks = await make('tasks', 'api', { identifierUri: TASKS });
  reports = await make('reports', 'api', { identifierUri: REPORTS });
  daemon = await make('nightly', 'daemon');
  const st = s.deps.store;
  for (const sc of ['tasks.read', 'tasks.write']) await st.addAppScope(tasks.clientId, sc);
  await st.addAppRole(tasks.clientId, 'Tasks.Read.All');
  await st.addAppScope(reports.clientId, 'reports.read');
  await st.addGrant({ clientId: web.clientId, apiClientId: tasks.clientId, kind: 'scope', name: 'tasks.read' });
  await st.addGrant({ clientId: web.clientId, apiClientId: reports.clientId, kind: 'scope', name: 'reports.read' });
  await st.addGrant({ clientId: tasks.clientId, apiClientId: reports.clientId, kind: 'scope', name: 'reports.read' });
  await st.addGrant({ clientId: daemon.clientId, apiClientId: tasks.clientId, kind: 'role', name: 'Tasks.Read.All' });

  const issuer = `${s.baseUrl}/${s.tenant.id}/v2.0/`;
  tasksApi = Fastify();
  await tasksApi.register(latchkeyAuthPlugin, { issuer, audience: tasks.clientId, jwksCooldownSeconds: 0 });
  tasksApi.get('/tasks', { preHandler: tasksApi.latchkeyAuth({ scopes: ['tasks.read'], roles: ['Tasks.Read.All'] }) }, async (req) => ({ user: req.latchkey!.userId ?? null }));
  tasksApi.post('/tasks', { preHandler: tasksApi.latchkeyAuth({ scopes: ['tasks.write'] }) }, async () => ({ created: true }));
  // Calls the reports API for the same user: on-behalf-of.
  tasksApi.get('/summary', { preHandler: tasksApi.latchkeyAuth({ scopes: ['tasks.read'] }) }, async (req, reply) => {
    const obo = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', requested_token_use: 'on_behalf_of', assertion: req.headers.authorization!.slice(7), scope: `${REPORTS}/reports.read` }, tasks);
    if (obo.status !== 200) return reply.code(502).send(obo.body);
    const r = await call(reportsApi, 'GET', '/reports', obo.body.access_token);
    return { reports: r.json(), obo: decodeJwt(obo.body.access_token!) };
  });
  reportsApi = Fastify();
  await reportsApi.register(latchkeyAuthPlugin, { issuer, audience: reports.clientId });
  reportsApi.get('/reports', { preHandler: reportsApi.latchkeyAuth({ scopes: ['reports.read'] }) }, async (req) => ({ user: req.latchkey!.userId, azp: req.latchkey!.claims.azp }));
});

afterAll(async () => {
  await tasksApi?.close();
  await reportsApi?.close();
  await s.close();
});

describe('protecting web APIs', () => {
  it('admits a user token with the scope, and answers RFC 6750 errors otherwise', async () => {
    const at = await userToken(`openid ${TASKS}/tasks.read`);
    expect(decodeJwt(at)).toMatchObject({ aud: tasks.clientId, scp: 'tasks.read', azp: web.clientId });
    const ok = await call(tasksApi, 'GET', '/tasks', at);
    expect(ok.statusCode).toBe(200);
    expect(ok.json().user).toBe(decodeJwt(at).oid);

    const none = await call(tasksApi, 'GET', '/tasks');
    expect(none.statusCode).toBe(401);
    expect(none.headers['www-authenticate']).toBe('Bearer realm="api"');

    const noScope = await call(tasksApi, 'POST', '/tasks', at);
    expect(noScope.statusCode).toBe(403);
    expect(noScope.json().error).toBe('insufficient_scope');
    expect(noScope.headers['www-authenticate']).toContain('error="insufficient_scope"');
    expect(noScope.headers['www-authenticate']).toContain('scope="tasks.write"');
  });

  it('refuses a token for API A at API B (audience)', async () => {
    const at = await userToken(`openid ${TASKS}/tasks.read`);
    const res = await call(reportsApi, 'GET', '/reports', at);
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ error: 'invalid_token', error_description: 'The access token is for another audience.' });
  });

  it('refuses an expired token', async () => {
    s.clock.advance(-2 * 3600_000);
    let at: string;
    try {
      at = await userToken(`openid ${TASKS}/tasks.read`);
    } finally {
      s.clock.offset = 0;
    }
    const res = await call(tasksApi, 'GET', '/tasks', at);
    expect(res.statusCode).toBe(401);
    expect(res.json().error_description).toBe('The access token has expired.');
  });

  it('refuses a scope the app was not granted, and scopes of two APIs in one request', async () => {
    const agent = new Agent();
    const { challenge } = pkce();
    const authorize = (scope: string) => `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: web.clientId, redirect_uri: CB, response_type: 'code', scope, code_challenge: challenge, code_challenge_method: 'S256' })}`;
    const notGranted = new URL((await agent.fetch(authorize(`openid ${TASKS}/tasks.write`))).headers.get('location')!).searchParams;
    expect(notGranted.get('error')).toBe('invalid_scope');
    const twoApis = new URL((await agent.fetch(authorize(`openid ${TASKS}/tasks.read ${REPORTS}/reports.read`))).headers.get('location')!).searchParams;
    expect(twoApis.get('error')).toBe('invalid_request');
  });

  it("admits a daemon's roles token where roles are accepted, not where a user scope is needed", async () => {
    const res = await token({ grant_type: 'client_credentials', scope: `${TASKS}/.default` }, daemon);
    const at = res.body.access_token!;
    expect(decodeJwt(at).roles).toEqual(['Tasks.Read.All']);
    const list = await call(tasksApi, 'GET', '/tasks', at);
    expect(list.statusCode).toBe(200);
    expect(list.json().user).toBeNull();
    expect((await call(tasksApi, 'POST', '/tasks', at)).statusCode).toBe(403);
    expect((await call(tasksApi, 'GET', '/summary', at)).statusCode).toBe(403);
  });

  it('exchanges a user token on-behalf-of for a downstream API and keeps the user', async () => {
    const at = await userToken(`openid ${TASKS}/tasks.read`);
    const res = await call(tasksApi, 'GET', '/summary', at);
    expect(res.statusCode).toBe(200);
    const body = res.json() as { reports: { user: string; azp: string }; obo: Record<string, unknown> };
    const original = decodeJwt(at);
    expect(body.reports).toEqual({ user: original.oid, azp: tasks.clientId });
    expect(body.obo).toMatchObject({ sub: original.sub, oid: original.oid, aud: reports.clientId, scp: 'reports.read', azp: tasks.clientId });
  });

  it('refuses on-behalf-of with an assertion for another audience, or without a downstream grant', async () => {
    const forReports = await userToken(`openid ${REPORTS}/reports.read`);
    const wrongAud = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', requested_token_use: 'on_behalf_of', assertion: forReports, scope: `${REPORTS}/reports.read` }, tasks);
    expect(wrongAud.status).toBe(400);
    expect(wrongAud.body.error).toBe('invalid_grant');
    expect(wrongAud.body.error_description).toContain('audience');

    // The reports API has no grant on the tasks API.
    const forTasks = await userToken(`openid ${TASKS}/tasks.read`);
    const viaReports = await userToken(`openid ${REPORTS}/reports.read`);
    const noGrant = await token({ grant_type: 'urn:ietf:params:oauth:grant-type:jwt-bearer', requested_token_use: 'on_behalf_of', assertion: viaReports, scope: `${TASKS}/tasks.read` }, reports);
    expect(noGrant.body.error).toBe('invalid_scope');
    expect(forTasks).toBeTruthy();
  });

  it('picks up rotated keys without a restart (unknown kid → fresh JWKS)', async () => {
    const before = await userToken(`openid ${TASKS}/tasks.read`);
    expect((await call(tasksApi, 'GET', '/tasks', before)).statusCode).toBe(200);
    await rotateKeys(s.provision, s.tenant);
    s.clock.advance(1500);
    try {
      const after = await userToken(`openid ${TASKS}/tasks.read`);
      expect(decodeJwt(after)).toBeTruthy();
      const res = await call(tasksApi, 'GET', '/tasks', after);
      expect(res.statusCode).toBe(200);
    } finally {
      s.clock.offset = 0;
    }
  });
});

describe('permissions changed after sign-in', () => {
  it('leaves a revoked scope out of tokens from the next refresh', async () => {
    await s.deps.store.addGrant({ clientId: web.clientId, apiClientId: tasks.clientId, kind: 'scope', name: 'tasks.write' });
    const { verifier, challenge } = pkce();
    const url = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: web.clientId, redirect_uri: CB, response_type: 'code', scope: `openid offline_access ${TASKS}/tasks.read ${TASKS}/tasks.write`, code_challenge: challenge, code_challenge_method: 'S256' })}`;
    const back = await signInViaPages(new Agent(), s.baseUrl, url, 'quinn@example.com', 'quinn-password-1');
    const first = await token({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: CB, code_verifier: verifier }, web);
    expect(decodeJwt(first.body.access_token!).scp).toBe('tasks.read tasks.write');
    await s.deps.store.removeGrant({ clientId: web.clientId, apiClientId: tasks.clientId, kind: 'scope', name: 'tasks.write' });
    const next = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token! }, web);
    expect(decodeJwt(next.body.access_token!).scp).toBe('tasks.read');
    expect(next.body.scope).not.toContain('tasks.write');
    expect((await call(tasksApi, 'POST', '/tasks', next.body.access_token)).statusCode).toBe(403);
    expect((await call(tasksApi, 'GET', '/tasks', next.body.access_token)).statusCode).toBe(200);
  });
});
