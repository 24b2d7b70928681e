-- Several live client secrets per app, so a secret is rotated without downtime: add the new one, move
-- the app over, then revoke the old one (at once, or after an overlap). Each secret is
-- {id, hash, description, createdAt, expiresAt}: the SHA-256 of the value (shown once), epoch ms
-- times, expiresAt null for no expiry. The app's single secret so far becomes its first.
ALTER TABLE apps ADD COLUMN secrets TEXT NOT NULL DEFAULT '[]';
UPDATE apps SET secrets = json_array(json_object('id', lower(hex(randomblob(8))), 'hash', secret_hash, 'description', 'first secret',
    'createdAt', created_at, 'expiresAt', NULL))
  WHERE secret_hash IS NOT NULL;
UPDATE apps SET secret_hash = NULL;
