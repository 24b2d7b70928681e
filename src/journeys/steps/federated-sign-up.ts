import { ServiceError } from '../../model/errors.js';
import { MAX_NAME_LENGTH } from '../../services/users-rules.js';
import { provisionDeps } from '../../services/deps.js';
import { createFederatedUser } from '../../services/users.js';
import { ConnectorError } from '../../connectors/api-connector.js';
import type { ConnectorSubject } from '../../connectors/attributes.js';
import type { JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { applyReturnedClaims, callStepConnector, connectorFailure, endingResult } from './connectors.js';
import { attributeFields, profileUpdate, readAttributes } from './attributes.js';
import { cancelButton, cancelled, emailFact, page, stepData, withData } from './common.js';
import { FEDERATED_SIGN_UP_STEP, UPSTREAM_USER_KEY, disabledAccount, signedInWith, type UpstreamUser } from './federated-sign-in.js';

/**
 * The first sign-in with an upstream identity: the account is created with that identity, after the
 * user supplies the policy's required sign-up attributes the provider did not send (the form comes
 * pre-filled with what it did send). Without anything missing there is no page. The user and its
 * identity are written in one transaction, so a failure leaves nothing half made.
 */
/** A page result keeps what the step remembered (the connector's pre-fill), unless it set its own state. */
function withState(result: StepResult, state: JourneyState): StepResult {
  return result.type === 'page' && !result.state ? { ...result, state } : result;
}

export function federatedSignUp(): Step {
  function prefill(ctx: StepContext, upstream: UpstreamUser): Record<string, string> {
    const values: Record<string, string> = {};
    for (const a of ctx.policy.signUp.attributes) {
      const v = upstream.profile.claims[a.claim] ?? (a.claim === 'email' ? upstream.profile.email : undefined);
      if (v !== undefined) values[a.claim] = String(v);
    }
    return values;
  }

  function subject(ctx: StepContext, upstream: UpstreamUser, values: Record<string, string>): ConnectorSubject {
    return { email: upstream.profile.email, identities: [{ signInType: 'federated', issuer: upstream.issuer, issuerAssignedId: upstream.profile.issuerAssignedId }], values };
  }

  /**
   * B2C's API connector after federating, once per sign-up: what it returns pre-fills the form. B2C's
   * contract has no ValidationError at this step (there is no form yet), so one fails the sign-up.
   */
  async function prefilled(ctx: StepContext, upstream: UpstreamUser): Promise<{ values: Record<string, string>; state: JourneyState } | StepResult> {
    const kept = stepData<{ prefill: Record<string, string> }>(ctx.state, FEDERATED_SIGN_UP_STEP).prefill;
    if (kept) return { values: kept, state: ctx.state };
    const values = prefill(ctx, upstream);
    const answer = await callStepConnector(ctx, 'postFederationSignup', subject(ctx, upstream, values));
    if (answer.action === 'validation') {
      return { type: 'fail', error: connectorFailure('postFederationSignup', new ConnectorError('invalid_response', 'answered ValidationError, which B2C allows only after attribute collection', 1)) };
    }
    if (answer.action !== 'continue') return endingResult(answer);
    const merged = applyReturnedClaims(ctx, values, answer.claims);
    return { values: merged, state: withData(ctx.state, FEDERATED_SIGN_UP_STEP, { prefill: merged }) };
  }

  function render(ctx: StepContext, upstream: UpstreamUser, values: Record<string, string>, errors: Record<string, string>, error?: string): StepResult {
    return page(ctx, {
      heading: ctx.messages.t('signUp.heading'),
      error,
      intro: ctx.messages.t('signUp.federatedIntro', { provider: upstream.displayName }),
      facts: upstream.profile.email ? [emailFact(ctx, upstream.profile.email)] : [],
      fields: attributeFields(ctx.policy.signUp.attributes, values, errors),
      buttons: [{ action: 'continue', id: 'continue', label: ctx.messages.t('button.continue') }, cancelButton(ctx)],
    });
  }

  async function create(ctx: StepContext, upstream: UpstreamUser, collected: Record<string, string>): Promise<StepResult> {
    const checked = await callStepConnector(ctx, 'postAttributeCollection', subject(ctx, upstream, collected));
    if (checked.action === 'validation') return render(ctx, upstream, collected, {}, checked.userMessage);
    if (checked.action !== 'continue') return endingResult(checked);
    const values = applyReturnedClaims(ctx, collected, checked.claims);
    const update = profileUpdate(ctx.policy.signUp.attributes, values);
    const claims = upstream.profile.claims;
    // A name the provider sent, cut to what a user's name may hold (it is not the user's to correct here).
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v.slice(0, MAX_NAME_LENGTH) : null);
    const identity = { issuer: upstream.issuer, issuerAssignedId: upstream.profile.issuerAssignedId };
    let user;
    try {
      user = await createFederatedUser(provisionDeps(ctx.deps), ctx.tenant, {
        identity,
        email: upstream.profile.email ?? null,
        emailVerified: upstream.profile.emailVerified,
        givenName: update.givenName !== undefined ? update.givenName : text(claims.given_name),
        familyName: update.familyName !== undefined ? update.familyName : text(claims.family_name),
        displayName: update.displayName !== undefined ? update.displayName : text(claims.name),
        attributes: update.attributes ?? {},
      }, { by: 'journey', clientId: ctx.request.clientId, ip: ctx.ip, policyId: ctx.policy.id, provider: upstream.provider });
    } catch (err) {
      if (!(err instanceof ServiceError && err.kind === 'conflict')) throw err;
      // The same upstream account signed up in another tab a moment ago: sign in to that account.
      const existing = await ctx.deps.store.findUserByIdentity(ctx.tenant.id, identity);
      if (!existing) throw err;
      if (existing.disabled) return disabledAccount();
      return { type: 'next', state: signedInWith({ ...ctx, state: withData(ctx.state, UPSTREAM_USER_KEY, {}) }, existing, upstream.issuer, { idpAccessToken: upstream.idpAccessToken }) };
    }
    const state = withData(ctx.state, UPSTREAM_USER_KEY, {});
    return { type: 'next', state: signedInWith({ ...ctx, state }, user, upstream.issuer, { newUser: true, idpAccessToken: upstream.idpAccessToken }) };
  }

  return {
    id: FEDERATED_SIGN_UP_STEP,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const upstream = stepData<UpstreamUser>(ctx.state, UPSTREAM_USER_KEY) as UpstreamUser;
      if (!upstream.profile) return cancelled();
      const got = await prefilled(ctx, upstream);
      if ('type' in got) return got;
      const { values, state } = got;
      ctx = { ...ctx, state };
      const missing = ctx.policy.signUp.attributes.some((a) => a.required && a.type !== 'boolean' && !values[a.claim]);
      if (!missing) {
        // Nothing to ask: what the provider sent must still pass the attribute rules (length, options…).
        const checked = readAttributes(ctx.policy.signUp.attributes, Object.fromEntries(Object.entries(values).map(([k, v]) => [`attr_${k}`, v])), ctx.messages);
        const result = Object.keys(checked.errors).length === 0 ? await create(ctx, upstream, checked.values) : render(ctx, upstream, checked.values, checked.errors);
        return withState(result, state);
      }
      return withState(render(ctx, upstream, values, {}), state);
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      const upstream = stepData<UpstreamUser>(ctx.state, UPSTREAM_USER_KEY) as UpstreamUser;
      if (!upstream.profile) return cancelled();
      const { values, errors } = readAttributes(ctx.policy.signUp.attributes, form, ctx.messages);
      if (Object.keys(errors).length > 0) return render(ctx, upstream, values, errors);
      return create(ctx, upstream, values);
    },
  };
}
