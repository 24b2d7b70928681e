import type { ConnectorStep } from '../../connectors/api-connector.js';
import { returnedClaims, type ConnectorSubject } from '../../connectors/attributes.js';
import type { OAuthError } from '../../model/errors.js';
import { callConnector } from '../../services/api-connectors.js';
import type { StepContext, StepResult } from '../journey.js';
import type { Policy } from '../../model/policy.js';

export { connectorFailure } from '../../services/api-connectors.js';

/** The connector of a journey step, with the step's context. */
export function callStepConnector(ctx: StepContext, step: ConnectorStep, subject: ConnectorSubject): ReturnType<typeof callConnector> {
  return callConnector(ctx.deps, { tenant: ctx.tenant, policy: ctx.policy, step, subject, clientId: ctx.request.clientId, locale: ctx.messages.locale, ip: ctx.ip });
}

/** Claims a sign-up connector may fill in: the attributes the policy collects and the user's name fields. */
export function attributeClaimsOf(policy: Policy): Set<string> {
  return new Set(['given_name', 'family_name', 'name', ...policy.signUp.attributes.map((a) => a.claim)]);
}

/**
 * Returned claims written over the values collected so far, as the form would have sent them (a
 * boolean attribute as 'true'/'false', text cut to the attribute's length).
 */
export function applyReturnedClaims(ctx: StepContext, values: Record<string, string>, returned: Record<string, unknown>): Record<string, string> {
  const allowed = attributeClaimsOf(ctx.policy);
  const { taken, ignored } = returnedClaims(ctx.tenant, returned, (c) => allowed.has(c));
  if (ignored.length > 0) ctx.deps.logger.info({ policy: ctx.policy.id, ignored }, 'API connector returned claims the policy does not collect; ignored');
  const out = { ...values };
  for (const [claim, value] of Object.entries(taken)) {
    const attr = ctx.policy.signUp.attributes.find((a) => a.claim === claim);
    if (attr?.type === 'boolean') out[claim] = value === true || value === 'true' ? 'true' : 'false';
    else out[claim] = (typeof value === 'string' ? value : JSON.stringify(value)).slice(0, attr?.maxLength ?? 256);
  }
  return out;
}

/** A connector outcome that ends the step: a block page, or the failure sent to the app. */
export function endingResult(outcome: { action: 'block'; userMessage: string } | { action: 'failed'; error: OAuthError }): StepResult {
  return outcome.action === 'block' ? { type: 'block', message: outcome.userMessage } : { type: 'fail', error: outcome.error };
}
