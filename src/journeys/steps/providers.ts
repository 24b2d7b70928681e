import type { IdentityProvider } from '../../federation/config.js';
import type { FederationFailure } from '../../federation/upstream.js';
import type { JourneyState, StepContext, StepResult } from '../journey.js';
import { pageTitle, stepData, withData } from './common.js';
import type { ApiPage } from '../../ui/pages/api-page.js';

/** Journey data of an upstream sign-in: the provider chosen, then the round trip's secrets. */
export const FEDERATION_KEY = 'federation';
/** A message for the choice page (the chosen provider could not be reached). */
export const FEDERATION_ERROR_KEY = 'federationError';
export const FEDERATED_SIGN_IN_STEP = 'federatedSignIn';

/** The identity providers a policy offers, as the tenant configures them now (in the policy's order). */
export function offeredProviders(ctx: StepContext): IdentityProvider[] {
  const configured = ctx.deps.policies.providers(ctx.tenant.slug);
  return ctx.policy.identityProviders.flatMap((id) => {
    const p = id === 'local' ? undefined : configured.get(id);
    return p ? [p] : [];
  });
}

export function offersLocal(ctx: StepContext): boolean {
  return ctx.policy.identityProviders.includes('local');
}

/**
 * `domain_hint` naming a provider skips the choice, as in B2C: by its id, its domain (google.com,
 * facebook.com…, or what the B2C policy named it by: a word or a URL), or its identities' issuer.
 */
export function hintedProvider(ctx: StepContext): IdentityProvider | undefined {
  const hint = ctx.request.domainHint?.trim().toLowerCase();
  if (!hint) return undefined;
  const offered = offeredProviders(ctx);
  return offered.find((p) => p.id === hint || p.domain === hint) ?? offered.find((p) => p.identityIssuer?.toLowerCase() === hint);
}

/** Continue with the upstream sign-in at `provider`. */
export function chooseProvider(state: JourneyState, provider: IdentityProvider): StepResult {
  return { type: 'goto', step: FEDERATED_SIGN_IN_STEP, state: withData(state, FEDERATION_KEY, { provider: provider.id }) };
}

/** A posted `idp:{id}` button, if it names a provider the policy offers. */
export function postedProvider(ctx: StepContext, action: string | undefined): IdentityProvider | undefined {
  if (!action?.startsWith('idp:')) return undefined;
  const id = action.slice(4);
  return offeredProviders(ctx).find((p) => p.id === id);
}

/** Why the chosen provider could not be used, for the choice page to say (once). */
export interface PendingFederationError {
  kind: FederationFailure;
  provider: string;
  seconds: number;
}

/** Takes the choice page's pending error, if any, as a message in the page's language (shown once). */
export function takeFederationError(ctx: StepContext): { message?: string; state: JourneyState } {
  const failure = stepData<PendingFederationError>(ctx.state, FEDERATION_ERROR_KEY);
  if (!failure.kind) return { state: ctx.state };
  const params = { provider: failure.provider ?? '', seconds: failure.seconds ?? 0 };
  const key = failure.kind === 'timeout' ? 'federation.timeout' : failure.kind === 'unavailable' ? 'federation.unavailable' : 'federation.failed';
  return { message: ctx.messages.t(key, params), state: withData(ctx.state, FEDERATION_ERROR_KEY, {}) };
}

/**
 * A sign-in page of the unified page type (the local-account page, the provider choice): its form's
 * title, action and CSRF token, the providers the policy offers, and the state to keep when one changed.
 */
export function signInPageResult<P>(
  ctx: StepContext,
  render: (props: P & { title: string; action: string; csrf: string; providers: { id: string; displayName: string }[] }, m: StepContext['messages']) => ApiPage,
  props: P,
  state?: JourneyState,
): StepResult {
  const providers = offeredProviders(ctx).map((p) => ({ id: p.id, displayName: p.displayName }));
  return { type: 'page', ...(state ? { state } : {}), page: render({ ...props, title: pageTitle(ctx, true), action: ctx.action, csrf: ctx.csrf, providers }, ctx.messages) };
}
