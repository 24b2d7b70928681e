-- Fixed-window counters for limits shared by every process on this database (failed client
-- authentications, per-address form posts, calls to an old identity provider). A single server keeps
-- them in memory; this table is what the store's hitCounter writes when a deployment asks for shared ones.
CREATE TABLE counters (
  key      TEXT PRIMARY KEY,
  count    INTEGER NOT NULL,
  reset_at INTEGER NOT NULL      -- epoch ms when the window ends
);
CREATE INDEX counters_reset ON counters(reset_at);
