-- UNIQUE node queries over whole local days read the rollup instead of facts: one row per (workspace, campaign,
-- local day, cell, channels, user, failure key) of facts with the bit set of the user's counters there, sorted by
-- (workspace, campaign, day). Compaction rebuilds it from facts, with facts, in the time zone of each workspace,
-- recorded in rollup_zones; a workspace without a row there is not in the rollup (queries read facts).
CREATE TABLE rollup (
    ws          VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    day         INTEGER NOT NULL,
    cell        INTEGER NOT NULL,
    channels    USMALLINT NOT NULL,
    user_hi     UBIGINT NOT NULL,
    user_lo     UBIGINT NOT NULL,
    fk          VARCHAR NOT NULL,
    mask        UINTEGER NOT NULL
);

CREATE TABLE rollup_zones (
    ws   VARCHAR NOT NULL,
    zone VARCHAR NOT NULL
);
