import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose';
import { Agent, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CB = 'http://127.0.0.1:9/cb';
const API = 'https://demo.example/tasks';

let s: TestServer;
let web: { clientId: string; secret: string };
let native: string;
let spa: string;
let daemon: { clientId: string; secret: string };
let lonelyDaemon: { clientId: string; secret: string };
let apiId: string;

const tokenUrl = (policy = 'B2C_1_signin') => `${s.baseUrl}/demo/${policy}/oauth2/v2.0/token`;

async function token(form: Record<string, string>, headers: Record<string, string> = {}, policy?: string) {
  const res = await fetch(tokenUrl(policy), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

function basic(id: string, secret: string): Record<string, string> {
  return { authorization: `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}` };
}

/** Signs in through the pages and returns a fresh code for the given client. */
async function codeFor(clientId: string, scope: string, opts: { challenge?: string; policy?: string; nonce?: string } = {}): Promise<string> {
  const params: Record<string, string> = { client_id: clientId, redirect_uri: CB, response_type: 'code', scope };
  if (opts.challenge) Object.assign(params, { code_challenge: opts.challenge, code_challenge_method: 'S256' });
  if (opts.nonce) params.nonce = opts.nonce;
  const url = `${s.baseUrl}/demo/${opts.policy ?? 'B2C_1_signin'}/oauth2/v2.0/authorize?${new URLSearchParams(params)}`;
  const back = await signInViaPages(new Agent(), s.baseUrl, url, 'bo@example.com', 'bo-password-1');
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back}`);
  return code;
}

beforeAll(async () => {
  s = await startServer();
  await s.createUser('bo@example.com', 'bo-password-1', { givenName: 'Bo', familyName: 'Ng' });
  const w = await s.createApp({ name: 'web', type: 'web', redirectUris: [CB] });
  web = { clientId: w.app.clientId, secret: w.clientSecret! };
  native = (await s.createApp({ name: 'native', type: 'native', redirectUris: [CB] })).app.clientId;
  spa = (await s.createApp({ name: 'spa', type: 'spa', redirectUris: [CB] })).app.clientId;
  ({ apiClientId: apiId, daemon } = await s.createDaemonForApi({ api: 'tasks', identifierUri: API, role: 'Tasks.Admin', daemon: 'daemon' }));
  await s.deps.store.addAppScope(apiId, 'tasks.read');
  await s.deps.store.addGrant({ clientId: web.clientId, apiClientId: apiId, kind: 'scope', name: 'tasks.read' });
  const l = await s.createApp({ name: 'lonely', type: 'daemon' });
  lonelyDaemon = { clientId: l.app.clientId, secret: l.clientSecret! };
});

afterAll(async () => {
  await s.close();
});

describe('authorization_code grant', () => {
  it('issues B2C-shaped tokens to a confidential client with client_secret_basic', async () => {
    const code = await codeFor(web.clientId, `openid offline_access profile email ${API}/tasks.read`, { nonce: 'nn' });
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_info: '1' }, basic(web.clientId, web.secret));
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const b = res.body;
    expect(b.token_type).toBe('Bearer');
    expect(typeof b.expires_in).toBe('number');
    expect(typeof b.not_before).toBe('number');
    expect(typeof b.id_token_expires_in).toBe('number');
    expect(typeof b.refresh_token_expires_in).toBe('number');
    expect(b.scope).toBe(`openid offline_access profile email ${API}/tasks.read`);

    const jwks = createLocalJWKSet(JSON.parse(await (await fetch(`${s.baseUrl}/demo/B2C_1_signin/discovery/v2.0/keys`)).text()));
    const issuer = `${s.baseUrl}/${s.tenant.id}/v2.0/`;
    const id = await jwtVerify(b.id_token as string, jwks, { issuer, audience: web.clientId });
    expect(id.protectedHeader.kid).toBeTruthy();
    expect(id.payload).toMatchObject({ ver: '1.0', tfp: 'B2C_1_signin', emails: ['bo@example.com'], given_name: 'Bo', family_name: 'Ng', name: 'Bo Ng', idp: 'local', nonce: 'nn', email: 'bo@example.com', email_verified: true });
    expect(id.payload.sub).toBe(id.payload.oid);
    // at_hash is for id_tokens that leave the authorization endpoint with an access token (OIDC §3.3.2.11).
    expect(id.payload.at_hash).toBeUndefined();

    const at = await jwtVerify(b.access_token as string, jwks, { issuer, audience: apiId, typ: 'at+jwt' });
    expect(at.payload).toMatchObject({ scp: 'tasks.read', azp: web.clientId, client_id: web.clientId, oid: id.payload.oid, sub: id.payload.sub, ver: '1.0', tfp: 'B2C_1_signin' });
    expect(at.payload.jti).toBeTruthy();

    const info = JSON.parse(Buffer.from(b.client_info as string, 'base64url').toString('utf8'));
    expect(info).toEqual({ uid: `${id.payload.oid}-b2c_1_signin`, utid: s.tenant.id });
  });

  it('gives an access token for the app itself when no API scope was asked', async () => {
    const code = await codeFor(web.clientId, 'openid');
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: web.clientId, client_secret: web.secret });
    expect(res.status).toBe(200);
    expect(decodeJwt(res.body.access_token as string).aud).toBe(web.clientId);
    expect(res.body.refresh_token).toBeUndefined();
  });

  it('refuses a replayed code and revokes the refresh token issued from it', async () => {
    const code = await codeFor(web.clientId, 'openid offline_access');
    const first = await token({ grant_type: 'authorization_code', code, redirect_uri: CB }, basic(web.clientId, web.secret));
    expect(first.status).toBe(200);
    const replay = await token({ grant_type: 'authorization_code', code, redirect_uri: CB }, basic(web.clientId, web.secret));
    expect(replay.status).toBe(400);
    expect(replay.body.error).toBe('invalid_grant');
    const refresh = await token({ grant_type: 'refresh_token', refresh_token: first.body.refresh_token as string }, basic(web.clientId, web.secret));
    expect(refresh.body.error).toBe('invalid_grant');
    // …and the access token minted from it no longer works at userinfo.
    const info = await fetch(`${s.baseUrl}/demo/B2C_1_signin/openid/v2.0/userinfo`, { headers: { authorization: `Bearer ${first.body.access_token}` } });
    expect(info.status).toBe(401);
  });

  it('checks the PKCE verifier', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(native, 'openid', { challenge });
    const wrong = await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: native, code_verifier: pkce().verifier });
    expect(wrong.status).toBe(400);
    expect(wrong.body.error).toBe('invalid_grant');
    expect(wrong.body.error_description).toMatch(/^AADB2C90182/);
    // The code is spent by the failed attempt too (single use).
    const right = await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: native, code_verifier: verifier });
    expect(right.body.error).toBe('invalid_grant');

    const code2 = await codeFor(native, 'openid', { challenge });
    const missing = await token({ grant_type: 'authorization_code', code: code2, redirect_uri: CB, client_id: native });
    expect(missing.body.error).toBe('invalid_request');
  });

  it('refuses a code_verifier for a code issued without a challenge (PKCE downgrade)', async () => {
    const code = await codeFor(web.clientId, 'openid');
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: CB, code_verifier: pkce().verifier }, basic(web.clientId, web.secret));
    expect(res.body.error).toBe('invalid_grant');
  });

  it('checks redirect_uri, client and expiry', async () => {
    const code = await codeFor(web.clientId, 'openid');
    const badUri = await token({ grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:9/other' }, basic(web.clientId, web.secret));
    expect(badUri.body.error).toBe('invalid_grant');

    const { verifier, challenge } = pkce();
    const code2 = await codeFor(native, 'openid', { challenge });
    const otherClient = await token({ grant_type: 'authorization_code', code: code2, redirect_uri: CB, code_verifier: verifier }, basic(web.clientId, web.secret));
    expect(otherClient.body.error).toBe('invalid_grant');

    const code3 = await codeFor(native, 'openid', { challenge });
    s.clock.advance(11 * 60_000);
    try {
      const expired = await token({ grant_type: 'authorization_code', code: code3, redirect_uri: CB, client_id: native, code_verifier: verifier });
      expect(expired.body.error).toBe('invalid_grant');
      expect(expired.body.error_description).toContain('expired');
    } finally {
      s.clock.advance(-11 * 60_000);
    }
  });

  it('refuses a code at another policy endpoint (AADB2C90088)', async () => {
    const code = await codeFor(web.clientId, 'openid');
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: CB }, basic(web.clientId, web.secret), 'B2C_1_signupsignin');
    expect(res.body.error).toBe('invalid_grant');
    expect(res.body.error_description).toMatch(/^AADB2C90088/);
  });
});

describe('client authentication', () => {
  it('answers a wrong secret with invalid_client and 401', async () => {
    const res = await token({ grant_type: 'client_credentials', scope: `${API}/.default` }, basic(daemon.clientId, 'wrong'));
    expect(res.status).toBe(401);
    expect(res.body.error).toBe('invalid_client');
    expect(res.headers.get('www-authenticate')).toMatch(/^Basic /);
    const post = await token({ grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.clientId, client_secret: `${daemon.secret}\u0000` });
    expect(post.status).toBe(401);
  });

  it('refuses two authentication methods in one request', async () => {
    const res = await token({ grant_type: 'client_credentials', scope: `${API}/.default`, client_secret: daemon.secret }, basic(daemon.clientId, daemon.secret));
    expect(res.status).toBe(400);
    expect(res.body.error).toBe('invalid_request');
  });

  it('refuses a confidential client without a secret, and a public client with one', async () => {
    expect((await token({ grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.clientId })).body.error).toBe('invalid_client');
    expect((await token({ grant_type: 'refresh_token', refresh_token: 'x', client_id: native, client_secret: 'x' })).body.error).toBe('invalid_client');
  });

  it('refuses unknown grant types and non-form bodies', async () => {
    expect((await token({ grant_type: 'urn:example:unknown', client_id: native })).body.error).toBe('unsupported_grant_type');
    // The password grant exists, but only for ropc policies and apps created with --allow-ropc.
    expect((await token({ grant_type: 'password', client_id: native, username: 'x', password: 'y' })).body.error).toBe('unauthorized_client');
    expect((await token({ grant_type: '__proto__', client_id: native })).body.error).toBe('unsupported_grant_type');
    const json = await fetch(tokenUrl(), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"grant_type":"client_credentials"}' });
    expect(json.status).toBe(400);
    expect(((await json.json()) as { error: string }).error).toBe('invalid_request');
  });
});

describe('refresh_token grant', () => {
  it('rotates on every use; reusing a rotated token revokes the family', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(native, 'openid offline_access', { challenge });
    const first = await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: native, code_verifier: verifier });
    const r1 = first.body.refresh_token as string;
    const second = await token({ grant_type: 'refresh_token', refresh_token: r1, client_id: native, scope: 'openid offline_access' });
    expect(second.status).toBe(200);
    const r2 = second.body.refresh_token as string;
    expect(r2).not.toBe(r1);
    expect(decodeJwt(second.body.id_token as string).nonce).toBeUndefined();

    const reuse = await token({ grant_type: 'refresh_token', refresh_token: r1, client_id: native });
    expect(reuse.status).toBe(400);
    expect(reuse.body.error).toBe('invalid_grant');
    // The legitimate newest token is revoked too.
    const after = await token({ grant_type: 'refresh_token', refresh_token: r2, client_id: native });
    expect(after.body.error).toBe('invalid_grant');
  });

  it('keeps one row per family: rotation rewrites it, and a forged secret of a real family revokes it', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(native, 'openid offline_access', { challenge });
    const r1 = (await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: native, code_verifier: verifier })).body.refresh_token as string;
    const [family, secret] = r1.split('.');
    expect(family).toMatch(/^[0-9a-z]{9}[\w-]{16}$/);
    expect(secret).toMatch(/^[\w-]{43}$/);
    const rows = () => s.db.prepare('SELECT generation, revoked_at FROM refresh_families WHERE family_id = ?').all(family) as { generation: number; revoked_at: number | null }[];
    const r2 = (await token({ grant_type: 'refresh_token', refresh_token: r1, client_id: native })).body.refresh_token as string;
    expect(r2.split('.')[0]).toBe(family);
    expect(rows()).toEqual([{ generation: 1, revoked_at: null }]);
    // Only the secret's hash is stored.
    expect(JSON.stringify(s.db.prepare('SELECT * FROM refresh_families WHERE family_id = ?').get(family))).not.toContain(r2.split('.')[1]);
    const forged = await token({ grant_type: 'refresh_token', refresh_token: `${family}.${'A'.repeat(43)}`, client_id: native });
    expect(forged.body.error).toBe('invalid_grant');
    expect(rows()[0]!.revoked_at).not.toBeNull();
    expect((await token({ grant_type: 'refresh_token', refresh_token: r2, client_id: native })).body.error).toBe('invalid_grant');
    for (const junk of ['.', `${family}.`, 'not a token', `${'x'.repeat(70)}.abc`]) {
      expect((await token({ grant_type: 'refresh_token', refresh_token: junk, client_id: native })).body.error, junk).toBe('invalid_grant');
    }
  });

  it('still refreshes tokens issued before families were one row, once, moving the family over', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(native, 'openid offline_access', { challenge });
    const issued = (await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: native, code_verifier: verifier })).body.refresh_token as string;
    const family = issued.split('.')[0]!;
    // Turn the family into what an earlier version stored: a row per token, the whole token hashed.
    const db = s.db;
    const row = db.prepare('SELECT * FROM refresh_families WHERE family_id = ?').get(family) as Record<string, unknown>;
    db.prepare('DELETE FROM refresh_families WHERE family_id = ?').run(family);
    const legacy = 'L'.repeat(43);
    db.prepare(`INSERT INTO refresh_tokens (token_hash, family_id, tenant_id, client_id, user_id, data, created_at, expires_at, family_expires_at, consumed_at, revoked_at, origin_code_hash)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, NULL, NULL)`).run(createHash('sha256').update(legacy).digest('base64url'), family, row.tenant_id, row.client_id, row.user_id, row.data, row.created_at, row.expires_at, row.family_expires_at);

    const moved = await token({ grant_type: 'refresh_token', refresh_token: legacy, client_id: native });
    expect(moved.status).toBe(200);
    const next = moved.body.refresh_token as string;
    expect(next.split('.')[0]).toBe(family);
    // The old token again is a reuse: the family is revoked in both tables.
    expect((await token({ grant_type: 'refresh_token', refresh_token: legacy, client_id: native })).body.error).toBe('invalid_grant');
    expect((await token({ grant_type: 'refresh_token', refresh_token: next, client_id: native })).body.error).toBe('invalid_grant');
  });

  it('ends at the sliding window with AADB2C90080', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(native, 'openid offline_access', { challenge });
    let rt = (await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: native, code_verifier: verifier })).body.refresh_token as string;
    try {
      // 13 days later the token is still good and yields a new one…
      s.clock.advance(13 * 86_400_000);
      const mid = await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: native });
      expect(mid.status).toBe(200);
      rt = mid.body.refresh_token as string;
      // …but 91 days after sign-in the window (90 days) has closed.
      s.clock.advance(78 * 86_400_000);
      const late = await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: native });
      expect(late.body.error).toBe('invalid_grant');
      expect(late.body.error_description).toMatch(/^AADB2C90080/);
    } finally {
      s.clock.offset = 0;
    }
  });

  it('gives SPA refresh tokens a fixed 24 hours', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(spa, 'openid offline_access', { challenge });
    // Redeemed as the browser does: a cross-origin request from the SPA's page.
    const res = await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: spa, code_verifier: verifier }, { origin: 'http://127.0.0.1:9' });
    expect(res.body.refresh_token_expires_in).toBe(86_400);
  });

  it('refuses a refresh token of another client, and a wider scope', async () => {
    const { verifier, challenge } = pkce();
    const code = await codeFor(native, 'openid offline_access', { challenge });
    const rt = (await token({ grant_type: 'authorization_code', code, redirect_uri: CB, client_id: native, code_verifier: verifier })).body.refresh_token as string;
    expect((await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: spa })).body.error).toBe('invalid_grant');
    expect((await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: native, scope: 'openid email' })).body.error).toBe('invalid_scope');
    // Neither attempt spent the token.
    expect((await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: native })).status).toBe(200);
  });
});

describe('client_credentials grant', () => {
  it('gives a daemon an access token for the API with its roles', async () => {
    const res = await token({ grant_type: 'client_credentials', scope: `${API}/.default` }, basic(daemon.clientId, daemon.secret));
    expect(res.status).toBe(200);
    expect(decodeProtectedHeader(res.body.access_token as string).typ).toBe('at+jwt');
    const claims = decodeJwt(res.body.access_token as string);
    expect(claims).toMatchObject({ aud: apiId, roles: ['Tasks.Admin'], azp: daemon.clientId, sub: daemon.clientId });
    expect(res.body.refresh_token).toBeUndefined();
    expect(res.body.id_token).toBeUndefined();
  });

  it('refuses a daemon with no grant on the API, and a scope that is not .default', async () => {
    expect((await token({ grant_type: 'client_credentials', scope: `${API}/.default` }, basic(lonelyDaemon.clientId, lonelyDaemon.secret))).body.error).toBe('invalid_scope');
    expect((await token({ grant_type: 'client_credentials', scope: `${API}/tasks.read` }, basic(daemon.clientId, daemon.secret))).body.error).toBe('invalid_scope');
  });

  it('is only for daemon apps', async () => {
    expect((await token({ grant_type: 'client_credentials', scope: `${API}/.default` }, basic(web.clientId, web.secret))).body.error).toBe('unauthorized_client');
  });

  // Two requests a fuzzer found issuing tokens: both must be invalid_request, with no token.
  it('refuses a client secret in the URL (RFC 6749 §2.3.1), even with good credentials in the body', async () => {
    const res = await fetch(`${tokenUrl()}?client_secret=${encodeURIComponent(daemon.secret)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.clientId, client_secret: daemon.secret }).toString(),
    });
    const body = (await res.json()) as Record<string, unknown>;
    expect(res.status).toBe(400);
    expect(body.error).toBe('invalid_request');
    expect(body.access_token).toBeUndefined();
  });

  it('refuses a body whose percent-encoding is broken', async () => {
    for (const broken of ['resource=urn%3Aapi%23frag%', 'resource=%zz', 'resource=%C3%28']) {
      const res = await fetch(tokenUrl(), {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...basic(daemon.clientId, daemon.secret) },
        body: `grant_type=client_credentials&scope=${encodeURIComponent(`${API}/.default`)}&${broken}`,
      });
      const body = (await res.json()) as Record<string, unknown>;
      expect(res.status, broken).toBe(400);
      expect(body.error).toBe('invalid_request');
      expect(body.access_token).toBeUndefined();
    }
  });
});

