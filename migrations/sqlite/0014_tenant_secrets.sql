-- Per-tenant secrets (connector passwords, upstream client secrets), sealed under LATCHKEY_MASTER_KEY.
-- Policies and identity-provider files name them as { "secret": NAME }; values are never read back
-- through the admin API or the CLI.
CREATE TABLE tenant_secrets (
  tenant_id    TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name         TEXT NOT NULL,
  sealed_value TEXT NOT NULL,
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL,
  PRIMARY KEY (tenant_id, name)
);
