import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, absolute, csrfOf, pkce } from '../helpers/browserless.js';
import { waitForPolicy, writePolicy } from '../helpers/policies.js';
import { startServer, type TestServer } from '../helpers/server.js';
import { LAYOUT_SCRIPT_REFUSED } from '../../src/services/policies.js';
import { CATALOGUES, LOCALES } from '../../src/model/messages/messages.js';

const CB = 'http://127.0.0.1:9/cb';
const root = join(import.meta.dirname, '..', '..');
let s: TestServer;
let appId: string;

function authorizeUrl(policy: string, extra: Record<string, string> = {}): string {
  return `${s.baseUrl}/demo/${policy}/oauth2/v2.0/authorize?${new URLSearchParams({ client_id: appId, redirect_uri: CB, response_type: 'code', scope: 'openid', code_challenge: pkce().challenge, code_challenge_method: 'S256', ...extra })}`;
}

/** The first page of a journey, as a browser with `headers` sees it. */
async function firstPage(policy: string, extra: Record<string, string> = {}, headers: Record<string, string> = {}): Promise<{ agent: Agent; journey: string; html: string }> {
  const agent = new Agent();
  const res = await agent.fetch(authorizeUrl(policy, extra), { headers });
  const journey = absolute(s.baseUrl, res.headers.get('location')!);
  return { agent, journey, html: await (await agent.fetch(journey, { headers })).text() };
}

beforeAll(async () => {
  s = await startServer();
  appId = (await s.createApp({ name: 'app', type: 'native', redirectUris: [CB] })).app.clientId;
  writePolicy(s, 'B2C_1_worded', { ui: { strings: { en: { 'button.signIn': 'Log in', 'signIn.signUpNow': 'Create one' }, fr: { 'button.signIn': 'Connexion' } } } });
  writePolicy(s, 'B2C_1_dutch', { ui: { locale: 'nl' } });
  await waitForPolicy(s, 'B2C_1_worded');
  await waitForPolicy(s, 'B2C_1_dutch');
});

afterAll(async () => {
  await s?.close();
});

describe('the pages in the shipped languages', () => {
  it.each(LOCALES)('shows the sign-in page in %s when ui_locales asks for it', async (locale) => {
    const { html } = await firstPage('B2C_1_signupsignin', { ui_locales: locale });
    const m = CATALOGUES[locale];
    expect(html).toContain(`<html lang="${locale}">`);
    expect(html).toContain(`<label for="signInName">${m['label.email']}</label>`);
    expect(html).toContain(`<label for="password">${m['label.password']}</label>`);
    expect(html).toContain(`>${m['button.signIn']}</button>`);
    expect(html).toContain(`>${m['signIn.forgotPassword']}</button>`);
    expect(html).toContain(`>${m['signIn.signUpNow']}</button>`);
  });

  it("takes B2C's older lang parameter, the policy's language, then the browser's", async () => {
    expect((await firstPage('B2C_1_signupsignin', { lang: 'es' })).html).toContain('<html lang="es">');
    expect((await firstPage('B2C_1_dutch', {}, { 'accept-language': 'fr' })).html).toContain('>Aanmelden</button>');
    expect((await firstPage('B2C_1_dutch', { ui_locales: 'de' })).html).toContain('>Anmelden</button>');
    const browser = (await firstPage('B2C_1_signupsignin', {}, { 'accept-language': 'it-IT, fr;q=0.8, en;q=0.5' })).html;
    expect(browser).toContain('<html lang="fr">');
    expect(browser).toContain('>Se connecter</button>');
  });

  it("uses the policy's own wording where it overrides the catalogue, per language", async () => {
    const en = (await firstPage('B2C_1_worded')).html;
    expect(en).toContain('>Log in</button>');
    expect(en).toContain('>Create one</button>');
    const fr = (await firstPage('B2C_1_worded', { ui_locales: 'fr' })).html;
    expect(fr).toContain('>Connexion</button>');
    expect(fr).toContain(`>${CATALOGUES.fr['signIn.signUpNow']}</button>`);
  });

  it('gives field errors and the verification e-mail in the page language', async () => {
    const { agent, journey, html } = await firstPage('B2C_1_signupsignin', { ui_locales: 'de' });
    const wrong = await (await agent.post(journey, { csrf: csrfOf(html), email: '', password: '', action: 'signin' })).text();
    expect(wrong).toContain(CATALOGUES.de['error.enterEmail']);
    expect(wrong).toContain(CATALOGUES.de['error.enterPassword']);
    const signUp = await agent.post(journey, { csrf: csrfOf(wrong), action: 'signup' });
    const emailPage = await (await agent.fetch(absolute(s.baseUrl, signUp.headers.get('location')!))).text();
    expect(emailPage).toContain(CATALOGUES.de['signUp.heading']);
    await agent.post(journey, { csrf: csrfOf(emailPage), email: 'greta@example.com', action: 'send' });
    const codePage = await (await agent.fetch(journey)).text();
    expect(codePage).toContain(CATALOGUES.de['code.sent']);
    const [mail] = await s.deps.store.listOutbox(s.tenant.id, 'greta@example.com');
    expect(mail?.subject).toBe('Prüfcode für Ihr Demo-Konto');
    expect(mail?.body).toMatch(/^Vielen Dank, dass Sie Ihr Konto greta@example\.com bestätigen!\n\nIhr Code lautet: \d{6}\n/);
  });

  it('shows the error page in the language of the request', async () => {
    const res = await fetch(`${s.baseUrl}/demo/B2C_1_signupsignin/oauth2/v2.0/authorize?client_id=00000000-0000-0000-0000-000000000000&redirect_uri=${encodeURIComponent(CB)}&response_type=code&scope=openid&ui_locales=es`, { headers: { accept: 'text/html' } });
    const html = await res.text();
    expect(res.status).toBe(400);
    expect(html).toContain('<html lang="es">');
    expect(html).toContain(CATALOGUES.es['errorPage.heading']);
    expect(html).toContain('<div id="api" data-name="GlobalException">');
  });
});

