-- Reads that touch only the campaigns asked for. Every distinct (platform, platform default, locale, variation) of
-- an event gets a small integer id (a cell), so node queries group on integers; campaign events are copied, with the
-- columns node queries read, into facts, kept physically sorted by (workspace, campaign, time) so that DuckDB's zone
-- maps skip the row groups of other campaigns. facts holds the log up to facts_watermark; node queries read the
-- newer events (the log's tail, pruned by its Seq zone maps) from the log itself. Compaction moves the tail in.
CREATE TABLE cells (
    id        INTEGER PRIMARY KEY,
    platform  VARCHAR NOT NULL,
    pdef      UTINYINT NOT NULL,
    locale    VARCHAR NOT NULL,
    variation VARCHAR NOT NULL
);
INSERT INTO cells
SELECT row_number() OVER (ORDER BY platform, pdef, locale, variation), platform, pdef, locale, variation
FROM (SELECT DISTINCT platform, pdef, locale, variation FROM events);

ALTER TABLE events ADD COLUMN cell INTEGER;
UPDATE events SET cell = c.id FROM cells c
WHERE c.platform = events.platform AND c.pdef = events.pdef AND c.locale = events.locale AND c.variation = events.variation;

CREATE TABLE facts AS
SELECT ws, campaign_id, ts, user_hi, user_lo, counter, channels, cell, failure_key, seq
FROM events WHERE is_campaign ORDER BY ws, campaign_id, ts;

CREATE TABLE facts_watermark (
    id  INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO facts_watermark SELECT 1, coalesce(max(seq), 0) FROM events;
