import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeJwt } from 'jose';
import { Agent, absolute, csrfOf, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';

const CB = 'http://127.0.0.1:9/cb';
let s: TestServer;
let appA: string;
let appB: string;

function policyFile(id: string): string {
  return join(s.dir, 'policies', 'demo', `${id}.json`);
}

function writePolicy(id: string, change: (p: Record<string, unknown>) => Record<string, unknown>, from = 'B2C_1_signin'): void {
  const base = JSON.parse(readFileSync(policyFile(from), 'utf8')) as Record<string, unknown>;
  writeFileSync(policyFile(id), JSON.stringify(change({ ...base, id })));
}

async function waitFor<T>(probe: () => Promise<T | undefined>, what: string): Promise<T> {
  for (let i = 0; i < 100; i++) {
    const v = await probe();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`timed out waiting for ${what}`);
}

function authorizeUrl(policy: string, clientId: string, extra: Record<string, string> = {}): string {
  const { challenge } = pkce();
  return `${s.baseUrl}/demo/${policy}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: clientId, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256', ...extra })}`;
}

async function journeyPage(agent: Agent, url: string): Promise<{ journey: string; html: string }> {
  const res = await agent.fetch(url);
  const journey = absolute(s.baseUrl, res.headers.get('location')!);
  return { journey, html: await (await agent.fetch(journey)).text() };
}

beforeAll(async () => {
  s = await startServer();
  await s.createUser('mo@example.com', 'mo-password-1', { displayName: 'Mo' });
  appA = (await s.createApp({ name: 'a', type: 'native', redirectUris: [CB] })).app.clientId;
  appB = (await s.createApp({ name: 'b', type: 'native', redirectUris: [CB] })).app.clientId;
});

afterAll(async () => {
  await s.close();
});

describe('policy files while the server runs', () => {
  it('picks up an edited title and token lifetime without a restart', async () => {
    writePolicy('B2C_1_live', (p) => ({ ...p, ui: { title: 'First title' }, tokens: { ...(p.tokens as object), idTokenMinutes: 60 } }));
    const first = await waitFor(async () => {
      const r = await fetch(`${s.baseUrl}/demo/B2C_1_live/v2.0/.well-known/openid-configuration`);
      return r.status === 200 ? r : undefined;
    }, 'the new policy');
    expect(first.status).toBe(200);
    expect((await journeyPage(new Agent(), authorizeUrl('B2C_1_live', appA))).html).toContain('<h1>First title</h1>');

    writePolicy('B2C_1_live', (p) => ({ ...p, ui: { title: 'Second title' }, tokens: { ...(p.tokens as object), idTokenMinutes: 5 } }));
    await waitFor(async () => ((await journeyPage(new Agent(), authorizeUrl('B2C_1_live', appA))).html.includes('<h1>Second title</h1>') ? true : undefined), 'the edited title');

    const { verifier, challenge } = pkce();
    const back = await signInViaPages(new Agent(), s.baseUrl, `${s.baseUrl}/demo/B2C_1_live/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: appA, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`, 'mo@example.com', 'mo-password-1');
    const res = await fetch(`${s.baseUrl}/demo/B2C_1_live/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'authorization_code', client_id: appA, code: back.searchParams.get('code')!, redirect_uri: CB, code_verifier: verifier }),
    });
    const body = (await res.json()) as { id_token: string; id_token_expires_in: number };
    expect(body.id_token_expires_in).toBe(300);
    const claims = decodeJwt(body.id_token);
    expect(claims.exp! - claims.iat!).toBe(300);
  });

  it('keeps the last good version of an invalid file and logs file, JSON path and reason', async () => {
    writePolicy('B2C_1_steady', (p) => ({ ...p, ui: { title: 'Steady' } }));
    await waitFor(async () => ((await fetch(`${s.baseUrl}/demo/B2C_1_steady/v2.0/.well-known/openid-configuration`)).status === 200 ? true : undefined), 'the policy');
    writePolicy('B2C_1_steady', (p) => ({ ...p, ui: { title: 'Broken' }, tokens: { ...(p.tokens as object), accessTokenMinutes: 99999 } }));
    const logged = await waitFor(async () => s.logs.find((l) => l.path === '$.tokens.accessTokenMinutes' && String(l.file).endsWith('B2C_1_steady.json')), 'the log line');
    expect(logged.level).toBe(50);
    expect(String(logged.reason)).toMatch(/1440/);
    expect((await journeyPage(new Agent(), authorizeUrl('B2C_1_steady', appA))).html).toContain('<h1>Steady</h1>');

    writeFileSync(policyFile('B2C_1_steady'), '{ not json');
    await waitFor(async () => s.logs.find((l) => String(l.file).endsWith('B2C_1_steady.json') && String(l.reason).startsWith('not valid JSON')), 'the JSON error');
    expect((await fetch(`${s.baseUrl}/demo/B2C_1_steady/v2.0/.well-known/openid-configuration`)).status).toBe(200);
  });
});

describe('options that would do nothing are refused at start and on change', () => {
  it('does not load a policy asking for voice calls or naming an unconfigured identity provider, and says why', async () => {
    writePolicy('B2C_1_wants_mfa', (p) => ({ ...p, mfa: { mode: 'required', methods: ['email', 'voice'] } }));
    writePolicy('B2C_1_wants_idp', (p) => ({ ...p, identityProviders: ['local', 'contoso-oidc'] }));
    const mfa = await waitFor(async () => s.logs.find((l) => String(l.file).endsWith('B2C_1_wants_mfa.json') && l.path === '$.mfa.methods[1]'), 'the method refusal');
    expect(String(mfa.reason)).toContain("must be 'email', 'totp', 'passkey' or 'sms'");
    const idp = await waitFor(async () => s.logs.find((l) => String(l.file).endsWith('B2C_1_wants_idp.json') && l.path === '$.identityProviders[1]'), 'the provider refusal');
    expect(String(idp.reason)).toContain("'contoso-oidc' names no identity provider configured");
    for (const id of ['B2C_1_wants_mfa', 'B2C_1_wants_idp']) {
      expect((await fetch(`${s.baseUrl}/demo/${id}/v2.0/.well-known/openid-configuration`)).status).toBe(404);
    }
  });
});

describe('SSO scope per policy', () => {
  async function signedIn(policy: string, clientId: string): Promise<Agent> {
    const agent = new Agent();
    await signInViaPages(agent, s.baseUrl, authorizeUrl(policy, clientId), 'mo@example.com', 'mo-password-1');
    return agent;
  }
  async function silent(agent: Agent, policy: string, clientId: string): Promise<string | null> {
    const res = await agent.fetch(authorizeUrl(policy, clientId, { prompt: 'none' }));
    const loc = new URL(res.headers.get('location')!);
    return loc.searchParams.get('code') ? 'sso' : loc.searchParams.get('error');
  }

  it('tenant: a session from any policy and app is reused', async () => {
    writePolicy('B2C_1_sso_tenant', (p) => ({ ...p, session: { sso: 'tenant' } }));
    await waitFor(async () => ((await fetch(`${s.baseUrl}/demo/B2C_1_sso_tenant/v2.0/.well-known/openid-configuration`)).ok ? true : undefined), 'policy');
    const agent = await signedIn('B2C_1_signin', appA);
    expect(await silent(agent, 'B2C_1_sso_tenant', appB)).toBe('sso');
  });

  it('application: only a session made by the same app', async () => {
    writePolicy('B2C_1_sso_app', (p) => ({ ...p, session: { sso: 'application' } }));
    await waitFor(async () => ((await fetch(`${s.baseUrl}/demo/B2C_1_sso_app/v2.0/.well-known/openid-configuration`)).ok ? true : undefined), 'policy');
    const agent = await signedIn('B2C_1_signin', appA);
    expect(await silent(agent, 'B2C_1_sso_app', appB)).toBe('login_required');
    expect(await silent(agent, 'B2C_1_sso_app', appA)).toBe('sso');
  });

  it('policy: only a session made under the same policy; suppressed: never', async () => {
    writePolicy('B2C_1_sso_policy', (p) => ({ ...p, session: { sso: 'policy' } }));
    writePolicy('B2C_1_sso_none', (p) => ({ ...p, session: { sso: 'suppressed' } }));
    await waitFor(async () => ((await fetch(`${s.baseUrl}/demo/B2C_1_sso_none/v2.0/.well-known/openid-configuration`)).ok ? true : undefined), 'policy');
    const agent = await signedIn('B2C_1_signin', appA);
    expect(await silent(agent, 'B2C_1_sso_policy', appA)).toBe('login_required');
    const own = await signedIn('B2C_1_sso_policy', appA);
    expect(await silent(own, 'B2C_1_sso_policy', appA)).toBe('sso');
    expect(await silent(agent, 'B2C_1_sso_none', appA)).toBe('login_required');
  });
});

describe('keep me signed in', () => {
  it('offers the checkbox when the policy allows it and makes the session cookie persistent', async () => {
    writePolicy('B2C_1_kmsi', (p) => ({ ...p, session: { keepMeSignedInDays: 30 } }));
    await waitFor(async () => ((await fetch(`${s.baseUrl}/demo/B2C_1_kmsi/v2.0/.well-known/openid-configuration`)).ok ? true : undefined), 'policy');
    const agent = new Agent();
    const { journey, html } = await journeyPage(agent, authorizeUrl('B2C_1_kmsi', appA));
    expect(html).toContain('<label for="rememberMe">Keep me signed in</label>');
    const res = await fetch(journey, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
      body: new URLSearchParams({ csrf: csrfOf(html), email: 'mo@example.com', password: 'mo-password-1', kmsi: 'true', action: 'signin' }),
    });
    const sso = res.headers.getSetCookie().find((c) => c.startsWith('lk_sso_'))!;
    expect(sso).toMatch(/Max-Age=2592000/);
    const plain = (await journeyPage(new Agent(), authorizeUrl('B2C_1_signin', appA))).html;
    expect(plain).not.toContain('Keep me signed in');
  });
});

describe('password reset without user enumeration', () => {
  it('shows the same code page for an unknown address and mails nothing', async () => {
    const agent = new Agent();
    const { journey, html } = await journeyPage(agent, authorizeUrl('B2C_1_passwordreset', appA));
    const res = await agent.post(journey, { csrf: csrfOf(html), email: 'ghost@example.com', action: 'send' });
    const page = await (await agent.fetch(absolute(s.baseUrl, res.headers.get('location')!))).text();
    expect(page).toContain('Verification code has been sent to your inbox.');
    expect(await s.deps.store.listOutbox(s.tenant.id, 'ghost@example.com')).toEqual([]);
    const wrong = await agent.post(journey, { csrf: csrfOf(page), code: '123456', action: 'verify' });
    expect(await wrong.text()).toContain('does not match our records');
  });
});

describe('themes', () => {
  it('links the policy theme stylesheet, which is served', async () => {
    writePolicy('B2C_1_dark', (p) => ({ ...p, ui: { title: 'Dark', theme: 'dark' } }));
    const html = await waitFor(async () => {
      const r = await new Agent().fetch(authorizeUrl('B2C_1_dark', appA));
      return r.status === 302 ? (await journeyPage(new Agent(), authorizeUrl('B2C_1_dark', appA))).html : undefined;
    }, 'policy');
    expect(html).toContain('<link rel="stylesheet" href="/static/themes/dark.css">');
    const css = await fetch(`${s.baseUrl}/static/themes/dark.css`);
    expect(css.status).toBe(200);
    expect(css.headers.get('content-type')).toContain('text/css');
    expect((await fetch(`${s.baseUrl}/static/../package.json`)).status).toBe(404);
  });
});
