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
  | 'sms_code';

export interface AuditInput {
  tenantId?: string | null;
  event: AuditEventName;
  outcome: 'success' | 'failure';
  subject?: string | null;
  clientId?: string | null;
  ip?: string | null;
  detail?: string | null;
}

/** Writes security events to `audit_events` (and the log); a failure to audit never fails the request. */
export class Audit {
  constructor(
    private readonly store: Store,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly metrics?: Metrics,
  ) {}

  async record(e: AuditInput): Promise<void> {
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
    };
    try {
      await this.store.addAuditEvent(row);
    } catch (err) {
      this.logger.error({ err, audit: row }, 'could not write an audit event');
    }
  }
}