describe('policy validate and page layouts', () => {
  it('refuses a file template without <div id="api">, and one that is missing', () => {
    const folder = join(s.dir, 'policies', 'demo');
    mkdirSync(join(folder, 'layouts'), { recursive: true });
    writeFileSync(join(folder, 'layouts', 'plain.html'), '<!doctype html><html><head><title>x</title></head><body><main></main></body></html>');
    writePolicy(s, 'B2C_1_noapi', { ui: { pageLayouts: { unifiedssp: 'layouts/plain.html', selfasserted: 'layouts/missing.html' } } });
    const env = { ...process.env, LATCHKEY_POLICIES_DIR: join(s.dir, 'policies'), LATCHKEY_DB: join(s.dir, 'cli.db') };
    let out = '';
    try {
      execFileSync(process.execPath, [join(root, 'dist', 'cli', 'latchkey.js'), 'policy', 'validate', join(folder, 'B2C_1_noapi.json')], { env, encoding: 'utf8' });
    } catch (err) {
      out = (err as { stdout: string }).stdout;
    }
    expect(out).toContain('$.ui.pageLayouts.unifiedssp: layouts/plain.html: the template has no <div id="api"></div> for the form');
    expect(out).toContain('$.ui.pageLayouts.selfasserted: layouts/missing.html: no such file');
    expect(out).toContain('0 valid, 1 invalid');
  });

  it('refuses template JavaScript on the shared host, and says why', () => {
    const folder = join(s.dir, 'policies', 'demo');
    mkdirSync(join(folder, 'layouts'), { recursive: true });
    writeFileSync(join(folder, 'layouts', 'scripted.html'), '<!doctype html><html><head><title>x</title><script>window.x = 1;</script></head><body><div id="api"></div></body></html>');
    writePolicy(s, 'B2C_1_scripted', { ui: { pageLayouts: { unifiedssp: { template: 'layouts/scripted.html', javaScript: true } } } });
    const env = { ...process.env, LATCHKEY_POLICIES_DIR: join(s.dir, 'policies'), LATCHKEY_DB: join(s.dir, 'cli.db') };
    let out = '';
    try {
      execFileSync(process.execPath, [join(root, 'dist', 'cli', 'latchkey.js'), 'policy', 'validate', join(folder, 'B2C_1_scripted.json')], { env, encoding: 'utf8' });
    } catch (err) {
      out = (err as { stdout: string }).stdout;
    }
    expect(out).toContain(`$.ui.pageLayouts.unifiedssp.javaScript: ${LAYOUT_SCRIPT_REFUSED}`);
    expect(out).toContain('0 valid, 1 invalid');
  });
});
