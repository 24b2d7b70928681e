import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { Agent, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { retireKeys, rotateKeys } from '../../src/services/keys.js';

const CB = 'http://127.0.0.1:9/cb';
let s: TestServer;
let native: string;
let other: string;

beforeAll(async () => {
  s = await startServer();
  await s.createUser('dee@example.com', 'dee-password-1');
  native = (await s.createApp({ name: 'native', type: 'native', redirectUris: [CB], postLogoutRedirectUris: ['http://127.0.0.1:9/bye'] })).app.clientId;
  other = (await s.createApp({ name: 'other', type: 'native', redirectUris: ['http://127.0.0.1:9/other'], postLogoutRedirectUris: ['http://127.0.0.1:9/other-bye'] })).app.clientId;
});

afterAll(async () => {
  await s.close();
});

async function json(url: string): Promise<{ status: number; headers: Headers; body: Record<string, unknown> }> {
  const res = await fetch(url);
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

describe('discovery and JWKS', () => {
  it('serves every B2C URL form with the tenant and policy written back literally', async () => {
    const b = s.baseUrl;
    const cases: [string, string][] = [
      [`${b}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`, `${b}/demo/b2c_1_signin/oauth2/v2.0/authorize`],
      [`${b}/demo.onmicrosoft.com/b2c_1_SIGNIN/v2.0/.well-known/openid-configuration`, `${b}/demo.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/authorize`],
      [`${b}/${s.tenant.id}/B2C_1_signin/v2.0/.well-known/openid-configuration`, `${b}/${s.tenant.id}/b2c_1_signin/oauth2/v2.0/authorize`],
      [`${b}/demo/v2.0/.well-known/openid-configuration?p=B2C_1_signin`, `${b}/demo/oauth2/v2.0/authorize?p=b2c_1_signin`],
      [`${b}/tfp/demo.onmicrosoft.com/B2C_1_signin/v2.0/.well-known/openid-configuration`, `${b}/tfp/demo.onmicrosoft.com/b2c_1_signin/oauth2/v2.0/authorize`],
      [`${b}/demo/v2.0/.well-known/openid-configuration`, `${b}/demo/b2c_1_signupsignin/oauth2/v2.0/authorize`],
    ];
    for (const [url, authorize] of cases) {
      const r = await json(url);
      expect(r.status, url).toBe(200);
      expect(r.body.authorization_endpoint, url).toBe(authorize);
      expect(r.body.issuer).toBe(`${b}/${s.tenant.id}/v2.0/`);
      expect(r.headers.get('access-control-allow-origin')).toBe('*');
      expect(r.headers.get('cache-control')).toContain('max-age');
    }
  });

  it('lists exactly what is supported', async () => {
    const { body } = await json(`${s.baseUrl}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`);
    expect(body.code_challenge_methods_supported).toEqual(['S256']);
    expect(body.grant_types_supported).toEqual(['authorization_code', 'refresh_token', 'client_credentials', 'urn:ietf:params:oauth:grant-type:jwt-bearer']);
    expect(body.token_endpoint_auth_methods_supported).toEqual(['client_secret_post', 'client_secret_basic', 'none']);
    expect(body.end_session_endpoint).toBe(`${s.baseUrl}/demo/b2c_1_signin/oauth2/v2.0/logout`);
    expect(body.userinfo_endpoint).toBe(`${s.baseUrl}/demo/b2c_1_signin/openid/v2.0/userinfo`);
    expect(body.jwks_uri).toBe(`${s.baseUrl}/demo/b2c_1_signin/discovery/v2.0/keys`);
  });

  it('answers unknown tenants and policies with a JSON 404', async () => {
    const r = await json(`${s.baseUrl}/nobody/B2C_1_signin/v2.0/.well-known/openid-configuration`);
    expect(r.status).toBe(404);
    expect(r.body.error).toBe('not_found');
  });

  it('keeps a rotated key published until it is retired', async () => {
    const { verifier, challenge } = pkce();
    const url = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    const back = await signInViaPages(new Agent(), s.baseUrl, url, 'dee@example.com', 'dee-password-1');
    const res = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: native, code: back.searchParams.get('code')!, redirect_uri: CB, code_verifier: verifier }),
    });
    const idToken = ((await res.json()) as { id_token: string }).id_token;
    const jwks = async () => createLocalJWKSet(JSON.parse(await (await fetch(`${s.baseUrl}/demo/discovery/v2.0/keys`)).text()));

    await rotateKeys(s.provision, s.tenant);
    s.clock.advance(1500); // the server re-reads key versions at most once a second
    const published = JSON.parse(await (await fetch(`${s.baseUrl}/demo/discovery/v2.0/keys`)).text()) as { keys: unknown[] };
    expect(published.keys).toHaveLength(2);
    await expect(jwtVerify(idToken, await jwks())).resolves.toBeTruthy();

    expect(await retireKeys(s.provision, s.tenant)).toHaveLength(1);
    s.clock.advance(1500);
    await expect(jwtVerify(idToken, await jwks())).rejects.toThrow();
    s.clock.offset = 0;
  });
});

