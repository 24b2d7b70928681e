-- Custom domains: host names a tenant is served on besides the shared one (B2C's login.contoso.com).
-- A host belongs to one tenant; requests to it serve that tenant only, and its issuer is written with it.
CREATE TABLE tenant_domains (
  host       TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  created_at BIGINT NOT NULL
);
CREATE INDEX tenant_domains_tenant ON tenant_domains (tenant_id);
