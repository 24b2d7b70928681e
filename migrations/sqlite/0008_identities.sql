-- foreign-keys: off
-- Users as B2C models them: a user may have a local account (a sign-in name, usually the email
-- address) and any number of identities at upstream identity providers ({issuer, issuerAssignedId}).
-- The email address becomes contact information that a user without a local account may have too (or
-- lack), so it is no longer unique; the local sign-in name is. SQLite cannot drop a NOT NULL or a
-- UNIQUE constraint in place, so the table is rebuilt (SQLite's documented procedure: with foreign keys
-- off, so dropping the old table cascades nowhere; the runner checks foreign keys afterwards).
CREATE TABLE users_new (
  id               TEXT PRIMARY KEY,          -- the user's oid
  tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  email            TEXT,                      -- contact address as typed or received; may be absent
  email_normalized TEXT,                      -- lower-cased, for lookups; not unique
  sign_in_name     TEXT,                      -- the local account's normalized sign-in name; NULL without one
  sign_in_type     TEXT CHECK (sign_in_type IN ('emailAddress', 'userName')),
  email_verified   INTEGER NOT NULL DEFAULT 0,
  password_hash    TEXT,
  given_name       TEXT,
  family_name      TEXT,
  display_name     TEXT,
  attributes       TEXT NOT NULL DEFAULT '{}',
  disabled         INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  UNIQUE (tenant_id, sign_in_name)
);
INSERT INTO users_new (id, tenant_id, email, email_normalized, sign_in_name, sign_in_type, email_verified, password_hash,
    given_name, family_name, display_name, attributes, disabled, created_at, updated_at)
  SELECT id, tenant_id, email, email_normalized, email_normalized, 'emailAddress', email_verified, password_hash,
    given_name, family_name, display_name, attributes, disabled, created_at, updated_at FROM users;
DROP TABLE users;
ALTER TABLE users_new RENAME TO users;
CREATE INDEX users_email ON users(tenant_id, email_normalized);

-- A user's accounts at upstream identity providers: issuer is the provider's domain (google.com,
-- facebook.com, live.com… or what the tenant configured), issuer_assigned_id its subject for this user.
CREATE TABLE user_identities (
  tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  issuer             TEXT NOT NULL,
  issuer_assigned_id TEXT NOT NULL,
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at         INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, issuer, issuer_assigned_id)
);
CREATE INDEX user_identities_user ON user_identities(user_id);
