import { readFileSync, readdirSync } from 'node:fs';
import { request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, absolute, csrfOf, pkce, signInViaPages } from '../helpers/browserless.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { en } from '../../src/model/messages/en.js';

const LOCKED = en['error.locked'];
import { rotateKeys } from '../../src/services/keys.js';

const CB = 'http://127.0.0.1:9/cb';
let s: TestServer;
let native: string;
let daemon: { clientId: string; secret: string };
const API = 'https://demo.example/hardening';

function authorizeUrl(extra: Record<string, string> = {}, policy = 'B2C_1_signin'): string {
  const { challenge } = pkce();
  return `${s.baseUrl}/demo/${policy}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: native, redirect_uri: CB, response_type: 'code', scope: 'openid offline_access', code_challenge: challenge, code_challenge_method: 'S256', ...extra })}`;
}

async function openJourney(agent = new Agent(), policy = 'B2C_1_signin'): Promise<{ agent: Agent; journey: string; html: string }> {
  const res = await agent.fetch(authorizeUrl({}, policy));
  const journey = absolute(s.baseUrl, res.headers.get('location')!);
  return { agent, journey, html: await (await agent.fetch(journey)).text() };
}

async function tryPassword(j: { agent: Agent; journey: string; html: string }, email: string, password: string): Promise<Response> {
  const res = await j.agent.post(j.journey, { csrf: csrfOf(j.html), email, password, action: 'signin' });
  if (res.status === 200) j.html = await res.clone().text();
  return res;
}

/** A form post as a browser sends it (with Sec-Fetch-Mode, a header fetch() sets itself). */
function browserPost(agent: Agent, url: string, form: Record<string, string>): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const body = new URLSearchParams(form).toString();
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), 'sec-fetch-mode': 'navigate', cookie: [...agent.cookies].map(([k, v]) => `${k}=${v}`).join('; ') },
    });
    req.on('response', (res) => {
      let text = '';
      res.setEncoding('utf8').on('data', (c: string) => (text += c)).on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

async function tokenFor(clientId: string, verifier: string, code: string) {
  return fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ grant_type: 'authorization_code', client_id: clientId, code, redirect_uri: CB, code_verifier: verifier }),
  });
}

beforeAll(async () => {
  s = await startServer({ env: { LATCHKEY_MASTER_KEY: 'k'.repeat(48), LATCHKEY_FORM_RATE_LIMIT: '1000' } });
  await s.createUser('rae@example.com', 'rae-password-1');
  await s.createUser('sam@example.com', 'sam-password-1');
  await s.createUser('race@example.com', 'race-password-1');
  native = (await s.createApp({ name: 'native', type: 'native', redirectUris: [CB] })).app.clientId;
  ({ daemon } = await s.createDaemonForApi({ api: 'api', identifierUri: API, role: 'Jobs.Run', daemon: 'daemon' }));
});

afterAll(async () => {
  await s.close();
});

describe('account lockout', () => {
  it('locks a sign-in name after 10 failures, refuses even the right password, and lets it in after the lock', async () => {
    const j = await openJourney();
    for (let i = 0; i < 9; i++) expect(await (await tryPassword(j, 'rae@example.com', `wrong-${i}-xx`)).text()).toContain('Invalid username or password.');
    expect(await (await tryPassword(j, 'rae@example.com', 'wrong-9-xx')).text()).toContain(LOCKED);
    const right = await tryPassword(j, 'rae@example.com', 'rae-password-1');
    expect(right.status).toBe(200);
    expect(await right.text()).toContain(LOCKED);
    s.clock.advance(61_000);
    try {
      expect((await tryPassword(j, 'rae@example.com', 'rae-password-1')).status).toBe(302);
    } finally {
      s.clock.offset = 0;
    }
  });

  it('says the same for an address with no account', async () => {
    const j = await openJourney();
    let last = '';
    for (let i = 0; i < 10; i++) last = await (await tryPassword(j, 'nobody-here@example.com', `guess-${i}-xx`)).text();
    expect(last).toContain(LOCKED);
  });

  it('doubles the lock for repeat offenders', async () => {
    const j = await openJourney();
    for (let round = 0; round < 2; round++) {
      for (let i = 0; i < 10; i++) await tryPassword(j, 'sam@example.com', `bad-${round}-${i}-x`);
      s.clock.advance(61_000);
    }
    try {
      // Second lock: two minutes. One minute after it began it still holds.
      expect(await (await tryPassword(j, 'sam@example.com', 'sam-password-1')).text()).toContain(LOCKED);
      s.clock.advance(61_000);
      expect((await tryPassword(j, 'sam@example.com', 'sam-password-1')).status).toBe(302);
    } finally {
      s.clock.offset = 0;
    }
  });

  it('takes as long for an unknown address as for a wrong password (no timing oracle)', async () => {
    // Known and unknown names alternate, so a machine busy with other work slows both alike.
    const samples = { known: [] as number[], unknown: [] as number[] };
    const once = async (email: string, into: number[]) => {
      const j = await openJourney();
      const t0 = performance.now();
      await tryPassword(j, email, 'definitely-wrong');
      into.push(performance.now() - t0);
    };
    await s.createUser('timing@example.com', 'timing-password-1');
    for (let i = 0; i < 9; i++) {
      await once('timing@example.com', samples.known);
      await once('no-such-user@example.com', samples.unknown);
    }
    const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const known = median(samples.known);
    const unknown = median(samples.unknown);
    expect(unknown / known).toBeGreaterThan(0.5);
    expect(unknown / known).toBeLessThan(2);
  });
});

