"""Retention against real PostgreSQL: a million rows over 400 days, exactly the rows past their
level's policy removed, whole partitions past the longest policy dropped."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from shared import retention
from shared.settings import DEFAULT_RETENTION_DAYS

NOW = datetime(2026, 11, 27, 13, 37, 11, tzinfo=UTC)
DAYS = 400
ROWS = 1_000_000
LEVELS = list(DEFAULT_RETENTION_DAYS)

FILL = """
INSERT INTO system_logs (id, "timestamp", received_at, level, level_no, service, message)
SELECT 'ret-' || i,
       $1::timestamptz - (i * $2::float8 / $3) * interval '1 day',
       $1::timestamptz,
       (ARRAY['DEBUG','INFO','SIGNAL_RECEIVED','AI_DECISION','TRADE_EXECUTED','WARNING',
              'RISK_ALERT','ERROR','CRITICAL'])[1 + i % 9],
       10,
       'svc-' || (i % 5),
       ''
FROM generate_series(1, $3) AS i
"""

SURVIVORS = """
SELECT level, count(*) AS n FROM system_logs
WHERE "timestamp" >= $1::timestamptz - make_interval(days => (($2::jsonb) ->> level)::int)
GROUP BY level
"""


SCHEMA = "retention_test"
"""The test's own system_logs (primary key only, so the million rows load fast) and retention
tables, found first on the connection's search path, in the session's database."""

TABLES = f"""
DROP SCHEMA IF EXISTS {SCHEMA} CASCADE;
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.system_logs (LIKE public.system_logs INCLUDING DEFAULTS,
                                   PRIMARY KEY (id, "timestamp"))
    PARTITION BY RANGE ("timestamp");
CREATE TABLE {SCHEMA}.retention_swept (LIKE public.retention_swept INCLUDING ALL);
CREATE TABLE {SCHEMA}.log_counts_minute (LIKE public.log_counts_minute INCLUDING ALL);
CREATE TABLE {SCHEMA}.log_counts_hour (LIKE public.log_counts_hour INCLUDING ALL);
"""


@pytest.fixture(scope="module")
async def filled(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database_url, server_settings={"search_path": f"{SCHEMA}, public"})
    await conn.execute(TABLES)
    first = NOW.date() - timedelta(days=DAYS + 1)
    for n in range(DAYS + 3):
        day = first + timedelta(days=n)
        await conn.execute(
            f"CREATE TABLE {SCHEMA}.system_logs_p{day:%Y%m%d} PARTITION OF {SCHEMA}.system_logs "
            f"FOR VALUES FROM ('{day}T00:00:00+00') TO ('{day + timedelta(days=1)}T00:00:00+00')"
        )
    await conn.execute(FILL, NOW, DAYS, ROWS)
    await conn.execute("VACUUM ANALYZE system_logs")
    yield conn
    await conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    await conn.close()


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    rows = await conn.fetch("SELECT level, count(*) AS n FROM system_logs GROUP BY level")
    return {r["level"]: r["n"] for r in rows}


@pytest.mark.slow
async def test_retention_removes_exactly_the_expired_rows(filled: asyncpg.Connection) -> None:
    import orjson

    policy = dict(DEFAULT_RETENTION_DAYS)
    before = await counts(filled)
    assert sum(before.values()) == ROWS
    expected = {
        r["level"]: r["n"]
        for r in await filled.fetch(SURVIVORS, NOW, orjson.dumps(policy).decode())
    }
    partitions_before = await retention.partitions(filled)

    summary = await retention.enforce(filled, policy, NOW, batch_rows=20_000)

    after = await counts(filled)
    assert after == expected
    for level, days in policy.items():
        stale = await filled.fetchval(
            'SELECT count(*) FROM system_logs WHERE level = $1 AND "timestamp" < $2',
            level,
            NOW - timedelta(days=days),
        )
        assert stale == 0, level
    assert summary.complete
    assert summary.rows_removed == ROWS - sum(after.values())
    document = summary.document()
    assert document["removed_by_level"] == {
        level: before[level] - after.get(level, 0)
        for level in before
        if before[level] != after.get(level, 0)
    }
    longest = NOW - timedelta(days=max(policy.values()))
    expected_dropped = [p.name for p in partitions_before if p.upper and p.upper <= longest]
    assert len(expected_dropped) >= 34
    assert document["partitions_dropped"] == expected_dropped
    remaining = {p.name for p in await retention.partitions(filled)}
    assert not remaining & set(expected_dropped)
    assert document["bytes_after"] < document["bytes_before"]

    again = await retention.enforce(filled, policy, NOW, batch_rows=20_000)
    assert again.rows_removed == 0 and again.dropped == []
    assert await counts(filled) == expected


@pytest.mark.slow
async def test_time_budget_stops_and_the_next_run_resumes(filled: asyncpg.Connection) -> None:
    policy = {level: days for level, days in DEFAULT_RETENTION_DAYS.items()}
    policy["INFO"] = 3  # INFO rows between 3 and 30 days old are now expired
    later = NOW + timedelta(hours=1)
    stopped = await retention.enforce(filled, policy, later, budget_seconds=0)
    assert not stopped.complete
    finished = await retention.enforce(filled, policy, later, batch_rows=5_000)
    assert finished.complete and finished.deleted["INFO"] > 0
    stale = await filled.fetchval(
        "SELECT count(*) FROM system_logs WHERE level = 'INFO' AND \"timestamp\" < $1",
        later - timedelta(days=3),
    )
    assert stale == 0
