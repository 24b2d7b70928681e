import { createServer, type Server } from 'node:http';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, headless; the flags keep it off the (closed) network. `extraArgs`: e.g. test host names (helpers/hosts.ts). */
export async function launchBrowser(extraArgs: string[] = []): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync', ...extraArgs],
  });
}

/** A stand-in relying party: records the URLs its callback receives and answers 200. */
export interface RelyingParty {
  url: string;
  received: URL[];
  close(): Promise<void>;
}

export async function startRelyingParty(): Promise<RelyingParty> {
  const received: URL[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    received.push(url);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end('<!doctype html><title>App</title><h1>Back at the app</h1>');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
