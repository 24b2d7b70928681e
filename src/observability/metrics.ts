import client from 'prom-client';
import type { Store } from '../store/store.js';

/**
 * Prometheus metrics of one app instance, in a registry of its own (two instances in one process
 * count apart). Counted always (a counter is an addition); served at `/metrics` only when
 * LATCHKEY_METRICS is on or on LATCHKEY_METRICS_PORT. Labels are bounded: route templates (not
 * URLs), grant types, policy ids, step ids, audit event names.
 */
export class Metrics {
  readonly registry = new client.Registry();
  readonly requests = new client.Counter({ name: 'latchkey_http_requests_total', help: 'HTTP requests by route template, method and status code', labelNames: ['route', 'method', 'status'] as const, registers: [this.registry] });
  readonly requestSeconds = new client.Histogram({ name: 'latchkey_http_request_duration_seconds', help: 'HTTP request duration by route template', labelNames: ['route', 'method'] as const, buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [this.registry] });
  readonly tokens = new client.Counter({ name: 'latchkey_tokens_issued_total', help: 'Token endpoint responses with tokens, by grant type', labelNames: ['grant_type'] as const, registers: [this.registry] });
  readonly signIns = new client.Counter({ name: 'latchkey_signins_total', help: 'Sign-ins by policy, method and result (success, failure, locked)', labelNames: ['policy', 'method', 'result'] as const, registers: [this.registry] });
  readonly stepSeconds = new client.Histogram({ name: 'latchkey_journey_step_duration_seconds', help: 'Time a journey step took to answer (page shown or form handled), by policy and step', labelNames: ['policy', 'step'] as const, buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers: [this.registry] });
  readonly lockouts = new client.Counter({ name: 'latchkey_lockouts_total', help: 'Sign-in names or second factors locked after too many failures', registers: [this.registry] });
  readonly mail = new client.Counter({ name: 'latchkey_mail_total', help: 'Mail handed to SMTP or the outbox, by result', labelNames: ['result'] as const, registers: [this.registry] });
  readonly sms = new client.Counter({ name: 'latchkey_sms_total', help: 'Text-message codes by outcome: gateway, outbox, failed, refused_country, limited_number, limited_address, limited_tenant', labelNames: ['result'] as const, registers: [this.registry] });
  readonly auditEvents = new client.Counter({ name: 'latchkey_audit_events_total', help: 'Audit events by name and outcome', labelNames: ['event', 'outcome'] as const, registers: [this.registry] });

  constructor(store: Store, opts: { defaults: boolean; now: () => number }) {
    new client.Gauge({
      name: 'latchkey_signing_key_age_seconds',
      help: "Age of each tenant's active signing key",
      labelNames: ['tenant'] as const,
      registers: [this.registry],
      async collect() {
        this.reset();
        for (const t of await store.listTenants()) {
          const active = (await store.listSigningKeys(t.id)).find((k) => k.status === 'active');
          if (active) this.set({ tenant: t.slug }, Math.round((opts.now() - active.createdAt) / 1000));
        }
      },
    });
    // Process metrics, event-loop lag among them (nodejs_eventloop_lag_seconds…), only where they are served.
    if (opts.defaults) client.collectDefaultMetrics({ register: this.registry, prefix: 'latchkey_' });
  }

  async text(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}
