-- Text messages: a user's phone for text-message codes is an authenticator of kind 'sms' (its number,
-- E.164, and Graph's phoneType in `data`). SQLite cannot change a CHECK constraint, so the table is
-- rebuilt (nothing refers to it); the rows, indexes and constraints stay as they were.
CREATE TABLE user_authenticators_new (
  id            TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind          TEXT NOT NULL CHECK (kind IN ('email', 'totp', 'passkey', 'recovery', 'sms')),
  credential_id TEXT,
  label         TEXT,
  data          TEXT NOT NULL DEFAULT '{}',
  version       INTEGER NOT NULL DEFAULT 0,
  created_at    INTEGER NOT NULL,
  last_used_at  INTEGER,
  UNIQUE (tenant_id, credential_id)
);
INSERT INTO user_authenticators_new (id, tenant_id, user_id, kind, credential_id, label, data, version, created_at, last_used_at)
  SELECT id, tenant_id, user_id, kind, credential_id, label, data, version, created_at, last_used_at FROM user_authenticators;
DROP TABLE user_authenticators;
ALTER TABLE user_authenticators_new RENAME TO user_authenticators;
CREATE INDEX user_authenticators_user ON user_authenticators(user_id);
