import { randomToken, safeEqual } from '../../crypto/secrets.js';
import { hasLocalAccount } from '../../model/local-identities.js';
import { provisionDeps } from '../../services/deps.js';
import { linkIdentity } from '../../services/users.js';
import { callbackUrl, type IdentityProvider } from '../../federation/config.js';
import type { MappedProfile } from '../../federation/presets.js';
import { FederationError, type UpstreamChecks } from '../../federation/upstream.js';
import { OAuthError, B2C_CODES } from '../../model/errors.js';
import type { User } from '../../model/entities.js';
import type { JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { stepData, withData } from './common.js';
import { FEDERATED_SIGN_IN_STEP, FEDERATION_ERROR_KEY, FEDERATION_KEY, offeredProviders, type PendingFederationError } from './providers.js';

/** The round trip in progress: the provider, and the secrets its answer must match. */
interface PendingUpstream {
  provider: string;
  state?: string;
  nonce?: string;
  codeVerifier?: string;
}

/** What the upstream said about a user it has no account here for yet (for the link and sign-up steps). */
export interface UpstreamUser {
  provider: string;
  displayName: string;
  /** The issuer of the identity (the provider's identityIssuer), and the `idp` claim. */
  issuer: string;
  profile: MappedProfile;
  /** For linking: the existing account with the same verified email. */
  linkTo?: string;
  /** The upstream access token, sealed, when the policy outputs `idp_access_token`. */
  idpAccessToken?: string;
}

export const UPSTREAM_USER_KEY = 'upstreamUser';
export const LINK_STEP = 'federationLink';
export const FEDERATED_SIGN_UP_STEP = 'federationSignUp';

/** An upstream failure as the OAuth error the app receives (B2C's codes where B2C has one). */
function upstreamError(err: FederationError): OAuthError {
  switch (err.kind) {
    case 'cancelled':
      return new OAuthError('access_denied', err.message, { b2cCode: B2C_CODES.userCancelled });
    case 'timeout':
    case 'unavailable':
      return new OAuthError('temporarily_unavailable', err.message, { b2cCode: B2C_CODES.upstreamRefused });
    case 'rejected':
      return new OAuthError('access_denied', err.message, { b2cCode: B2C_CODES.upstreamRefused });
    case 'invalid_response':
      return new OAuthError('server_error', err.message, { b2cCode: B2C_CODES.upstreamRefused });
  }
}

/** The state after a successful upstream sign-in of `user`. */
export function signedInWith(ctx: StepContext, user: User, issuer: string, extra: { newUser?: boolean; idpAccessToken?: string | undefined } = {}): JourneyState {
  const state: JourneyState = {
    ...ctx.state,
    userId: user.id,
    idp: issuer,
    newUser: extra.newUser ?? false,
    authTime: Math.floor(ctx.deps.clock.now() / 1000),
    interactive: true,
    amr: ['fed'],
  };
  if (extra.idpAccessToken !== undefined) state.idpAccessToken = extra.idpAccessToken;
  return state;
}

/** The account disabled, whichever way the user came: B2C's wording. */
export function disabledAccount(): StepResult {
  return { type: 'fail', error: new OAuthError('access_denied', 'Your account has been locked. Contact your support person to unlock it, then try again.', { b2cCode: B2C_CODES.accountLocked }) };
}

/**
 * Sign-in at an upstream identity provider. `enter` sends the browser there (code + PKCE, state and
 * nonce kept in the journey); `resume` takes the answer at the callback, lets openid-client check it,
 * and finds the account: a known identity signs in; a new one with a verified email that an account
 * here has goes to linking (which needs proof); any other goes to sign-up, or is refused where the
 * policy does not sign users up.
 */
export function federatedSignIn(opts: { choiceStep: string; allowSignUp: boolean }): Step {
  function provider(ctx: StepContext, id: string | undefined): IdentityProvider | undefined {
    return id === undefined ? undefined : offeredProviders(ctx).find((p) => p.id === id);
  }
  async function audit(ctx: StepContext, outcome: 'success' | 'failure', detail: string, subject?: string) {
    await ctx.deps.audit.record({ tenantId: ctx.tenant.id, event: 'federated_signin', outcome, subject: subject ?? null, clientId: ctx.request.clientId, ip: ctx.ip, detail });
    ctx.deps.metrics.signIns.inc({ policy: ctx.policy.id, method: 'federated', result: outcome });
  }
  function checksFor(ctx: StepContext, p: IdentityProvider, pending: Partial<PendingUpstream>): UpstreamChecks {
    return { state: pending.state!, nonce: pending.nonce!, codeVerifier: pending.codeVerifier!, redirectUri: callbackUrl(ctx.site.baseUrl, ctx.tenant.slug, p.id), tenant: { id: ctx.tenant.id, slug: ctx.tenant.slug, baseUrl: ctx.site.baseUrl } };
  }

  return {
    id: FEDERATED_SIGN_IN_STEP,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const chosen = stepData<PendingUpstream>(ctx.state, FEDERATION_KEY);
      const p = provider(ctx, chosen.provider);
      if (!p) return { type: 'goto', step: opts.choiceStep, state: withData(ctx.state, FEDERATION_KEY, {}) };
      // The state names the journey, so the callback finds it; the random part is what it must match.
      const pending: PendingUpstream = { provider: p.id, state: `${ctx.journeyId}.${randomToken(16)}`, nonce: randomToken(16), codeVerifier: randomToken(32) };
      try {
        const url = await ctx.deps.federation.authorizationUrl(p, checksFor(ctx, p, pending));
        return { type: 'redirect', url, state: withData(ctx.state, FEDERATION_KEY, pending) };
      } catch (err) {
        if (!(err instanceof FederationError)) throw err;
        await audit(ctx, 'failure', `${p.id}: ${err.message}`);
        // Nothing is lost: back to the choice, which says why and offers the other ways in.
        const failure: PendingFederationError = { kind: err.kind, provider: p.displayName, seconds: p.timeoutSeconds };
        return { type: 'goto', step: opts.choiceStep, state: withData(withData(ctx.state, FEDERATION_KEY, { provider: p.id }), FEDERATION_ERROR_KEY, failure) };
      }
    },
    async submit(ctx) {
      // This step has no page of its own.
      return { type: 'goto', step: opts.choiceStep, state: ctx.state };
    },
    async resume(ctx, callback) {
      const pending = stepData<PendingUpstream>(ctx.state, FEDERATION_KEY);
      const p = provider(ctx, pending.provider);
      const stateMatches = pending.state !== undefined && safeEqual(callback.params.state ?? '', pending.state);
      if (!p || callback.providerId !== p.id || !stateMatches) {
        await audit(ctx, 'failure', `${callback.providerId}: response for another sign-in (state mismatch or replay)`);
        return { type: 'fail', error: new OAuthError('access_denied', 'The response from the identity provider does not belong to this sign-in (it was already used, or its state does not match).', { b2cCode: B2C_CODES.upstreamRefused }) };
      }
      // The round trip is spent whatever happens next: a replayed callback finds nothing to match.
      const cleared = withData(ctx.state, FEDERATION_KEY, { provider: p.id });
      let result;
      try {
        result = await ctx.deps.federation.complete(p, { method: callback.method, params: callback.params }, checksFor(ctx, p, pending));
      } catch (err) {
        if (!(err instanceof FederationError)) throw err;
        await audit(ctx, 'failure', `${p.id}: ${err.kind}: ${err.message}`);
        return { type: 'fail', error: upstreamError(err) };
      }
      const { store } = ctx.deps;
      const { profile } = result;
      const issuer = result.issuer ?? p.identityIssuer ?? p.domain;
      const identity = { issuer, issuerAssignedId: profile.issuerAssignedId };
      const idpAccessToken = ctx.policy.outputClaims.includes('idp_access_token') && result.accessToken !== '' ? ctx.deps.secrets.seal(result.accessToken) : undefined;
      let known = await store.findUserByIdentity(ctx.tenant.id, identity);
      if (!known && p.formerIssuer !== undefined && result.issuer === undefined) {
        // Stored before the provider's identityIssuer was what it is: found under the old issuer, and given the new one.
        known = await store.findUserByIdentity(ctx.tenant.id, { issuer: p.formerIssuer, issuerAssignedId: profile.issuerAssignedId });
        if (known && !known.disabled) await linkIdentity(provisionDeps(ctx.deps), ctx.tenant, known, identity, { by: 'journey', clientId: ctx.request.clientId, ip: ctx.ip, policyId: ctx.policy.id, provider: p.id, provedBy: `${p.id} (identity of issuer ${p.formerIssuer})` });
      }
      if (known) {
        if (known.disabled) {
          await audit(ctx, 'failure', `${p.id}: account disabled`, known.id);
          return disabledAccount();
        }
        await audit(ctx, 'success', p.id, known.id);
        return { type: 'next', state: signedInWith({ ...ctx, state: cleared }, known, issuer, { idpAccessToken }) };
      }
      const upstream: UpstreamUser = { provider: p.id, displayName: p.displayName, issuer, profile, ...(idpAccessToken ? { idpAccessToken } : {}) };
      // Linking is offered only for an address the provider vouches for, and needs proof (next step).
      if (profile.email && profile.emailVerified) {
        const owners = (await store.findUsersByEmail(ctx.tenant.id, profile.email)).filter((u) => !u.disabled);
        const owner = owners.find(hasLocalAccount) ?? owners[0];
        if (owner) return { type: 'goto', step: LINK_STEP, state: withData(cleared, UPSTREAM_USER_KEY, { ...upstream, linkTo: owner.id }) };
      }
      if (!opts.allowSignUp) {
        await audit(ctx, 'failure', `${p.id}: no account for ${profile.issuerAssignedId}`);
        return { type: 'fail', error: new OAuthError('access_denied', 'User does not exist. Please sign up before you can sign in.', { b2cCode: B2C_CODES.userDoesNotExist }) };
      }
      return { type: 'goto', step: FEDERATED_SIGN_UP_STEP, state: withData(cleared, UPSTREAM_USER_KEY, upstream) };
    },
  };
}
