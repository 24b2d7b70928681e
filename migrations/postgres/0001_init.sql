-- Latchkey's schema on PostgreSQL: the same tables and columns as SQLite's migrations build (through
-- migrations/sqlite/0010), so one row mapping serves both engines (src/store/rows.ts). Times are epoch
-- milliseconds (BIGINT), flags 0/1 (SMALLINT), structured values JSON text. Secrets are stored as hashes
-- (codes, refresh tokens, client secrets, SSO session ids) or sealed (private keys).

CREATE TABLE tenants (
  id                TEXT PRIMARY KEY,
  slug              TEXT NOT NULL UNIQUE,
  display_name      TEXT NOT NULL,
  default_policy    TEXT NOT NULL,
  issuer_pattern    TEXT NOT NULL DEFAULT 'tenant' CHECK (issuer_pattern IN ('tenant', 'tfp')),
  config_version    BIGINT NOT NULL DEFAULT 0,
  created_at        BIGINT NOT NULL,
  legacy_ropc       TEXT,
  extensions_app_id TEXT
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
  allow_implicit            SMALLINT NOT NULL DEFAULT 0,
  allow_ropc                SMALLINT NOT NULL DEFAULT 0,
  logout_url                TEXT,
  created_at                BIGINT NOT NULL
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

CREATE TABLE app_grants (
  client_id     TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  api_client_id TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  kind          TEXT NOT NULL CHECK (kind IN ('scope', 'role')),
  name          TEXT NOT NULL,
  PRIMARY KEY (client_id, api_client_id, kind, name)
);

CREATE TABLE users (
  id                 TEXT PRIMARY KEY,
  tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  email              TEXT,
  email_normalized   TEXT,
  sign_in_name       TEXT,
  sign_in_type       TEXT CHECK (sign_in_type IN ('emailAddress', 'userName')),
  email_verified     SMALLINT NOT NULL DEFAULT 0,
  password_hash      TEXT,
  password_at_legacy SMALLINT NOT NULL DEFAULT 0,
  given_name         TEXT,
  family_name        TEXT,
  display_name       TEXT,
  attributes         TEXT NOT NULL DEFAULT '{}',
  disabled           SMALLINT NOT NULL DEFAULT 0,
  created_at         BIGINT NOT NULL,
  updated_at         BIGINT NOT NULL,
  UNIQUE (tenant_id, sign_in_name)
);
CREATE INDEX users_email ON users(tenant_id, email_normalized);
CREATE INDEX users_tenant_created ON users(tenant_id, created_at);

CREATE TABLE user_identities (
  tenant_id          TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  issuer             TEXT NOT NULL,
  issuer_assigned_id TEXT NOT NULL,
  user_id            TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at         BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, issuer, issuer_assigned_id)
);
CREATE INDEX user_identities_user ON user_identities(user_id);

CREATE TABLE signing_keys (
  kid           TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  alg           TEXT NOT NULL,
  public_jwk    TEXT NOT NULL,
  private_key   TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('active', 'grace')),
  created_at    BIGINT NOT NULL,
  publish_until BIGINT
);
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(tenant_id) WHERE status = 'active';

CREATE TABLE sso_sessions (
  id_hash    TEXT PRIMARY KEY,
  sid        TEXT NOT NULL,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  policy_id  TEXT NOT NULL,
  client_id  TEXT NOT NULL,
  idp        TEXT NOT NULL,
  auth_time  BIGINT NOT NULL,
  created_at BIGINT NOT NULL,
  expires_at BIGINT NOT NULL
);
CREATE INDEX sso_sessions_user ON sso_sessions(user_id);
CREATE INDEX sso_sessions_expires ON sso_sessions(expires_at);

CREATE TABLE sso_session_clients (
  session_hash TEXT NOT NULL REFERENCES sso_sessions(id_hash) ON DELETE CASCADE,
  client_id    TEXT NOT NULL,
  policy_id    TEXT NOT NULL,
  added_at     BIGSERIAL,
  PRIMARY KEY (session_hash, client_id)
);

CREATE TABLE journeys (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  policy_id    TEXT NOT NULL,
  browser_hash TEXT NOT NULL,
  request      TEXT NOT NULL,
  state        TEXT NOT NULL,
  csrf         TEXT NOT NULL,
  created_at   BIGINT NOT NULL,
  expires_at   BIGINT NOT NULL
);
CREATE INDEX journeys_expires ON journeys(expires_at);

CREATE TABLE auth_codes (
  code_hash   TEXT PRIMARY KEY,
  tenant_id   TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id   TEXT NOT NULL,
  user_id     TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  data        TEXT NOT NULL,
  created_at  BIGINT NOT NULL,
  expires_at  BIGINT NOT NULL,
  consumed_at BIGINT,
  issued_jti  TEXT,
  family_id   TEXT
) WITH (fillfactor = 80);
CREATE INDEX auth_codes_expires ON auth_codes(expires_at);

-- One row per refresh-token family, holding the hash of its current token's secret; rotation rewrites
-- it in place and any other secret of the family is a reuse. (SQLite keeps an older per-token table for
-- tokens issued before its migration 0005; a PostgreSQL database never had such tokens.) No column a
-- rotation changes is indexed, and pages keep room, so a rotation is a heap-only (HOT) update that
-- writes no index; expired families are found by the purge's scan.
CREATE TABLE refresh_families (
  family_id         TEXT PRIMARY KEY,
  secret_hash       TEXT NOT NULL,
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id         TEXT NOT NULL,
  user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  data              TEXT NOT NULL,
  created_at        BIGINT NOT NULL,
  expires_at        BIGINT NOT NULL,
  family_expires_at BIGINT,
  rotated_at        BIGINT,
  revoked_at        BIGINT,
  generation        INTEGER NOT NULL DEFAULT 0,
  origin_code_hash  TEXT
) WITH (fillfactor = 70);
CREATE INDEX refresh_families_user ON refresh_families(user_id);

CREATE TABLE revoked_access_tokens (
  jti        TEXT PRIMARY KEY,
  expires_at BIGINT NOT NULL
);

CREATE TABLE outbox (
  id         BIGSERIAL PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  to_address TEXT NOT NULL,
  subject    TEXT NOT NULL,
  body       TEXT NOT NULL,
  transport  TEXT NOT NULL,
  created_at BIGINT NOT NULL
);
CREATE INDEX outbox_tenant ON outbox(tenant_id, created_at);

CREATE TABLE audit_events (
  id         BIGSERIAL PRIMARY KEY,
  at         BIGINT NOT NULL,
  tenant_id  TEXT,
  event      TEXT NOT NULL,
  outcome    TEXT NOT NULL CHECK (outcome IN ('success', 'failure')),
  subject    TEXT,
  client_id  TEXT,
  ip         TEXT,
  detail     TEXT
);
CREATE INDEX audit_events_at ON audit_events(at);
CREATE INDEX audit_events_tenant ON audit_events(tenant_id, at);

CREATE TABLE login_throttle (
  tenant_id    TEXT NOT NULL,
  name         TEXT NOT NULL,
  failures     INTEGER NOT NULL DEFAULT 0,
  lockouts     INTEGER NOT NULL DEFAULT 0,
  locked_until BIGINT NOT NULL DEFAULT 0,
  updated_at   BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, name)
);

CREATE TABLE counters (
  key      TEXT PRIMARY KEY,
  count    BIGINT NOT NULL,
  reset_at BIGINT NOT NULL
);
CREATE INDEX counters_reset ON counters(reset_at);
