-- The event log of the split storage contract: every event gets a Seq (its position in the log); user keys are
-- identified by the first 128 bits of their SHA-256 (domain.HashUser) instead of an interned integer, so no table
-- or memory grows with the number of users; events keep the inputs of catalog inference, which now runs above the
-- store. Existing rows get Seqs in arrival order and their users' hashes; the derived state (catalog, credits) of
-- existing rows is already stored, so the upkeep's progress starts after them.
CREATE TABLE events_v2 (
    seq              BIGINT NOT NULL,
    ws               VARCHAR NOT NULL,
    uuid             VARCHAR NOT NULL,
    uuid_hash        UBIGINT NOT NULL,
    ts               BIGINT NOT NULL,
    is_campaign      BOOLEAN NOT NULL,
    code             VARCHAR NOT NULL,
    name             VARCHAR NOT NULL,
    user_hi          UBIGINT NOT NULL,
    user_lo          UBIGINT NOT NULL,
    campaign_id      VARCHAR NOT NULL,
    parent_id        VARCHAR NOT NULL,
    channels         USMALLINT NOT NULL,
    counter          UTINYINT NOT NULL,
    class            UTINYINT NOT NULL,
    platform         VARCHAR NOT NULL,
    pdef             UTINYINT NOT NULL,
    locale           VARCHAR NOT NULL,
    variation        VARCHAR NOT NULL,
    failure_key      VARCHAR NOT NULL,
    attributes       VARCHAR,
    source           VARCHAR NOT NULL,
    received_at      BIGINT NOT NULL,
    campaign_name    VARCHAR NOT NULL,
    inferred_channel VARCHAR NOT NULL,
    delivery_type    VARCHAR NOT NULL,
    tags             VARCHAR
);

CREATE TEMP TABLE user_hashes AS
SELECT user_id, ('0x' || substr(h, 1, 16))::UBIGINT AS hi, ('0x' || substr(h, 17, 16))::UBIGINT AS lo
FROM (SELECT user_id, sha256(user_key) AS h FROM users);

INSERT INTO events_v2
SELECT row_number() OVER (ORDER BY e.received_at, e.rowid), e.ws, e.uuid, e.uuid_hash, e.ts, e.is_campaign, e.code, e.name,
       u.hi, u.lo, e.campaign_id, e.parent_id, e.channels, e.counter, e.class, e.platform, e.pdef, e.locale, e.variation,
       e.failure_key, e.attributes, e.source, e.received_at, '', '', '', NULL
FROM events e JOIN user_hashes u ON u.user_id = e.user_id;

CREATE TABLE credits_v2 (
    ws        VARCHAR NOT NULL,
    goal_uuid VARCHAR NOT NULL,
    user_hi   UBIGINT NOT NULL,
    user_lo   UBIGINT NOT NULL,
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

INSERT INTO credits_v2
SELECT c.ws, c.goal_uuid, u.hi, u.lo, c.ts, c.unit, c.goal, c.type, c.grp, c.platform, c.locale, c.variation, c.revenue
FROM credits c JOIN user_hashes u ON u.user_id = c.user_id;

DROP TABLE events;
ALTER TABLE events_v2 RENAME TO events;
DROP TABLE credits;
ALTER TABLE credits_v2 RENAME TO credits;
DROP TABLE users;
DROP TABLE user_hashes;

CREATE TABLE derived_progress (
    id  INTEGER PRIMARY KEY,
    seq BIGINT NOT NULL
);
INSERT INTO derived_progress SELECT 1, coalesce(max(seq), 0) FROM events;
