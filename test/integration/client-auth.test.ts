import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pino from 'pino';
import { buildApp } from '../../src/app.js';
import { createDeps } from '../../src/runtime.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** Client authentication at the token endpoint: the throttle, and one method per request (RFC 6749 §2.3). */
let s: TestServer;
let daemon: { clientId: string; secret: string };
/** A second daemon on the same API, kept out of the flood so its failures are not throttled. */
let calm: { clientId: string; secret: string };
const API = 'https://demo.example/client-auth';

function token(server: TestServer, body: Record<string, string>, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${server.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(body),
  });
}

const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

beforeAll(async () => {
  s = await startServer();
  let apiClientId: string;
  ({ daemon, apiClientId } = await s.createDaemonForApi({ api: 'api', identifierUri: API, role: 'Jobs.Run', daemon: 'daemon' }));
  const c = await s.createApp({ name: 'calm', type: 'daemon' });
  await s.deps.store.addGrant({ clientId: c.app.clientId, apiClientId, kind: 'role', name: 'Jobs.Run' });
  calm = { clientId: c.app.clientId, secret: c.clientSecret! };
});

afterAll(async () => {
  await s.close();
});

describe('a flood of wrong secrets', () => {
  it('never locks out the right secret from the same address; the wrong ones get 429 with Retry-After', async () => {
    const wrong = (i: number) => token(s, { grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.clientId, client_secret: `guess-${i}` });
    const statuses: number[] = [];
    for (let i = 0; i < 300; i++) statuses.push((await wrong(i)).status);
    expect(statuses.slice(0, 10)).toEqual(Array(10).fill(401));
    expect(new Set(statuses.slice(10))).toEqual(new Set([429]));
    const refused = await wrong(300);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(((await refused.json()) as { error: string }).error).toBe('invalid_client');

    // The backend, from the same address, with its real secret: a token, whatever came before.
    const right = await token(s, { grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.clientId, client_secret: daemon.secret });
    expect(right.status).toBe(200);
    expect(((await right.json()) as { access_token: string }).access_token).toBeTruthy();
    const viaBasic = await token(s, { grant_type: 'client_credentials', scope: `${API}/.default` }, { authorization: basic(daemon.clientId, daemon.secret) });
    expect(viaBasic.status).toBe(200);
    // And the flood is still refused.
    expect((await wrong(301)).status).toBe(429);
  });

  it('keeps the throttle to its app instance: a second instance on the same database counts its own failures', async () => {
    // Two app instances in one process, one database (what two processes behind a balancer are):
    // the first one's flood above must not have leaked into the second through module state.
    const deps = await createDeps(s.deps.config, { logger: pino({ level: 'silent' }), watchPolicies: false });
    const second = await buildApp(deps);
    try {
      const res = await second.inject({
        method: 'POST',
        url: '/demo/B2C_1_signin/oauth2/v2.0/token',
        remoteAddress: '127.0.0.1',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        payload: new URLSearchParams({ grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.clientId, client_secret: 'wrong' }).toString(),
      });
      expect(res.statusCode).toBe(401);
    } finally {
      await second.close();
      await deps.close();
    }
  });
});

describe('one authentication method per request', () => {
  const cc = { grant_type: 'client_credentials', scope: `${API}/.default` };
  const assertionType = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
  const fakeAssertion = 'eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln';

  it('refuses client_secret_basic together with a client assertion', async () => {
    const res = await token(s, { ...cc, client_assertion_type: assertionType, client_assertion: fakeAssertion }, { authorization: basic(calm.clientId, calm.secret) });
    const body = (await res.json()) as { error: string; error_description: string; access_token?: string };
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.error_description).toContain('more than one authentication method');
    expect(body.access_token).toBeUndefined();
  });

  it('refuses client_secret_post together with client_assertion_type', async () => {
    const res = await token(s, { ...cc, client_id: calm.clientId, client_secret: calm.secret, client_assertion_type: assertionType });
    const body = (await res.json()) as { error: string; access_token?: string };
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.access_token).toBeUndefined();
  });

  it('refuses an empty Basic header next to body credentials', async () => {
    const res = await token(s, { ...cc, client_id: calm.clientId, client_secret: calm.secret }, { authorization: 'Basic ' });
    const body = (await res.json()) as { error: string; access_token?: string };
    expect([400, 401]).toContain(res.status);
    expect(['invalid_request', 'invalid_client']).toContain(body.error);
    expect(body.access_token).toBeUndefined();
  });

  it('refuses Basic credentials together with client_secret in the body', async () => {
    const res = await token(s, { ...cc, client_secret: calm.secret }, { authorization: basic(calm.clientId, calm.secret) });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe('invalid_request');
  });

  it('says that client assertions are not supported, and discovery does not offer them', async () => {
    const res = await token(s, { ...cc, client_id: calm.clientId, client_assertion_type: assertionType, client_assertion: fakeAssertion });
    const body = (await res.json()) as { error: string; error_description: string };
    expect(res.status).toBe(401);
    expect(body.error).toBe('invalid_client');
    expect(body.error_description).toMatch(/^Client assertions \(private_key_jwt, client_secret_jwt\) are not supported/);
    const meta = (await (await fetch(`${s.baseUrl}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta.token_endpoint_auth_methods_supported).toEqual(['client_secret_post', 'client_secret_basic', 'none']);
    expect(meta.token_endpoint_auth_signing_alg_values_supported).toBeUndefined();
  });

  it('still accepts each method on its own', async () => {
    expect((await token(s, { ...cc, client_id: calm.clientId, client_secret: calm.secret })).status).toBe(200);
    expect((await token(s, cc, { authorization: basic(calm.clientId, calm.secret) })).status).toBe(200);
  });
});
