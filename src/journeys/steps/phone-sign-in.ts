import { ServiceError } from '../../model/errors.js';
import { localIssuer } from '../../model/graph-user.js';
import { parsePhoneNumber } from '../../model/phone.js';
import type { User } from '../../model/entities.js';
import { provisionDeps } from '../../services/deps.js';
import { recordLoginFailure } from '../../services/local-auth.js';
import { createUser } from '../../services/users.js';
import type { FormButton } from '../../ui/pages/form-page.js';
import type { FormInput, JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { attributeFields, profileUpdate, readAttributes } from './attributes.js';
import { cancelButton, cancelled, page, stepData, withData } from './common.js';
import { applyReturnedClaims, callStepConnector, endingResult } from './connectors.js';
import { checkCode, codeField, issueSmsCode, type PendingCode } from './one-time-code.js';
import { chooseProvider, hintedProvider, offeredProviders, postedProvider, FEDERATION_KEY } from './providers.js';

/**
 * B2C's phone sign-up and sign-in (`localAccount.signInName: "phone"`): the user gives a phone number,
 * proves it with a six-digit code sent by text message, and is signed in — or, new to the tenant and
 * where the policy signs users up, gives the policy's attributes and gets an account whose one local
 * identity is that number (`phoneNumber`, E.164). No password. The proof is `amr: ["sms"]`.
 *
 * The page reads the same whether or not the number has an account until the code is proven (no
 * enumeration), and the code is sent either way. Wrong codes are counted under the number and lock it
 * as wrong passwords lock a sign-in name (ten, then a growing wait).
 */

type View = 'number' | 'code' | 'details';

interface PhoneData {
  view: View;
  /** The number being proven, E.164. */
  number: string;
  pending: PendingCode;
  /** Proven, and no account has it: the sign-up's attribute values so far. */
  values: Record<string, string>;
  verified: boolean;
}

export const PHONE_SIGN_IN_STEP = 'phoneSignIn';

/** Under this name a number's wrong codes are counted (apart from sign-in names, which are never `+…` here). */
const throttleName = (e164: string) => `phone:${e164}`;

export function phoneSignIn(opts: { allowSignUp: boolean }): Step {
  const id = PHONE_SIGN_IN_STEP;
  const data = (s: JourneyState) => stepData<PhoneData>(s, id);

  function providerButtons(ctx: StepContext): FormButton[] {
    return offeredProviders(ctx).map((p) => ({ action: `idp:${p.id}`, id: p.id, label: p.displayName, secondary: true, skipValidation: true }));
  }

  function show(ctx: StepContext, state: JourneyState, msg: { error?: string; fieldError?: string; notice?: string } = {}): StepResult {
    const m = ctx.messages;
    const d = data(state);
    const view = d.view ?? 'number';
    if (view === 'code') {
      return {
        ...page(ctx, {
          heading: m.t('phone.codeHeading'),
          notice: msg.notice ?? (msg.error ? undefined : m.t('phone.codeSent')),
          error: msg.error,
          facts: [{ id: 'phoneNumber_ro', label: m.t('label.phoneNumber'), value: d.number ?? '' }],
          fields: [codeField(ctx, msg.fieldError)],
          buttons: [
            { action: 'verify', id: 'verifyCode', label: m.t('button.verifyCode') },
            { action: 'resend', id: 'sendNewCode', label: m.t('button.resendCode'), secondary: true, skipValidation: true },
            { action: 'change', id: 'changeNumber', label: m.t('button.changeNumber'), secondary: true, skipValidation: true },
            cancelButton(ctx),
          ],
        }),
        state,
      };
    }
    if (view === 'details') {
      return {
        ...page(ctx, {
          heading: m.t('signUp.heading'),
          error: msg.error,
          facts: [{ id: 'phoneNumber_ro', label: m.t('label.phoneNumber'), value: d.number ?? '' }],
          fields: attributeFields(ctx.policy.signUp.attributes, d.values ?? {}, {}),
          buttons: [{ action: 'create', id: 'continue', label: m.t('button.create') }, cancelButton(ctx)],
        }),
        state,
      };
    }
    return {
      ...page(ctx, {
        heading: m.t('phone.heading'),
        intro: m.t('phone.intro'),
        error: msg.error,
        fields: [{ id: 'phoneNumber', name: 'phoneNumber', label: m.t('label.phoneNumber'), type: 'tel', value: d.number ?? ctx.request.loginHint ?? '', required: true, autocomplete: 'tel', autofocus: true, maxLength: 40, error: msg.fieldError }],
        buttons: [{ action: 'send', id: 'sendCode', label: m.t('button.sendCode') }, ...providerButtons(ctx), cancelButton(ctx)],
      }),
      state,
    };
  }

  /** Signed in as `user` by the code (the only factor it proved: `sms`). */
  async function signedIn(ctx: StepContext, user: User, newUser: boolean): Promise<StepResult> {
    if (!newUser) {
      await ctx.deps.audit.record({ tenantId: ctx.tenant.id, event: 'signin', outcome: 'success', subject: user.id, clientId: ctx.request.clientId, ip: ctx.ip, detail: `${ctx.policy.id}: phone` });
      ctx.deps.metrics.signIns.inc({ policy: ctx.policy.id, method: 'phone', result: 'success' });
    }
    return {
      type: 'next',
      state: { ...withData(ctx.state, id, {}), userId: user.id, idp: 'local', newUser, authTime: Math.floor(ctx.deps.clock.now() / 1000), interactive: true, amr: ['sms'] },
    };
  }

  /** The user whose phoneNumber identity is this number, if any. */
  async function accountOf(ctx: StepContext, e164: string): Promise<User | undefined> {
    const user = await ctx.deps.store.findUserBySignInName(ctx.tenant.id, e164);
    return user?.localIdentities.some((i) => i.signInType === 'phoneNumber' && i.issuerAssignedId === e164) ? user : undefined;
  }

  async function create(ctx: StepContext, d: Partial<PhoneData>, values: Record<string, string>): Promise<StepResult> {
    const e164 = d.number!;
    const state = withData(ctx.state, id, { ...d, values });
    const checked = await callStepConnector(ctx, 'postAttributeCollection', { identities: [{ signInType: 'phoneNumber', issuer: localIssuer(ctx.tenant), issuerAssignedId: e164 }], values });
    if (checked.action === 'validation') return show(ctx, state, { error: checked.userMessage });
    if (checked.action !== 'continue') return endingResult(checked);
    const update = profileUpdate(ctx.policy.signUp.attributes, applyReturnedClaims(ctx, values, checked.claims));
    try {
      const user = await createUser(provisionDeps(ctx.deps), ctx.tenant, {
        localIdentities: [{ signInType: 'phoneNumber', issuerAssignedId: e164 }],
        givenName: update.givenName ?? null,
        familyName: update.familyName ?? null,
        displayName: update.displayName ?? null,
        attributes: update.attributes ?? {},
      }, { by: 'journey', clientId: ctx.request.clientId, ip: ctx.ip, policyId: ctx.policy.id, provedBy: 'text message' });
      return signedIn(ctx, user, true);
    } catch (err) {
      if (err instanceof ServiceError && err.kind === 'conflict') return show(ctx, state, { error: ctx.messages.t('error.userExists') });
      throw err;
    }
  }

  async function send(ctx: StepContext, e164: string, previous: Partial<PendingCode>, resend: boolean): Promise<StepResult> {
    const known = await accountOf(ctx, e164);
    const issued = await issueSmsCode(ctx, e164, previous, 'phone sign-in', known?.id ?? null);
    if (!issued.ok) {
      // Refused (the country, a limit): nothing was sent, and the page says why where the user is.
      return show(ctx, withData(ctx.state, id, { view: resend ? 'code' : 'number', number: e164, pending: previous }), resend ? { error: issued.error } : { fieldError: issued.error });
    }
    return show(ctx, withData(ctx.state, id, { view: 'code', number: e164, pending: issued.pending }), resend ? { notice: ctx.messages.t('phone.codeResent') } : {});
  }

  async function verify(ctx: StepContext, d: Partial<PhoneData>, typed: string): Promise<StepResult> {
    const e164 = d.number!;
    const store = ctx.deps.store;
    const now = ctx.deps.clock.now();
    if ((await store.getLoginThrottle(ctx.tenant.id, throttleName(e164))).lockedUntil > now) return show(ctx, ctx.state, { error: ctx.messages.t('mfa.locked') });
    const check = checkCode(ctx, d.pending ?? {}, typed);
    if (!check.ok) {
      let error = check.error;
      if (/^\d{6}$/.test(typed.trim())) {
        const t = await recordLoginFailure(store, ctx.tenant.id, throttleName(e164), now);
        const known = await accountOf(ctx, e164);
        await ctx.deps.audit.record({ tenantId: ctx.tenant.id, event: 'signin', outcome: 'failure', subject: known?.id ?? null, clientId: ctx.request.clientId, ip: ctx.ip, detail: `${ctx.policy.id}: phone: wrong code` });
        ctx.deps.metrics.signIns.inc({ policy: ctx.policy.id, method: 'phone', result: t.lockedUntil > now ? 'locked' : 'failure' });
        if (t.lockedUntil > now) {
          error = ctx.messages.t('mfa.locked');
          await ctx.deps.audit.record({ tenantId: ctx.tenant.id, event: 'lockout', outcome: 'success', subject: known?.id ?? null, clientId: ctx.request.clientId, ip: ctx.ip, detail: `phone number locked for ${Math.round((t.lockedUntil - now) / 1000)} s` });
          ctx.deps.metrics.lockouts.inc();
        }
      }
      return show(ctx, check.pending ? withData(ctx.state, id, { ...d, pending: check.pending }) : ctx.state, { fieldError: error });
    }
    await store.clearLoginFailures(ctx.tenant.id, throttleName(e164));
    const user = await accountOf(ctx, e164);
    // What the page shows when the proven number cannot sign in here: the number page again.
    const proven = withData(ctx.state, id, { view: 'number', number: e164 });
    if (user) {
      if (user.disabled) return show(ctx, proven, { error: ctx.messages.t('phone.disabled') });
      // A sign-up policy (kind signUp) makes accounts; it does not sign an existing one in.
      if (ctx.policy.kind === 'signUp') return show(ctx, proven, { error: ctx.messages.t('error.userExists') });
      return signedIn(ctx, user, false);
    }
    if (!opts.allowSignUp) return show(ctx, proven, { error: ctx.messages.t('phone.noAccount') });
    if (ctx.policy.signUp.attributes.length === 0) return create(ctx, { number: e164, verified: true }, {});
    return show(ctx, withData(ctx.state, id, { view: 'details', number: e164, verified: true, values: {} }));
  }

  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const hinted = hintedProvider(ctx);
      if (hinted && !stepData<{ provider: string }>(ctx.state, FEDERATION_KEY).provider) return chooseProvider(ctx.state, hinted);
      return show(ctx, ctx.state);
    },
    async submit(ctx, form: FormInput) {
      const action = form.action ?? 'send';
      if (action === 'cancel') return cancelled();
      const provider = postedProvider(ctx, action);
      if (provider) return chooseProvider(ctx.state, provider);
      const d = data(ctx.state);
      const view = d.view ?? 'number';
      const m = ctx.messages;

      if (view === 'number' || action === 'send') {
        const typed = (form.phoneNumber ?? '').trim();
        if (typed === '') return show(ctx, withData(ctx.state, id, { view: 'number' }), { fieldError: m.t('error.enterPhone') });
        // A number without its country code is read as one of the policy's country when it allows only one.
        const only = ctx.policy.phone.allowedCountries?.length === 1 ? ctx.policy.phone.allowedCountries[0] : undefined;
        const parsed = await parsePhoneNumber(typed, only);
        if (!parsed.ok) return show(ctx, withData(ctx.state, id, { view: 'number', number: typed.slice(0, 40) }), { fieldError: m.t('error.invalidPhone') });
        return send(ctx, parsed.e164, d.pending ?? {}, false);
      }
      if (view === 'code') {
        if (action === 'change') return show(ctx, withData(ctx.state, id, { view: 'number', number: d.number }));
        if (action === 'resend') return send(ctx, d.number!, d.pending ?? {}, true);
        return verify(ctx, d, form.code ?? '');
      }
      // details: the number was proven in this journey; the sign-up's attributes.
      if (!d.verified || !d.number) return show(ctx, withData(ctx.state, id, { view: 'number' }));
      const { values, errors } = readAttributes(ctx.policy.signUp.attributes, form, m);
      if (Object.keys(errors).length > 0) {
        return {
          ...page(ctx, {
            heading: m.t('signUp.heading'),
            facts: [{ id: 'phoneNumber_ro', label: m.t('label.phoneNumber'), value: d.number }],
            fields: attributeFields(ctx.policy.signUp.attributes, values, errors),
            buttons: [{ action: 'create', id: 'continue', label: m.t('button.create') }, cancelButton(ctx)],
          }),
          state: withData(ctx.state, id, { ...d, values }),
        };
      }
      return create(ctx, d, values);
    },
  };
}
