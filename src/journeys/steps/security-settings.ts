import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { MfaService, mfaService, smsFactorOf } from '../../services/mfa.js';
import { maskPhone } from '../../model/phone.js';
import type { User } from '../../model/entities.js';
import type { FormButton } from '../../ui/pages/form-page.js';
import { maskAddress, passkeyButton } from '../../ui/pages/mfa.js';
import { recoveryCodesContent, sealCodes, smsEnrolContent, smsEnrolSubmit, totpEnrolContent, type SmsEnrolment } from './factor-pages.js';
import type { JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { cancelButton, cancelled, page, stepData, withData } from './common.js';
import { parsePasskey } from './mfa.js';

/**
 * Profile edit's security settings: the user turns e-mail codes on or off, sets up or removes an
 * authenticator app or a phone for text-message codes, adds or removes passkeys, and makes new recovery codes, within the policy's
 * `mfa.methods`. Reached from the profile page's "Security settings" button (a step the journey
 * otherwise passes through) and left with "Done", back to the profile.
 */

type View = 'list' | 'enrolTotp' | 'enrolPasskey' | 'enrolSms' | 'codes';

interface SecurityData {
  /** Set by the profile page's button: the step shows itself only then. */
  open: boolean;
  view: View;
  secret: string;
  challenge: string;
  codes: string;
  notice: string;
  /** A phone being enrolled for text-message codes. */
  sms: SmsEnrolment;
}

export const SECURITY_STEP = 'securitySettings';
/** The step-up check right before the security settings (compile.ts places it there). */
export const SECURITY_STEP_UP = 'securityStepUp';

/** Whether the user opened the security settings (the step-up check is due only then). */
export function securitySettingsOpen(state: JourneyState): boolean {
  return stepData<SecurityData>(state, SECURITY_STEP).open === true;
}

/**
 * Changing factors needs a second factor proven in this journey (or by its SSO session) whenever the
 * user has any: the password alone never removes, replaces or adds a factor of an account that has
 * one, nor makes recovery codes, whatever the profile-edit policy's `mfa` says.
 */
async function stepUpNeeded(ctx: StepContext, user: User): Promise<boolean> {
  if (ctx.state.mfa === true) return false;
  return (await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id)).length > 0;
}

