-- Front-channel logout (OpenID Connect Front-Channel Logout 1.0). An SSO session gets a public
-- identifier `sid` (put in id_tokens and sent to apps' logout URLs; the cookie value stays secret), and
-- remembers which apps it signed in, under which policy (the issuer may depend on it), so that ending
-- the session signs the user out of each of them.
ALTER TABLE sso_sessions ADD COLUMN sid TEXT NOT NULL DEFAULT '';
CREATE TABLE sso_session_clients (
  session_hash TEXT NOT NULL REFERENCES sso_sessions(id_hash) ON DELETE CASCADE,
  client_id    TEXT NOT NULL,
  policy_id    TEXT NOT NULL,
  PRIMARY KEY (session_hash, client_id)
);
-- Sessions begun before this migration get an id of their own too.
UPDATE sso_sessions SET sid = lower(hex(randomblob(16))) WHERE sid = '';
