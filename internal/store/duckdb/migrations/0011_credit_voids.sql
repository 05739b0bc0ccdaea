-- Replacing a goal event's credits no longer deletes them (a DELETE by goal scans every credit of the workspace,
-- which grows with the store): each credit records the generation of the write that stored it, and credit_voids
-- says "the credits of this goal event older than generation gen are void". Readers skip void credits; clustering
-- the credits drops them and empties credit_voids.
ALTER TABLE credits ADD COLUMN gen BIGINT DEFAULT 0;
CREATE TABLE credit_voids (
    ws        VARCHAR NOT NULL,
    goal_uuid VARCHAR NOT NULL,
    gen       BIGINT NOT NULL
);
