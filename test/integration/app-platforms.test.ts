import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { Agent, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { createApp, defineOnApi, grantApp, updateApp } from '../../src/services/apps.js';
import { addAppSecret } from '../../src/services/app-secrets.js';
import type { App } from '../../src/model/entities.js';
import { appJson } from '../../src/model/views.js';

/**
 * One client id with several platforms, as an Azure app registration has them: a request is treated as
 * the platform of the redirect URI it used. Real HTTP against a running Latchkey.
 */
const WEB = 'https://portal.example/signin-oidc';
const SPA_ORIGIN = 'http://localhost:5173';
const SPA = `${SPA_ORIGIN}/`;
const MOBILE = 'msauth.com.contoso.portal://auth';
const API = 'api://portal';

let s: TestServer;
let portal: App;
let secret: string;
/** One agent, signed in once: later authorize requests ride on its SSO session. */
const agent = new Agent();

const tokenUrl = () => `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`;

async function token(form: Record<string, string>, headers: Record<string, string> = {}) {
  const res = await fetch(tokenUrl(), {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
    body: new URLSearchParams(form).toString(),
  });
  return { status: res.status, headers: res.headers, body: (await res.json()) as Record<string, string | number | undefined> };
}

const basic = (id: string, value: string) => ({ authorization: `Basic ${Buffer.from(`${id}:${encodeURIComponent(value)}`).toString('base64')}` });
const fromSpa = { origin: SPA_ORIGIN };

function authorizeUrl(clientId: string, redirectUri: string, scope: string, challenge?: string): string {
  const params: Record<string, string> = { client_id: clientId, redirect_uri: redirectUri, response_type: 'code', scope };
  if (challenge) Object.assign(params, { code_challenge: challenge, code_challenge_method: 'S256' });
  return `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams(params)}`;
}

/** A code for `redirectUri` (with PKCE unless `challenge` is null), or the redirect's error parameters. */
async function authorize(clientId: string, redirectUri: string, scope: string, challenge: string | null): Promise<URL> {
  return signInViaPages(agent, s.baseUrl, authorizeUrl(clientId, redirectUri, scope, challenge ?? undefined), 'pia@example.com', 'pia-password-1');
}

async function codeFor(redirectUri: string, scope = 'openid offline_access', clientId = portal.clientId) {
  const { verifier, challenge } = pkce();
  const back = await authorize(clientId, redirectUri, scope, challenge);
  const code = back.searchParams.get('code');
  if (!code) throw new Error(`no code: ${back}`);
  return { code, verifier, redeem: { grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: redirectUri, code_verifier: verifier } };
}

beforeAll(async () => {
  s = await startServer();
  await s.createUser('pia@example.com', 'pia-password-1', { displayName: 'Pia' });
  // Registered as a web app (a secret), then given an SPA and a mobile platform and an API of its own.
  const created = await createApp(s.provision, s.tenant, { name: 'Portal', type: 'web', redirectUris: [WEB] });
  secret = created.clientSecret!;
  portal = await updateApp(s.provision, s.tenant, created.app, { spaRedirectUris: { add: [SPA] }, publicClientRedirectUris: { add: [MOBILE] }, identifierUri: API });
  await defineOnApi(s.provision, portal, 'scope', 'tasks.read');
  await defineOnApi(s.provision, portal, 'role', 'Tasks.Sync');
});

afterAll(async () => {
  await s.close();
});

describe('one client id, three platforms', () => {
  it('keeps each platform apart in the registration and in app views', async () => {
    expect(portal).toMatchObject({ type: 'web', webRedirectUris: [WEB], spaRedirectUris: [SPA], publicClientRedirectUris: [MOBILE], identifierUri: API });
    expect(await s.deps.store.findApp(s.tenant.id, portal.clientId)).toEqual(portal);
    expect(appJson(portal)).toMatchObject({
      type: 'web',
      redirect_uris: [WEB, SPA, MOBILE],
      platforms: { web: { redirect_uris: [WEB] }, spa: { redirect_uris: [SPA] }, public_client: { redirect_uris: [MOBILE] } },
      identifier_uri: API,
    });
    // The change is in the audit trail, saying what changed.
    const [updated] = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id, event: 'app_updated' });
    expect(updated).toMatchObject({ clientId: portal.clientId, outcome: 'success', detail: `+SPA redirect URI ${SPA}; +public-client redirect URI ${MOBILE}; identifier URI ${API}` });
  });

  it('requires PKCE through the SPA and public-client redirect URIs, not through the web one of an app with a secret', async () => {
    const spa = await authorize(portal.clientId, SPA, 'openid', null);
    expect(spa.origin + spa.pathname).toBe(SPA);
    expect(spa.searchParams.get('error')).toBe('invalid_request');
    expect(spa.searchParams.get('error_description')).toMatch(/^AADB2C99059: Public clients must use PKCE/);
    const mobile = await authorize(portal.clientId, MOBILE, 'openid', null);
    expect(mobile.searchParams.get('error')).toBe('invalid_request');
    const web = await authorize(portal.clientId, WEB, 'openid', null);
    expect(web.searchParams.get('code')).toBeTruthy();
  });

  it("redeems a code of the SPA redirect URI only as the SPA's: no secret, from the browser; 24-hour refresh tokens and CORS for its origin", async () => {
    const { code, redeem } = await codeFor(SPA);
    // As if it were the web app's: with the secret, or from a server. Neither spends the code.
    const withSecret = await token(redeem, { ...basic(portal.clientId, secret), ...fromSpa });
    expect(withSecret.status).toBe(401);
    expect(withSecret.body).toMatchObject({ error: 'invalid_client' });
    expect(withSecret.body.error_description).toMatch(/^AADB2C90084: A public client must not send a client secret \(the code was issued to an SPA redirect URI\)/);
    const fromServer = await token(redeem);
    expect(fromServer.status).toBe(400);
    expect(fromServer.body.error).toBe('invalid_request');
    expect(fromServer.body.error_description).toContain('may only be redeemed by a cross-origin request');
    // Bound to its redirect URI as ever: not redeemable for the web one.
    const asWeb = await token({ ...redeem, redirect_uri: WEB }, fromSpa);
    expect(asWeb.body.error).toBe('invalid_grant');
    const { redeem: again } = await codeFor(SPA);
    const ok = await token(again, fromSpa);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.refresh_token_expires_in).toBe(86_400);
    expect(ok.headers.get('access-control-allow-origin')).toBe(SPA_ORIGIN);
    expect(code).not.toBe(again.code);

    // Its refresh tokens follow the same rules.
    const rt = ok.body.refresh_token as string;
    expect((await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: portal.clientId })).body.error).toBe('invalid_request');
    const rtWithSecret = await token({ grant_type: 'refresh_token', refresh_token: rt }, { ...basic(portal.clientId, secret), ...fromSpa });
    expect(rtWithSecret.body.error).toBe('invalid_client');
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: portal.clientId }, fromSpa);
    expect(refreshed.status, JSON.stringify(refreshed.body)).toBe(200);
    expect(Number(refreshed.body.refresh_token_expires_in)).toBeLessThanOrEqual(86_400);
  });

  it("redeems a code of the web redirect URI only as the web app's: with the secret, from a server", async () => {
    const { redeem } = await codeFor(WEB);
    const public_ = await token(redeem);
    expect(public_.status).toBe(401);
    expect(public_.body.error).toBe('invalid_client');
    expect(public_.body.error_description).toMatch(/^AADB2C90079: The client secret is missing \(the code was issued to a web redirect URI\)/);
    const browser = await token(redeem, { ...basic(portal.clientId, secret), ...fromSpa });
    expect(browser.body.error).toBe('invalid_request');
    expect(browser.body.error_description).toContain('Cross-origin token redemption is permitted only for the single-page application platform');
    const wrong = await token(redeem, basic(portal.clientId, 'not-the-secret'));
    expect(wrong.body.error).toBe('invalid_client');
    const ok = await token(redeem, basic(portal.clientId, secret));
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    // The policy's refresh-token lifetime (14 days), not the SPA's 24 hours.
    expect(ok.body.refresh_token_expires_in).toBe(14 * 86_400);
    const rt = ok.body.refresh_token as string;
    expect((await token({ grant_type: 'refresh_token', refresh_token: rt, client_id: portal.clientId })).body.error).toBe('invalid_client');
    expect((await token({ grant_type: 'refresh_token', refresh_token: rt }, basic(portal.clientId, secret))).status).toBe(200);
  });

  it("redeems a code of the public-client redirect URI as a native app's: no secret", async () => {
    const { redeem } = await codeFor(MOBILE);
    expect((await token(redeem, basic(portal.clientId, secret))).body.error).toBe('invalid_client');
    expect((await token(redeem, fromSpa)).body.error).toBe('invalid_request');
    const ok = await token(redeem);
    expect(ok.status, JSON.stringify(ok.body)).toBe(200);
    expect(ok.body.refresh_token_expires_in).toBe(14 * 86_400);
  });

  it('refuses a code whose redirect URI moved to another platform since it was issued', async () => {
    const other = await createApp(s.provision, s.tenant, { name: 'Mover', type: 'spa', redirectUris: ['http://localhost:5174/'] });
    const { redeem } = await codeFor('http://localhost:5174/', 'openid', other.app.clientId);
    await updateApp(s.provision, s.tenant, other.app, { spaRedirectUris: { remove: ['http://localhost:5174/'] }, publicClientRedirectUris: { add: ['http://localhost:5174/'] } });
    const res = await token(redeem, { origin: 'http://localhost:5174' });
    expect(res.body.error).toBe('invalid_grant');
    expect(res.body.error_description).toContain('no longer registered for the application under the platform');
  });
});

