-- Moving off another identity provider. A tenant may name the old provider's ROPC endpoint, where the
-- passwords of imported users are checked once, at their first sign-in here (just-in-time migration),
-- and the application id of B2C's extension attributes (extension_<appId>_<name>), kept for exports
-- and the Graph-compatible API. A user imported without a password hash has password_at_legacy = 1
-- until that first sign-in stores Latchkey's own hash.
ALTER TABLE tenants ADD COLUMN legacy_ropc TEXT;          -- JSON {tokenUrl, clientId, scope}
ALTER TABLE tenants ADD COLUMN extensions_app_id TEXT;    -- 32 hex digits, B2C's b2c-extensions-app without hyphens
ALTER TABLE users ADD COLUMN password_at_legacy INTEGER NOT NULL DEFAULT 0;
