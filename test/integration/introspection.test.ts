import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** RFC 7662 introspection and RFC 7009 revocation over real HTTP, with the discovery document's URLs. */
const CB = 'http://127.0.0.1:9/cb';
const API = 'https://demo.example/orders';

let s: TestServer;
let web: { clientId: string; secret: string };
let other: { clientId: string; secret: string };
let api: { clientId: string; secret: string };
let native: string;
let introspectUrl = '';
let revokeUrl = '';

const basic = (c: { clientId: string; secret: string }) => ({ authorization: `Basic ${Buffer.from(`${c.clientId}:${c.secret}`).toString('base64')}` });

async function post(url: string, form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
  const text = await res.text();
  return { status: res.status, body: text === '' ? {} : (JSON.parse(text) as Record<string, unknown>) };
}

/** A code for `clientId` after signing in through the pages, redeemed at the token endpoint. */
async function tokensFor(clientId: string, auth: Record<string, string>, pkce?: { verifier: string; challenge: string }): Promise<{ access_token: string; refresh_token: string }> {
  const challenge: Record<string, string> = pkce ? { code_challenge: pkce.challenge, code_challenge_method: 'S256' } : {};
  const url = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: CB, response_type: 'code', scope: `openid offline_access ${API}/orders.read`, ...challenge })}`;
  const back = await signInViaPages(new Agent(), s.baseUrl, url, 'ida@example.com', 'ida-password-1');
  const form = { grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: CB, ...(auth.authorization ? {} : { client_id: clientId }), ...(pkce ? { code_verifier: pkce.verifier } : {}) };
  const res = await post(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, form, auth);
  return res.body as { access_token: string; refresh_token: string };
}

beforeAll(async () => {
  s = await startServer();
  await s.createUser('ida@example.com', 'ida-password-1');
  const w = await s.createApp({ name: 'web', type: 'web', redirectUris: [CB] });
  web = { clientId: w.app.clientId, secret: w.clientSecret! };
  const o = await s.createApp({ name: 'other', type: 'web', redirectUris: [CB] });
  other = { clientId: o.app.clientId, secret: o.clientSecret! };
  const a = await s.createApp({ name: 'orders', type: 'api', identifierUri: API });
  api = { clientId: a.app.clientId, secret: a.clientSecret! };
  await s.deps.store.addAppScope(api.clientId, 'orders.read');
  await s.deps.store.addGrant({ clientId: web.clientId, apiClientId: api.clientId, kind: 'scope', name: 'orders.read' });
  native = (await s.createApp({ name: 'native', type: 'native', redirectUris: [CB] })).app.clientId;
  await s.deps.store.addGrant({ clientId: native, apiClientId: api.clientId, kind: 'scope', name: 'orders.read' });
  const meta = (await (await fetch(`${s.baseUrl}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`)).json()) as Record<string, string>;
  introspectUrl = meta.introspection_endpoint!;
  revokeUrl = meta.revocation_endpoint!;
});

afterAll(async () => {
  await s?.close();
});

describe('introspection', () => {
  it('is advertised in discovery', () => {
    // B2C writes the policy in its endpoints in lower case.
    expect(introspectUrl).toBe(`${s.baseUrl}/demo/b2c_1_signin/oauth2/v2.0/introspect`);
    expect(revokeUrl).toBe(`${s.baseUrl}/demo/b2c_1_signin/oauth2/v2.0/revoke`);
  });

  it('tells the client about its own tokens, and the API about access tokens for it; anyone else hears active: false', async () => {
    const t = await tokensFor(web.clientId, basic(web));
    const mine = await post(introspectUrl, { token: t.access_token }, basic(web));
    expect(mine.status).toBe(200);
    expect(mine.body).toMatchObject({ active: true, token_type: 'Bearer', client_id: web.clientId, aud: api.clientId, scp: 'orders.read' });
    const forApi = await post(introspectUrl, { token: t.access_token, token_type_hint: 'access_token' }, basic(api));
    expect(forApi.body).toMatchObject({ active: true, client_id: web.clientId, sub: mine.body.sub });
    expect((await post(introspectUrl, { token: t.access_token }, basic(other))).body).toEqual({ active: false });
    const refresh = await post(introspectUrl, { token: t.refresh_token }, basic(web));
    expect(refresh.body).toMatchObject({ active: true, token_type: 'refresh_token', client_id: web.clientId, scope: `openid offline_access ${API}/orders.read` });
    expect((await post(introspectUrl, { token: t.refresh_token }, basic(api))).body).toEqual({ active: false });
    expect((await post(introspectUrl, { token: 'garbage' }, basic(web))).body).toEqual({ active: false });
    expect((await post(introspectUrl, { token: 'a.b.c' }, basic(web))).body).toEqual({ active: false });
  });

  it('needs a confidential client that authenticates, and a token parameter', async () => {
    expect((await post(introspectUrl, { token: 'x', client_id: native })).body.error).toBe('unauthorized_client');
    const wrong = await post(introspectUrl, { token: 'x' }, basic({ clientId: web.clientId, secret: 'wrong' }));
    expect([wrong.status, wrong.body.error]).toEqual([401, 'invalid_client']);
    expect((await post(introspectUrl, {}, basic(web))).body.error).toBe('invalid_request');
  });
});

describe('revocation', () => {
  it('ends a refresh token family: the token, and the one it was rotated into, stop working', async () => {
    const t = await tokensFor(web.clientId, basic(web));
    const rotated = await post(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { grant_type: 'refresh_token', refresh_token: t.refresh_token }, basic(web));
    const next = rotated.body.refresh_token as string;
    const res = await post(revokeUrl, { token: next, token_type_hint: 'refresh_token' }, basic(web));
    expect([res.status, res.body]).toEqual([200, {}]);
    expect((await post(introspectUrl, { token: next }, basic(web))).body).toEqual({ active: false });
    const refused = await post(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { grant_type: 'refresh_token', refresh_token: next }, basic(web));
    expect(refused.body.error).toBe('invalid_grant');
  });

  it('revokes an access token for userinfo and introspection; a public client revokes its own refresh token', async () => {
    const t = await tokensFor(web.clientId, basic(web));
    expect((await post(revokeUrl, { token: t.access_token }, basic(web))).status).toBe(200);
    expect((await post(introspectUrl, { token: t.access_token }, basic(api))).body).toEqual({ active: false });

    const p = await tokensFor(native, {}, pkce());
    expect((await post(revokeUrl, { token: p.refresh_token, client_id: native })).status).toBe(200);
    const refused = await post(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { grant_type: 'refresh_token', refresh_token: p.refresh_token, client_id: native });
    expect(refused.body.error).toBe('invalid_grant');
  });

  it("leaves another client's token alone and answers 200 all the same", async () => {
    const t = await tokensFor(web.clientId, basic(web));
    expect((await post(revokeUrl, { token: t.refresh_token }, basic(other))).status).toBe(200);
    expect((await post(introspectUrl, { token: t.refresh_token }, basic(web))).body.active).toBe(true);
    expect((await post(revokeUrl, { token: 'not-a-token' }, basic(web))).status).toBe(200);
  });
});
