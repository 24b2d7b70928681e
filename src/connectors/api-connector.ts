import type { RequestOptions } from 'node:https';
import type { ApiConnector } from '../model/policy.js';
import { isServerSetting, type SecretRef } from '../model/secret-ref.js';
import { OutboundError, type OutboundClient } from '../outbound/outbound-client.js';

/**
 * B2C's API connectors: a REST endpoint of the customer's, called during sign-up and before tokens
 * are issued, with B2C's request and response contract, so the endpoints teams wrote for B2C answer
 * Latchkey unchanged.
 *
 * Request: `POST` JSON with the user's attributes in Graph's names, `step`, `ui_locales` and the app's id
 * (`client_id` during sign-up, `clientId` before the token, as B2C sends them).
 * Answers: `200 {"version":"1.0.0","action":"Continue", …claims}`, `200 {"action":"ShowBlockPage",
 * "userMessage"}`, `400 {"action":"ValidationError","status":400,"userMessage"}`. Anything else fails.
 */
export const CONNECTOR_STEPS = ['postFederationSignup', 'postAttributeCollection', 'preTokenIssuance'] as const;
export type ConnectorStep = (typeof CONNECTOR_STEPS)[number];

/** The `step` value B2C sends for each (its user flows' "Before sending the token" step is PreTokenApplicationClaims). */
export const B2C_STEP: Record<ConnectorStep, string> = {
  postFederationSignup: 'PostFederationSignup',
  postAttributeCollection: 'PostAttributeCollection',
  preTokenIssuance: 'PreTokenApplicationClaims',
};

export type ConnectorOutcome =
  | { action: 'continue'; claims: Record<string, unknown> }
  | { action: 'block'; userMessage: string }
  | { action: 'validation'; userMessage: string };

export type ConnectorFailure = 'timeout' | 'unreachable' | 'invalid_response';

export class ConnectorError extends Error {
  constructor(
    readonly kind: ConnectorFailure,
    message: string,
    readonly attempts: number,
  ) {
    super(message);
    this.name = 'ConnectorError';
  }
}

const MAX_RESPONSE_BYTES = 64 * 1024;
const MAX_MESSAGE = 1024;

/** Reads the value a secret reference names (a tenant secret, or an environment variable the operator chose). */
export type SecretResolver = (ref: SecretRef) => Promise<string | undefined>;

/** The secrets a connector's `auth` names, looked up when the call is made. */
async function authOptions(c: ApiConnector, resolve: SecretResolver): Promise<{ headers: Record<string, string>; tls: Pick<RequestOptions, 'pfx' | 'passphrase'> }> {
  const secret = async (ref: SecretRef) => {
    const v = await resolve(ref);
    if (v === undefined || v === '') throw new ConnectorError('unreachable', `${'env' in ref ? `the environment variable ${ref.env}` : `the tenant secret '${ref.secret}'`} is not set`, 0);
    return v;
  };
  switch (c.auth.type) {
    case 'basic':
      return { headers: { authorization: `Basic ${Buffer.from(`${c.auth.username}:${await secret(c.auth.password)}`).toString('base64')}` }, tls: {} };
    case 'bearer':
      return { headers: { authorization: `Bearer ${await secret(c.auth.token)}` }, tls: {} };
    case 'clientCertificate':
      return { headers: {}, tls: { pfx: Buffer.from(await secret(c.auth.pfx), 'base64'), ...(c.auth.passphrase ? { passphrase: await secret(c.auth.passphrase) } : {}) } };
  }
}

interface RawAnswer {
  status: number;
  body: string;
}

/**
 * One POST through the outbound client (the address policy and its pinned connection); a timeout
 * covers the whole exchange (connect, answer, body). A redirect is not followed: it is the answer.
 */
async function post(outbound: OutboundClient, url: URL, body: string, headers: Record<string, string>, tls: Pick<RequestOptions, 'pfx' | 'passphrase'>, timeoutMs: number): Promise<RawAnswer> {
  const answer = await outbound.request(url, {
    purpose: 'API connector',
    method: 'POST',
    headers: { 'content-type': 'application/json; charset=utf-8', accept: 'application/json', ...headers },
    body,
    timeoutMs,
    maxBytes: MAX_RESPONSE_BYTES,
    redirect: 'manual',
    tls: { ...(tls.pfx !== undefined ? { pfx: tls.pfx as Buffer } : {}), ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase } : {}) },
  });
  return { status: answer.status, body: answer.body.toString('utf8') };
}

/** Reads an answer by B2C's contract; undefined when it follows none of its shapes. */
function interpret(answer: RawAnswer): ConnectorOutcome | string {
  let json: unknown;
  try {
    json = JSON.parse(answer.body);
  } catch {
    return `answered ${answer.status} with a body that is not JSON`;
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return `answered ${answer.status} with JSON that is not an object`;
  const o = json as Record<string, unknown>;
  const message = typeof o.userMessage === 'string' && o.userMessage.trim() !== '' ? o.userMessage.trim().slice(0, MAX_MESSAGE) : undefined;
  if (answer.status === 200 && o.action === 'Continue') {
    const claims: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) if (k !== 'version' && k !== 'action') claims[k] = v;
    return { action: 'continue', claims };
  }
  if (answer.status === 200 && o.action === 'ShowBlockPage') return message ? { action: 'block', userMessage: message } : 'answered ShowBlockPage without a userMessage';
  if (answer.status === 400 && o.action === 'ValidationError') return message ? { action: 'validation', userMessage: message } : 'answered ValidationError without a userMessage';
  return `answered ${answer.status} with action ${typeof o.action === 'string' ? `'${o.action.slice(0, 40)}'` : '(none)'}, which B2C's contract does not have`;
}

/** Calls API connectors: one retry after a timeout or a connection failure, never after an answer. */
export class ApiConnectors {
  constructor(
    private readonly outbound: OutboundClient,
    private readonly env: NodeJS.ProcessEnv = process.env,
  ) {}

  /** The environment alone (no tenant secrets), never Latchkey's own settings. */
  private readonly fromEnv: SecretResolver = async (ref) => ('env' in ref && !isServerSetting(ref.env) ? this.env[ref.env] : undefined);

  /** Calls the connector; `resolve` reads the secrets its `auth` names (the tenant's, or the operator's environment). */
  async call(connector: ApiConnector, body: Record<string, unknown>, resolve: SecretResolver = this.fromEnv): Promise<{ outcome: ConnectorOutcome; attempts: number }> {
    const { headers, tls } = await authOptions(connector, resolve);
    const text = JSON.stringify(body);
    const url = new URL(connector.url);
    const timeoutMs = connector.timeoutSeconds * 1000;
    let lastError: ConnectorError | undefined;
    for (let attempt = 1; attempt <= 2; attempt++) {
      let answer: RawAnswer;
      try {
        answer = await post(this.outbound, url, text, headers, tls, timeoutMs);
      } catch (err) {
        if (!(err instanceof OutboundError)) throw err;
        // A host the address policy refuses fails here as an unreachable one does (the log says why).
        lastError = err.kind === 'timeout'
          ? new ConnectorError('timeout', `did not answer within ${connector.timeoutSeconds} seconds`, attempt)
          : new ConnectorError('unreachable', err.kind === 'too_large' ? `could not be reached (its answer was larger than ${MAX_RESPONSE_BYTES} bytes)` : 'could not be reached', attempt);
        continue;
      }
      const outcome = interpret(answer);
      if (typeof outcome === 'string') throw new ConnectorError('invalid_response', outcome, attempt);
      return { outcome, attempts: attempt };
    }
    throw lastError!;
  }
}
