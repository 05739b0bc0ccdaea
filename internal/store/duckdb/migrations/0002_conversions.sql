-- Conversion credits (SPEC §6): one row per (goal event, unit, goal, attribution type, group). type 0 marks
-- control-group credits, which count under every attribution type.
CREATE TABLE credits (
    ws        VARCHAR NOT NULL,
    goal_uuid VARCHAR NOT NULL,
    user_id   BIGINT NOT NULL,
    ts        BIGINT NOT NULL,
    unit      VARCHAR NOT NULL,
    goal      VARCHAR NOT NULL,
    type      UTINYINT NOT NULL,
    grp       UTINYINT NOT NULL,
    platform  VARCHAR NOT NULL,
    locale    VARCHAR NOT NULL,
    variation VARCHAR NOT NULL,
    revenue   BIGINT NOT NULL
);

-- Stored first responses of Track Event / Bulk Import requests carrying an Idempotency-Key (SPEC §3.10).
CREATE TABLE idempotency (
    ws         VARCHAR NOT NULL,
    endpoint   VARCHAR NOT NULL,
    key        VARCHAR NOT NULL,
    status     INTEGER NOT NULL,
    body       VARCHAR NOT NULL,
    request_id VARCHAR NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ws, endpoint, key)
);
