import { createHash } from 'node:crypto';
import type { App, Tenant } from '../model/entities.js';
import { ServiceError } from '../model/errors.js';
import { builtInApp, createBuiltInApp } from './built-in-apps.js';
import type { Deps } from './deps.js';

/**
 * The web console's own app in every tenant: a built-in first-party public client (code + PKCE) that
 * administrators sign in to the console with, through the tenant's default policy, like any app. Its
 * client id is derived from the tenant's id, so every instance finds (or makes) the same one, and no app
 * a tenant registers can pass for it. Its redirect URIs are the console's on the hosts the console is
 * used on: the shared host's, and the tenant's own hosts' as they are used (the port a request wrote
 * is part of the URI), those of a host the tenant no longer has left out.
 */
export const CONSOLE_APP_NAME = 'Latchkey console';

export function consoleClientId(tenantId: string): string {
  const h = createHash('sha256').update(`latchkey console app\n${tenantId}`).digest('hex');
  // A version 4, variant 1 UUID's shape (the apps' client ids are GUIDs).
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${((parseInt(h[16]!, 16) & 0x3) | 0x8).toString(16)}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** The console's URLs of a tenant on a host served at `baseUrl`. */
export function consoleUrls(baseUrl: string, slug: string): { home: string; callback: string; runCallback: string; signedOut: string } {
  const home = `${baseUrl}/console/${slug}/`;
  return { home, callback: `${home}callback`, runCallback: `${home}run/callback`, signedOut: `${home}signed-out` };
}

export interface ConsoleHosts {
  /** LATCHKEY_BASE_URL. */
  shared: string;
  /** Where the console is used now (a request's site). */
  current: string;
  /** The tenant's own host names now (custom domains, the host pattern's). */
  ownHosts: readonly string[];
}

/** The tenant's console app, made if it is not there yet, its URIs brought in step with the hosts. */
export async function ensureConsoleApp(d: Pick<Deps, 'store' | 'clock'>, tenant: Tenant, hosts: ConsoleHosts): Promise<App> {
  const clientId = consoleClientId(tenant.id);
  const sharedHost = new URL(hosts.shared).hostname;
  const keep = (uri: string) => {
    const host = new URL(uri).hostname;
    return host === sharedHost ? uri.startsWith(`${hosts.shared}/`) : hosts.ownHosts.includes(host);
  };
  const wanted = (existing: readonly string[], pick: (u: ReturnType<typeof consoleUrls>) => string[]) =>
    [...new Set([...existing.filter(keep), ...pick(consoleUrls(hosts.shared, tenant.slug)), ...pick(consoleUrls(hosts.current, tenant.slug))])];
  let app = await d.store.findApp(tenant.id, clientId);
  if (!app) {
    // The console redeems its codes itself, server-side, as a public client with PKCE.
    const made = builtInApp({
      clientId,
      tenantId: tenant.id,
      name: CONSOLE_APP_NAME,
      type: 'native',
      publicClientRedirectUris: wanted([], (u) => [u.callback, u.runCallback]),
      postLogoutRedirectUris: wanted([], (u) => [u.signedOut]),
    }, d.clock.now());
    await createBuiltInApp(d, made);
    const found = await d.store.findApp(tenant.id, clientId);
    // Its id taken by an app of another tenant (registered with a chosen id before that was refused).
    if (!found) throw new ServiceError('conflict', `The console's app id ${clientId} is taken by an app of another tenant; the operator must remove that app (latchkey app list) before this tenant's console can be used.`);
    app = found;
  }
  const redirectUris = wanted(app.publicClientRedirectUris, (u) => [u.callback, u.runCallback]);
  const postLogout = wanted(app.postLogoutRedirectUris, (u) => [u.signedOut]);
  const same = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((x) => b.includes(x));
  if (!same(redirectUris, app.publicClientRedirectUris) || !same(postLogout, app.postLogoutRedirectUris)) {
    app = (await d.store.updateApp(tenant.id, clientId, (current) => ({ ...current, publicClientRedirectUris: redirectUris, postLogoutRedirectUris: postLogout }))) ?? app;
  }
  return app;
}