describe('an app exposing an API', () => {
  it('asks for its own scopes without a grant: the access token is for itself, and refreshing keeps the scope', async () => {
    const { redeem } = await codeFor(SPA, `openid offline_access ${API}/tasks.read`);
    const res = await token(redeem, fromSpa);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    expect(res.body.scope).toBe(`openid offline_access ${API}/tasks.read`);
    expect(decodeJwt(res.body.access_token as string)).toMatchObject({ aud: portal.clientId, azp: portal.clientId, scp: 'tasks.read' });
    const refreshed = await token({ grant_type: 'refresh_token', refresh_token: res.body.refresh_token as string, client_id: portal.clientId }, fromSpa);
    expect(decodeJwt(refreshed.body.access_token as string)).toMatchObject({ aud: portal.clientId, scp: 'tasks.read' });
    // A scope it does not expose is still refused.
    const unknown = await authorize(portal.clientId, SPA, `openid ${API}/tasks.write`, pkce().challenge);
    expect(unknown.searchParams.get('error_description')).toMatch(/^AADB2C90012: /);
  });

  it('gives another app its scopes only with a grant, and a daemon its roles', async () => {
    const other = await createApp(s.provision, s.tenant, { name: 'Partner', type: 'native', redirectUris: ['http://127.0.0.1:9/cb'] });
    const refused = await authorize(other.app.clientId, 'http://127.0.0.1:9/cb', `openid ${API}/tasks.read`, pkce().challenge);
    expect(refused.searchParams.get('error')).toBe('invalid_scope');
    expect(refused.searchParams.get('error_description')).toMatch(/^AADB2C90055: /);
    await grantApp(s.provision, s.tenant, other.app, portal, 'scope', 'tasks.read');
    const { redeem } = await codeFor('http://127.0.0.1:9/cb', `openid ${API}/tasks.read`, other.app.clientId);
    expect(decodeJwt((await token(redeem)).body.access_token as string)).toMatchObject({ aud: portal.clientId, azp: other.app.clientId, scp: 'tasks.read' });

    const daemon = await createApp(s.provision, s.tenant, { name: 'Sync', type: 'daemon' });
    await grantApp(s.provision, s.tenant, daemon.app, portal, 'role', 'Tasks.Sync');
    const cc = await token({ grant_type: 'client_credentials', scope: `${API}/.default` }, basic(daemon.app.clientId, daemon.clientSecret!));
    expect(cc.status, JSON.stringify(cc.body)).toBe(200);
    expect(decodeJwt(cc.body.access_token as string)).toMatchObject({ aud: portal.clientId, roles: ['Tasks.Sync'] });
  });
});

