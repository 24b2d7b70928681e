-- Organizations (Azure AD's multi-tenant apps): an app registered in its home tenant that people of other
-- tenants use once they, or their administrator, consented; the permissions it declares; its enterprise
-- apps (service principals) in the tenants it was consented in; email domains that route people to their
-- tenant at /common; directory roles (wids). And signing keys published before they sign (`next`), and
-- the instance's own key set (tenant_id 'common') that signs multi-tenant apps' tokens.

ALTER TABLE apps ADD COLUMN multi_tenant INTEGER NOT NULL DEFAULT 0;
-- A scope only an administrator may consent to (for the whole tenant).
ALTER TABLE app_scopes ADD COLUMN admin_consent INTEGER NOT NULL DEFAULT 0;

-- What a multi-tenant app needs: scopes (delegated) and roles (application) of an API named by its identifier URI.
CREATE TABLE app_permissions (
  client_id TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  api       TEXT NOT NULL,
  kind      TEXT NOT NULL CHECK (kind IN ('scope', 'role')),
  name      TEXT NOT NULL,
  PRIMARY KEY (client_id, api, kind, name)
);

-- A multi-tenant app provisioned into a tenant by consent; admin_consent is JSON (permissions, by, at) or NULL.
CREATE TABLE enterprise_apps (
  tenant_id      TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id      TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  home_tenant_id TEXT NOT NULL,
  admin_consent  TEXT,
  created_at     INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, client_id)
);
CREATE INDEX enterprise_apps_client ON enterprise_apps(client_id);

CREATE TABLE tenant_email_domains (
  domain     TEXT PRIMARY KEY,            -- lower case
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  created_at INTEGER NOT NULL
);
CREATE INDEX tenant_email_domains_tenant ON tenant_email_domains(tenant_id);

CREATE TABLE user_directory_roles (
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  role       TEXT NOT NULL CHECK (role IN ('GlobalAdministrator', 'GlobalReader')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, role)
);

-- Signing keys again, with the `next` status and without the reference to tenants: the instance's key
-- set is stored under tenant_id 'common'. Nothing refers to this table, so it is rebuilt in place.
CREATE TABLE signing_keys_new (
  kid           TEXT PRIMARY KEY,
  tenant_id     TEXT NOT NULL,              -- a tenant's id, or 'common'
  alg           TEXT NOT NULL,
  public_jwk    TEXT NOT NULL,
  private_key   TEXT NOT NULL,
  status        TEXT NOT NULL CHECK (status IN ('active', 'grace', 'next')),
  created_at    INTEGER NOT NULL,
  publish_until INTEGER
);
INSERT INTO signing_keys_new SELECT kid, tenant_id, alg, public_jwk, private_key, status, created_at, publish_until FROM signing_keys;
DROP TABLE signing_keys;
ALTER TABLE signing_keys_new RENAME TO signing_keys;
CREATE UNIQUE INDEX signing_keys_one_active ON signing_keys(tenant_id) WHERE status = 'active';
CREATE UNIQUE INDEX signing_keys_one_next ON signing_keys(tenant_id) WHERE status = 'next';
CREATE INDEX signing_keys_tenant ON signing_keys(tenant_id);
