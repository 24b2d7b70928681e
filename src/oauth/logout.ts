import { sha256 } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import type { App, Tenant } from '../model/entities.js';
import { platformOf } from '../model/platforms.js';
import { verifyOwnSignature } from '../tokens/verify.js';
import { single, type RawParams } from './authorize-request.js';
import { B2C_CODES, OAuthError, pageError } from '../model/errors.js';
import { logoutFrames } from '../saml/logout.js';
import { findClient } from '../services/enterprise-apps.js';
import type { Site } from '../model/site.js';

export interface LogoutResult {
  /** Where to send the browser (a registered URI, with state), or undefined to show the signed-out page. */
  redirect?: string;
  /**
   * Front-channel logout URLs (with `iss` and `sid`) of the apps the ended session signed in, to be
   * loaded in iframes of the signed-out page before the browser moves on.
   */
  frontChannel: string[];
}

async function hintAudience(deps: Deps, tenant: Tenant, hint: string): Promise<string> {
  // An expired hint is still a valid hint (OIDC RP-Initiated Logout §2).
  const payload = await verifyOwnSignature(await deps.keys.forTenant(tenant.id), hint);
  const aud = Array.isArray(payload?.aud) ? payload.aud[0] : payload?.aud;
  if (typeof aud !== 'string') throw pageError('invalid_request', 'The id_token_hint is not a valid token of this tenant.', B2C_CODES.invalidIdTokenHint);
  return aud;
}

function registeredFor(app: App, uri: string): boolean {
  // B2C checks the app's reply URLs; Latchkey also has dedicated post-logout URIs.
  return app.postLogoutRedirectUris.includes(uri) || platformOf(app, uri) !== undefined;
}

/**
 * RP-initiated logout: ends the browser's SSO session in this tenant, then redirects only to a
 * post-logout redirect URI registered by the app the request names (id_token_hint or client_id),
 * or, naming none (as MSAL sends it), by some app of the tenant.
 */
export async function logout(deps: Deps, tenant: Tenant, params: RawParams, ssoCookie: string | undefined, site: Site): Promise<LogoutResult> {
  const hint = single(params, 'id_token_hint');
  const clientId = single(params, 'client_id');
  const uri = single(params, 'post_logout_redirect_uri');
  const state = single(params, 'state');

  let app: App | undefined;
  const named = hint ? await hintAudience(deps, tenant, hint) : clientId;
  if (hint && clientId && named !== clientId) throw pageError('invalid_request', 'client_id does not match the id_token_hint.', B2C_CODES.logoutClientMismatch);
  if (named) {
    app = await findClient(deps.store, tenant.id, named);
    if (!app) throw pageError('invalid_request', `The application '${named}' is not registered in this tenant.`);
  }

  let redirect: string | undefined;
  if (uri) {
    let ok: boolean;
    if (app) ok = registeredFor(app, uri);
    else ok = (await deps.store.listApps(tenant.id)).some((a) => registeredFor(a, uri));
    if (!ok) {
      // Signed out all the same; the page that says so cannot load the apps' logout URLs (best effort).
      await endSession(deps, tenant, ssoCookie, site);
      throw new OAuthError('invalid_request', `You are signed out, but the post_logout_redirect_uri '${uri}' is not registered, so you stay here.`, {
        redirectable: false,
        b2cCode: B2C_CODES.postLogoutRedirectNotRegistered,
      });
    }
    const url = new URL(uri);
    if (state !== undefined) url.searchParams.set('state', state);
    redirect = url.toString();
  }
  const frontChannel = await endSession(deps, tenant, ssoCookie, site);
  return redirect ? { redirect, frontChannel } : { frontChannel };
}

/**
 * Ends the browser's SSO session and returns the logout URLs of every app it signed in: OpenID apps'
 * front-channel logout URLs (OIDC Front-Channel Logout 1.0 §2: `iss` and `sid`), and SAML apps' single
 * logout URLs with a signed LogoutRequest (saml/logout.ts).
 */
export async function endSession(deps: Deps, tenant: Tenant, ssoCookie: string | undefined, site: Site): Promise<string[]> {
  if (!ssoCookie || ssoCookie.length > 100) return [];
  const ended = await deps.store.endSsoSession(sha256(ssoCookie));
  if (!ended || ended.session.tenantId !== tenant.id) return [];
  return logoutFrames(deps, tenant, ended.session, ended.clients, site);
}
