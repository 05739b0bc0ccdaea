-- Compaction appends the log's tail to facts as a sorted chunk and rewrites facts as a whole only when the chunks
-- appended since the last rewrite reach a share of it: sorted_rows is the size of facts at that rewrite (facts up
-- to then is sorted as a whole; every chunk after it is sorted).
ALTER TABLE facts_watermark ADD COLUMN sorted_rows BIGINT DEFAULT 0;
UPDATE facts_watermark SET sorted_rows = (SELECT count(*) FROM facts);
