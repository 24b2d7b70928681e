import { confidentialTypes, type App, type AppType } from './entities.js';

/**
 * An app registration's platforms, as Azure has them: one client id with web, single-page-app and
 * public-client (mobile and desktop) redirect URIs side by side. A request is treated as the platform
 * of the redirect URI it uses, not as the app's type: a code issued to an SPA redirect URI is a public
 * client's (PKCE, no secret, redeemed from the browser, a 24-hour refresh token), one issued to a web
 * redirect URI a confidential client's (its secret), one issued to a public-client redirect URI a
 * native app's (PKCE, no secret).
 */
export type Platform = 'web' | 'spa' | 'publicClient';

export const PLATFORMS: readonly Platform[] = ['web', 'spa', 'publicClient'];

/** The App field that holds each platform's redirect URIs. */
export const PLATFORM_FIELD = {
  web: 'webRedirectUris',
  spa: 'spaRedirectUris',
  publicClient: 'publicClientRedirectUris',
} as const satisfies Record<Platform, keyof App>;

/** How people call each platform (messages, the CLI's flags are named after it). */
export const PLATFORM_NAME: Record<Platform, string> = { web: 'web', spa: 'SPA', publicClient: 'public-client' };

/** The platform `uri` is registered under (exact string match, RFC 9700 §4.1.3), if any. */
export function platformOf(app: App, uri: string): Platform | undefined {
  return PLATFORMS.find((p) => app[PLATFORM_FIELD[p]].includes(uri));
}

/** Every redirect URI of the app, web first. */
export function redirectUrisOf(app: App): string[] {
  return PLATFORMS.flatMap((p) => app[PLATFORM_FIELD[p]]);
}

/** Where `app create --type`'s `--redirect-uri`s go; a daemon has none. */
export function presetPlatform(type: AppType): Platform | undefined {
  switch (type) {
    case 'web':
    case 'api':
      return 'web';
    case 'spa':
      return 'spa';
    case 'native':
      return 'publicClient';
    case 'daemon':
      return undefined;
  }
}

/**
 * Whether the app proves itself with a secret: a confidential preset (web, daemon, api), or an app of
 * another preset that was given a secret (to add a web platform). Such an app's web redirect URIs are
 * a confidential client's.
 */
export function holdsCredentials(app: App): boolean {
  return confidentialTypes.has(app.type) || app.secrets.length > 0;
}

/** How a client proves itself at the token endpoint: a secret (confidential), or nothing but PKCE (public). */
export type ClientKind = 'confidential' | 'public';

/**
 * The client type of a request through a redirect URI of `platform` (its code, and the refresh tokens
 * from it). A web redirect URI of an app without any secret is a public client's, so PKCE guards it.
 */
export function clientKindFor(app: App, platform: Platform): ClientKind {
  return platform === 'web' && holdsCredentials(app) ? 'confidential' : 'public';
}

/** Whether some requests of the app are a public client's (it has SPA or public-client redirect URIs, or no secret). */
export function actsAsPublicClient(app: App): boolean {
  return app.spaRedirectUris.length > 0 || app.publicClientRedirectUris.length > 0 || !holdsCredentials(app);
}

/** "a web redirect URI", "an SPA redirect URI", "a public-client redirect URI" (for messages). */
export function aRedirectUriOf(platform: Platform): string {
  return platform === 'web' ? 'a web redirect URI' : platform === 'spa' ? 'an SPA redirect URI' : 'a public-client redirect URI';
}
