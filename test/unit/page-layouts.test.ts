import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policySchema } from '../../src/model/policy.js';
import { html } from '../../src/ui/html.js';
import { PageLayouts } from '../../src/ui/layouts/page-layouts.js';
import { sanitizeTemplate, TemplateError } from '../../src/ui/layouts/sanitize.js';
import type { ApiPage } from '../../src/ui/pages/api-page.js';
import { outboundClient } from '../helpers/outbound.js';
import { freePort } from '../helpers/ports.js';

const BASE = 'https://cdn.contoso.example/b2c/en/unified.html';

describe('sanitizing a template', () => {
  it('drops forms, frames, base, meta refresh, handlers, javascript: URLs and (without JavaScript) every script', () => {
    const t = sanitizeTemplate(
      `<!doctype html><html><head><base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example"><script src="https://cdn.contoso.example/a.js"></script></head>
<body onload="x()"><form action="https://evil.example"><input name="p"></form><iframe src="https://evil.example"></iframe><frameset></frameset><object data="x"></object><embed src="x">
<a href="javascript:alert(1)">a</a><button form="localAccountForm" formaction="https://evil.example">b</button><div id="api"><p>placeholder</p></div><script>alert(1)</script></body></html>`,
      { baseUrl: BASE, javaScript: false },
    );
    const page = t.before + '<FORM-HERE>' + t.after;
    for (const gone of ['<form', '<iframe', '<object', '<embed', '<base', 'http-equiv', '<script', 'onload', 'javascript:', 'formaction', 'form="', 'placeholder']) {
      expect(page, gone).not.toContain(gone);
    }
    expect(page).toContain('<div id="api"><FORM-HERE></div>');
    expect(t.scriptHashes).toEqual([]);
    expect(t.scriptOrigins).toEqual([]);
  });

  it('keeps head scripts only when JavaScript is enabled, hashing the inline ones, and drops body scripts anyway', () => {
    const t = sanitizeTemplate(
      `<!doctype html><html><head><script>window.a = 1;</script><script src="https://js.contoso.example/site.js"></script></head><body><div id="api"></div><script>window.b = 2;</script></body></html>`,
      { baseUrl: BASE, javaScript: true },
    );
    expect(t.before).toContain('<script>window.a = 1;</script>');
    expect(t.before + t.after).not.toContain('window.b');
    expect(t.scriptOrigins).toEqual(['https://js.contoso.example']);
    expect(t.scriptHashes).toEqual([`'sha256-${createHash('sha256').update('window.a = 1;').digest('base64')}'`]);
  });

  it("resolves relative asset URLs against the template's address and lists their origins for the CSP", () => {
    const t = sanitizeTemplate(
      `<!doctype html><html><head><link rel="stylesheet" href="../css/site.css"><style>.hero { background: url('img/hero.png'); }</style></head>
<body style="background-image: url(bg.png)"><img src="/logo.png" srcset="logo-2x.png 2x, https://img.contoso.example/logo-3x.png 3x"><a href="help.html">help</a><div id="api"></div></body></html>`,
      { baseUrl: BASE, javaScript: false },
    );
    expect(t.before).toContain('href="https://cdn.contoso.example/b2c/css/site.css"');
    expect(t.before).toContain("url('https://cdn.contoso.example/b2c/en/img/hero.png')");
    expect(t.before).toContain('url(https://cdn.contoso.example/b2c/en/bg.png)');
    expect(t.before).toContain('src="https://cdn.contoso.example/logo.png"');
    expect(t.before).toContain('srcset="https://cdn.contoso.example/b2c/en/logo-2x.png 2x, https://img.contoso.example/logo-3x.png 3x"');
    expect(t.before).toContain('href="https://cdn.contoso.example/b2c/en/help.html"');
    expect(t.assetOrigins.sort()).toEqual(['https://cdn.contoso.example', 'https://img.contoso.example']);
    expect(t.styleHashes).toHaveLength(2);
  });

  it('refuses a template without <div id="api">', () => {
    expect(() => sanitizeTemplate('<!doctype html><html><body><div id="main"></div></body></html>', { baseUrl: BASE, javaScript: false })).toThrow(TemplateError);
  });
});

