-- Conversion queries read credits in (workspace, unit, time) order without waiting for appends to pause:
-- credits_sorted holds, in chunks each sorted that way, the live credits of the generations up to
-- credits_watermark.gen; the credits table is the log of credit updates, in generation order, whose later
-- generations queries read beside the chunks. Maintenance moves the log's tail into a new chunk and, once the
-- chunks appended since the last rewrite reach half of what it left (sorted_rows), rewrites credits_sorted whole,
-- dropping void credits and the log's moved rows.
CREATE TABLE credits_sorted AS SELECT * FROM credits LIMIT 0;
CREATE TABLE credits_watermark (
    id          INTEGER PRIMARY KEY,
    gen         BIGINT NOT NULL,
    sorted_rows BIGINT NOT NULL
);
INSERT INTO credits_watermark VALUES (1, 0, 0);
