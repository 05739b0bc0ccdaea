-- Report definitions and runs (SPEC §8). stem is the lower-cased file stem; it is unique among the non-deleted
-- reports of a workspace (checked under the writer lock). definition is the JSON of report.Definition.
CREATE TABLE reports (
    id          VARCHAR PRIMARY KEY,
    ws          VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    stem        VARCHAR NOT NULL,
    definition  VARCHAR NOT NULL,
    next_run_at BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted     BOOLEAN NOT NULL
);

-- One row per run. seq orders runs created in the same millisecond. claimed_by / claim_token identify the claim of
-- a RUNNING run; finishing or re-queuing a run requires its token.
CREATE SEQUENCE report_run_seq;
CREATE TABLE report_runs (
    id             VARCHAR PRIMARY KEY,
    seq            BIGINT NOT NULL,
    ws             VARCHAR NOT NULL,
    report_id      VARCHAR NOT NULL,
    status         VARCHAR NOT NULL,
    run_trigger    VARCHAR NOT NULL,
    scheduled_for  BIGINT,
    created_at     BIGINT NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT,
    range_start    VARCHAR NOT NULL,
    range_end      VARCHAR NOT NULL,
    filename       VARCHAR NOT NULL,
    file_size      BIGINT NOT NULL,
    sha256         VARCHAR NOT NULL,
    row_count      BIGINT NOT NULL,
    expires_at     BIGINT,
    superseded     BOOLEAN NOT NULL,
    error          VARCHAR NOT NULL,
    webhook_status VARCHAR NOT NULL,
    claimed_by     VARCHAR NOT NULL,
    claim_token    VARCHAR NOT NULL,
    file_deleted   BOOLEAN NOT NULL
);