describe('userinfo', () => {
  it('answers RFC 6750 errors with WWW-Authenticate', async () => {
    const none = await fetch(`${s.baseUrl}/demo/B2C_1_signin/openid/v2.0/userinfo`);
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toBe('Bearer realm="latchkey"');
    const bad = await fetch(`${s.baseUrl}/demo/B2C_1_signin/openid/v2.0/userinfo`, { headers: { authorization: 'Bearer abc.def.ghi' } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('returns the claims of the granted scopes only', async () => {
    const code = await codeFor(web.clientId, 'openid profile');
    const t = await token({ grant_type: 'authorization_code', code, redirect_uri: CB }, basic(web.clientId, web.secret));
    const info = (await (await fetch(`${s.baseUrl}/demo/B2C_1_signin/openid/v2.0/userinfo`, { headers: { authorization: `Bearer ${t.body.access_token}` } })).json()) as Record<string, unknown>;
    expect(info).toMatchObject({ emails: ['bo@example.com'], given_name: 'Bo', family_name: 'Ng', name: 'Bo Ng' });
    expect(info.sub).toBe(info.oid);
    expect(info.email).toBeUndefined();
  });

  it('refuses a daemon token (no user)', async () => {
    const t = await token({ grant_type: 'client_credentials', scope: `${API}/.default` }, basic(daemon.clientId, daemon.secret));
    const res = await fetch(`${s.baseUrl}/demo/B2C_1_signin/openid/v2.0/userinfo`, { headers: { authorization: `Bearer ${t.body.access_token}` } });
    expect(res.status).toBe(401);
  });
});
