-- SAML applications (Latchkey as their identity provider): a service provider's entity id, its
-- assertion consumer service URLs, single logout endpoint, signing certificates and NameID format.
-- Apart from `apps`: they have no OAuth client of their own (no redirect URIs, secrets or grants), so
-- the OpenID endpoints never see them; their client_id names them in sessions and the audit trail.
CREATE TABLE saml_apps (
  client_id  TEXT PRIMARY KEY,
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  entity_id  TEXT NOT NULL,
  name       TEXT NOT NULL,
  settings   TEXT NOT NULL,            -- JSON: acs, slo, nameIdFormat, requireSignedRequests, certificates, metadataUrl
  created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX saml_apps_entity ON saml_apps(tenant_id, entity_id);
