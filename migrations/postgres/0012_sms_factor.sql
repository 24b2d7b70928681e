-- Text messages: a user's phone for text-message codes is an authenticator of kind 'sms' (its number,
-- E.164, and Graph's phoneType in `data`).
ALTER TABLE user_authenticators DROP CONSTRAINT user_authenticators_kind_check;
ALTER TABLE user_authenticators ADD CONSTRAINT user_authenticators_kind_check CHECK (kind IN ('email', 'totp', 'passkey', 'recovery', 'sms'));
