-- Security events, for operators (latchkey audit list).
CREATE TABLE audit_events (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  at         INTEGER NOT NULL,
  tenant_id  TEXT,
  event      TEXT NOT NULL,      -- e.g. signin, lockout, password_reset, refresh_reuse, key_rotated, app_created
  outcome    TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  subject    TEXT,               -- user oid, or the email tried when no user is known
  client_id  TEXT,
  ip         TEXT,
  detail     TEXT
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_tenant ON audit_events(tenant_id, at);

-- Failed password attempts per sign-in name (existing or not, so lockout reveals nothing).
CREATE TABLE login_throttle (
  tenant_id    TEXT NOT NULL,
  name         TEXT NOT NULL,    -- normalized sign-in name
  failures     INTEGER NOT NULL DEFAULT 0,
  lockouts     INTEGER NOT NULL DEFAULT 0,
  locked_until INTEGER NOT NULL DEFAULT 0,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, name)
);
