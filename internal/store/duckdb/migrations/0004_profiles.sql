-- Latest attributes posted to POST /v1/customer and POST /v1/device (SPEC §13.3), one row per (workspace, user key,
-- kind). attributes is the merged JSON object text; device_id the latest non-empty device_id ('' when none).
CREATE TABLE profiles (
    ws         VARCHAR NOT NULL,
    user_key   VARCHAR NOT NULL,
    kind       VARCHAR NOT NULL,
    device_id  VARCHAR NOT NULL,
    attributes VARCHAR NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ws, user_key, kind)
);
