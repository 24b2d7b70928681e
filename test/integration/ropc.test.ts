import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startServer, type TestServer } from '../helpers/server.js';

/** B2C's ROPC user flow: grant_type=password at a policy of kind ropc, for apps created with --allow-ropc. */
let s: TestServer;
let ropcApp: string;
let plainApp: string;
let user: { id: string };

const tokenUrl = (policy = 'B2C_1_ROPC', server = s) => `${server.baseUrl}/demo/${policy}/oauth2/v2.0/token`;

async function ropc(body: Record<string, string>, policy?: string, server?: TestServer) {
  const res = await fetch(tokenUrl(policy, server), { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams(body) });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, unknown> };
}

function writeRopcPolicy(server: TestServer) {
  writeFileSync(join(server.dir, 'policies', 'demo', 'B2C_1_ROPC.json'), JSON.stringify({ id: 'B2C_1_ROPC', kind: 'ropc', tokens: { accessTokenMinutes: 30 } }));
}

async function waitForPolicy(server: TestServer) {
  for (let i = 0; i < 100 && server.deps.policies.get('demo', 'B2C_1_ROPC') === undefined; i++) await new Promise((r) => setTimeout(r, 50));
}

beforeAll(async () => {
  s = await startServer();
  writeRopcPolicy(s);
  user = await s.createUser('rory@example.com', 'rory-password-1', { givenName: 'Rory', displayName: 'Rory R' });
  await s.createUser('lucy@example.com', 'lucy-password-1');
  ropcApp = (await s.createApp({ name: 'legacy mobile app', type: 'native', redirectUris: ['http://127.0.0.1:9/cb'], allowRopc: true })).app.clientId;
  plainApp = (await s.createApp({ name: 'app', type: 'native', redirectUris: ['http://127.0.0.1:9/cb'] })).app.clientId;
  await waitForPolicy(s);
});

afterAll(async () => {
  await s.close();
});

describe('resource owner password credentials', () => {
  it("answers B2C's token response: id_token, access token for the app, refresh token, numbers as numbers", async () => {
    const r = await ropc({ grant_type: 'password', client_id: ropcApp, username: 'Rory@Example.com', password: 'rory-password-1', scope: `openid offline_access ${ropcApp}`, response_type: 'token id_token' });
    expect(r.status).toBe(200);
    expect(r.headers.get('cache-control')).toBe('no-store');
    const b = r.body;
    expect(b.token_type).toBe('Bearer');
    expect(b.expires_in).toBe(1800);
    expect(typeof b.not_before).toBe('number');
    expect(typeof b.id_token_expires_in).toBe('number');
    expect(typeof b.refresh_token_expires_in).toBe('number');
    expect(b.scope).toBe(`openid offline_access ${ropcApp}`);
    const jwks = createLocalJWKSet(JSON.parse(await (await fetch(`${s.baseUrl}/demo/B2C_1_ROPC/discovery/v2.0/keys`)).text()));
    const { payload: id } = await jwtVerify(b.id_token as string, jwks, { audience: ropcApp, issuer: `${s.baseUrl}/${s.tenant.id}/v2.0/` });
    expect(id.sub).toBe(user.id);
    expect(id.tfp).toBe('B2C_1_ROPC');
    expect(id.name).toBe('Rory R');
    expect(decodeJwt(b.access_token as string).aud).toBe(ropcApp);
    // The refresh token works at the same policy, as B2C's does.
    const refreshed = await ropc({ grant_type: 'refresh_token', client_id: ropcApp, refresh_token: b.refresh_token as string });
    expect(refreshed.status).toBe(200);
    expect(decodeJwt(refreshed.body.id_token as string).sub).toBe(user.id);
  });

  it('is refused for apps created without --allow-ropc, and at policies of other kinds', async () => {
    const notEnabled = await ropc({ grant_type: 'password', client_id: plainApp, username: 'rory@example.com', password: 'rory-password-1', scope: 'openid' });
    expect(notEnabled.status).toBe(400);
    expect(notEnabled.body.error).toBe('unauthorized_client');
    expect(notEnabled.body.error_description).toMatch(/^AADB2C90224: /);
    const otherPolicy = await ropc({ grant_type: 'password', client_id: ropcApp, username: 'rory@example.com', password: 'rory-password-1', scope: 'openid' }, 'B2C_1_signin');
    expect(otherPolicy.body.error).toBe('unauthorized_client');
    expect(otherPolicy.body.access_token).toBeUndefined();
  });

  it('says so in discovery, and has no pages', async () => {
    const meta = (await (await fetch(`${s.baseUrl}/demo/B2C_1_ROPC/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(meta.grant_types_supported).toEqual(['password', 'refresh_token']);
    expect(meta.end_session_endpoint).toBeTruthy();
    const signin = (await (await fetch(`${s.baseUrl}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(signin.grant_types_supported).not.toContain('password');
    const page = await fetch(`${s.baseUrl}/demo/B2C_1_ROPC/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: ropcApp, redirect_uri: 'http://127.0.0.1:9/cb', response_type: 'code', scope: 'openid', code_challenge: 'x'.repeat(43), code_challenge_method: 'S256' })}`, { redirect: 'manual' });
    const back = new URL(page.headers.get('location')!);
    expect(back.searchParams.get('error')).toBe('invalid_request');
    expect(back.searchParams.get('error_description')).toMatch(/has no pages/);
  });

  it('refuses a wrong password with AADB2C90225 and locks the name as the sign-in page does', async () => {
    const wrong = (i: number) => ropc({ grant_type: 'password', client_id: ropcApp, username: 'lucy@example.com', password: `wrong-${i}-xx`, scope: 'openid' });
    const first = await wrong(0);
    expect(first.status).toBe(400);
    expect(first.body.error).toBe('invalid_grant');
    expect(first.body.error_description).toMatch(/^AADB2C90225: The username or password provided in the request are invalid\./);
    for (let i = 1; i < 10; i++) await wrong(i);
    const locked = await ropc({ grant_type: 'password', client_id: ropcApp, username: 'lucy@example.com', password: 'lucy-password-1', scope: 'openid' });
    expect(locked.body.error).toBe('invalid_grant');
    expect(locked.body.error_description).toMatch(/^AADB2C90114: /);
    // The lock is the sign-in page's too: it is kept per sign-in name.
    expect((await s.deps.store.getLoginThrottle(s.tenant.id, 'lucy@example.com')).lockedUntil).toBeGreaterThan(Date.now());
    const events = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(events.some((e) => e.event === 'lockout' && e.outcome === 'success')).toBe(true);
  });

  it('limits password attempts per address like the sign-in form, and no other grant', async () => {
    const limited = await startServer({ env: { LATCHKEY_FORM_RATE_LIMIT: '3' } });
    try {
      writeRopcPolicy(limited);
      await waitForPolicy(limited);
      const app = (await limited.createApp({ name: 'a', type: 'native', redirectUris: ['http://127.0.0.1:9/cb'], allowRopc: true })).app.clientId;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await ropc({ grant_type: 'password', client_id: app, username: 'x@example.com', password: 'whatever-1', scope: 'openid' }, 'B2C_1_ROPC', limited)).status);
      expect(statuses).toEqual([400, 400, 400, 429]);
      // Other grants from the same address are not counted.
      for (let i = 0; i < 5; i++) expect((await ropc({ grant_type: 'refresh_token', client_id: app, refresh_token: 'nope' }, 'B2C_1_ROPC', limited)).status).toBe(400);
    } finally {
      await limited.close();
    }
  });
});