describe('page layouts in a policy', () => {
  const base = { id: 'B2C_1_x', kind: 'signUpOrSignIn' };
  it('takes an https URL, a file in the policy folder, or {template, javaScript}', () => {
    const r = policySchema.safeParse({ ...base, ui: { pageLayouts: { unifiedssp: 'https://cdn.contoso.example/{Culture:RFC5646}/unified.html', selfasserted: { template: 'layouts/sa.html', javaScript: true } } } });
    expect(r.success).toBe(true);
    expect(r.data?.ui.pageLayouts?.unifiedssp).toEqual({ template: 'https://cdn.contoso.example/{Culture:RFC5646}/unified.html', javaScript: false });
  });
  it('refuses http (but on loopback), a path leaving the folder and an unknown page type; takes a multifactor layout', () => {
    const message = (layouts: unknown) => policySchema.safeParse({ ...base, ui: { pageLayouts: layouts } }).error?.issues[0]?.message;
    expect(message({ unifiedssp: 'http://cdn.contoso.example/u.html' })).toMatch(/must be an https URL/);
    expect(policySchema.safeParse({ ...base, ui: { pageLayouts: { unifiedssp: 'http://127.0.0.1:8080/u.html' } } }).success).toBe(true);
    expect(message({ unifiedssp: '../other-tenant/u.html' })).toMatch(/inside the tenant's policy folder/);
    expect(message({ unifiedssp: 'layouts/u.txt' })).toMatch(/\.html file/);
    expect(message({ signin: 'layouts/u.html' })).toMatch(/unknown page type 'signin': use unifiedssp, selfasserted/);
    expect(message({ multifactor: 'layouts/u.html' })).toBeUndefined();
  });
});

describe('fetching and caching templates', () => {
  let server: Server;
  let url: string;
  const hits: string[] = [];
  let now = 1_000_000;
  let dir: string;
  const page: ApiPage = { pageType: 'unifiedssp', title: 'Sign in', content: html`<form id="localAccountForm"></form>` };
  const policyWith = (template: string) => policySchema.parse({ id: 'B2C_1_x', kind: 'signIn', ui: { pageLayouts: { unifiedssp: template } } });

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'latchkey-layouts-'));
    server = createServer((req, res) => {
      hits.push(req.url!);
      if (req.url === '/big.html') return res.writeHead(200, { 'content-type': 'text/html' }).end(`<html><body><div id="api"></div>${'x'.repeat(2_000_000)}</body></html>`);
      if (req.url === '/text.html') return res.writeHead(200, { 'content-type': 'text/plain' }).end('<div id="api"></div>');
      if (req.url === '/slow.html') return setTimeout(() => res.writeHead(200, { 'content-type': 'text/html' }).end('<div id="api"></div>'), 2000);
      if (req.url === '/gone.html') return res.writeHead(404).end();
      res.writeHead(200, { 'content-type': 'text/html' }).end(`<!doctype html><html><head><title>T</title></head><body><div id="api"></div><!-- ${req.url} --></body></html>`);
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
    url = `http://127.0.0.1:${port}`;
  });
  afterAll(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const layouts = (maxEntries = 2) => new PageLayouts({ policiesDir: dir, baseUrl: 'https://login.contoso.example', logger: pino({ level: 'silent' }), clock: { now: () => now }, outbound: outboundClient(), ttlMs: 60_000, failureTtlMs: 10_000, maxEntries, timeoutMs: 500 });

  it('fetches once per lifetime, then again; concurrent pages share one fetch', async () => {
    const l = layouts();
    const policy = policyWith(`${url}/{Culture:RFC5646}/cached.html`);
    hits.length = 0;
    const [a, b] = await Promise.all([l.render({ tenantSlug: 't', policy, page, locale: 'fr' }), l.render({ tenantSlug: 't', policy, page, locale: 'fr' })]);
    expect(a.html).toContain('<html lang="fr">');
    expect(a.html).toContain('<div id="api" data-name="Unified"><form id="localAccountForm"></form></div>');
    expect(b.html).toBe(a.html);
    expect(hits).toEqual(['/fr/cached.html']);
    now += 59_000;
    await l.render({ tenantSlug: 't', policy, page, locale: 'fr' });
    expect(hits).toHaveLength(1);
    now += 2_000;
    await l.render({ tenantSlug: 't', policy, page, locale: 'fr' });
    expect(hits).toEqual(['/fr/cached.html', '/fr/cached.html']);
  });

  it('keeps a bounded number of templates', async () => {
    const l = layouts();
    hits.length = 0;
    for (const name of ['a', 'b', 'c', 'a']) await l.render({ tenantSlug: 't', policy: policyWith(`${url}/${name}.html`), page, locale: 'en' });
    // Room for two: 'a' was pushed out by 'c' and fetched again.
    expect(hits).toEqual(['/a.html', '/b.html', '/c.html', '/a.html']);
  });

  it('uses the default layout for a template that is missing, too large, not HTML or too slow, and does not ask again at once', async () => {
    const l = layouts(10);
    for (const name of ['gone', 'big', 'text', 'slow']) {
      const r = await l.render({ tenantSlug: 't', policy: policyWith(`${url}/${name}.html`), page, locale: 'en' });
      expect(r.html, name).toContain('<link rel="stylesheet" href="/static/latchkey.css">');
      expect(r.csp, name).toBeUndefined();
    }
    hits.length = 0;
    await l.render({ tenantSlug: 't', policy: policyWith(`${url}/gone.html`), page, locale: 'en' });
    expect(hits).toEqual([]);
    expect(await l.check('t', `${url}/gone.html`, false, 'en')).toMatch(/answered 404/);
    expect(await l.check('t', `${url}/text.html`, false, 'en')).toMatch(/not HTML/);
    expect(await l.check('t', `${url}/big.html`, false, 'en')).toMatch(/larger than/);
  });
});
