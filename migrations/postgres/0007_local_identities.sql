-- Nothing lost on the way off B2C. A user has any number of local identities side by side, as in B2C
-- (an email address and a user name, a phone number), kept with the user as JSON [{signInType,
-- issuerAssignedId}] in the order given; user_sign_in_names holds each one's normalized name, unique in
-- the tenant, which is what a sign-in looks the user up by. Every user keeps the one sign-in name it
-- had (an email with the case its contact address has). A user also keeps its other addresses (Graph's
-- otherMails, JSON) and whether its next sign-in must choose a new password (forceChangePasswordNextSignIn).
CREATE TABLE user_sign_in_names (
  tenant_id TEXT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,
  name      TEXT NOT NULL,                  -- normalized: lower case (email, user name) or E.164 (phone)
  user_id   TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  PRIMARY KEY (tenant_id, name)
);
CREATE INDEX user_sign_in_names_user ON user_sign_in_names(user_id);
INSERT INTO user_sign_in_names (tenant_id, name, user_id)
  SELECT tenant_id, sign_in_name, id FROM users WHERE sign_in_name IS NOT NULL;

ALTER TABLE users ADD COLUMN local_identities TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN other_mails TEXT NOT NULL DEFAULT '[]';
ALTER TABLE users ADD COLUMN must_change_password SMALLINT NOT NULL DEFAULT 0;
-- JSON as Latchkey writes it (no spaces), the email with its contact address's case.
UPDATE users SET local_identities = '[{"signInType":' || to_json(sign_in_type)::text || ',"issuerAssignedId":'
    || to_json(CASE WHEN sign_in_type = 'emailAddress' AND email_normalized = sign_in_name THEN email ELSE sign_in_name END)::text || '}]'
  WHERE sign_in_name IS NOT NULL AND sign_in_type IS NOT NULL;
ALTER TABLE users DROP COLUMN sign_in_name;
ALTER TABLE users DROP COLUMN sign_in_type;

-- The B2C tenant's name when it is not the slug (contosob2c of contosob2c.onmicrosoft.com), unique
-- among tenants; and the just-in-time migration's calls per second to the old provider (NULL: default).
ALTER TABLE tenants ADD COLUMN b2c_name TEXT;
ALTER TABLE tenants ADD COLUMN legacy_rate INTEGER;
CREATE UNIQUE INDEX tenants_b2c_name ON tenants(b2c_name) WHERE b2c_name IS NOT NULL;