describe('throttling', () => {
  /** A browserless agent at the sign-in page of a journey begun on `server` (its URL and first page). */
  async function signInJourney(server: Awaited<ReturnType<typeof startServer>>): Promise<{ agent: Agent; journey: string; page: string }> {
    const agent = new Agent();
    const { challenge } = pkce();
    const app = (await server.createApp({ name: 'n', type: 'native', redirectUris: [CB] })).app.clientId;
    const res = await agent.fetch(`${server.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: app, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: challenge, code_challenge_method: 'S256' })}`);
    const journey = absolute(server.baseUrl, res.headers.get('location')!);
    return { agent, journey, page: await (await agent.fetch(journey)).text() };
  }

  it('limits form posts per address', async () => {
    const limited = await startServer({ env: { LATCHKEY_FORM_RATE_LIMIT: '3' } });
    try {
      const { agent, journey, page } = await signInJourney(limited);
      let html = page;
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const r = await agent.post(journey, { csrf: csrfOf(html), email: 'x@example.com', password: 'whatever-1', action: 'signin' });
        statuses.push(r.status);
        const text = await r.text();
        if (r.status === 200) html = text;
        else {
          expect(r.headers.get('retry-after')).toBeTruthy();
          expect(text).toContain('Too many attempts');
        }
      }
      expect(statuses).toEqual([200, 200, 200, 429]);
      // Viewing the page is not limited.
      expect((await agent.fetch(journey)).status).toBe(200);
    } finally {
      await limited.close();
    }
  });

  it('counts an IPv6 client by its /64: a fresh address from the same prefix gets no fresh limit', async () => {
    const limited = await startServer({ env: { LATCHKEY_FORM_RATE_LIMIT: '3', LATCHKEY_TRUST_PROXY: '127.0.0.1' } });
    try {
      const { agent, journey, page } = await signInJourney(limited);
      let html = page;
      const statuses: number[] = [];
      for (const from of ['2001:db8:7:1::1', '2001:db8:7:1::2', '2001:db8:7:1:ffff::3', '2001:db8:7:1::4', '2001:db8:7:2::1']) {
        const r = await agent.post(journey, { csrf: csrfOf(html), email: 'x@example.com', password: 'whatever-1', action: 'signin' }, { 'x-forwarded-for': from });
        statuses.push(r.status);
        const text = await r.text();
        if (r.status === 200) html = text;
      }
      // Three from 2001:db8:7:1::/64, then refused whatever its address; another /64 is another client.
      expect(statuses).toEqual([200, 200, 200, 429, 200]);
    } finally {
      await limited.close();
    }
  });
});

