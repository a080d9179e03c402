-- Alerts raised by the analyzer: one active alert per (rule, service), counted up while the
-- problem lasts and resolved after the rule's quiet period.
CREATE TABLE IF NOT EXISTS alerts (
    id            bigserial PRIMARY KEY,
    rule          text        NOT NULL,
    service       text        NOT NULL,
    severity      text        NOT NULL,
    status        text        NOT NULL DEFAULT 'active'
                  CHECK (status IN ('active', 'resolved')),
    count         bigint      NOT NULL DEFAULT 0 CHECK (count >= 0),
    first_seen    timestamptz NOT NULL,
    last_seen     timestamptz NOT NULL,
    sample_ids    text[]      NOT NULL DEFAULT '{}',
    description   text        NOT NULL DEFAULT '',
    action        text        NOT NULL DEFAULT '',
    resolved_at   timestamptz,
    quiet_period  interval    NOT NULL DEFAULT interval '24 hours',
    notified_at   timestamptz,
    CHECK ((status = 'resolved') = (resolved_at IS NOT NULL))
);

CREATE UNIQUE INDEX IF NOT EXISTS alerts_one_active_per_rule_service
    ON alerts (rule, service) WHERE status = 'active';

CREATE INDEX IF NOT EXISTS alerts_status_last_seen ON alerts (status, last_seen DESC);

CREATE INDEX IF NOT EXISTS alerts_first_seen ON alerts (first_seen);
