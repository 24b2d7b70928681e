-- A redeemed code names the refresh-token family it started, so replaying the code revokes that
-- family through the family index, and refresh tokens no longer need an index on the code they
-- descend from: one index fewer to update on every rotation. Codes already redeemed get their family
-- from that index before it goes.
ALTER TABLE auth_codes ADD COLUMN family_id TEXT;
UPDATE auth_codes SET family_id = (SELECT family_id FROM refresh_tokens WHERE origin_code_hash = auth_codes.code_hash LIMIT 1)
  WHERE consumed_at IS NOT NULL;
DROP INDEX refresh_tokens_code;
