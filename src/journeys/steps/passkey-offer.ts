import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { MfaService, mfaService } from '../../services/mfa.js';
import { passkeyButton } from '../../ui/pages/mfa.js';
import { recoveryCodesContent, sealCodes } from './factor-pages.js';
import type { JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { page, stepData, withData } from './common.js';
import { parsePasskey } from './mfa.js';

interface OfferData {
  challenge: string;
  /** Recovery codes of a first passkey, shown once (sealed). */
  codes: string;
}

/**
 * After a sign-up, under a policy that offers passkeys: "Create a passkey" for the next sign-in, or
 * "Not now". Skipping needs no JavaScript; creating one does (WebAuthn). A first passkey comes with
 * recovery codes, shown once, as at any enrolment.
 */
export function passkeyOffer(id = 'passkeyOffer'): Step {
  const data = (s: JourneyState) => stepData<OfferData>(s, id);
  const done = (ctx: StepContext): StepResult => ({ type: 'next', state: withData(ctx.state, id, {}) });

  async function offer(ctx: StepContext, state: JourneyState, error?: string): Promise<StepResult> {
    const user = (await ctx.deps.store.findUser(ctx.tenant.id, state.userId!))!;
    const options = await mfaService(ctx.deps, ctx.site).passkeyRegistrationOptions(ctx.tenant, user);
    const m = ctx.messages;
    return {
      ...page(ctx, {
        pageType: 'multifactor',
        heading: m.t('mfa.passkeyEnrolHeading'),
        intro: m.t('mfa.passkeyEnrolIntro'),
        error,
        extra: passkeyButton(m, { mode: 'create', options, action: 'create' }),
        fields: [],
        buttons: [{ action: 'skip', id: 'skip', label: m.t('button.notNow'), secondary: true, skipValidation: true }],
      }),
      state: withData(state, id, { challenge: options.challenge }),
    };
  }

  /** Only right after a local sign-up, and only once: not for a user who has a passkey (and no codes to show). */
  async function passes(ctx: StepContext): Promise<boolean> {
    if (!ctx.state.newUser || ctx.state.idp !== 'local' || !ctx.state.userId || !ctx.policy.mfa.methods.includes('passkey')) return true;
    if (data(ctx.state).codes) return false;
    const mfa = mfaService(ctx.deps, ctx.site);
    return (await ctx.deps.store.listAuthenticators(ctx.tenant.id, ctx.state.userId)).some((a) => mfa.passkeyHere(a));
  }

  return {
    id,
    passes,
    async enter(ctx) {
      if (await passes(ctx)) return { type: 'next', state: ctx.state };
      const d = data(ctx.state);
      if (d.codes) return page(ctx, { pageType: 'multifactor', ...recoveryCodesContent(ctx, d.codes), buttons: [{ action: 'saved', id: 'continue', label: ctx.messages.t('button.savedCodes') }] });
      return offer(ctx, ctx.state);
    },
    async submit(ctx, form) {
      const d = data(ctx.state);
      if (form.action === 'skip' || form.action === 'saved' || !ctx.state.userId) return done(ctx);
      if (form.action !== 'create' || !d.challenge) return offer(ctx, ctx.state);
      const user = await ctx.deps.store.findUser(ctx.tenant.id, ctx.state.userId);
      if (!user) return done(ctx);
      const mfa = mfaService(ctx.deps, ctx.site);
      const response = parsePasskey<RegistrationResponseJSON>(form.passkey);
      const result = response && (await mfa.registerPasskey(ctx.tenant, user, response, d.challenge, { ip: ctx.ip, clientId: ctx.request.clientId }));
      if (!result?.ok) return offer(ctx, ctx.state, ctx.messages.t(result && !result.ok && result.reason === 'taken' ? 'mfa.passkeyTaken' : 'mfa.passkeyFailed'));
      if ((MfaService.recoveryCodesLeft(await ctx.deps.store.listAuthenticators(ctx.tenant.id, user.id)) ?? 0) > 0) return done(ctx);
      const codes = await mfa.regenerateRecoveryCodes(ctx.tenant, user, { ip: ctx.ip, clientId: ctx.request.clientId });
      // Post/redirect/get: the codes page is shown by the next GET of this step (codes kept sealed until then).
      return { type: 'goto', step: id, state: withData(ctx.state, id, { codes: sealCodes(ctx, codes) }) };
    },
  };
}
