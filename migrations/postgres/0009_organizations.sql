-- Organizations (Azure AD's multi-tenant apps): see migrations/sqlite/0018_organizations.sql.

ALTER TABLE apps ADD COLUMN multi_tenant SMALLINT NOT NULL DEFAULT 0;
ALTER TABLE app_scopes ADD COLUMN admin_consent SMALLINT NOT NULL DEFAULT 0;

CREATE TABLE app_permissions (
  client_id TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  api       TEXT NOT NULL,
  kind      TEXT NOT NULL CHECK (kind IN ('scope', 'role')),
  name      TEXT NOT NULL,
  PRIMARY KEY (client_id, api, kind, name)
);

CREATE TABLE enterprise_apps (
  tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id      TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  home_tenant_id TEXT NOT NULL,
  admin_consent  TEXT,
  created_at     BIGINT NOT NULL,
  PRIMARY KEY (tenant_id, client_id)
);
CREATE INDEX enterprise_apps_client ON enterprise_apps(client_id);

CREATE TABLE tenant_email_domains (
  domain     TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL
);
CREATE INDEX tenant_email_domains_tenant ON tenant_email_domains(tenant_id);

CREATE TABLE user_directory_roles (
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('GlobalAdministrator', 'GlobalReader')),
  created_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, role)
);

-- Signing keys: the `next` status, and the instance's key set under tenant_id 'common' (no tenant row).
ALTER TABLE signing_keys DROP CONSTRAINT IF EXISTS signing_keys_tenant_id_fkey;
ALTER TABLE signing_keys DROP CONSTRAINT IF EXISTS signing_keys_status_check;
ALTER TABLE signing_keys ADD CONSTRAINT signing_keys_status_check CHECK (status IN ('active', 'grace', 'next'));
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys(tenant_id) WHERE status = 'next';
CREATE INDEX IF NOT EXISTS signing_keys_tenant ON signing_keys(tenant_id);
