import { renameSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../src/http/metrics-server.js';
import { Agent, signInViaPages } from '../helpers/browserless.js';
import { freePort } from '../helpers/ports.js';
import { startServer, type TestServer } from '../helpers/server.js';

/** /metrics in Prometheus' text format after a sign-in and a token request; /healthz and /readyz. */
const CB = 'http://127.0.0.1:9/cb';
let s: TestServer;
let web: { clientId: string; secret: string };

/** The value of one sample, by metric name and labels. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^([\w:]+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

beforeAll(async () => {
  s = await startServer({ env: { LATCHKEY_METRICS: '1' } });
  await s.createUser('mo@example.com', 'mo-password-1');
  const w = await s.createApp({ name: 'web', type: 'web', redirectUris: [CB] });
  web = { clientId: w.app.clientId, secret: w.clientSecret! };
});

afterAll(async () => {
  await s?.close();
});

describe('metrics', () => {
  it('counts requests by route, tokens by grant, sign-ins by policy, journey steps, mail and key age', async () => {
    const url = `${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: web.clientId, redirect_uri: CB, response_type: 'code', scope: 'openid' })}`;
    const back = await signInViaPages(new Agent(), s.baseUrl, url, 'mo@example.com', 'mo-password-1');
    const failed = await signInViaPages(new Agent(), s.baseUrl, url, 'mo@example.com', 'wrong-password').catch(() => undefined);
    void failed;
    const res = await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${web.clientId}:${web.secret}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'authorization_code', code: back.searchParams.get('code')!, redirect_uri: CB }),
    });
    expect(res.status).toBe(200);

    const scrape = await fetch(`${s.baseUrl}/metrics`);
    expect(scrape.status).toBe(200);
    expect(scrape.headers.get('content-type')).toContain('text/plain');
    const text = await scrape.text();
    expect(sample(text, 'latchkey_http_requests_total', { route: '/:tenant/:policy/oauth2/v2.0/token', method: 'POST', status: '200' })).toBe(1);
    // The accepted sign-in form answers 302 (to the app); the refused one shows the page again (200).
    expect(sample(text, 'latchkey_http_requests_total', { route: '/:tenant/:policy/journey/:id', method: 'POST', status: '302' })).toBe(1);
    expect(sample(text, 'latchkey_http_requests_total', { route: '/:tenant/:policy/journey/:id', method: 'POST', status: '200' })).toBe(1);
    expect(sample(text, 'latchkey_tokens_issued_total', { grant_type: 'authorization_code' })).toBe(1);
    expect(sample(text, 'latchkey_signins_total', { policy: 'B2C_1_signin', method: 'password', result: 'success' })).toBe(1);
    expect(sample(text, 'latchkey_signins_total', { policy: 'B2C_1_signin', method: 'password', result: 'failure' })).toBe(1);
    expect(sample(text, 'latchkey_journey_step_duration_seconds_count', { policy: 'B2C_1_signin', step: 'localSignIn' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'latchkey_audit_events_total', { event: 'signin', outcome: 'failure' })).toBe(1);
    expect(sample(text, 'latchkey_signing_key_age_seconds', { tenant: 'demo' })).toBeGreaterThanOrEqual(0);
    expect(sample(text, 'latchkey_lockouts_total')).toBe(0);
    expect(sample(text, 'latchkey_nodejs_eventloop_lag_seconds')).toBeGreaterThanOrEqual(0);
    // Routes are templates: no token, code or id ever becomes a label.
    expect(text).not.toContain(back.searchParams.get('code')!);
  });

  it('serves metrics on a port of their own, and nothing else there', async () => {
    const port = await freePort();
    const server = await startMetricsServer(s.deps, port, '127.0.0.1');
    try {
      expect(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text()).toContain('latchkey_http_requests_total');
      expect((await fetch(`http://127.0.0.1:${port}/oauth2/v2.0/token`)).status).toBe(404);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });

  it('is off unless asked for', async () => {
    const plain = await startServer();
    try {
      expect((await fetch(`${plain.baseUrl}/metrics`)).status).toBe(404);
    } finally {
      await plain.close();
    }
  });
});

describe('health', () => {
  it('says ready, and unready once the database file cannot be read where it was', async () => {
    const other = await startServer();
    try {
      expect((await fetch(`${other.baseUrl}/healthz`)).status).toBe(200);
      const ready = await fetch(`${other.baseUrl}/readyz`);
      expect([ready.status, ((await ready.json()) as { checks: Record<string, string> }).checks]).toEqual([200, { database: 'ok', migrations: 'ok', policies: 'ok' }]);
      renameSync(join(other.dir, 'latchkey.db'), join(other.dir, 'moved.db'));
      const unready = await fetch(`${other.baseUrl}/readyz`);
      const body = (await unready.json()) as { status: string; checks: Record<string, string> };
      expect([unready.status, body.status]).toEqual([503, 'unready']);
      expect(body.checks.database).toContain('cannot be read (ENOENT)');
      expect((await fetch(`${other.baseUrl}/healthz`)).status).toBe(200);
      renameSync(join(other.dir, 'moved.db'), join(other.dir, 'latchkey.db'));
      expect((await fetch(`${other.baseUrl}/readyz`)).status).toBe(200);
    } finally {
      await other.close();
    }
  });
});
