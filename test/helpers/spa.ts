import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import { join } from 'node:path';
import { suiteCert } from './tls.js';

const root = join(import.meta.dirname, '..', '..');

export interface SpaConfig {
  clientId: string;
  authority: string;
  knownAuthorities: string[];
  scopes: string[];
}

/**
 * The msal-browser single-page app of test/fixtures/spa/, served over https on `port` (localhost: same
 * site as a Latchkey on localhost, so its SSO cookie reaches MSAL's hidden iframe): MSAL and its redirect
 * bridge from node_modules, the page's script, `/config.json` from `config`, and `extra` paths; any other
 * path is the page.
 */
export async function startSpaServer(port: number, config: SpaConfig, extra: Record<string, [string, string]> = {}): Promise<Server> {
  const read = (path: string) => readFileSync(join(root, path), 'utf8');
  const files: Record<string, [string, string]> = {
    '/msal-browser.min.js': [read('node_modules/@azure/msal-browser/lib/msal-browser.min.js'), 'text/javascript'],
    '/msal-redirect-bridge.min.js': [read('node_modules/@azure/msal-browser/lib/redirect-bridge/msal-redirect-bridge.min.js'), 'text/javascript'],
    '/bridge': [read('test/fixtures/spa/bridge.html'), 'text/html; charset=utf-8'],
    '/app.js': [read('test/fixtures/spa/app.js'), 'text/javascript'],
    '/config.json': [JSON.stringify(config), 'application/json'],
    ...extra,
  };
  const index = read('test/fixtures/spa/index.html');
  const { cert, key } = suiteCert();
  const server = createServer({ cert, key }, (req, res) => {
    const path = new URL(req.url ?? '/', 'https://localhost').pathname;
    const [body, type] = files[path] ?? [index, 'text/html; charset=utf-8'];
    res.writeHead(200, { 'content-type': type });
    res.end(body);
  });
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return server;
}
