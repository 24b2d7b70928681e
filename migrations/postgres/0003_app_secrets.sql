-- Several live client secrets per app, so a secret is rotated without downtime: add the new one, move
-- the app over, then revoke the old one (at once, or after an overlap). Each secret is
-- {id, hash, description, createdAt, expiresAt}: the SHA-256 of the value (shown once), epoch ms
-- times, expiresAt null for no expiry. The app's single secret so far becomes its first.
ALTER TABLE apps ADD COLUMN secrets TEXT NOT NULL DEFAULT '[]';
UPDATE apps SET secrets = jsonb_build_array(jsonb_build_object('id', substr(md5(random()::text || client_id), 1, 16), 'hash', secret_hash,
    'description', 'first secret', 'createdAt', created_at, 'expiresAt', NULL))::text
  WHERE secret_hash IS NOT NULL;
UPDATE apps SET secret_hash = NULL;
