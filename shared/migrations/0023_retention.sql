-- Retention bookkeeping: which day partitions have been swept for which level once wholly past
-- that level's policy (so they are not rescanned every night), and a record of each run.
CREATE TABLE IF NOT EXISTS retention_swept (
    partition_name  text        NOT NULL,
    level           text        NOT NULL,
    swept_at        timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (partition_name, level)
);

CREATE TABLE IF NOT EXISTS retention_runs (
    id           bigserial   PRIMARY KEY,
    started_at   timestamptz NOT NULL,
    finished_at  timestamptz NOT NULL,
    summary      jsonb       NOT NULL
);
