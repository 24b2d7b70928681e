-- Consent for third-party apps (Azure AD's consent framework): an app registered as third-party asks
-- each user to agree to the scopes it requests, once; the answer is kept per user and app.
ALTER TABLE apps ADD COLUMN third_party SMALLINT NOT NULL DEFAULT 0;
-- What a scope lets an app do, in the words the consent page shows ("Read your orders").
ALTER TABLE app_scopes ADD COLUMN description TEXT;
CREATE TABLE user_consents (
  tenant_id  TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  user_id    TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  client_id  TEXT NOT NULL REFERENCES apps(client_id) ON DELETE CASCADE,
  scopes     TEXT NOT NULL,            -- JSON array of the scope strings agreed to
  granted_at BIGINT NOT NULL,
  PRIMARY KEY (user_id, client_id)
);
CREATE INDEX user_consents_client ON user_consents(client_id);
