import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, absolute, pkce } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** identity-providers.json while the server runs: validated, hot-reloaded, and what policies may name. */
const CB = 'http://127.0.0.1:9/cb';
let s: TestServer;
let app: string;

const folder = () => join(s.dir, 'policies', 'demo');
const writeProviders = (providers: unknown[]) => writeFileSync(join(folder(), 'identity-providers.json'), JSON.stringify({ providers }));
const writePolicy = (policy: Record<string, unknown>) => writeFileSync(join(folder(), `${policy.id as string}.json`), JSON.stringify(policy));

async function waitFor<T>(probe: () => Promise<T | undefined> | T | undefined, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

async function signInPage(policy: string): Promise<string> {
  const agent = new Agent();
  const { challenge } = pkce();
  const res = await agent.fetch(`${s.baseUrl}/demo/${policy}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: app, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`);
  return (await agent.fetch(absolute(s.baseUrl, res.headers.get('location')!))).text();
}

beforeAll(async () => {
  process.env.TEST_IDP_SECRET = 'idp-secret';
  s = await startServer();
  app = (await s.createApp({ name: 'a', type: 'native', redirectUris: [CB] })).app.clientId;
});

afterAll(async () => {
  await s.close();
});

describe('identity providers of a tenant', () => {
  it('accepts a policy naming a provider once the provider is configured, without a restart', async () => {
    writePolicy({ id: 'B2C_1_contoso', kind: 'signUpOrSignIn', identityProviders: ['local', 'contoso'] });
    await waitFor(() => s.logs.find((l) => String(l.file).endsWith('B2C_1_contoso.json') && l.path === '$.identityProviders[1]'), 'the refusal');
    expect((await fetch(`${s.baseUrl}/demo/B2C_1_contoso/v2.0/.well-known/openid-configuration`)).status).toBe(404);

    writeProviders([{ id: 'contoso', type: 'oidc', displayName: 'Contoso', discoveryUrl: 'https://login.contoso.example/.well-known/openid-configuration', clientId: 'c', clientSecret: { env: 'TEST_IDP_SECRET' } }]);
    await waitFor(async () => ((await fetch(`${s.baseUrl}/demo/B2C_1_contoso/v2.0/.well-known/openid-configuration`)).status === 200 ? true : undefined), 'the policy');
    const html = await signInPage('B2C_1_contoso');
    expect(html).toContain('<div class="intro"><h2>Sign in with your social account</h2></div>');
    expect(html).toContain('id="ContosoExchange"');
    expect(html).toContain('>Contoso</button>');
    expect(html).toContain('id="localAccountForm"');
  });

  it('keeps the last good providers when the file turns invalid, and logs file, path and reason', async () => {
    writeProviders([{ id: 'contoso', type: 'oidc', displayName: 'Contoso', discoveryUrl: 'https://login.contoso.example/.well-known/openid-configuration', clientId: 'c', clientSecret: { env: 'TEST_NOT_SET' } }]);
    const logged = await waitFor(() => s.logs.find((l) => String(l.file).endsWith('identity-providers.json') && l.path === '$.providers[0].clientSecret'), 'the log line');
    expect(logged.reason).toBe('the environment variable TEST_NOT_SET is not set');
    expect(await signInPage('B2C_1_contoso')).toContain('id="ContosoExchange"');
  });

  it('refuses a provider in a policy kind that runs with local accounts only', async () => {
    writePolicy({ id: 'B2C_1_signup_social', kind: 'signUp', identityProviders: ['local', 'contoso'] });
    const logged = await waitFor(() => s.logs.find((l) => String(l.file).endsWith('B2C_1_signup_social.json') && l.path === '$.identityProviders[1]'), 'the refusal');
    expect(String(logged.reason)).toMatch(/^a signUp policy runs with local accounts only/);
  });

  it('answers a callback that belongs to no sign-in with a page, never a redirect', async () => {
    const res = await fetch(`${s.baseUrl}/demo/federation/contoso/callback?code=x&state=not-a-journey`, { redirect: 'manual', headers: { accept: 'text/html' } });
    expect(res.status).toBe(400);
    expect(res.headers.get('location')).toBeNull();
    expect(await res.text()).toContain('does not belong to a sign-in in progress');
    // A form post without the browser cookie is re-posted once by a page of ours, never followed blindly.
    const post = await fetch(`${s.baseUrl}/demo/federation/contoso/callback`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'code=x&state=abc' });
    const relay = await post.text();
    expect(post.status).toBe(200);
    expect(relay).toContain('<input type="hidden" name="lk_relay" value="1">');
    const again = await fetch(`${s.baseUrl}/demo/federation/contoso/callback`, { method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'text/html' }, body: 'code=x&state=abc&lk_relay=1' });
    expect(again.status).toBe(400);
  });
});
