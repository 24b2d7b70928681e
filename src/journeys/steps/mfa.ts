import type { AuthenticationResponseJSON, RegistrationResponseJSON } from '@simplewebauthn/server';
import { MfaService, mfaService, secondFactorDue, smsFactorOf, type FactorCheck } from '../../services/mfa.js';
import { maskPhone } from '../../model/phone.js';
import type { Authenticator, User } from '../../model/entities.js';
import type { AmrValue } from '../../tokens/amr.js';
import type { SafeHtml } from '../../ui/html.js';
import type { FormButton, FormField } from '../../ui/pages/form-page.js';
import { maskAddress, passkeyButton } from '../../ui/pages/mfa.js';
import { recoveryCodesContent, sealCodes, smsEnrolContent, smsEnrolSubmit, totpEnrolContent, type SmsEnrolment } from './factor-pages.js';
import type { FormInput, JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { cancelButton, cancelled, page, stepData, withData } from './common.js';
import { MAX_SENDS, checkCode, codeField, issueCode, issueSmsCode, type PendingCode } from './one-time-code.js';

/**
 * The second factor of a sign-in (B2C's multi-factor page): after the first factor, when the policy
 * asks for one (`mfa.mode`), the user proves an enrolled factor (authenticator app, passkey, an e-mail
 * code, a code by text message, or a recovery code), or, with none enrolled under `required`, enrols one here. Nothing after
 * this step runs until it is passed: the journey only moves on from here when a factor was checked.
 */

type ChallengeView = 'totp' | 'passkey' | 'email' | 'sms' | 'recovery';
type EnrolView = 'enrol' | 'enrolTotp' | 'enrolPasskey' | 'enrolSms' | 'codes';
type Enrolment = 'totp' | 'passkey' | 'sms';
const ENROL_VIEWS: Record<Enrolment, EnrolView> = { totp: 'enrolTotp', passkey: 'enrolPasskey', sms: 'enrolSms' };
type View = ChallengeView | EnrolView;

interface MfaData {
  view: View;
  /** The e-mail or text-message code sent (hash, expiry, attempts). */
  pending: PendingCode;
  /** A phone being enrolled for text-message codes. */
  sms: SmsEnrolment;
  /** An authenticator app being set up: its secret, sealed (the journey is stored in the database). */
  secret: string;
  /** The WebAuthn challenge of the passkey options on the page. */
  challenge: string;
  /** Recovery codes being shown once, sealed. */
  codes: string;
  /** The amr value of the factor that was proven, while the recovery codes are shown. */
  proven: AmrValue;
}

/** What the user can be asked for now, of the policy's methods. */
interface Factors {
  challenges: ChallengeView[];
  /** Factors that can be set up here (only under `required` with nothing enrolled). */
  enrolments: Enrolment[];
  /** The user has a passkey, but of another host (it works only where it was made). */
  passkeyElsewhere: boolean;
}

/**
 * The factors of a step-up check (before security settings change anything): every factor the user
 * enrolled, whatever the policy offers for sign-in, and nothing to enrol.
 */
function enrolledFactors(ctx: StepContext, user: User, list: Authenticator[]): Factors {
  const has = hasHere(ctx, list);
  const challenges: ChallengeView[] = [];
  if (has('totp')) challenges.push('totp');
  if (has('passkey')) challenges.push('passkey');
  if (has('email') && user.email !== null && user.emailVerified) challenges.push('email');
  if (smsFactorOf(list)) challenges.push('sms');
  if ((MfaService.recoveryCodesLeft(list) ?? 0) > 0) challenges.push('recovery');
  return { challenges, enrolments: [], passkeyElsewhere: !has('passkey') && list.some((a) => a.kind === 'passkey') };
}

/** Whether the user has a factor of a kind that can be used on this host (a passkey belongs to the host it was made on). */
function hasHere(ctx: StepContext, list: Authenticator[]): (kind: Authenticator['kind']) => boolean {
  const mfa = mfaService(ctx.deps, ctx.site);
  return (kind) => list.some((a) => a.kind === kind && (kind !== 'passkey' || mfa.passkeyHere(a)));
}

function factorsOf(ctx: StepContext, user: User, list: Authenticator[], stepUp: boolean): Factors {
  if (stepUp) return enrolledFactors(ctx, user, list);
  const methods = ctx.policy.mfa.methods;
  const has = hasHere(ctx, list);
  const challenges: ChallengeView[] = [];
  if (methods.includes('totp') && has('totp')) challenges.push('totp');
  if (methods.includes('passkey') && has('passkey')) challenges.push('passkey');
  const emailOk = user.email !== null && user.emailVerified;
  if (methods.includes('email') && emailOk && (ctx.policy.mfa.mode === 'required' || has('email'))) challenges.push('email');
  if (methods.includes('sms') && smsFactorOf(list)) challenges.push('sms');
  // A passkey made on another host cannot be used here; it still counts as enrolled: a password alone
  // never enrols a new factor in its place (recovery codes stand in for it, as for any such factor).
  const passkeyElsewhere = methods.includes('passkey') && !has('passkey') && list.some((a) => a.kind === 'passkey');
  if ((challenges.some((c) => c === 'totp' || c === 'passkey' || c === 'sms') || passkeyElsewhere) && (MfaService.recoveryCodesLeft(list) ?? 0) > 0) challenges.push('recovery');
  const enrolments = challenges.length > 0 || passkeyElsewhere ? [] : (['totp', 'passkey', 'sms'] as const).filter((m) => methods.includes(m));
  return { challenges, enrolments, passkeyElsewhere };
}

const SWITCH: Record<ChallengeView, { action: string; label: Parameters<StepContext['messages']['t']>[0] }> = {
  totp: { action: 'use-totp', label: 'button.useTotp' },
  passkey: { action: 'use-passkey', label: 'button.usePasskey' },
  email: { action: 'use-email', label: 'button.useEmail' },
  sms: { action: 'use-sms', label: 'button.useSms' },
  recovery: { action: 'use-recovery', label: 'button.useRecovery' },
};

async function loadUser(ctx: StepContext): Promise<User | undefined> {
  const user = ctx.state.userId ? await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId) : undefined;
  return user && !user.disabled ? user : undefined;
}

