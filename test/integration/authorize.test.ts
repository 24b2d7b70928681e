import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { Agent, absolute, csrfOf, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CB = 'http://127.0.0.1:9/cb';

let s: TestServer;
let web: { clientId: string; secret: string };
let native: string;
let implicitApp: string;

function authorizeUrl(params: Record<string, string>, policy = 'B2C_1_signin'): string {
  return `${s.baseUrl}/demo/${policy}/oauth2/v2.0/authorize?${new URLSearchParams(params)}`;
}

function fragmentParams(url: URL): URLSearchParams {
  return new URLSearchParams(url.hash.slice(1));
}

beforeAll(async () => {
  s = await startServer();
  await s.createUser('ann@example.com', 'ann-password-1', { givenName: 'Ann', familyName: 'Lee', displayName: 'Ann Lee' });
  const w = await s.createApp({ name: 'web', type: 'web', redirectUris: [CB] });
  web = { clientId: w.app.clientId, secret: w.clientSecret! };
  native = (await s.createApp({ name: 'native', type: 'native', redirectUris: [CB] })).app.clientId;
  implicitApp = (await s.createApp({ name: 'implicit', type: 'spa', redirectUris: [CB], allowImplicit: true })).app.clientId;
});

afterAll(async () => {
  await s.close();
});

describe('authorize: client and redirect URI', () => {
  it('shows an error page, never a redirect, for an unregistered redirect URI', async () => {
    const res = await fetch(authorizeUrl({ client_id: web.clientId, redirect_uri: 'http://127.0.0.1:9/cb/evil', response_type: 'code', scope: 'openid' }), { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    const body = await res.text();
    expect(body).toContain('AADB2C90006');
    expect(body).toContain('not registered');
  });

  it('does not accept a redirect URI that only differs by a trailing slash or case', async () => {
    for (const uri of ['http://127.0.0.1:9/cb/', 'http://127.0.0.1:9/CB', 'http://127.0.0.1:9/cb?x=1']) {
      const res = await fetch(authorizeUrl({ client_id: web.clientId, redirect_uri: uri, response_type: 'code', scope: 'openid' }), { redirect: 'manual' });
      expect(res.status, uri).toBe(400);
    }
  });

  it('shows an error page for an unknown client', async () => {
    const res = await fetch(authorizeUrl({ client_id: '00000000-0000-0000-0000-000000000000', redirect_uri: CB, response_type: 'code', scope: 'openid' }), { redirect: 'manual' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('is not registered in this tenant');
  });

  it('answers 404 for an unknown tenant or policy', async () => {
    expect((await fetch(`${s.baseUrl}/nope/B2C_1_signin/oauth2/v2.0/authorize`)).status).toBe(404);
    expect((await fetch(`${s.baseUrl}/demo/B2C_1_nope/oauth2/v2.0/authorize`)).status).toBe(404);
  });
});

describe('authorize: errors redirected to a valid redirect URI (RFC 6749 §4.1.2.1)', () => {
  async function errorOf(params: Record<string, string>): Promise<URLSearchParams> {
    const res = await fetch(authorizeUrl({ client_id: web.clientId, redirect_uri: CB, state: 'xyz', ...params }), { redirect: 'manual' });
    expect(res.status).toBe(302);
    const url = new URL(res.headers.get('location')!);
    expect(url.origin + url.pathname).toBe(CB);
    return url.hash ? fragmentParams(url) : url.searchParams;
  }

  it('refuses an unsupported response_type', async () => {
    const p = await errorOf({ response_type: 'code foo', scope: 'openid' });
    expect(p.get('error')).toBe('unsupported_response_type');
    expect(p.get('state')).toBe('xyz');
    expect(p.get('error_description')).toMatch(/^AADB2C90013: .*\r\nCorrelation ID: [0-9a-f-]{36}\r\nTimestamp: /);
  });

  it('refuses the implicit flow for an app not registered for it', async () => {
    const p = await errorOf({ response_type: 'id_token', scope: 'openid', nonce: 'n', response_mode: 'fragment' });
    expect(p.get('error')).toBe('unauthorized_client');
    expect(p.get('error_description')).toContain('AADB2C90057');
  });

  it('refuses the plain PKCE method', async () => {
    const p = await errorOf({ response_type: 'code', scope: 'openid', code_challenge: 'a'.repeat(43), code_challenge_method: 'plain' });
    expect(p.get('error')).toBe('invalid_request');
    expect(p.get('error_description')).toContain('S256');
  });

  it('refuses a missing scope, an invalid prompt and a bad max_age', async () => {
    expect((await errorOf({ response_type: 'code' })).get('error_description')).toContain('AADB2C90010');
    expect((await errorOf({ response_type: 'code', scope: 'openid', prompt: 'sometimes' })).get('error_description')).toContain('AADB2C90043');
    expect((await errorOf({ response_type: 'code', scope: 'openid', max_age: '-1' })).get('error_description')).toContain('AADB2C90120');
  });

  it('refuses a repeated parameter', async () => {
    const url = `${authorizeUrl({ client_id: web.clientId, redirect_uri: CB, response_type: 'code', scope: 'openid' })}&scope=email`;
    const res = await fetch(url, { redirect: 'manual' });
    const p = new URL(res.headers.get('location')!).searchParams;
    expect(p.get('error')).toBe('invalid_request');
    expect(p.get('error_description')).toContain("'scope' was sent more than once");
  });

  it('requires PKCE from public clients', async () => {
    const res = await fetch(authorizeUrl({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid' }), { redirect: 'manual' });
    const p = new URL(res.headers.get('location')!).searchParams;
    expect(p.get('error')).toBe('invalid_request');
    expect(p.get('error_description')).toContain('code_challenge');
  });

  it('requires a nonce when an id_token comes from the authorization endpoint', async () => {
    const res = await fetch(authorizeUrl({ client_id: implicitApp, redirect_uri: CB, response_type: 'id_token', scope: 'openid', state: 's1' }), { redirect: 'manual' });
    const p = fragmentParams(new URL(res.headers.get('location')!));
    expect(p.get('error')).toBe('invalid_request');
    expect(p.get('error_description')).toContain('nonce');
    expect(p.get('state')).toBe('s1');
  });

  it('answers prompt=none without a session with login_required and AADB2C90077', async () => {
    const { challenge } = pkce();
    const res = await fetch(
      authorizeUrl({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', prompt: 'none', state: 'st', code_challenge: challenge, code_challenge_method: 'S256' }),
      { redirect: 'manual' },
    );
    const p = new URL(res.headers.get('location')!).searchParams;
    expect(p.get('error')).toBe('login_required');
    expect(p.get('error_description')).toContain('AADB2C90077');
    expect(p.get('state')).toBe('st');
  });

  it('delivers errors with response_mode=form_post as an auto-posting form', async () => {
    const res = await fetch(authorizeUrl({ client_id: web.clientId, redirect_uri: CB, response_type: 'code', scope: 'openid', prompt: 'none', response_mode: 'form_post', state: 'fp' }), { redirect: 'manual' });
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain(`action="${CB}"`);
    expect(html).toContain('name="error" value="login_required"');
    expect(html).toContain('name="state" value="fp"');
    // Its form may post to Latchkey and to the app's redirect URI, nowhere else.
    expect(res.headers.get('content-security-policy')).toContain(`form-action 'self' ${CB};`);
  });
});

describe('sign-in page and SSO session', () => {
  it('signs in, then signs in silently on the next request, and prompt=login asks again', async () => {
    const agent = new Agent();
    const { challenge } = pkce();
    const params = { client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' };
    const first = await signInViaPages(agent, s.baseUrl, authorizeUrl({ ...params, state: 'a' }), 'ann@example.com', 'ann-password-1');
    expect(first.searchParams.get('code')).toBeTruthy();
    expect(first.searchParams.get('state')).toBe('a');

    // Same browser, another policy of the tenant: no page, straight back with a code.
    const silent = await agent.fetch(authorizeUrl({ ...params, state: 'b', prompt: 'none' }, 'B2C_1_signupsignin'));
    const loc = new URL(silent.headers.get('location')!);
    expect(loc.searchParams.get('code')).toBeTruthy();
    expect(loc.searchParams.get('state')).toBe('b');

    const again = await agent.fetch(authorizeUrl({ ...params, prompt: 'login' }));
    expect(again.headers.get('location')).toContain('/journey/');
  });

  it('asks again when the last sign-in is older than max_age', async () => {
    const agent = new Agent();
    const { challenge } = pkce();
    const params = { client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' };
    await signInViaPages(agent, s.baseUrl, authorizeUrl(params), 'ann@example.com', 'ann-password-1');
    s.clock.advance(120_000);
    try {
      const young = await agent.fetch(authorizeUrl({ ...params, prompt: 'none', max_age: '3600' }));
      expect(new URL(young.headers.get('location')!).searchParams.get('code')).toBeTruthy();
      const old = await agent.fetch(authorizeUrl({ ...params, prompt: 'none', max_age: '60' }));
      expect(new URL(old.headers.get('location')!).searchParams.get('error')).toBe('login_required');
      const interactive = await agent.fetch(authorizeUrl({ ...params, max_age: '60' }));
      expect(interactive.headers.get('location')).toContain('/journey/');
    } finally {
      s.clock.offset = 0;
    }
  });

  it('pre-fills login_hint, keeps the email on a wrong password, and never says which part was wrong', async () => {
    const agent = new Agent();
    const { challenge } = pkce();
    const res = await agent.fetch(authorizeUrl({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', login_hint: 'ann@example.com' }));
    const journey = absolute(s.baseUrl, res.headers.get('location')!);
    const page = await (await agent.fetch(journey)).text();
    expect(page).toContain('value="ann@example.com"');
    expect(page).toContain('<label for="signInName">Email Address</label>');
    expect(page).toContain('<label for="password">Password</label>');
    expect(page).toContain('Forgot your password?');

    const wrong = await agent.post(journey, { csrf: csrfOf(page), email: 'ann@example.com', password: 'nope-nope', action: 'signin' });
    const wrongHtml = await wrong.text();
    expect(wrong.status).toBe(200);
    expect(wrongHtml).toContain('Invalid username or password.');
    expect(wrongHtml).toContain('value="ann@example.com"');
    const unknown = await agent.post(journey, { csrf: csrfOf(wrongHtml), email: 'nobody@example.com', password: 'nope-nope', action: 'signin' });
    expect(await unknown.text()).toContain('Invalid username or password.');
  });

  it('refuses a form without the page CSRF token', async () => {
    const agent = new Agent();
    const { challenge } = pkce();
    const res = await agent.fetch(authorizeUrl({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }));
    const journey = absolute(s.baseUrl, res.headers.get('location')!);
    await agent.fetch(journey);
    const forged = await agent.post(journey, { csrf: 'forged', email: 'ann@example.com', password: 'ann-password-1', action: 'signin' });
    expect(forged.status).toBe(403);
    expect(forged.headers.get('location')).toBeNull();
  });

  it('refuses a journey opened in another browser (no binding cookie)', async () => {
    const agent = new Agent();
    const { challenge } = pkce();
    const res = await agent.fetch(authorizeUrl({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' }));
    const journey = absolute(s.baseUrl, res.headers.get('location')!);
    const other = await fetch(journey);
    expect(other.status).toBe(400);
  });

  it('sends Cancel back to the app as access_denied with AADB2C90091, and Forgot password with AADB2C90118', async () => {
    for (const [action, code] of [['cancel', 'AADB2C90091'], ['forgot', 'AADB2C90118']] as const) {
      const agent = new Agent();
      const { challenge } = pkce();
      const res = await agent.fetch(authorizeUrl({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid', state: 'c', code_challenge: challenge, code_challenge_method: 'S256' }, 'B2C_1_signupsignin'));
      const journey = absolute(s.baseUrl, res.headers.get('location')!);
      const page = await (await agent.fetch(journey)).text();
      const done = await agent.post(journey, { csrf: csrfOf(page), action });
      const p = new URL(done.headers.get('location')!).searchParams;
      expect(p.get('error')).toBe('access_denied');
      expect(p.get('error_description')).toMatch(new RegExp(`^${code}: `));
      expect(p.get('state')).toBe('c');
    }
  });

  it('returns an id_token with at_hash and c_hash for a hybrid request of an implicit-enabled app', async () => {
    const agent = new Agent();
    const { challenge } = pkce();
    const url = await signInViaPages(
      agent,
      s.baseUrl,
      authorizeUrl({ client_id: implicitApp, redirect_uri: CB, response_type: 'code id_token', scope: `openid ${implicitApp}`, nonce: 'n-1', code_challenge: challenge, code_challenge_method: 'S256' }),
      'ann@example.com',
      'ann-password-1',
    );
    const p = fragmentParams(url);
    const claims = decodeJwt(p.get('id_token')!);
    expect(claims.nonce).toBe('n-1');
    expect(claims.c_hash).toBeTruthy();
    expect(p.get('code')).toBeTruthy();
  });
});
