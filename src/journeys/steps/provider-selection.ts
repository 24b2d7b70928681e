import { providerSelectionPage } from '../../ui/pages/sign-in.js';
import type { JourneyState, Step, StepContext, StepResult } from '../journey.js';
import { cancelled, stepData } from './common.js';
import { FEDERATION_KEY, chooseProvider, hintedProvider, offeredProviders, postedProvider, signInPageResult, takeFederationError } from './providers.js';

/**
 * The first page of a policy without local accounts: a button per identity provider. With a single
 * provider (or a `domain_hint` naming one) the browser goes straight to it, as B2C's direct sign-in does.
 */
export function providerSelection(id: string): Step {
  function render(ctx: StepContext, error?: string, state?: JourneyState): StepResult {
    return signInPageResult(ctx, providerSelectionPage, { error }, state);
  }
  return {
    id,
    async enter(ctx) {
      if (ctx.state.userId) return { type: 'next', state: ctx.state };
      const { message, state } = takeFederationError(ctx);
      // After a failed attempt the page is shown (with why), rather than going straight back.
      const attempted = stepData<{ provider: string }>(ctx.state, FEDERATION_KEY).provider !== undefined;
      if (!message && !attempted) {
        const providers = offeredProviders(ctx);
        const direct = hintedProvider(ctx) ?? (providers.length === 1 ? providers[0] : undefined);
        if (direct) return chooseProvider(ctx.state, direct);
      }
      return render(ctx, message, message ? state : undefined);
    },
    async submit(ctx, form) {
      if (form.action === 'cancel') return cancelled();
      const provider = postedProvider(ctx, form.action);
      if (provider) return chooseProvider(ctx.state, provider);
      return render(ctx, ctx.messages.t('signIn.chooseProvider'));
    },
  };
}
