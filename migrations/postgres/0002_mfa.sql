-- Second factors and passkeys. One row per authenticator a user enrolled: 'email' (codes to the
-- account's verified address, turned on by the user), 'totp' (an authenticator app; its secret sealed
-- under the master key), 'passkey' (a WebAuthn credential; its id is unique in the tenant), 'recovery'
-- (the hashes of ten single-use recovery codes). `data` is JSON whose shape depends on the kind;
-- `version` is bumped by every use so that a code or a signature counter is spent exactly once
-- (compare-and-set) even when two requests race.
CREATE TABLE user_authenticators (
  id            TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id       TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  kind          TEXT NOT NULL CHECK (kind IN ('email', 'totp', 'passkey', 'recovery')),
  credential_id TEXT,
  label         TEXT,
  data          TEXT NOT NULL DEFAULT '{}',
  version       INTEGER NOT NULL DEFAULT 0,
  created_at    BIGINT NOT NULL,
  last_used_at  BIGINT,
  UNIQUE (tenant_id, credential_id)
);
CREATE INDEX user_authenticators_user ON user_authenticators(user_id);

-- What the SSO session's sign-in proved (RFC 8176 amr values, JSON), so a later request under a
-- policy that asks for multi-factor authentication knows whether to ask again.
ALTER TABLE sso_sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '[]';