describe('behind a reverse proxy', () => {
  it('believes X-Forwarded-For only from the proxies LATCHKEY_TRUST_PROXY names', async () => {
    const proxied = await startServer({ env: { LATCHKEY_TRUST_PROXY: '127.0.0.1', LATCHKEY_FORM_RATE_LIMIT: '2' } });
    try {
      const app = (await proxied.createApp({ name: 'n', type: 'native', redirectUris: [CB] })).app.clientId;
      const post = (forwardedFor: string) =>
        fetch(`${proxied.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': forwardedFor }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: app, client_secret: 'x' }) });
      await post('203.0.113.9');
      const events = await proxied.deps.store.listAuditEvents({ tenantId: proxied.tenant.id });
      expect(events.find((e) => e.event === 'client_auth')?.ip).toBe('203.0.113.9');
    } finally {
      await proxied.close();
    }
    // Without the setting the header is ignored: the address is the connection's.
    await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-forwarded-for': '198.51.100.1' }, body: new URLSearchParams({ grant_type: 'client_credentials', client_id: native, client_secret: 'x' }) });
    const events = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(events.filter((e) => e.event === 'client_auth').map((e) => e.ip)).not.toContain('198.51.100.1');
  });
});

describe('browser protections', () => {
  it('sends security headers, a CSP without inline script, and no-store on pages and tokens', async () => {
    const { journey, agent } = await openJourney();
    const page = await agent.fetch(journey);
    const csp = page.headers.get('content-security-policy')!;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(csp).toContain("frame-ancestors 'none'");
    // Forms post to Latchkey only (see the onward page below for how the browser gets to the app).
    expect(csp).toContain("form-action 'self';");
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(await page.text()).not.toMatch(/<script>(?!<\/script>)|<script(?![^>]*src=)[^>]*>/);
    const discovery = await fetch(`${s.baseUrl}/demo/B2C_1_signin/v2.0/.well-known/openid-configuration`);
    expect(discovery.headers.get('x-content-type-options')).toBe('nosniff');
    // Helmet's policy on other answers (a stylesheet here) lets forms post to Latchkey only.
    const css = await fetch(`${s.baseUrl}/static/latchkey.css`);
    expect(css.headers.get('content-security-policy')).toContain("form-action 'self';");
  });

  it("answers a browser's sign-in post with a page that goes on to the app (form-action checks a post's redirects), other clients with the redirect", async () => {
    // A browser (Sec-Fetch-Mode: navigate, which fetch() will not send): a page that refreshes to the
    // app's redirect URI, and a link.
    await s.createUser('onward@example.com', 'onward-password-1');
    const browserLike = await openJourney();
    const onward = await browserPost(browserLike.agent, browserLike.journey, { csrf: csrfOf(browserLike.html), email: 'onward@example.com', password: 'onward-password-1', action: 'signin' });
    expect(onward.status).toBe(200);
    expect(onward.headers['content-security-policy']).toContain("form-action 'self';");
    const html = onward.body;
    const refresh = /<meta http-equiv="refresh" content="0;url=([^"]+)">/.exec(html)?.[1]?.replaceAll('&amp;', '&');
    expect(refresh).toBeDefined();
    const back = new URL(refresh!);
    expect(`${back.origin}${back.pathname}`).toBe(CB);
    expect(back.searchParams.get('code')).toBeTruthy();
    expect(html).toContain(`<a id="continue" href="${refresh!.replaceAll('&', '&amp;')}">`);
    // Any other client: the redirect, as before.
    const script = await openJourney();
    const redirect = await script.agent.post(script.journey, { csrf: csrfOf(script.html), email: 'onward@example.com', password: 'onward-password-1', action: 'signin' });
    expect(redirect.status).toBe(302);
    expect(redirect.headers.get('location')).toMatch(new RegExp(`^${CB}\\?code=`));
  });

  it('refuses duplicated token parameters and oversized bodies', async () => {
    const dup = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=authorization_code&code=a&code=b&client_id=${native}` });
    expect(dup.status).toBe(400);
    expect(((await dup.json()) as { error: string }).error).toBe('invalid_request');
    const big = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `grant_type=x&pad=${'a'.repeat(100_000)}` });
    expect(big.status).toBe(413);
    expect(((await big.json()) as { error: string }).error).toBe('invalid_request');
  });
});

