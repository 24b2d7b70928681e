-- Latchkey's first schema. Times are epoch milliseconds. Secrets are stored as hashes (codes,
-- refresh tokens, client secrets, SSO session ids) or sealed (private keys).

CREATE TABLE tenants (
  id             TEXT PRIMARY KEY,            -- UUID, appears in the issuer
  slug           TEXT NOT NULL UNIQUE,
  display_name   TEXT NOT NULL,
  default_policy TEXT NOT NULL,
  issuer_pattern TEXT NOT NULL DEFAULT 'tenant' CHECK (issuer_pattern IN ('tenant', 'tfp')),
  config_version INTEGER NOT NULL DEFAULT 0,  -- bumped on key changes so servers drop their caches
  created_at     INTEGER NOT NULL
);

CREATE TABLE apps (
  client_id                 TEXT PRIMARY KEY,
  tenant_id                 TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name                      TEXT NOT NULL,
  type                      TEXT NOT NULL CHECK (type IN ('web', 'spa', 'native', 'daemon', 'api')),
  secret_hash               TEXT,
  redirect_uris             TEXT NOT NULL DEFAULT '[]',
  post_logout_redirect_uris TEXT NOT NULL DEFAULT '[]',
  identifier_uri            TEXT,
  allow_implicit            INTEGER NOT NULL DEFAULT 0,
  allow_ropc                INTEGER NOT NULL DEFAULT 0,
  logout_url                TEXT,
  created_at                INTEGER NOT NULL
);
CREATE INDEX apps_tenant ON apps(tenant_id);
CREATE UNIQUE INDEX apps_identifier_uri ON apps(tenant_id, identifier_uri) WHERE identifier_uri IS NOT NULL;

CREATE TABLE app_scopes (
  api_client_id TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  PRIMARY KEY (api_client_id, name)
);

CREATE TABLE app_roles (
  api_client_id TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  name          TEXT NOT NULL,
  PRIMARY KEY (api_client_id, name)
);

-- kind 'scope': delegated permission; kind 'role': application permission (daemons).
CREATE TABLE app_grants (
  client_id     TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  api_client_id TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  kind          TEXT NOT NULL CHECK (kind IN ('scope', 'role')),
  name          TEXT NOT NULL,
  PRIMARY KEY (client_id, api_client_id, kind, name)
);

CREATE TABLE users (
  id               TEXT PRIMARY KEY,          -- the user's oid
  tenant_id        TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  email            TEXT NOT NULL,
  email_normalized TEXT NOT NULL,
  email_verified   INTEGER NOT NULL DEFAULT 0,
  password_hash    TEXT,
  given_name       TEXT,
  family_name      TEXT,
  display_name     TEXT,
  attributes       TEXT NOT NULL DEFAULT '{}',
  disabled         INTEGER NOT NULL DEFAULT 0,
  created_at       INTEGER NOT NULL,
  updated_at       INTEGER NOT NULL,
  UNIQUE (tenant_id, email_normalized)
);

CREATE TABLE signing_keys (
  kid           TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  alg           TEXT NOT NULL,
  public_jwk    TEXT NOT NULL,
  private_key   TEXT NOT NULL,               -- PKCS#8 PEM, sealed under the master key when set
  status        TEXT NOT NULL CHECK (status IN ('active', 'grace')),
  created_at    INTEGER NOT NULL,
  publish_until INTEGER                      -- for 'grace' keys: published in the JWKS until then
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(tenant_id) WHERE status = 'active';

CREATE TABLE sso_sessions (
  id_hash      TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id      TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  policy_id    TEXT NOT NULL,
  client_id    TEXT NOT NULL,
  idp          TEXT NOT NULL,
  auth_time    INTEGER NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX sso_sessions_user ON sso_sessions(user_id);
CREATE INDEX sso_sessions_expires ON sso_sessions(expires_at);

CREATE TABLE journeys (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  policy_id    TEXT NOT NULL,
  browser_hash TEXT NOT NULL,               -- binds the journey to the browser that started it
  request      TEXT NOT NULL,               -- the validated authorization request (JSON)
  state        TEXT NOT NULL,               -- step index and what earlier steps collected (JSON)
  csrf         TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  expires_at   INTEGER NOT NULL
);
CREATE INDEX journeys_expires ON journeys(expires_at);

CREATE TABLE auth_codes (
  code_hash   TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id   TEXT NOT NULL,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  data        TEXT NOT NULL,                -- the grant: scopes, nonce, PKCE challenge, redirect URI… (JSON)
  created_at  INTEGER NOT NULL,
  expires_at  INTEGER NOT NULL,
  consumed_at INTEGER,
  issued_jti  TEXT                          -- the access token minted from it, revoked on replay
);
CREATE INDEX auth_codes_expires ON auth_codes(expires_at);

CREATE TABLE refresh_tokens (
  token_hash        TEXT PRIMARY KEY,
  family_id         TEXT NOT NULL,
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id         TEXT NOT NULL,
  user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  data              TEXT NOT NULL,          -- the grant carried forward (JSON)
  created_at        INTEGER NOT NULL,
  expires_at        INTEGER NOT NULL,
  family_expires_at INTEGER,                -- sliding-window end; NULL = unbounded
  consumed_at       INTEGER,
  revoked_at        INTEGER,
  origin_code_hash  TEXT
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id);
CREATE INDEX refresh_tokens_user ON refresh_tokens(user_id);
CREATE INDEX refresh_tokens_code ON refresh_tokens(origin_code_hash) WHERE origin_code_hash IS NOT NULL;
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);

-- Access tokens are self-contained JWTs; this lists the few revoked before expiry (code replay).
CREATE TABLE revoked_access_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at INTEGER NOT NULL
);
