import * as client from 'openid-client';
import type { Browser, BrowserContext, Page } from 'playwright-core';

/** An authorization code + PKCE flow that openid-client starts and finishes, with the browser in between. */
export interface Flow {
  config: client.Configuration;
  url: URL;
  verifier: string;
  state: string;
  nonce: string;
  redirectUri: string;
}

const insecure = { execute: [client.allowInsecureRequests] };

/** openid-client discovers the policy's metadata and builds the authorization URL, as an app does. */
export async function startFlow(o: { baseUrl: string; policy: string; clientId: string; redirectUri: string; scope?: string; extra?: Record<string, string>; clockSkewSeconds?: number }): Promise<Flow> {
  // A server on a test clock that was moved forward: the app's clock is told, as a skewed one would be.
  const metadata = o.clockSkewSeconds ? { [client.clockSkew]: o.clockSkewSeconds } : undefined;
  const config = await client.discovery(new URL(`${o.baseUrl}/demo/${o.policy}/v2.0/.well-known/openid-configuration`), o.clientId, metadata, client.None(), insecure);
  const verifier = client.randomPKCECodeVerifier();
  const state = client.randomState();
  const nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: o.redirectUri,
    scope: o.scope ?? 'openid offline_access profile',
    state,
    nonce,
    code_challenge: await client.calculatePKCECodeChallenge(verifier),
    code_challenge_method: 'S256',
    ...o.extra,
  });
  return { config, url, verifier, state, nonce, redirectUri: o.redirectUri };
}

/** Waits for the browser to reach the app, then redeems and validates the code with openid-client. */
export async function finishFlow(page: Page, flow: Flow): Promise<client.TokenEndpointResponse & client.TokenEndpointResponseHelpers> {
  await page.waitForURL(`${new URL(flow.redirectUri).origin}/**`);
  return client.authorizationCodeGrant(flow.config, new URL(page.url()), { pkceCodeVerifier: flow.verifier, expectedState: flow.state, expectedNonce: flow.nonce });
}

/** A fresh browser profile (no cookies) and a page in it. */
export async function newPage(browser: Browser): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext();
  const page = await context.newPage();
  page.setDefaultTimeout(10_000);
  return { context, page };
}
