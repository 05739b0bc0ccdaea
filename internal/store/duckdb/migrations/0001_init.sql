-- Initial schema. Times are Unix milliseconds (BIGINT) so both backends share one representation.
CREATE TABLE workspaces (
    id          VARCHAR PRIMARY KEY,
    name        VARCHAR NOT NULL,
    timezone    VARCHAR NOT NULL,
    status      VARCHAR NOT NULL,
    rate_limit  INTEGER NOT NULL,
    created_at  BIGINT NOT NULL,
    disabled_at BIGINT,
    report_key  VARCHAR NOT NULL,
    data_key    VARCHAR NOT NULL,
    seq         BIGINT NOT NULL
);

-- One row per stored (non-duplicate) event. user_id interns the namespaced user key (table users).
CREATE TABLE events (
    ws          VARCHAR NOT NULL,
    uuid        VARCHAR NOT NULL,
    uuid_hash   UBIGINT NOT NULL,
    ts          BIGINT NOT NULL,
    is_campaign BOOLEAN NOT NULL,
    code        VARCHAR NOT NULL,
    name        VARCHAR NOT NULL,
    user_id     BIGINT NOT NULL,
    campaign_id VARCHAR NOT NULL,
    parent_id   VARCHAR NOT NULL,
    channels    USMALLINT NOT NULL,
    counter     UTINYINT NOT NULL,
    class       UTINYINT NOT NULL,
    platform    VARCHAR NOT NULL,
    pdef        UTINYINT NOT NULL,
    locale      VARCHAR NOT NULL,
    variation   VARCHAR NOT NULL,
    failure_key VARCHAR NOT NULL,
    attributes  VARCHAR,
    source      VARCHAR NOT NULL,
    received_at BIGINT NOT NULL
);

CREATE TABLE users (
    user_key VARCHAR NOT NULL,
    user_id  BIGINT NOT NULL
);

CREATE TABLE campaigns (
    ws           VARCHAR NOT NULL,
    id           VARCHAR NOT NULL,
    explicit     VARCHAR NOT NULL,
    has_explicit BOOLEAN NOT NULL,
    inferred     VARCHAR NOT NULL,
    created_at   BIGINT NOT NULL,
    updated_at   BIGINT NOT NULL,
    PRIMARY KEY (ws, id)
);

CREATE TABLE funnel (
    ws          VARCHAR NOT NULL,
    campaign_id VARCHAR NOT NULL,
    day         VARCHAR NOT NULL,
    platform    VARCHAR NOT NULL,
    locale      VARCHAR NOT NULL,
    variation   VARCHAR NOT NULL,
    stage       VARCHAR NOT NULL,
    value       BIGINT NOT NULL,
    PRIMARY KEY (ws, campaign_id, day, platform, locale, variation, stage)
);

CREATE TABLE quarantine (
    id                VARCHAR PRIMARY KEY,
    ws                VARCHAR NOT NULL,
    received_at       BIGINT NOT NULL,
    request_id        VARCHAR NOT NULL,
    endpoint          VARCHAR NOT NULL,
    idx               INTEGER NOT NULL,
    event_uuid        VARCHAR NOT NULL,
    reason            VARCHAR NOT NULL,
    payload           VARCHAR NOT NULL,
    payload_truncated BOOLEAN NOT NULL
);
