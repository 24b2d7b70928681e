import { ServiceError } from '../../model/errors.js';
import { provisionDeps } from '../../services/deps.js';
import { createLocalUser } from '../../services/users.js';
import type { Step, StepContext, StepResult } from '../journey.js';
import { attributeFields, profileUpdate, readAttributes } from './attributes.js';
import { EMAIL_KEY, cancelButton, cancelled, checkNewPassword, emailFact, newPasswordFields, page, stepData, withData, type EmailClaim } from './common.js';
import { localIdentity } from '../../connectors/attributes.js';
import { applyReturnedClaims, callStepConnector, endingResult } from './connectors.js';
import { emailEntry } from './email-entry.js';

/** Sign-up, first page: the email address (a code is sent next when the policy verifies email). */
export function signUpEmail(id: string): Step {
  return emailEntry(id, (ctx) => {
    const verify = ctx.policy.signUp.verifyEmail;
    const m = ctx.messages;
    return {
      heading: m.t('signUp.heading'),
      ...(verify ? { intro: m.t('signUp.verifyIntro') } : {}),
      button: m.t(verify ? 'button.sendCode' : 'button.continue'),
      verified: !verify,
    };
  });
}

interface Typed {
  values: Record<string, string>;
}

/** Sign-up, last page: password and the policy's attributes; creates the account. */
export function signUpDetails(id: string): Step {
  function render(ctx: StepContext, claim: EmailClaim, values: Record<string, string>, errors: Record<string, string>, error?: string): StepResult {
    return page(ctx, {
      heading: ctx.messages.t('signUp.heading'),
      facts: [emailFact(ctx, claim.address)],
      error,
      fields: [...newPasswordFields(ctx, errors), ...attributeFields(ctx.policy.signUp.attributes, values, errors)],
      buttons: [{ action: 'create', id: 'continue', label: ctx.messages.t('button.create') }, cancelButton(ctx)],
    });
  }
  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const claim = stepData<EmailClaim>(ctx.state, EMAIL_KEY) as EmailClaim;
      if (!claim.verified) return { type: 'goto', step: 'signUpEmail', state: ctx.state };
      return render(ctx, claim, stepData<Typed>(ctx.state, id).values ?? {}, {});
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      const claim = stepData<EmailClaim>(ctx.state, EMAIL_KEY) as EmailClaim;
      if (!claim.verified) return { type: 'goto', step: 'signUpEmail', state: ctx.state };
      const attrs = ctx.policy.signUp.attributes;
      const { values, errors } = readAttributes(attrs, form, ctx.messages);
      const pw = checkNewPassword(ctx, form.password ?? '', form.confirm ?? '');
      Object.assign(errors, pw);
      if (Object.keys(errors).length > 0) {
        return { ...render(ctx, claim, values, errors), state: withData(ctx.state, id, { values }) };
      }
      // B2C's API connector after attribute collection: it may correct values, refuse them, or stop the sign-up.
      const checked = await callStepConnector(ctx, 'postAttributeCollection', { email: claim.address, identities: [localIdentity(ctx.tenant, claim.address)], values });
      if (checked.action === 'validation') return { ...render(ctx, claim, values, {}, checked.userMessage), state: withData(ctx.state, id, { values }) };
      if (checked.action !== 'continue') return endingResult(checked);
      const final = applyReturnedClaims(ctx, values, checked.claims);
      const update = profileUpdate(attrs, final);
      let user;
      try {
        // The unique index on (tenant, email) makes concurrent sign-ups with one address yield one account.
        user = await createLocalUser(provisionDeps(ctx.deps), ctx.tenant, {
          email: claim.address,
          password: form.password!,
          passwordRule: ctx.policy.localAccount.password,
          emailVerified: ctx.policy.signUp.verifyEmail,
          givenName: update.givenName ?? null,
          familyName: update.familyName ?? null,
          displayName: update.displayName ?? null,
          attributes: update.attributes ?? {},
        }, { by: 'journey', clientId: ctx.request.clientId, ip: ctx.ip, policyId: ctx.policy.id });
      } catch (err) {
        if (err instanceof ServiceError && err.kind === 'conflict') return { ...render(ctx, claim, values, {}, ctx.messages.t('error.userExists')), state: withData(ctx.state, id, { values }) };
        throw err;
      }
      const now = user.createdAt;
      return {
        type: 'next',
        state: { ...ctx.state, userId: user.id, idp: 'local', newUser: true, authTime: Math.floor(now / 1000), interactive: true, ...signUpFactors(ctx, claim) },
      };
    },
  };
}

/**
 * What a sign-up proved: the new password and, when the policy verified the address with a code, the
 * mailbox too. With e-mail codes among the policy's second factors, that code is the second factor
 * (the user is not sent another one a minute later).
 */
function signUpFactors(ctx: StepContext, claim: EmailClaim): { amr: string[]; mfa?: boolean } {
  if (!ctx.policy.signUp.verifyEmail || !claim.verified) return { amr: ['pwd'] };
  return { amr: ['pwd', 'otp'], ...(ctx.policy.mfa.methods.includes('email') ? { mfa: true } : {}) };
}
