-- Refresh tokens issued from now on read `{family_id}.{secret}` and live here: one row per family,
-- holding the hash of its current token's secret. Rotation rewrites that one row in place (no new
-- row, no index entries but the expiry's), so a refresh costs the database a fraction of what a new
-- row with four indexes did. Presenting any other secret of a family is a reuse: the family is revoked.
-- Tokens issued before this migration stay in refresh_tokens and keep working; their first rotation
-- moves the family here.
CREATE TABLE refresh_families (
  family_id         TEXT PRIMARY KEY,
  secret_hash       TEXT NOT NULL,          -- SHA-256 of the current token's secret part
  tenant_id         TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  client_id         TEXT NOT NULL,
  user_id           TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  data              TEXT NOT NULL,          -- the grant carried forward (JSON)
  created_at        INTEGER NOT NULL,       -- when the current token was issued
  expires_at        INTEGER NOT NULL,       -- when the current token expires
  family_expires_at INTEGER,                -- sliding-window end; NULL = unbounded
  rotated_at        INTEGER,
  revoked_at        INTEGER,
  generation        INTEGER NOT NULL DEFAULT 0,
  origin_code_hash  TEXT
);
CREATE INDEX refresh_families_user ON refresh_families(user_id);
CREATE INDEX refresh_families_expires ON refresh_families(expires_at);
