-- Every rotation moves a family's expires_at, so an index on it was rewritten on every refresh: a
-- B-tree delete and insert, and about half the pages each rotation wrote to the log. Expired families
-- are now found by a sweep over the table in rowid ranges (see purgeExpired), two thousand rows at
-- a time between requests. A family's expires_at never passes its family_expires_at, so the one
-- column covers both the token's lifetime and the sliding window.
DROP INDEX refresh_families_expires;
