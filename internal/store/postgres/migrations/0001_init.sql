-- The metadata half of the storage contract (store.MetaStore). Times are Unix milliseconds (BIGINT), as in the
-- embedded store, so that both backends keep the same precision. Identifiers and names that are ordered or compared
-- use the "C" collation (byte order), as DuckDB does, whatever the database's default collation.

CREATE TABLE workspaces (
    id          TEXT COLLATE "C" PRIMARY KEY,
    seq         BIGINT GENERATED ALWAYS AS IDENTITY,
    name        TEXT NOT NULL,
    timezone    TEXT NOT NULL,
    status      TEXT NOT NULL,
    rate_limit  INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    disabled_at BIGINT,
    report_key  TEXT NOT NULL,
    data_key    TEXT NOT NULL
);

-- One row per campaign: explicit and inferred are the JSON of domain.CampaignFields and domain.CampaignInferred.
-- Writers of a workspace's catalog serialise on a transaction-scoped advisory lock of the workspace.
CREATE TABLE campaigns (
    ws           TEXT COLLATE "C" NOT NULL,
    id           TEXT COLLATE "C" NOT NULL,
    explicit     TEXT NOT NULL,
    has_explicit BOOLEAN NOT NULL,
    inferred     TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (ws, id)
);

CREATE TABLE funnel (
    ws          TEXT COLLATE "C" NOT NULL,
    campaign_id TEXT COLLATE "C" NOT NULL,
    day         TEXT COLLATE "C" NOT NULL,
    platform    TEXT NOT NULL,
    locale      TEXT NOT NULL,
    variation   TEXT NOT NULL,
    stage       TEXT NOT NULL,
    value       BIGINT NOT NULL,
    PRIMARY KEY (ws, campaign_id, day, platform, locale, variation, stage)
);

-- Rejected events; payload is kept byte for byte (it need not be valid UTF-8).
CREATE TABLE quarantine (
    id                TEXT COLLATE "C" PRIMARY KEY,
    ws                TEXT COLLATE "C" NOT NULL,
    received_at       BIGINT NOT NULL,
    request_id        TEXT NOT NULL,
    endpoint          TEXT NOT NULL,
    idx               INTEGER NOT NULL,
    event_uuid        TEXT NOT NULL,
    reason            TEXT NOT NULL,
    payload           BYTEA NOT NULL,
    payload_truncated BOOLEAN NOT NULL
);
CREATE INDEX quarantine_listing ON quarantine (ws, received_at DESC, id DESC);
CREATE INDEX quarantine_received ON quarantine (received_at);

-- Stored first responses of requests carrying an Idempotency-Key (SPEC §3.10).
CREATE TABLE idempotency (
    ws         TEXT COLLATE "C" NOT NULL,
    endpoint   TEXT COLLATE "C" NOT NULL,
    key        TEXT COLLATE "C" NOT NULL,
    status     INTEGER NOT NULL,
    body       BYTEA NOT NULL,
    request_id TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (ws, endpoint, key)
);
CREATE INDEX idempotency_created ON idempotency (created_at);

-- Latest attributes posted per (workspace, user key, kind) (SPEC §13.3): attributes is the merged JSON object.
CREATE TABLE profiles (
    ws         TEXT COLLATE "C" NOT NULL,
    user_key   TEXT COLLATE "C" NOT NULL,
    kind       TEXT COLLATE "C" NOT NULL,
    device_id  TEXT NOT NULL,
    attributes TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (ws, user_key, kind)
);

-- Report definitions (SPEC §8). definition is the JSON of report.Definition. The stem is unique among the
-- non-deleted reports of a workspace; the per-workspace limit is checked under an advisory lock of the workspace.
CREATE TABLE reports (
    id          TEXT COLLATE "C" PRIMARY KEY,
    ws          TEXT COLLATE "C" NOT NULL,
    name        TEXT COLLATE "C" NOT NULL,
    stem        TEXT COLLATE "C" NOT NULL,
    definition  TEXT NOT NULL,
    next_run_at BIGINT,
    created_at  BIGINT NOT NULL,
    updated_at  BIGINT NOT NULL,
    deleted     BOOLEAN NOT NULL
);
CREATE UNIQUE INDEX reports_stem ON reports (ws, stem) WHERE NOT deleted;
CREATE INDEX reports_due ON reports (next_run_at) WHERE NOT deleted AND next_run_at IS NOT NULL;

-- One row per run. seq orders runs created in the same millisecond. claimed_by / claim_token identify the claim of
-- a RUNNING run, lease_until when it lapses (NULL: never).
CREATE TABLE report_runs (
    id             TEXT COLLATE "C" PRIMARY KEY,
    seq            BIGINT GENERATED ALWAYS AS IDENTITY,
    ws             TEXT COLLATE "C" NOT NULL,
    report_id      TEXT COLLATE "C" NOT NULL,
    status         TEXT NOT NULL,
    run_trigger    TEXT NOT NULL,
    scheduled_for  BIGINT,
    created_at     BIGINT NOT NULL,
    started_at     BIGINT,
    finished_at    BIGINT,
    range_start    TEXT NOT NULL,
    range_end      TEXT NOT NULL,
    filename       TEXT COLLATE "C" NOT NULL,
    file_size      BIGINT NOT NULL,
    sha256         TEXT NOT NULL,
    row_count      BIGINT NOT NULL,
    expires_at     BIGINT,
    superseded     BOOLEAN NOT NULL,
    error          TEXT NOT NULL,
    webhook_status TEXT NOT NULL,
    claimed_by     TEXT NOT NULL,
    claim_token    TEXT NOT NULL,
    lease_until    BIGINT,
    file_deleted   BOOLEAN NOT NULL
);
CREATE INDEX report_runs_claimable ON report_runs (created_at, seq) WHERE status IN ('QUEUED', 'RUNNING');
CREATE INDEX report_runs_of_report ON report_runs (ws, report_id, created_at DESC, seq DESC);
CREATE INDEX report_runs_by_filename ON report_runs (ws, filename) WHERE status = 'SUCCESSFUL';
CREATE INDEX report_runs_expiry ON report_runs (expires_at) WHERE status = 'SUCCESSFUL';