describe('races', () => {
  it('redeems a code once when two requests race for it', async () => {
    const { verifier, challenge } = pkce();
    const back = await signInViaPages(new Agent(), s.baseUrl, authorizeUrl({ code_challenge: challenge }), 'race@example.com', 'race-password-1');
    const code = back.searchParams.get('code')!;
    const results = await Promise.all([tokenFor(native, verifier, code), tokenFor(native, verifier, code), tokenFor(native, verifier, code)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400, 400]);
  });

  it('rotates a refresh token once when two requests race, and the reuse revokes the family', async () => {
    const { verifier, challenge } = pkce();
    const back = await signInViaPages(new Agent(), s.baseUrl, authorizeUrl({ code_challenge: challenge }), 'race@example.com', 'race-password-1');
    const rt = ((await (await tokenFor(native, verifier, back.searchParams.get('code')!)).json()) as { refresh_token: string }).refresh_token;
    const refresh = (token: string) => fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: token, client_id: native }) });
    const results = await Promise.all([refresh(rt), refresh(rt)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 400]);
    const winner = (await results.find((r) => r.status === 200)!.json()) as { refresh_token: string };
    expect((await refresh(winner.refresh_token)).status).toBe(400);
    const events = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    expect(events.some((e) => e.event === 'refresh_reuse')).toBe(true);
  });

  it('creates one account when two sign-ups race for one email', async () => {
    const fastSignup = JSON.parse(readFileSync(join(s.dir, 'policies', 'demo', 'B2C_1_signup.json'), 'utf8')) as Record<string, unknown>;
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(s.dir, 'policies', 'demo', 'B2C_1_fastsignup.json'), JSON.stringify({ ...fastSignup, id: 'B2C_1_fastsignup', signUp: { attributes: [], verifyEmail: false } }));
    await new Promise((r) => setTimeout(r, 300));
    const ready = async () => {
      const j = await openJourney(new Agent(), 'B2C_1_fastsignup');
      const r = await j.agent.post(j.journey, { csrf: csrfOf(j.html), email: 'twin@example.com', action: 'send' });
      const page = await (await j.agent.fetch(absolute(s.baseUrl, r.headers.get('location')!))).text();
      return { ...j, html: page };
    };
    const [a, b] = await Promise.all([ready(), ready()]);
    const create = (j: typeof a) => j.agent.post(j.journey, { csrf: csrfOf(j.html), password: 'twin-password-1', confirm: 'twin-password-1', action: 'create' });
    const results = await Promise.all([create(a), create(b)]);
    expect(results.map((r) => r.status).sort()).toEqual([200, 302]);
    expect(await results.find((r) => r.status === 200)!.text()).toContain('A user with the specified ID already exists');
    expect((await s.deps.store.listUsers(s.tenant.id)).filter((u) => u.email === 'twin@example.com')).toHaveLength(1);
  });
});

describe('secrets at rest', () => {
  it('keeps no private key, password, client secret, code or refresh token in clear in the database files', async () => {
    const { verifier, challenge } = pkce();
    const back = await signInViaPages(new Agent(), s.baseUrl, authorizeUrl({ code_challenge: challenge }), 'race@example.com', 'race-password-1');
    const code = back.searchParams.get('code')!;
    const tokens = (await (await tokenFor(native, verifier, code)).json()) as { refresh_token: string };
    const secrets = ['PRIVATE KEY', 'race-password-1', daemon.secret, code, tokens.refresh_token];
    const files = readdirSync(s.dir).filter((f) => f.startsWith('latchkey.db'));
    expect(files).toContain('latchkey.db');
    for (const f of files) {
      const raw = readFileSync(join(s.dir, f)).toString('latin1');
      for (const secret of secrets) expect(raw.includes(secret), `${secret.slice(0, 12)}… in ${f}`).toBe(false);
    }
    // The private key is there, sealed.
    expect((await s.deps.store.listSigningKeys(s.tenant.id))[0]!.privateKey).toMatch(/^aesgcm:/);
  });
});

describe('audit trail', () => {
  it('records sign-ins, failures, lockouts, key rotation and app changes with time, subject, client and address', async () => {
    await rotateKeys(s.provision, s.tenant);
    const failed = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${API}/.default`, client_id: daemon.clientId, client_secret: 'not-the-secret' }) });
    expect(failed.status).toBe(401);
    const events = await s.deps.store.listAuditEvents({ tenantId: s.tenant.id });
    const names = new Set(events.map((e) => `${e.event}:${e.outcome}`));
    for (const expected of ['signin:success', 'signin:failure', 'lockout:success', 'app_created:success', 'tenant_created:success', 'key_rotated:success', 'client_auth:failure', 'signup:success']) {
      expect(names, expected).toContain(expected);
    }
    const failure = events.find((e) => e.event === 'signin' && e.outcome === 'failure')!;
    expect(failure.ip).toBe('127.0.0.1');
    expect(failure.clientId).toBe(native);
    expect(failure.at).toBeGreaterThan(0);
  });
});