describe('a web platform on an app registered as an SPA', () => {
  it('is a public client until the app has a secret, then a confidential one', async () => {
    const created = await createApp(s.provision, s.tenant, { name: 'Grown', type: 'spa', redirectUris: ['http://localhost:5175/'] });
    const grown = await updateApp(s.provision, s.tenant, created.app, { webRedirectUris: { add: ['https://grown.example/cb'] } });
    // No secret yet: its web redirect URI needs PKCE, and its codes are redeemed without a secret.
    expect((await authorize(grown.clientId, 'https://grown.example/cb', 'openid', null)).searchParams.get('error')).toBe('invalid_request');
    const early = await codeFor('https://grown.example/cb', 'openid', grown.clientId);
    expect((await token(early.redeem)).status).toBe(200);
    // With a secret, the web redirect URI is a confidential client's: the secret is needed.
    const added = await addAppSecret(s.deps, s.tenant, grown, { description: 'server' });
    const later = await codeFor('https://grown.example/cb', 'openid', grown.clientId);
    expect((await token(later.redeem)).body.error).toBe('invalid_client');
    expect((await token(later.redeem, basic(grown.clientId, added.value))).status).toBe(200);
    // The SPA platform stays a public client's.
    const spa = await codeFor('http://localhost:5175/', 'openid', grown.clientId);
    expect((await token(spa.redeem, { origin: 'http://localhost:5175' })).status).toBe(200);
  });

  it('may hold a secret only once it has a web platform', async () => {
    const spaOnly = await createApp(s.provision, s.tenant, { name: 'Only SPA', type: 'spa', redirectUris: ['http://localhost:5176/'] });
    await expect(addAppSecret(s.deps, s.tenant, spaOnly.app, {})).rejects.toThrow(/is a public client \(spa\): it has no secrets/);
  });
});
