-- The event log, local to each shard: a user's events live on one shard (shard = user_hi % shards). Rows with
-- seq above the committed watermark (table journal) belong to an unfinished append and are never read.
-- Times are Unix milliseconds. Parts are partitioned by seq ranges, so that reads by seq (ReadEvents) skip the
-- parts outside their range through the partition key's min/max index; reads of a few campaigns use the
-- primary key.
CREATE TABLE IF NOT EXISTS events (
    seq              Int64,
    ws               String,
    uuid             String,
    uuid_hash        UInt64,
    ts               Int64,
    is_campaign      UInt8,
    code             String,
    name             String,
    user_hi          UInt64,
    user_lo          UInt64,
    campaign_id      String,
    parent_id        String,
    channels         UInt16,
    counter          UInt8,
    class            UInt8,
    platform         String,
    pdef             UInt8,
    locale           String,
    variation        String,
    failure_key      String,
    attributes       Nullable(String),
    source           String,
    received_at      Int64,
    campaign_name    String,
    inferred_channel String,
    delivery_type    String,
    tags             Nullable(String)
) ENGINE = MergeTree
PARTITION BY intDiv(seq, 16777216)
ORDER BY (ws, campaign_id, ts);

-- Conversion credits (SPEC §6), local to each shard like the events of their user. step is the credit step
-- (journal stream "credits") that stored the row: rows of steps above the committed one are never read, and a
-- row is superseded by a tombstone of a later committed step.
CREATE TABLE IF NOT EXISTS credits (
    step      Int64,
    ws        String,
    goal_uuid String,
    user_hi   UInt64,
    user_lo   UInt64,
    ts        Int64,
    unit      String,
    goal      String,
    type      UInt8,
    grp       UInt8,
    platform  String,
    locale    String,
    variation String,
    revenue   Int64
) ENGINE = MergeTree
ORDER BY (ws, unit, ts);

-- What a credit step removed: kind 1 = every credit of the workspace (goal_uuid ''), kind 2 = the credits of one
-- goal event. Written to every shard, so that each shard filters its own credits.
CREATE TABLE IF NOT EXISTS credit_tombstones (
    step      Int64,
    ws        String,
    kind      UInt8,
    goal_uuid String
) ENGINE = MergeTree
ORDER BY (ws, kind, goal_uuid, step);

-- The commit record of each single-writer stream ("events": committed = watermark; "credits": committed = step,
-- progress = the credit upkeep's progress). pending is the last seq or step being written; pending > committed
-- means an unfinished write may have left rows that the next write deletes first. Only the first shard's table
-- is used. The row with the highest op is the current one.
CREATE TABLE IF NOT EXISTS journal (
    stream    String,
    op        UInt64,
    committed Int64,
    pending   Int64,
    progress  Int64,
    at        DateTime
) ENGINE = ReplacingMergeTree(op)
ORDER BY stream;
