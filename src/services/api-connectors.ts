import { ConnectorError, type ConnectorOutcome, type ConnectorStep } from '../connectors/api-connector.js';
import { connectorRequest, PROTECTED_TOKEN_CLAIMS, returnedClaims, subjectOf, type ConnectorSubject } from '../connectors/attributes.js';
import type { Deps } from './deps.js';
import type { Policy } from '../model/policy.js';
import { tokenClaimOf } from '../model/token-claims.js';
import { OAuthError } from '../model/errors.js';
import type { Tenant, User } from '../model/entities.js';
import { resolveSecret } from './tenant-secrets.js';

/**
 * An API connector's failure as the error the app receives: nothing was created. The app learns what
 * kind of failure it was, never the connector's address or the network's words (those are in the
 * audit log): a tenant's connector must not become a way to probe the server's network.
 */
export function connectorFailure(step: ConnectorStep, err: ConnectorError): OAuthError {
  const code = err.kind === 'invalid_response' ? 'server_error' : 'temporarily_unavailable';
  const what = err.kind === 'timeout' ? 'did not answer in time' : err.kind === 'unreachable' ? 'could not be reached' : 'sent an answer that could not be used';
  return new OAuthError(code, `The API connector called at ${step} ${what}; the sign-in stopped and nothing was created.`);
}

/**
 * Calls a policy's API connector for `step`, audited with the outcome and the attempts made. A policy
 * without one continues with nothing returned.
 */
export async function callConnector(
  deps: Deps,
  o: { tenant: Tenant; policy: Policy; step: ConnectorStep; subject: ConnectorSubject; clientId: string; locale: string; ip: string },
): Promise<ConnectorOutcome | { action: 'failed'; error: OAuthError }> {
  const connector = o.policy.apiConnectors[o.step];
  if (!connector) return { action: 'continue', claims: {} };
  const base = { tenantId: o.tenant.id, event: 'api_connector' as const, clientId: o.clientId, ip: o.ip, ...(o.subject.objectId ? { subject: o.subject.objectId } : {}) };
  try {
    const { outcome, attempts } = await deps.connectors.call(connector, connectorRequest(o.tenant, o.step, o.subject, o.clientId, o.locale), (ref) => resolveSecret(deps, o.tenant.id, ref));
    await deps.audit.record({ ...base, outcome: 'success', detail: `${o.policy.id} ${o.step} ${new URL(connector.url).host}: ${outcome.action} (${attempts} ${attempts === 1 ? 'attempt' : 'attempts'})` });
    return outcome;
  } catch (err) {
    if (!(err instanceof ConnectorError)) throw err;
    await deps.audit.record({ ...base, outcome: 'failure', detail: `${o.policy.id} ${o.step} ${new URL(connector.url).host}: ${err.kind}: ${err.message} (${err.attempts} ${err.attempts === 1 ? 'attempt' : 'attempts'})` });
    return { action: 'failed', error: connectorFailure(o.step, err) };
  }
}

/** What the preTokenIssuance connector decided for a token response. */
export type PreTokenOutcome = { type: 'claims'; claims: Record<string, unknown> } | { type: 'block'; message: string } | { type: 'failed'; error: OAuthError };

/**
 * B2C's "before sending the token" connector: called whenever a policy that has one is about to answer
 * an app with a user's tokens (after a journey, or on the SSO session). Returned claims go into the
 * tokens when the policy lists them in `outputClaims`; claims that identify the user, the issuer or
 * the token are never taken.
 */
export async function preTokenIssuance(deps: Deps, o: { tenant: Tenant; policy: Policy; clientId: string; user: User; locale: string; ip: string }): Promise<PreTokenOutcome> {
  if (!o.policy.apiConnectors.preTokenIssuance) return { type: 'claims', claims: {} };
  const identities = await deps.store.listUserIdentities(o.tenant.id, o.user.id);
  const answer = await callConnector(deps, { ...o, step: 'preTokenIssuance', subject: subjectOf(o.tenant, o.user, identities) });
  switch (answer.action) {
    case 'continue': {
      const outputs = (c: string) => tokenClaimOf(o.policy.outputClaims, c);
      const { taken, ignored } = returnedClaims(o.tenant, answer.claims, (c) => outputs(c) !== undefined && !PROTECTED_TOKEN_CLAIMS.has(outputs(c)!));
      if (ignored.length > 0) deps.logger.info({ policy: o.policy.id, ignored }, 'preTokenIssuance connector returned claims the policy does not output (or may not be changed); ignored');
      // Under the name the policy outputs it by (extension_loyaltyNumber for the attribute loyaltyNumber).
      return { type: 'claims', claims: Object.fromEntries(Object.entries(taken).map(([c, v]) => [outputs(c)!, v])) };
    }
    case 'block':
      return { type: 'block', message: answer.userMessage };
    case 'validation':
      return { type: 'failed', error: connectorFailure('preTokenIssuance', new ConnectorError('invalid_response', 'answered ValidationError, which B2C allows only after attribute collection', 1)) };
    case 'failed':
      return { type: 'failed', error: answer.error };
  }
}