export interface MultiFactorOptions {
  /**
   * A step-up check instead of the policy's sign-in factor: due when this says so (security settings
   * are open) and the user has any factor and the journey has not proven one; asks for any enrolled
   * factor, whatever the policy's `mfa`, and offers nothing to enrol.
   */
  stepUpWhen?: (state: JourneyState) => boolean;
}

export function multiFactor(id = 'mfa', opts: MultiFactorOptions = {}): Step {
  const stepUp = opts.stepUpWhen !== undefined;
  const data = (s: JourneyState) => stepData<MfaData>(s, id);
  const auditCtx = (ctx: StepContext) => ({ ip: ctx.ip, clientId: ctx.request.clientId });

  /** The factor was proven: the journey goes on, multi-factor from here. */
  function passed(ctx: StepContext, amr: AmrValue): StepResult {
    const state: JourneyState = {
      ...withData(ctx.state, id, {}),
      amr: [...(ctx.state.amr ?? []), amr],
      mfa: true,
      authTime: Math.floor(ctx.deps.clock.now() / 1000),
      interactive: true,
    };
    return { type: 'next', state };
  }

  /** A factor was just enrolled: show recovery codes first if the user has none yet. */
  async function enrolled(ctx: StepContext, user: User, amr: AmrValue): Promise<StepResult> {
    const list = await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id);
    if ((MfaService.recoveryCodesLeft(list) ?? 0) > 0) return passed(ctx, amr);
    const codes = await mfaService(ctx.deps, ctx.site).regenerateRecoveryCodes(ctx.tenant, user, auditCtx(ctx));
    const state = withData(ctx.state, id, { view: 'codes', codes: sealCodes(ctx, codes), proven: amr });
    return show(ctx, user, state);
  }

  function mfaPage(
    ctx: StepContext,
    o: { heading: string; intro?: string; error?: string; notice?: string; fields?: FormField[]; extra?: SafeHtml; primary?: FormButton; others?: FormButton[]; state: JourneyState },
  ): StepResult {
    const buttons = [...(o.primary ? [o.primary] : []), ...(o.others ?? []), cancelButton(ctx)];
    return {
      ...page(ctx, { pageType: 'multifactor', heading: o.heading, intro: o.intro, error: o.error, notice: o.notice, fields: o.fields ?? [], buttons, ...(o.extra ? { extra: o.extra } : {}) }),
      state: o.state,
    };
  }

  /** A page with the passkey button (sign in with one, or create one); the options' challenge is remembered. */
  function passkeyPage(
    ctx: StepContext,
    mode: 'get' | 'create',
    text: { heading: string; intro: string; error?: string; notice?: string; others: FormButton[] },
    options: { challenge: string },
    state: JourneyState,
    base: Partial<MfaData>,
  ): StepResult {
    return mfaPage(ctx, { ...text, extra: passkeyButton(ctx.messages, { mode, options, action: 'passkey' }), state: withData(state, id, { ...base, challenge: options.challenge }) });
  }

  /** Renders the step's current view (sending an e-mail code or making passkey options as it needs). */
  async function show(ctx: StepContext, user: User, state: JourneyState, msg: { error?: string; notice?: string } = {}): Promise<StepResult> {
    const m = ctx.messages;
    const list = await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id);
    const factors = factorsOf(ctx, user, list, stepUp);
    const d = data(state);
    let view: View = d.view ?? factors.challenges[0] ?? (factors.enrolments.length === 1 ? ENROL_VIEWS[factors.enrolments[0]!] : 'enrol');
    if (view === 'enrol' && factors.enrolments.length === 0) return { type: 'block', message: m.t(factors.passkeyElsewhere ? 'mfa.passkeyOtherHost' : 'mfa.noFactor') };
    const others = (current: ChallengeView) =>
      factors.challenges.filter((c) => c !== current).map((c): FormButton => ({ action: SWITCH[c].action, id: SWITCH[c].action, label: m.t(SWITCH[c].label), secondary: true, skipValidation: true }));
    const verify: FormButton = { action: 'verify', id: 'verifyCode', label: m.t('button.verify') };
    // With two ways to enrol, each way's page leads back to the choice.
    const backToChoice: FormButton[] = factors.enrolments.length > 1 ? [{ action: 'back', id: 'back', label: m.t('button.back'), secondary: true, skipValidation: true }] : [];
    const mfa = mfaService(ctx.deps, ctx.site);
    const base = { ...d, view };

    switch (view) {
      case 'totp':
        return mfaPage(ctx, { heading: m.t('mfa.heading'), intro: m.t('mfa.totpIntro'), ...msg, fields: [{ id: 'totpCode', name: 'code', label: m.t('label.totpCode'), type: 'code', autofocus: true, error: msg.error }], primary: verify, others: others('totp'), state: withData(state, id, base) });
      case 'recovery':
        return mfaPage(ctx, { heading: m.t('mfa.heading'), intro: m.t('mfa.recoveryIntro'), ...msg, fields: [{ id: 'recoveryCode', name: 'code', label: m.t('label.recoveryCode'), type: 'text', autocomplete: 'off', autofocus: true, maxLength: 20, error: msg.error }], primary: verify, others: others('recovery'), state: withData(state, id, base) });
      case 'email': {
        let pending = d.pending;
        if (!pending || pending.address !== user.email) {
          pending = await issueCode(ctx, user.email!, {}, true, { subject: 'mail.mfaSubject', body: 'mail.mfaBody' });
        }
        return mfaPage(ctx, {
          heading: m.t('mfa.heading'),
          intro: m.t('mfa.emailIntro', { address: maskAddress(user.email!) }),
          ...msg,
          fields: [codeField(ctx, msg.error)],
          primary: verify,
          others: [{ action: 'resend', id: 'email_ver_but_resend', label: m.t('button.resendCode'), secondary: true, skipValidation: true }, ...others('email')],
          state: withData(state, id, { ...base, pending }),
        });
      }
      case 'sms': {
        const phone = smsFactorOf(list)!;
        let pending = d.pending;
        let error = msg.error;
        // A code is sent when the page is first shown (and on "Send new code"); a refusal says why, and nothing is sent.
        if (!pending || pending.address !== phone.phoneNumber) {
          const issued = await issueSmsCode(ctx, phone.phoneNumber, {}, 'second factor', user.id);
          if (issued.ok) pending = issued.pending;
          else error = issued.error;
        }
        return mfaPage(ctx, {
          heading: m.t('mfa.heading'),
          intro: m.t('mfa.smsIntro', { number: maskPhone(phone.phoneNumber) }),
          ...msg,
          error,
          fields: [codeField(ctx, msg.error)],
          primary: verify,
          others: [{ action: 'resend', id: 'sendNewCode', label: m.t('button.resendCode'), secondary: true, skipValidation: true }, ...others('sms')],
          state: withData(state, id, { ...base, ...(pending ? { pending } : {}) }),
        });
      }
      case 'enrolSms': {
        const { content, phase } = smsEnrolContent(ctx, d.sms ?? {}, msg.error);
        const buttons: FormButton[] = phase === 'number'
          ? backToChoice
          : [{ action: 'resend', id: 'sendNewCode', label: m.t('button.resendCode'), secondary: true, skipValidation: true }, { action: 'change', id: 'changeNumber', label: m.t('button.changeNumber'), secondary: true, skipValidation: true }, ...backToChoice];
        const primary: FormButton = phase === 'number' ? { action: 'send-sms', id: 'sendCode', label: m.t('button.sendCode') } : verify;
        return mfaPage(ctx, { ...msg, ...content, primary, others: buttons, state: withData(state, id, base) });
      }
      case 'passkey':
        return passkeyPage(ctx, 'get', { heading: m.t('mfa.heading'), intro: m.t('mfa.passkeyIntro'), ...msg, others: others('passkey') }, await mfa.passkeyAuthenticationOptions(ctx.tenant, user), state, base);
      case 'enrol':
        return mfaPage(ctx, {
          heading: m.t('mfa.enrolHeading'),
          intro: m.t('mfa.enrolIntro'),
          ...msg,
          others: factors.enrolments.map((e) => ({ action: `enrol-${e}`, id: `enrol-${e}`, label: m.t(e === 'totp' ? 'button.setUpTotp' : e === 'sms' ? 'button.setUpSms' : 'button.setUpPasskey') })),
          state: withData(state, id, base),
        });
      case 'enrolTotp': {
        const totp = await totpEnrolContent(ctx, user, d.secret, msg.error);
        return mfaPage(ctx, { ...msg, ...totp.content, primary: verify, others: backToChoice, state: withData(state, id, { ...base, secret: totp.sealed }) });
      }
      case 'enrolPasskey':
        return passkeyPage(ctx, 'create', { heading: m.t('mfa.passkeyEnrolHeading'), intro: m.t('mfa.passkeyEnrolIntro'), ...msg, others: backToChoice }, await mfa.passkeyRegistrationOptions(ctx.tenant, user), state, base);
      case 'codes':
        return mfaPage(ctx, { ...recoveryCodesContent(ctx, d.codes!), primary: { action: 'saved', id: 'continue', label: m.t('button.savedCodes') }, state: withData(state, id, base) });
    }
  }

  function factorError(ctx: StepContext, check: FactorCheck & { ok: false }): string {
    return ctx.messages.t(check.reason === 'locked' ? 'mfa.locked' : check.reason === 'replayed' ? 'mfa.codeUsed' : 'mfa.codeWrong');
  }

  const notDue = async (ctx: StepContext, user: User) => {
    if (ctx.state.mfa === true) return true;
    if (opts.stepUpWhen) return !opts.stepUpWhen(ctx.state) || (await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id)).length === 0;
    return !(await secondFactorDue(ctx.deps, ctx.tenant, ctx.policy, user, ctx.state.amr ?? []));
  };

  return {
    id,
    async passes(ctx) {
      const user = await loadUser(ctx);
      return user !== undefined && (await notDue(ctx, user));
    },
    async enter(ctx) {
      const user = await loadUser(ctx);
      if (!user) return cancelled();
      if (await notDue(ctx, user)) return { type: 'next', state: ctx.state };
      return show(ctx, user, ctx.state);
    },

    async submit(ctx, form: FormInput) {
      const user = await loadUser(ctx);
      if (!user) return cancelled();
      const action = form.action ?? 'verify';
      if (action === 'cancel') return cancelled();
      const list = await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id);
      const factors = factorsOf(ctx, user, list, stepUp);
      const d = data(ctx.state);
      const view = d.view;
      const mfa = mfaService(ctx.deps, ctx.site);
      const to = (v: View) => show(ctx, user, withData(ctx.state, id, { view: v }));

      // Switching to another enrolled factor, or between the ways to enrol.
      const switched = (Object.keys(SWITCH) as ChallengeView[]).find((c) => SWITCH[c].action === action);
      if (switched) return factors.challenges.includes(switched) ? to(switched) : show(ctx, user, ctx.state);
      if (action === 'enrol-totp' && factors.enrolments.includes('totp')) return to('enrolTotp');
      if (action === 'enrol-passkey' && factors.enrolments.includes('passkey')) return to('enrolPasskey');
      if (action === 'enrol-sms' && factors.enrolments.includes('sms')) return to('enrolSms');
      if (action === 'back' && factors.enrolments.length > 1) return to('enrol');

      switch (view) {
        case 'totp': {
          if (!factors.challenges.includes('totp')) return show(ctx, user, withData(ctx.state, id, {}));
          const check = await mfa.checkTotp(ctx.tenant, user, form.code ?? '', auditCtx(ctx));
          return check.ok ? passed(ctx, check.amr) : show(ctx, user, ctx.state, { error: factorError(ctx, check) });
        }
        case 'recovery': {
          if (!factors.challenges.includes('recovery')) return show(ctx, user, withData(ctx.state, id, {}));
          const check = await mfa.useRecoveryCode(ctx.tenant, user, form.code ?? '', auditCtx(ctx));
          return check.ok ? passed(ctx, check.amr) : show(ctx, user, ctx.state, { error: factorError(ctx, check) });
        }
        case 'email': {
          if (!factors.challenges.includes('email') || !d.pending) return show(ctx, user, withData(ctx.state, id, {}));
          if (action === 'resend') {
            if ((d.pending.sends ?? 0) >= MAX_SENDS) return show(ctx, user, ctx.state, { error: ctx.messages.t('code.tooManySends') });
            const pending = await issueCode(ctx, user.email!, d.pending, true, { subject: 'mail.mfaSubject', body: 'mail.mfaBody' });
            return show(ctx, user, withData(ctx.state, id, { ...d, pending }), { notice: ctx.messages.t('code.resent') });
          }
          if (await mfa.locked(ctx.tenant, user.id)) return show(ctx, user, ctx.state, { error: ctx.messages.t('mfa.locked') });
          const check = checkCode(ctx, d.pending, form.code ?? '');
          if (check.ok) {
            await mfa.succeeded(ctx.tenant, user, 'email', ctx.ip, ctx.request.clientId);
            return passed(ctx, 'otp');
          }
          const counted = /^\d{6}$/.test((form.code ?? '').trim()) ? await mfa.emailCodeFailed(ctx.tenant, user, ctx.ip, ctx.request.clientId) : undefined;
          const state = check.pending ? withData(ctx.state, id, { ...d, pending: check.pending }) : ctx.state;
          return show(ctx, user, state, { error: counted && !counted.ok && counted.reason === 'locked' ? ctx.messages.t('mfa.locked') : check.error });
        }
        case 'sms': {
          const phone = smsFactorOf(list);
          if (!factors.challenges.includes('sms') || !phone) return show(ctx, user, withData(ctx.state, id, {}));
          if (action === 'resend') {
            const issued = await issueSmsCode(ctx, phone.phoneNumber, d.pending ?? {}, 'second factor', user.id);
            if (!issued.ok) return show(ctx, user, ctx.state, { error: issued.error });
            return show(ctx, user, withData(ctx.state, id, { ...d, pending: issued.pending }), { notice: ctx.messages.t('phone.codeResent') });
          }
          if (!d.pending) return show(ctx, user, ctx.state);
          if (await mfa.locked(ctx.tenant, user.id)) return show(ctx, user, ctx.state, { error: ctx.messages.t('mfa.locked') });
          const check = checkCode(ctx, d.pending, form.code ?? '');
          if (check.ok) {
            await mfa.succeeded(ctx.tenant, user, 'sms', ctx.ip, ctx.request.clientId);
            return passed(ctx, 'sms');
          }
          // Wrong codes count towards the lock shared by every factor (ten, as for passwords).
          const counted = /^\d{6}$/.test((form.code ?? '').trim()) ? await mfa.smsCodeFailed(ctx.tenant, user, ctx.ip, ctx.request.clientId) : undefined;
          const state = check.pending ? withData(ctx.state, id, { ...d, pending: check.pending }) : ctx.state;
          return show(ctx, user, state, { error: counted && !counted.ok && counted.reason === 'locked' ? ctx.messages.t('mfa.locked') : check.error });
        }
        case 'enrolSms': {
          if (!factors.enrolments.includes('sms')) return show(ctx, user, withData(ctx.state, id, {}));
          const result = await smsEnrolSubmit(ctx, user, d.sms ?? {}, action, form);
          if (result.done) return enrolled(ctx, user, 'sms');
          return show(ctx, user, withData(ctx.state, id, { ...d, sms: result.enrolment }), { ...(result.error ? { error: result.error } : {}), ...(result.notice ? { notice: result.notice } : {}) });
        }
        case 'passkey': {
          if (action !== 'passkey' || !factors.challenges.includes('passkey') || !d.challenge) return show(ctx, user, ctx.state);
          const response = parsePasskey<AuthenticationResponseJSON>(form.passkey);
          const check = response && (await mfa.verifyPasskey(ctx.tenant, response, d.challenge, { ...auditCtx(ctx), expectedUser: user }));
          if (check?.ok) return passed(ctx, check.amr);
          return show(ctx, user, ctx.state, { error: ctx.messages.t(check && !check.ok && check.reason === 'locked' ? 'mfa.locked' : 'mfa.passkeyFailed') });
        }
        case 'enrolTotp': {
          if (!factors.enrolments.includes('totp') || !d.secret) return show(ctx, user, withData(ctx.state, id, {}));
          const ok = await mfa.enrolTotp(ctx.tenant, user, ctx.deps.secrets.open(d.secret), form.code ?? '', auditCtx(ctx));
          return ok ? enrolled(ctx, user, 'otp') : show(ctx, user, ctx.state, { error: ctx.messages.t('mfa.codeWrong') });
        }
        case 'enrolPasskey': {
          if (action !== 'passkey' || !factors.enrolments.includes('passkey') || !d.challenge) return show(ctx, user, ctx.state);
          const response = parsePasskey<RegistrationResponseJSON>(form.passkey);
          const result = response && (await mfa.registerPasskey(ctx.tenant, user, response, d.challenge, auditCtx(ctx)));
          if (result?.ok) return enrolled(ctx, user, result.amr);
          return show(ctx, user, ctx.state, { error: ctx.messages.t(result && !result.ok && result.reason === 'taken' ? 'mfa.passkeyTaken' : 'mfa.passkeyFailed') });
        }
        case 'codes':
          // Shown after an enrolment that proved the factor; "I have saved them" ends the step.
          if (action === 'saved' && d.proven) return passed(ctx, d.proven);
          return show(ctx, user, ctx.state);
        default:
          return show(ctx, user, ctx.state);
      }
    },
  };
}

/** The browser's WebAuthn result, posted as JSON; anything else is no result. */
export function parsePasskey<T>(value: string | undefined): T | undefined {
  if (!value || value.length > 64 * 1024) return undefined;
  try {
    const parsed = JSON.parse(value) as unknown;
    return parsed && typeof parsed === 'object' && typeof (parsed as { id?: unknown }).id === 'string' ? (parsed as T) : undefined;
  } catch {
    return undefined;
  }
}
