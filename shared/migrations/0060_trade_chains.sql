-- Trade chains, built as records arrive: every record that takes part in a trade (its stage)
-- and one summary row per chain key, recomputed from its stages for the keys of each batch, so
-- that listing trades reads the summaries and never scans system_logs.
CREATE TABLE IF NOT EXISTS trade_stages (
    key          text        NOT NULL,
    record_id    text        NOT NULL,
    "timestamp"  timestamptz NOT NULL,
    level        text        NOT NULL,
    level_no     smallint    NOT NULL,
    service      text        NOT NULL,
    symbol       text,
    side         text,
    decision     text,
    PRIMARY KEY (key, record_id)
);

CREATE TABLE IF NOT EXISTS trade_chains (
    key                text        PRIMARY KEY,
    trading            boolean     NOT NULL,
    started            timestamptz NOT NULL,
    symbol             text,
    side               text,
    decision           text,
    signal_at          timestamptz,
    decision_at        timestamptz,
    executed_at        timestamptz,
    blocked_at         timestamptz,
    failed_at          timestamptz,
    signal_service     text,
    decision_service   text,
    execution_service  text,
    last_service       text        NOT NULL,
    last_record_id     text        NOT NULL,
    outcome            text,
    waiting_for        text,
    deadline           timestamptz,
    services           text[]      NOT NULL,
    stages             jsonb       NOT NULL,
    stalled_alert      text,
    updated_at         timestamptz NOT NULL DEFAULT now()
);

CREATE INDEX IF NOT EXISTS trade_chains_started
    ON trade_chains (started DESC, key DESC) WHERE trading;
CREATE INDEX IF NOT EXISTS trade_chains_symbol_started
    ON trade_chains (symbol, started DESC, key DESC) WHERE trading;
CREATE INDEX IF NOT EXISTS trade_chains_services
    ON trade_chains USING gin (services) WHERE trading;
CREATE INDEX IF NOT EXISTS trade_chains_deadline
    ON trade_chains (deadline) WHERE trading AND outcome IS NULL;
CREATE INDEX IF NOT EXISTS trade_chains_stalled_alert
    ON trade_chains (stalled_alert) WHERE stalled_alert IS NOT NULL;
