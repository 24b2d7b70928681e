-- foreign-keys: off
-- Nothing lost on the way off B2C. A user has any number of local identities side by side, as in B2C
-- (an email address and a user name, a phone number), kept with the user as JSON [{signInType,
-- issuerAssignedId}] in the order given; user_sign_in_names holds each one's normalized name, unique in
-- the tenant, which is what a sign-in looks the user up by. Every user keeps the one sign-in name it
-- had (an email with the case its contact address has). A user also keeps its other addresses (Graph's
-- otherMails, JSON) and whether its next sign-in must choose a new password (forceChangePasswordNextSignIn).
-- SQLite cannot drop a column in a UNIQUE constraint, so users is rebuilt (SQLite's documented
-- procedure: with foreign keys off, so dropping the old table cascades nowhere; the runner checks
-- foreign keys afterwards).
CREATE TABLE user_sign_in_names (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name      TEXT NOT NULL,                  -- normalized: lower case (email, user name) or E.164 (phone)
  user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (tenant_id, name)
);
INSERT INTO user_sign_in_names (tenant_id, name, user_id)
  SELECT tenant_id, sign_in_name, id FROM users WHERE sign_in_name IS NOT NULL;

CREATE TABLE users_new (
  id                    TEXT PRIMARY KEY,   -- the user's oid
  tenant_id             TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  email                 TEXT,
  email_normalized      TEXT,
  local_identities      TEXT NOT NULL DEFAULT '[]',
  other_mails           TEXT NOT NULL DEFAULT '[]',
  email_verified        INTEGER NOT NULL DEFAULT 0,
  password_hash         TEXT,
  password_at_legacy    INTEGER NOT NULL DEFAULT 0,
  must_change_password  INTEGER NOT NULL DEFAULT 0,
  given_name            TEXT,
  family_name           TEXT,
  display_name          TEXT,
  attributes            TEXT NOT NULL DEFAULT '{}',
  disabled              INTEGER NOT NULL DEFAULT 0,
  created_at            INTEGER NOT NULL,
  updated_at            INTEGER NOT NULL
);
INSERT INTO users_new (id, tenant_id, email, email_normalized, local_identities, email_verified, password_hash, password_at_legacy,
    given_name, family_name, display_name, attributes, disabled, created_at, updated_at)
  SELECT id, tenant_id, email, email_normalized,
    CASE WHEN sign_in_name IS NULL OR sign_in_type IS NULL THEN '[]'
      ELSE json_array(json_object('signInType', sign_in_type, 'issuerAssignedId',
        CASE WHEN sign_in_type = 'emailAddress' AND email_normalized = sign_in_name THEN email ELSE sign_in_name END)) END,
    email_verified, password_hash, password_at_legacy, given_name, family_name, display_name, attributes, disabled, created_at, updated_at
  FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_email ON users(tenant_id, email_normalized);
CREATE INDEX user_sign_in_names_user ON user_sign_in_names(user_id);

-- The B2C tenant's name when it is not the slug (contosob2c of contosob2c.onmicrosoft.com), unique
-- among tenants; and the just-in-time migration's calls per second to the old provider (NULL: default).
ALTER TABLE tenants ADD COLUMN b2c_name TEXT;
ALTER TABLE tenants ADD COLUMN legacy_rate INTEGER;
CREATE UNIQUE INDEX tenants_b2c_name ON tenants(b2c_name) WHERE b2c_name IS NOT NULL;
