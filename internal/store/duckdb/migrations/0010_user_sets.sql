-- UNIQUE node queries over whole local days read per-day user sets instead of the rollup: every user gets a dense
-- number (user_ids, per workspace), and user_sets holds one row per (workspace, campaign, local day) with, for every
-- (cell, channels) of the day, the set of user numbers of each counter and of each failure key (Roaring bitmaps,
-- encoded in usersets.go). Compaction rebuilds both from facts, with facts, in each workspace's time zone, recorded
-- in user_set_zones; a workspace without a row there has no sets (queries read facts) until the next compaction.
DROP TABLE rollup;
DROP TABLE rollup_zones;

CREATE TABLE user_set_zones (
    ws   VARCHAR NOT NULL,
    zone VARCHAR NOT NULL
);

CREATE TABLE user_ids (
    ws      VARCHAR NOT NULL,
    user_hi UBIGINT NOT NULL,
    user_lo UBIGINT NOT NULL,
    uid     UINTEGER NOT NULL
);

CREATE TABLE user_sets (
    ws          VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    day         INTEGER NOT NULL,
    sets        BLOB NOT NULL
);
