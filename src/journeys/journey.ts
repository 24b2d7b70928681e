import type { Deps } from '../services/deps.js';
import type { OAuthError } from '../model/errors.js';
import type { AuthorizationRequest } from '../oauth/authorize-request.js';
import type { Tenant } from '../model/entities.js';
import type { Messages } from '../model/messages/messages.js';
import type { ApiPage } from '../ui/pages/api-page.js';
import type { Policy } from '../model/policy.js';
import type { Site } from '../model/site.js';

/** What a journey has established so far; persisted between pages. */
export interface JourneyState {
  /** Index of the current step. */
  step: number;
  /** The authenticated (or newly created) user. */
  userId?: string;
  idp?: string;
  newUser?: boolean;
  /** Epoch seconds of the interactive authentication, when the journey did one. */
  authTime?: number;
  /** The user authenticated on a page of this journey (so a new SSO session starts). */
  interactive?: boolean;
  /** What the journey's authentication proved so far (RFC 8176 `amr`: pwd, fed, otp, hwk, swk). */
  amr?: string[];
  /** A second factor (or a passkey) was proven here or by the SSO session this journey runs on. */
  mfa?: boolean;
  /** "Keep me signed in" was ticked: the SSO cookie outlives the browser session. */
  kmsi?: boolean;
  /** The upstream provider's access token, sealed (for the `idp_access_token` claim). */
  idpAccessToken?: string;
  /** Step-private data (typed values kept across pages, pending codes…), by step id. */
  data: Record<string, Record<string, unknown>>;
}

export interface StepContext {
  deps: Deps;
  /** The journey's id (an upstream round trip's state names it). */
  journeyId: string;
  tenant: Tenant;
  policy: Policy;
  request: AuthorizationRequest;
  state: JourneyState;
  /** Where the page's form posts to. */
  action: string;
  csrf: string;
  /** Client address, for logs and audit. */
  ip: string;
  /** The page's language (ui_locales, the policy's, the browser's) with the policy's overrides. */
  messages: Messages;
  /** Where the browser is: upstream callbacks and passkeys' relying party are this host's. */
  site: Site;
}

export type FormInput = Record<string, string>;

export type StepResult =
  /** Show a page; `state` when the step changed what it remembers (attempts, a sent code…). */
  | { type: 'page'; page: ApiPage; state?: JourneyState }
  /** The step is done; continue with the next one. */
  | { type: 'next'; state: JourneyState }
  /** Jump to the step with this id (e.g. "Sign up now" from the sign-in page). */
  | { type: 'goto'; step: string; state: JourneyState }
  /** Send the browser elsewhere (an upstream identity provider); the journey waits for it to come back. */
  | { type: 'redirect'; url: string; state: JourneyState }
  /** End the journey with a protocol error sent to the app (cancel, forgot password…). */
  | { type: 'fail'; error: OAuthError }
  /** End the journey on a page that says why (an API connector's ShowBlockPage); the app hears nothing. */
  | { type: 'block'; message: string };

/** What came back to the journey from an upstream identity provider (its callback's fields). */
export interface CallbackInput {
  providerId: string;
  method: 'GET' | 'POST';
  params: Record<string, string>;
}

/**
 * One unit of a journey: renders a page or completes on its own, and accepts that page's form. A step
 * that sent the browser to an upstream provider takes its answer in `resume`.
 */
export interface Step {
  readonly id: string;
  enter(ctx: StepContext): Promise<StepResult>;
  submit(ctx: StepContext, form: FormInput): Promise<StepResult>;
  resume?(ctx: StepContext, callback: CallbackInput): Promise<StepResult>;
  /**
   * Whether `enter` would only pass the journey on (return `next` with the state unchanged), found
   * without side effects. After a form post the engine skips such steps, so a journey whose remaining
   * steps have nothing to show ends in the same answer instead of one more browser round trip.
   */
  passes?(ctx: StepContext): Promise<boolean>;
}

export interface Journey {
  policy: Policy;
  steps: Step[];
}

export function newJourneyState(): JourneyState {
  return { step: 0, data: {} };
}
