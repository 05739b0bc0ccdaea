-- What a credit step removed of one unit's credits of a goal event (a store.GoalRef with a unit): when a new
-- interaction changes a goal event's credits for its own unit only, the other units' credits stay as stored.
-- Written to every shard, like credit_tombstones.
CREATE TABLE IF NOT EXISTS credit_unit_tombstones (
    step      Int64,
    ws        String,
    goal_uuid String,
    unit      String
) ENGINE = MergeTree
ORDER BY (ws, goal_uuid, unit, step);
