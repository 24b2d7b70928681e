import { clientNetwork } from '../security/client-network.js';
import { countryAllowed, parsePhoneNumber } from '../model/phone.js';
import type { Policy } from '../model/policy.js';
import type { Tenant } from '../model/entities.js';
import type { Deps } from './deps.js';

/**
 * The rules every text message Latchkey sends obeys, whatever page asks for one (phone sign-in, the
 * SMS second factor, enrolling a phone): the policy's countries, then the hourly limits — per number,
 * per client address, per tenant — counted in the instance's shared counters, so several instances keep
 * one limit. A refusal sends nothing; every outcome is audited (`sms_code`) and counted
 * (`latchkey_sms_total{result}`).
 */

const HOUR_MS = 3_600_000;

export type SmsRefusal = 'country' | 'number_limit' | 'address_limit' | 'tenant_limit' | 'failed';

export type SmsOutcome = { ok: true } | { ok: false; reason: SmsRefusal };

const METRIC: Record<SmsRefusal, string> = {
  country: 'refused_country',
  number_limit: 'limited_number',
  address_limit: 'limited_address',
  tenant_limit: 'limited_tenant',
  failed: 'failed',
};

export interface SmsCodeRequest {
  tenant: Tenant;
  policy: Policy;
  /** The number, E.164. */
  to: string;
  text: string;
  locale: string;
  ip: string;
  clientId: string | null;
  /** The user the code is for, when known (audit). */
  userId: string | null;
  /** What the code is for, in the audit trail: 'phone sign-in', 'second factor', 'enrolment'. */
  purpose: string;
}

/** Masks a number in the audit trail (the operator sees which number by its last digits only). */
const masked = (e164: string) => `${e164.slice(0, 3)}…${e164.slice(-2)}`;

export async function sendSmsCode(deps: Pick<Deps, 'config' | 'counters' | 'clock' | 'sms' | 'audit' | 'metrics' | 'logger'>, r: SmsCodeRequest): Promise<SmsOutcome> {
  const { config, counters, clock, audit, metrics } = deps;
  const record = async (outcome: 'success' | 'failure', detail: string) =>
    audit.record({ tenantId: r.tenant.id, event: 'sms_code', outcome, subject: r.userId, clientId: r.clientId, ip: r.ip, detail: `${r.purpose} to ${masked(r.to)}: ${detail}` });
  const refuse = async (reason: SmsRefusal, detail: string): Promise<SmsOutcome> => {
    metrics.sms.inc({ result: METRIC[reason] });
    await record('failure', detail);
    return { ok: false, reason };
  };

  const parsed = await parsePhoneNumber(r.to);
  if (!parsed.ok || !countryAllowed(parsed.country, r.policy.phone.allowedCountries)) return refuse('country', `country ${parsed.ok ? (parsed.country ?? 'none') : 'unknown'} not allowed by ${r.policy.id}`);

  const now = clock.now();
  const limits: [SmsRefusal, string, number][] = [
    ['number_limit', `sms:number:${r.tenant.id}:${r.to}`, config.sms.perNumberHourly],
    ['address_limit', `sms:address:${clientNetwork(r.ip)}`, config.sms.perAddressHourly],
    ['tenant_limit', `sms:tenant:${r.tenant.id}`, config.sms.perTenantHourly],
  ];
  // In this order, stopping at the first refusal: a number at its limit does not use up the tenant's cap.
  for (const [reason, key, max] of limits) {
    const { count } = await counters.hit(key, HOUR_MS, now);
    if (count > max) return refuse(reason, `${reason.replace('_', ' ')} of ${max} an hour reached`);
  }

  try {
    const via = await deps.sms.send({ tenantId: r.tenant.id, tenantSlug: r.tenant.slug, to: r.to, text: r.text, locale: r.locale });
    metrics.sms.inc({ result: via });
    await record('success', via === 'gateway' ? 'sent' : 'kept in the outbox');
    return { ok: true };
  } catch (err) {
    deps.logger.warn({ err: (err as Error).message, tenant: r.tenant.slug }, 'text message not sent: the SMS gateway failed');
    return refuse('failed', `gateway failed: ${(err as Error).message.slice(0, 200)}`);
  }
}
