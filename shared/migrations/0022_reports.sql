-- Hourly reports: one row per UTC hour, replaced when that hour is reported again.
CREATE TABLE IF NOT EXISTS reports (
    hour          timestamptz PRIMARY KEY,
    generated_at  timestamptz NOT NULL,
    body          jsonb       NOT NULL,
    CHECK (date_trunc('hour', hour, 'UTC') = hour)
);