export function securitySettings(profileStep: string): Step {
  const id = SECURITY_STEP;
  const data = (s: JourneyState) => stepData<SecurityData>(s, id);
  const auditCtx = (ctx: StepContext) => ({ ip: ctx.ip, clientId: ctx.request.clientId });
  const secondary = (action: string, label: string, skip = true): FormButton => ({ action, id: action.replace(/[^\w-]/g, '-'), label, secondary: true, skipValidation: skip });

  async function show(ctx: StepContext, user: User, state: JourneyState, msg: { error?: string; notice?: string } = {}): Promise<StepResult> {
    const m = ctx.messages;
    const d = data(state);
    const methods = ctx.policy.mfa.methods;
    const mfa = mfaService(ctx.deps, ctx.site);
    const view = d.view ?? 'list';
    const title = { pageType: 'multifactor' as const, error: msg.error, notice: msg.notice ?? d.notice };
    switch (view) {
      case 'enrolTotp': {
        const totp = await totpEnrolContent(ctx, user, d.secret, msg.error);
        return {
          ...page(ctx, { ...title, ...totp.content, buttons: [{ action: 'confirm-totp', id: 'verifyCode', label: m.t('button.verify') }, secondary('back', m.t('button.back'))] }),
          state: withData(state, id, { ...d, view, secret: totp.sealed, notice: '' }),
        };
      }
      case 'enrolPasskey': {
        const options = await mfa.passkeyRegistrationOptions(ctx.tenant, user);
        return {
          ...page(ctx, {
            ...title,
            heading: m.t('mfa.passkeyEnrolHeading'),
            intro: m.t('mfa.passkeyEnrolIntro'),
            extra: passkeyButton(m, { mode: 'create', options, action: 'confirm-passkey' }),
            fields: [],
            buttons: [secondary('back', m.t('button.back'))],
          }),
          state: withData(state, id, { ...d, view, challenge: options.challenge, notice: '' }),
        };
      }
      case 'enrolSms': {
        const { content, phase } = smsEnrolContent(ctx, d.sms ?? {}, msg.error);
        const buttons: FormButton[] = phase === 'number'
          ? [{ action: 'send-sms', id: 'sendCode', label: m.t('button.sendCode') }, secondary('back', m.t('button.back'))]
          : [{ action: 'verify-sms', id: 'verifyCode', label: m.t('button.verify') }, secondary('resend', m.t('button.resendCode')), secondary('change', m.t('button.changeNumber')), secondary('back', m.t('button.back'))];
        return { ...page(ctx, { ...title, ...content, buttons }), state: withData(state, id, { ...d, view, notice: '' }) };
      }
      case 'codes':
        return {
          ...page(ctx, { ...title, ...recoveryCodesContent(ctx, d.codes!), buttons: [{ action: 'back', id: 'continue', label: m.t('button.savedCodes') }] }),
          state: withData(state, id, { ...d, view, notice: '' }),
        };
      case 'list': {
        const list = await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id);
        const facts: { id: string; label: string; value: string }[] = [];
        const buttons: FormButton[] = [];
        const totp = list.find((a) => a.kind === 'totp');
        if (methods.includes('totp')) {
          facts.push({ id: 'totpStatus', label: m.t('security.totp'), value: m.t(totp ? 'security.on' : 'security.off') });
          buttons.push(secondary('enrol-totp', m.t('button.setUpTotp')));
          if (totp) buttons.push(secondary(`remove:${totp.id}`, `${m.t('button.remove')}: ${m.t('security.totp')}`));
        }
        if (methods.includes('email') && user.email !== null && user.emailVerified) {
          const on = list.some((a) => a.kind === 'email');
          facts.push({ id: 'emailStatus', label: m.t('security.email', { address: maskAddress(user.email) }), value: m.t(on ? 'security.on' : 'security.off') });
          buttons.push(secondary(on ? 'email-off' : 'email-on', `${m.t(on ? 'button.turnOff' : 'button.turnOn')}: ${m.t('security.email', { address: maskAddress(user.email) })}`));
        }
        if (methods.includes('sms')) {
          const phone = smsFactorOf(list);
          facts.push({ id: 'smsStatus', label: m.t('security.sms'), value: phone ? maskPhone(phone.phoneNumber) : m.t('security.off') });
          buttons.push(secondary('enrol-sms', m.t('button.setUpSms')));
          if (phone) buttons.push(secondary(`remove:${phone.id}`, `${m.t('button.remove')}: ${m.t('security.sms')}`));
        }
        if (methods.includes('passkey')) {
          const passkeys = list.filter((a) => a.kind === 'passkey');
          facts.push({ id: 'passkeyList', label: m.t('security.passkeys'), value: passkeys.length > 0 ? passkeys.map((p) => p.label ?? '').join(', ') : m.t('security.none') });
          buttons.push(secondary('enrol-passkey', m.t('button.createPasskey')));
          for (const p of passkeys) buttons.push(secondary(`remove:${p.id}`, `${m.t('button.remove')}: ${p.label ?? ''}`));
        }
        const left = MfaService.recoveryCodesLeft(list);
        if (list.some((a) => a.kind === 'totp' || a.kind === 'passkey' || a.kind === 'sms') || left !== undefined) {
          facts.push({ id: 'recoveryStatus', label: m.t('security.recovery', { count: left ?? 0 }), value: '' });
          buttons.push(secondary('new-codes', m.t('button.newCodes')));
        }
        return {
          ...page(ctx, { ...title, heading: m.t('security.heading'), facts, fields: [], buttons: [{ action: 'done', id: 'done', label: m.t('button.done') }, ...buttons, cancelButton(ctx)] }),
          state: withData(state, id, { open: true, view: 'list' }),
        };
      }
    }
  }

  return {
    id,
    passes: async (ctx) => !data(ctx.state).open,
    async enter(ctx) {
      if (!data(ctx.state).open) return { type: 'next', state: ctx.state };
      const user = ctx.state.userId ? await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId) : undefined;
      if (!user) return cancelled();
      if (await stepUpNeeded(ctx, user)) return { type: 'goto', step: SECURITY_STEP_UP, state: ctx.state };
      return show(ctx, user, ctx.state);
    },
    async submit(ctx, form) {
      const user = ctx.state.userId ? await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId) : undefined;
      if (!user || user.disabled) return cancelled();
      const action = form.action ?? '';
      const d = data(ctx.state);
      const methods = ctx.policy.mfa.methods;
      const mfa = mfaService(ctx.deps, ctx.site);
      const list = (notice = '') => show(ctx, user, withData(ctx.state, id, { open: true, view: 'list', notice }));
      const m = ctx.messages;
      if (action === 'cancel') return cancelled();
      if (action === 'done') return { type: 'goto', step: profileStep, state: withData(ctx.state, id, {}) };
      // Every other action shows or changes factors: not before the step-up check (a forged post too).
      if (await stepUpNeeded(ctx, user)) return { type: 'goto', step: SECURITY_STEP_UP, state: withData(ctx.state, id, { open: true, view: 'list' }) };
      if (action === 'back') return list();
      if (action === 'enrol-totp' && methods.includes('totp')) return show(ctx, user, withData(ctx.state, id, { open: true, view: 'enrolTotp' }));
      if (action === 'enrol-passkey' && methods.includes('passkey')) return show(ctx, user, withData(ctx.state, id, { open: true, view: 'enrolPasskey' }));
      if (action === 'enrol-sms' && methods.includes('sms')) return show(ctx, user, withData(ctx.state, id, { open: true, view: 'enrolSms' }));
      if ((action === 'email-on' || action === 'email-off') && methods.includes('email') && user.emailVerified) {
        await mfa.setEmailFactor(ctx.tenant, user, action === 'email-on', auditCtx(ctx));
        return list();
      }
      if (action.startsWith('remove:')) {
        // Only what the page offers: the authenticator app, the SMS phone and passkeys, as the policy's methods allow.
        const current = await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id);
        const target = current.find((a) => a.id === action.slice(7));
        const offered = (k: string) => target?.kind === k && (methods as readonly string[]).includes(k);
        if (target && (offered('totp') || offered('passkey') || (offered('sms') && smsFactorOf(current)?.id === target.id))) {
          await mfa.remove(ctx.tenant, user, target.id, auditCtx(ctx));
        }
        return list();
      }
      const showCodes = async (base: JourneyState = ctx.state) => {
        const codes = await mfa.regenerateRecoveryCodes(ctx.tenant, user, auditCtx(ctx));
        return show(ctx, user, withData(base, id, { open: true, view: 'codes', codes: sealCodes(ctx, codes) }));
      };
      if (action === 'new-codes') {
        const current = await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id);
        return current.some((a) => a.kind === 'totp' || a.kind === 'passkey' || a.kind === 'sms') || MfaService.recoveryCodesLeft(current) !== undefined ? showCodes() : list();
      }
      /**
       * An enrolment confirmed the new factor (a code from the app, a passkey's signature): it is proven
       * in this journey. The first factor of its kind also gets recovery codes (shown once).
       */
      const afterEnrolment = async (amr: string) => {
        const base: JourneyState = { ...ctx.state, mfa: true, amr: [...new Set([...(ctx.state.amr ?? []), amr, 'mfa'])] };
        if ((MfaService.recoveryCodesLeft(await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id)) ?? 0) > 0) return show(ctx, user, withData(base, id, { open: true, view: 'list', notice: '' }));
        return showCodes(base);
      };
      if (action === 'confirm-totp' && d.view === 'enrolTotp' && d.secret) {
        const ok = await mfa.enrolTotp(ctx.tenant, user, ctx.deps.secrets.open(d.secret), form.code ?? '', auditCtx(ctx));
        return ok ? afterEnrolment('otp') : show(ctx, user, ctx.state, { error: m.t('mfa.codeWrong') });
      }
      if (d.view === 'enrolSms' && methods.includes('sms') && ['send-sms', 'resend', 'change', 'verify-sms'].includes(action)) {
        const result = await smsEnrolSubmit(ctx, user, d.sms ?? {}, action, form);
        if (result.done) return afterEnrolment('sms');
        return show(ctx, user, withData(ctx.state, id, { ...d, sms: result.enrolment }), { ...(result.error ? { error: result.error } : {}), ...(result.notice ? { notice: result.notice } : {}) });
      }
      if (action === 'confirm-passkey' && d.view === 'enrolPasskey' && d.challenge) {
        const response = parsePasskey<RegistrationResponseJSON>(form.passkey);
        const result = response && (await mfa.registerPasskey(ctx.tenant, user, response, d.challenge, auditCtx(ctx)));
        if (result?.ok) return afterEnrolment(result.amr);
        return show(ctx, user, ctx.state, { error: m.t(result && !result.ok && result.reason === 'taken' ? 'mfa.passkeyTaken' : 'mfa.passkeyFailed') });
      }
      return show(ctx, user, ctx.state);
    },
  };
}

/** The profile page's "Security settings" button opens the step. */
export function openSecuritySettings(state: JourneyState): JourneyState {
  return withData(state, SECURITY_STEP, { open: true, view: 'list' });
}