describe('logout', () => {
  async function signedInAgent(): Promise<{ agent: Agent; idToken?: string }> {
    const agent = new Agent();
    const { challenge } = pkce();
    const url = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    await signInViaPages(agent, s.baseUrl, url, 'dee@example.com', 'dee-password-1');
    return { agent };
  }
  const logoutUrl = (params: Record<string, string>) => `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/logout?${new URLSearchParams(params)}`;

  it('redirects to a post-logout URI registered by the named client, with state', async () => {
    const { agent } = await signedInAgent();
    const res = await agent.fetch(logoutUrl({ client_id: native, post_logout_redirect_uri: 'http://127.0.0.1:9/bye', state: 's' }));
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('http://127.0.0.1:9/bye?state=s');
    expect([...agent.cookies.keys()].some((k) => k.startsWith('lk_sso_'))).toBe(false);
  });

  it('never redirects to a URI the named client did not register (even one another app did)', async () => {
    const { agent } = await signedInAgent();
    for (const uri of ['https://evil.example/', 'http://127.0.0.1:9/other-bye']) {
      const res = await agent.fetch(logoutUrl({ client_id: native, post_logout_redirect_uri: uri }));
      expect(res.status).toBe(400);
      expect(res.headers.get('location')).toBeNull();
    }
  });

  it('without client_id or id_token_hint accepts a URI some app of the tenant registered, nothing else', async () => {
    const ok = await fetch(logoutUrl({ post_logout_redirect_uri: 'http://127.0.0.1:9/other-bye' }), { redirect: 'manual' });
    expect(ok.headers.get('location')).toBe('http://127.0.0.1:9/other-bye');
    const bad = await fetch(logoutUrl({ post_logout_redirect_uri: 'https://evil.example/' }), { redirect: 'manual' });
    expect(bad.status).toBe(400);
  });

  it('ends the SSO session: the next prompt=none answers login_required', async () => {
    const { agent } = await signedInAgent();
    const { challenge } = pkce();
    const silent = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', prompt: 'none', code_challenge: challenge, code_challenge_method: 'S256' })}`;
    expect(new URL((await agent.fetch(silent)).headers.get('location')!).searchParams.get('code')).toBeTruthy();
    const page = await agent.fetch(logoutUrl({}));
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('You have signed out');
    expect(new URL((await agent.fetch(silent)).headers.get('location')!).searchParams.get('error')).toBe('login_required');
  });

  it('refuses an id_token_hint that is not ours', async () => {
    const res = await fetch(logoutUrl({ id_token_hint: 'eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0.' }));
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('AADB2C90210');
    expect(other).toBeTruthy();
  });
});

describe('CORS', () => {
  it('lets registered SPA origins call the token and userinfo endpoints, and nobody else', async () => {
    await s.createApp({ name: 'spa', type: 'spa', redirectUris: ['http://localhost:5173/auth'] });
    const token = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`;
    const pre = await fetch(token, { method: 'OPTIONS', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    expect(pre.headers.get('access-control-allow-methods')).toContain('POST');
    const post = await fetch(token, { method: 'POST', headers: { origin: 'http://localhost:5173', 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=refresh_token&refresh_token=x&client_id=y' });
    expect(post.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
    const evil = await fetch(token, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(evil.headers.get('access-control-allow-origin')).toBeNull();
    // Web apps' origins are not SPA origins.
    const web = await fetch(token, { method: 'OPTIONS', headers: { origin: 'http://127.0.0.1:9' } });
    expect(web.headers.get('access-control-allow-origin')).toBeNull();
    const info = await fetch(`${s.baseUrl}/demo/B2C_1_signin/openid/v2.0/userinfo`, { headers: { origin: 'http://localhost:5173' } });
    expect(info.status).toBe(401);
    expect(info.headers.get('access-control-allow-origin')).toBe('http://localhost:5173');
  });
});
