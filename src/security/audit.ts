import type { Logger } from 'pino';
import type { Clock } from '../model/clock.js';
import type { Store } from '../store/store.js';
import type { Metrics } from '../observability/metrics.js';

export type AuditEventName =
  | 'signin'
  | 'lockout'
  | 'signup'
  | 'password_reset'
  | 'password_changed'
  | 'profile_update'
  | 'refresh_reuse'
  | 'code_replay'
  | 'client_auth'
  | 'key_rotated'
  | 'key_prepared'
  | 'key_retired'
  | 'tenant_created'
  | 'tenant_updated'
  | 'app_created'
  | 'app_updated'
  | 'app_removed'
  | 'app_grant'
  | 'app_revoke'
  | 'user_created'
  | 'user_disabled'
  | 'user_enabled'
  | 'user_deleted'
  | 'federated_signin'
  | 'identity_linked'
  | 'identity_unlinked'
  | 'password_migrated'
  | 'password_rehashed'
  | 'users_imported'
  | 'users_exported'
  | 'api_connector'
  | 'mfa_enrolled'
  | 'mfa_removed'
  | 'mfa_challenge'
  | 'mfa_reset'
  | 'recovery_codes_generated'
  | 'passkey_registered'
  | 'passkey_signin'
  | 'user_updated'
  | 'sessions_revoked'
  | 'token_revoked'
  | 'app_secret_added'
  | 'app_secret_revoked'
  | 'policy_written'
  | 'consent_granted'
  | 'consent_revoked'
  | 'admin_consent'
  | 'enterprise_app_created'
  | 'enterprise_app_removed'
  | 'app_permission'
  | 'email_domain'
  | 'directory_role'
  | 'tenant_secret_set'
  | 'tenant_secret_removed'
  | 'consent_missing'
  | 'saml_request'
  | 'saml_response'
  | 'saml_logout'
  | 'tenant_domain_added'
  | 'tenant_domain_removed'
  | 'sms_code'
  | 'identity_providers_written';

export interface AuditInput {
  tenantId?: string | null;
  event: AuditEventName;
  outcome: 'success' | 'failure';
  subject?: string | null;
  clientId?: string | null;
  ip?: string | null;
  detail?: string | null;
  /** Who made the change, when a person signed in to the console did (their oid). */
  actor?: string | null;
}

/**
 * Who is acting, stamped on every event an Audit made by `acting` records: the person (actor), where
 * from (ip), through which app (clientId, when the event names none of its own) and surface (named
 * after the event's detail).
 */
export interface Acting {
  actor: string;
  ip: string;
  clientId: string;
  surface: string;
}

/** Writes security events to `audit_events` (and the log); a failure to audit never fails the request. */
export class Audit {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
    private readonly acting?: Acting,
  ) {}

  /**
   * The same audit trail, with every event stamped with who is acting: the services a surface calls as
   * a signed-in person (the console) record their events through it, so none can leave the person out.
   */
  as(acting: Acting): Audit {
    return new Audit(this.store, this.clock, this.logger, this.metrics, acting);
  }

  async record(given: AuditInput): Promise<void> {
    const a = this.acting;
    const e: AuditInput = a
      ? {
          ...given,
          actor: a.actor,
          ip: given.ip ?? a.ip,
          clientId: given.clientId ?? a.clientId,
          detail: given.detail == null || given.detail === '' ? a.surface : given.detail.includes(a.surface) ? given.detail : `${given.detail} (${a.surface})`,
        }
      : given;
    this.metrics?.auditEvents.inc({ event: e.event, outcome: e.outcome });
    if (e.event === 'lockout') this.metrics?.lockouts.inc();
    const row = {
      at: this.clock.now(),
      tenantId: e.tenantId ?? null,
      event: e.event,
      outcome: e.outcome,
      subject: e.subject ?? null,
      clientId: e.clientId ?? null,
      ip: e.ip ?? null,
      detail: e.detail ?? null,
      actor: e.actor ?? null,
    };
    try {
      await this.store.addAuditEvent(row);
    } catch (err) {
      this.logger.error({ err, audit: row }, 'could not write an audit event');
    }
  }
}
