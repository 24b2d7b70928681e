import { randomToken, safeEqual } from '../crypto/secrets.js';
import type { Deps } from '../services/deps.js';
import { OAuthError } from '../model/errors.js';
import type { AuthorizationRequest } from '../oauth/authorize-request.js';
import type { JourneyRecord, Tenant } from '../model/entities.js';
import { messagesFor, pickLocale } from '../model/messages/messages.js';
import type { ApiPage } from '../ui/pages/api-page.js';
import { blockPage } from '../ui/pages/messages.js';
import type { Site } from '../model/site.js';
import type { CallbackInput, FormInput, Journey, JourneyState, StepContext, StepResult } from './journey.js';

export type JourneyOutcome =
  | { type: 'page'; page: ApiPage; locale: string }
  /** Post/redirect/get: the browser reloads the journey page. */
  | { type: 'reload' }
  /** The browser goes to an upstream identity provider. */
  | { type: 'redirect'; url: string }
  | { type: 'complete'; state: JourneyState; locale: string }
  | { type: 'fail'; error: OAuthError };

export interface JourneyInput {
  deps: Deps;
  tenant: Tenant;
  journey: Journey;
  record: JourneyRecord;
  action: string;
  ip: string;
  /** The browser's Accept-Language, for the page's language when the app named none. */
  acceptLanguage?: string | undefined;
  /** Where the browser is (the host its pages, callbacks and passkeys belong to). */
  site: Site;
}

/** Guards against a misconfigured journey looping on `next`/`goto` forever. */
const MAX_TRANSITIONS = 50;

/**
 * Runs a journey: shows the current step's page (GET) or feeds it the posted form (POST), then
 * walks forward through steps that complete on their own until one needs a page or the journey ends.
 */
export async function runJourney(input: JourneyInput, form?: FormInput): Promise<JourneyOutcome> {
  return timed(input, () => run(input, form ? { form } : {}));
}

/** Journey step latency: how long the step the browser was on took to answer (to the next page or the end). */
async function timed(input: JourneyInput, work: () => Promise<JourneyOutcome>): Promise<JourneyOutcome> {
  const started = performance.now();
  const step = input.journey.steps[(input.record.state as JourneyState).step]?.id ?? 'end';
  try {
    return await work();
  } finally {
    input.deps.metrics.stepSeconds.observe({ policy: input.journey.policy.id, step }, (performance.now() - started) / 1000);
  }
}

/**
 * Feeds an upstream provider's answer to the step that sent the browser there. The answer carries no
 * CSRF token of ours: the step checks the upstream `state` it made instead.
 */
export async function resumeJourney(input: JourneyInput, callback: CallbackInput): Promise<JourneyOutcome> {
  return timed(input, () => run(input, { callback }));
}

async function run(input: JourneyInput, given: { form?: FormInput; callback?: CallbackInput }): Promise<JourneyOutcome> {
  const { deps, record, journey } = input;
  const { form, callback } = given;
  let state = record.state as JourneyState;
  let csrf = record.csrf;
  const request = record.request as AuthorizationRequest;
  const policy = journey.policy;
  const messages = messagesFor(pickLocale({ uiLocales: request.uiLocales, policyLocale: policy.ui.locale, acceptLanguage: input.acceptLanguage }), policy.ui.strings);

  const ctxFor = (s: JourneyState): StepContext => ({
    deps,
    journeyId: record.id,
    tenant: input.tenant,
    policy: journey.policy,
    request,
    state: s,
    action: input.action,
    csrf,
    ip: input.ip,
    messages,
    site: input.site,
  });

  let result: StepResult;
  const current = journey.steps[state.step];
  if (form) {
    if (!safeEqual(form.csrf ?? '', record.csrf)) {
      throw new OAuthError('access_denied', 'The form has expired or was not sent by this page; please try again.', {
        redirectable: false,
        status: 403,
      });
    }
    if (!current) return { type: 'complete', state, locale: messages.locale };
    result = await current.submit(ctxFor(state), form);
    // A fresh CSRF token per accepted form, so a replayed post is refused.
    if (result.type !== 'page') csrf = randomToken(24);
  } else if (callback) {
    if (!current?.resume) {
      throw new OAuthError('invalid_request', 'This sign-in is not waiting for an identity provider; please start again from the application.', {
        redirectable: false,
      });
    }
    result = await current.resume(ctxFor(state), callback);
    if (result.type !== 'page') csrf = randomToken(24);
  } else {
    if (!current) return { type: 'complete', state, locale: messages.locale };
    result = await current.enter(ctxFor(state));
  }

  for (let i = 0; i < MAX_TRANSITIONS; i++) {
    switch (result.type) {
      case 'fail':
        await deps.store.deleteJourney(record.id);
        return { type: 'fail', error: result.error };
      case 'block':
        await deps.store.deleteJourney(record.id);
        return { type: 'page', page: blockPage(result.message, policy.ui.title ?? input.tenant.displayName, messages), locale: messages.locale };
      case 'page':
        if (result.state) state = result.state;
        if (csrf !== record.csrf || state !== record.state) await deps.store.updateJourney(record.id, state, csrf);
        return { type: 'page', page: result.page, locale: messages.locale };
      case 'redirect':
        await deps.store.updateJourney(record.id, result.state, csrf);
        return { type: 'redirect', url: result.url };
      case 'next':
      case 'goto': {
        const target = result.type === 'goto' ? result.step : undefined;
        let nextIndex = target === undefined ? state.step + 1 : journey.steps.findIndex((s) => s.id === target);
        if (nextIndex < 0) throw new Error(`journey of ${journey.policy.id} has no step ${target}`);
        state = { ...result.state, step: nextIndex };
        if (form || callback) {
          // Steps with nothing to show (no second factor due, a first-party app…) are passed here.
          for (let s = journey.steps[nextIndex]; s?.passes && (await s.passes(ctxFor(state))); s = journey.steps[nextIndex]) {
            nextIndex += 1;
            state = { ...state, step: nextIndex };
          }
        }
        const step = journey.steps[nextIndex];
        if (!step) {
          await deps.store.deleteJourney(record.id);
          return { type: 'complete', state, locale: messages.locale };
        }
        if (form || callback) {
          // After a form post (or a provider's answer), let the browser GET the next page (post/redirect/get).
          await deps.store.updateJourney(record.id, state, csrf);
          return { type: 'reload' };
        }
        result = await step.enter(ctxFor(state));
        break;
      }
    }
  }
  throw new Error(`journey of ${journey.policy.id} did not settle`);
}
