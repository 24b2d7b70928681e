-- Mail Latchkey sends (verification codes). Without LATCHKEY_SMTP_URL this is where mail goes, so a
-- newcomer can sign up without a mail server; with it, rows record what was sent.
CREATE TABLE outbox (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  to_address TEXT NOT NULL,
  subject    TEXT NOT NULL,
  body       TEXT NOT NULL,
  transport  TEXT NOT NULL,                 -- 'outbox' (not sent anywhere) or 'smtp'
  created_at INTEGER NOT NULL
);
CREATE INDEX outbox_tenant ON outbox(tenant_id, created_at);
