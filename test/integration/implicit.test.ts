import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createHash } from 'node:crypto';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { Agent, absolute, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CB = 'http://127.0.0.1:9/cb';
let s: TestServer;
let app: string;

const halfHash = (v: string) => createHash('sha256').update(v).digest().subarray(0, 16).toString('base64url');

beforeAll(async () => {
  s = await startServer();
  await s.createUser('pat@example.com', 'pat-password-1');
  app = (await s.createApp({ name: 'legacy spa', type: 'spa', redirectUris: [CB], allowImplicit: true })).app.clientId;
});

afterAll(async () => {
  await s.close();
});

function url(params: Record<string, string>, prefix = 'demo/B2C_1_signin'): string {
  return `${s.baseUrl}/${prefix}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: app, redirect_uri: CB, ...params })}`;
}

describe('implicit and hybrid flows', () => {
  it('returns id_token and access token in the fragment with at_hash (id_token token)', async () => {
    const back = await signInViaPages(new Agent(), s.baseUrl, url({ response_type: 'id_token token', scope: `openid ${app}`, nonce: 'n1', state: 's1' }), 'pat@example.com', 'pat-password-1');
    expect(back.search).toBe('');
    const p = new URLSearchParams(back.hash.slice(1));
    expect(p.get('state')).toBe('s1');
    expect(p.get('token_type')).toBe('Bearer');
    expect(Number(p.get('expires_in'))).toBe(3600);
    const jwks = createLocalJWKSet(JSON.parse(await (await fetch(`${s.baseUrl}/demo/discovery/v2.0/keys`)).text()));
    const id = await jwtVerify(p.get('id_token')!, jwks, { audience: app });
    expect(id.payload.nonce).toBe('n1');
    expect(id.payload.at_hash).toBe(halfHash(p.get('access_token')!));
    expect(decodeJwt(p.get('access_token')!).aud).toBe(app);
  });

  it('returns an access token alone (token) only with a resource scope', async () => {
    const agent = new Agent();
    const back = await signInViaPages(agent, s.baseUrl, url({ response_type: 'token', scope: app }), 'pat@example.com', 'pat-password-1');
    expect(new URLSearchParams(back.hash.slice(1)).get('access_token')).toBeTruthy();
    const res = await agent.fetch(url({ response_type: 'token', scope: 'openid' }));
    const p = new URLSearchParams(new URL(res.headers.get('location')!).hash.slice(1));
    expect(p.get('error')).toBe('invalid_scope');
  });

  it('adds c_hash and at_hash for code id_token token, and the code still redeems once', async () => {
    const { verifier, challenge } = pkce();
    const back = await signInViaPages(
      new Agent(),
      s.baseUrl,
      url({ response_type: 'code id_token token', scope: `openid ${app}`, nonce: 'n2', code_challenge: challenge, code_challenge_method: 'S256' }),
      'pat@example.com',
      'pat-password-1',
    );
    const p = new URLSearchParams(back.hash.slice(1));
    const claims = decodeJwt(p.get('id_token')!);
    expect(claims.c_hash).toBe(halfHash(p.get('code')!));
    expect(claims.at_hash).toBe(halfHash(p.get('access_token')!));
    // The SPA redeems the code from its page (a cross-origin request).
    const res = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(CB).origin },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: app, code: p.get('code')!, redirect_uri: CB, code_verifier: verifier }),
    });
    expect(res.status).toBe(200);
  });

  it('refuses tokens in the query string', async () => {
    const res = await fetch(url({ response_type: 'id_token', scope: 'openid', nonce: 'n', response_mode: 'query' }), { redirect: 'manual' });
    // The error itself carries no token, so it may travel in the query the app asked for.
    const p = new URL(res.headers.get('location')!).searchParams;
    expect(p.get('error')).toBe('invalid_request');
    expect(p.get('error_description')).toContain('AADB2C90014');
  });

  it('serves the /tfp/ authority form and keeps interactive pages out of frames', async () => {
    const agent = new Agent();
    const res = await agent.fetch(url({ response_type: 'id_token', scope: 'openid', nonce: 'n' }, 'tfp/demo.onmicrosoft.com/b2c_1_SIGNIN'));
    expect(res.status).toBe(302);
    const page = await agent.fetch(absolute(s.baseUrl, res.headers.get('location')!));
    expect(page.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
    expect(page.headers.get('x-frame-options')).toBe('DENY');
  });
});
