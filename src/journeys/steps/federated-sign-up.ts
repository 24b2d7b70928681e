import { randomUUID } from 'node:crypto';
import { StoreConflictError, type User } from '../../store/store.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { attributeFields, profileUpdate, readAttributes } from './attributes.js';
import { cancelButton, cancelled, emailFact, page, stepData, withData } from './common.js';
import { FEDERATED_SIGN_UP_STEP, UPSTREAM_USER_KEY, disabledAccount, signedInWith, type UpstreamUser } from './federated-sign-in.js';

/**
 * The first sign-in with an upstream identity: the account is created with that identity, after the
 * user supplies the policy's required sign-up attributes the provider did not send (the form comes
 * pre-filled with what it did send). Without anything missing there is no page. The user and its
 * identity are written in one transaction, so a failure leaves nothing half made.
 */
export function federatedSignUp(): Step {
  function prefill(ctx: StepContext, upstream: UpstreamUser): Record<string, string> {
    const values: Record<string, string> = {};
    for (const a of ctx.policy.signUp.attributes) {
      const v = upstream.profile.claims[a.claim] ?? (a.claim === 'email' ? upstream.profile.email : undefined);
      if (v !== undefined) values[a.claim] = String(v);
    }
    return values;
  }

  function render(ctx: StepContext, upstream: UpstreamUser, values: Record<string, string>, errors: Record<string, string>): StepResult {
    return page(ctx, {
      heading: ctx.messages.t('signUp.heading'),
      intro: ctx.messages.t('signUp.federatedIntro', { provider: upstream.displayName }),
      facts: upstream.profile.email ? [emailFact(ctx, upstream.profile.email)] : [],
      fields: attributeFields(ctx.policy.signUp.attributes, values, errors),
      buttons: [{ action: 'continue', id: 'continue', label: ctx.messages.t('button.continue') }, cancelButton(ctx)],
    });
  }

  async function create(ctx: StepContext, upstream: UpstreamUser, values: Record<string, string>): Promise<StepResult> {
    const { deps } = ctx;
    const now = deps.clock.now();
    const update = profileUpdate(ctx.policy.signUp.attributes, values);
    const claims = upstream.profile.claims;
    const text = (v: unknown) => (typeof v === 'string' && v !== '' ? v : null);
    const user: User = {
      id: randomUUID(),
      tenantId: ctx.tenant.id,
      email: upstream.profile.email ?? null,
      emailVerified: upstream.profile.emailVerified,
      signInName: null,
      signInType: null,
      passwordHash: null,
      passwordAtLegacy: false,
      givenName: update.givenName !== undefined ? update.givenName : text(claims.given_name),
      familyName: update.familyName !== undefined ? update.familyName : text(claims.family_name),
      displayName: update.displayName !== undefined ? update.displayName : text(claims.name),
      attributes: update.attributes ?? {},
      disabled: false,
      createdAt: now,
      updatedAt: now,
    };
    const identity = { issuer: upstream.issuer, issuerAssignedId: upstream.profile.issuerAssignedId };
    try {
      await deps.store.createUser(user, [identity]);
    } catch (err) {
      if (!(err instanceof StoreConflictError)) throw err;
      // The same upstream account signed up in another tab a moment ago: sign in to that account.
      const existing = await deps.store.findUserByIdentity(ctx.tenant.id, identity);
      if (!existing) throw err;
      if (existing.disabled) return disabledAccount();
      return { type: 'next', state: signedInWith({ ...ctx, state: withData(ctx.state, UPSTREAM_USER_KEY, {}) }, existing, upstream.issuer, { idpAccessToken: upstream.idpAccessToken }) };
    }
    await deps.audit.record({ tenantId: ctx.tenant.id, event: 'signup', outcome: 'success', subject: user.id, clientId: ctx.request.clientId, ip: ctx.ip, detail: `${ctx.policy.id} via ${upstream.provider}` });
    const state = withData(ctx.state, UPSTREAM_USER_KEY, {});
    return { type: 'next', state: signedInWith({ ...ctx, state }, user, upstream.issuer, { newUser: true, idpAccessToken: upstream.idpAccessToken }) };
  }

  return {
    id: FEDERATED_SIGN_UP_STEP,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const upstream = stepData<UpstreamUser>(ctx.state, UPSTREAM_USER_KEY) as UpstreamUser;
      if (!upstream.profile) return cancelled();
      const values = prefill(ctx, upstream);
      const missing = ctx.policy.signUp.attributes.some((a) => a.required && a.type !== 'boolean' && !values[a.claim]);
      if (!missing) {
        // Nothing to ask: what the provider sent must still pass the attribute rules (length, options…).
        const checked = readAttributes(ctx.policy.signUp.attributes, Object.fromEntries(Object.entries(values).map(([k, v]) => [`attr_${k}`, v])), ctx.messages);
        if (Object.keys(checked.errors).length === 0) return create(ctx, upstream, checked.values);
        return render(ctx, upstream, checked.values, checked.errors);
      }
      return render(ctx, upstream, values, {});
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
