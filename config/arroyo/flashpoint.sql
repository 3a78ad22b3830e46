-- flashpoint on Arroyo: the Kafka mentions topic → flashpoint's UDFs → per-brand HOP windows
-- → one aggregate row per brand and window on a Kafka topic that flashpoint's
-- `[[source]] type = "arroyo-aggregates"` consumes (row format: src/ingest/aggregates.rs).
--
-- Needs the UDFs fp_brands, fp_sentiment and fp_category registered in Arroyo (udf/README.md).
-- Arroyo is not run in flashpoint's CI: this file is checked by hand against Arroyo's SQL
-- (see docs/scaling.md, section "Arroyo"); change the broker and topics for your deployment.

-- Canonical mention records (docs/contracts.md §1), JSON, one per Kafka message.
CREATE TABLE mentions (
    id TEXT NOT NULL,
    source TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL,
    "text" TEXT,
    author STRUCT<id TEXT, handle TEXT, followers BIGINT>,
    kind TEXT,
    parent_id TEXT,
    -- flashpoint's default allowed lateness.
    WATERMARK FOR created_at AS created_at - INTERVAL '5 minutes'
) WITH (
    connector = 'kafka',
    type = 'source',
    bootstrap_servers = 'localhost:9092',
    topic = 'flashpoint.mentions',
    format = 'json',
    'source.offset' = 'latest'
);

-- One row per brand and window (HOP: 1-minute slide, 10-minute width). window_start and
-- window_end are written as RFC 3339; flashpoint also accepts epoch milliseconds.
CREATE TABLE brand_aggregates (
    brand TEXT NOT NULL,
    window_start TIMESTAMP NOT NULL,
    window_end TIMESTAMP NOT NULL,
    mentions BIGINT NOT NULL,
    negative BIGINT NOT NULL,
    positive BIGINT NOT NULL,
    negative_share DOUBLE NOT NULL,
    reach BIGINT NOT NULL,
    unique_authors BIGINT NOT NULL,
    conduct BIGINT NOT NULL,
    safety BIGINT NOT NULL,
    outage BIGINT NOT NULL,
    billing BIGINT NOT NULL,
    service BIGINT NOT NULL
) WITH (
    connector = 'kafka',
    type = 'sink',
    bootstrap_servers = 'localhost:9092',
    topic = 'flashpoint.brand-aggregates',
    format = 'json'
);

-- Brand matching on the text (flashpoint's matcher: whole words, handles, hashtags, exclude
-- phrases). Thread attribution (a reply inheriting its parent's brand) is NOT done here: it
-- needs state across mentions that the UDF does not keep.
CREATE VIEW matched AS
SELECT
    fp_brands("text") AS brands,
    fp_sentiment("text") AS sentiment,
    fp_category("text") AS category,
    author.id AS author_id,
    coalesce(author.followers, 0) AS followers
FROM mentions
WHERE "text" IS NOT NULL;

-- One row per (mention, brand): fp_brands gives comma-separated brand ids.
CREATE VIEW brand_mentions AS
SELECT
    unnest(string_to_array(brands, ',')) AS brand,
    sentiment,
    category,
    author_id,
    followers
FROM matched
WHERE brands IS NOT NULL;

INSERT INTO brand_aggregates
SELECT
    brand,
    window.start AS window_start,
    window.end AS window_end,
    mentions,
    negative,
    positive,
    CAST(negative AS DOUBLE) / CAST(mentions AS DOUBLE) AS negative_share,
    reach,
    unique_authors,
    conduct,
    safety,
    outage,
    billing,
    service
FROM (
    SELECT
        brand,
        hop(INTERVAL '1 minute', INTERVAL '10 minutes') AS window,
        count(*) AS mentions,
        -- flashpoint's lexicon thresholds on VADER's compound score.
        sum(CASE WHEN sentiment < -0.05 THEN 1 ELSE 0 END) AS negative,
        sum(CASE WHEN sentiment > 0.05 THEN 1 ELSE 0 END) AS positive,
        sum(followers) AS reach,
        count(DISTINCT author_id) AS unique_authors,
        sum(CASE WHEN category = 'conduct' THEN 1 ELSE 0 END) AS conduct,
        sum(CASE WHEN category = 'safety' THEN 1 ELSE 0 END) AS safety,
        sum(CASE WHEN category = 'outage' THEN 1 ELSE 0 END) AS outage,
        sum(CASE WHEN category = 'billing' THEN 1 ELSE 0 END) AS billing,
        sum(CASE WHEN category = 'service' THEN 1 ELSE 0 END) AS service
    FROM brand_mentions
    GROUP BY brand, window
);
