"""The search benchmark's data: realistic trading-bot logs generated inside PostgreSQL (no
round trips through the API), loaded once into a cached bench database and kept.

Two copies of the same rows: the project's schema (`system_logs`, daily partitions with the
migrations' indexes, rollups filled) and the seed's schema (`seed_logs`: one table, primary
key only). Each day is loaded into a plain table and then attached as a partition, so its
indexes are built in bulk rather than row by row."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

from shared import migrate

SERVICES = (
    "api-gateway",
    "trading-engine",
    "ai-processor",
    "telegram-bot",
    "portfolio-manager",
    "exchange-connector",
)

_DAY_INSERT = (Path(__file__).with_suffix(".sql")).read_text(encoding="utf-8")

SEED_SCHEMA = """
CREATE TABLE IF NOT EXISTS seed_logs (
    pk bigserial PRIMARY KEY,
    id text, "timestamp" timestamptz, level text, service text, logger_name text, message text,
    request_id text, user_id text, session_id text, event_type text, extra_data jsonb,
    exception_type text, exception_message text, stack_trace text, ip_address text,
    user_agent text
)
"""

META = """
CREATE TABLE IF NOT EXISTS bench_meta (rows bigint NOT NULL, days int NOT NULL,
    first_day timestamptz NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())
"""


async def loaded(conn: asyncpg.Connection, rows: int, days: int) -> datetime | None:
    """The first day of the cached data when it holds `rows` rows over `days` days."""
    await conn.execute(META)
    row = await conn.fetchrow("SELECT rows, days, first_day FROM bench_meta")
    if row and row["rows"] == rows and row["days"] == days:
        return row["first_day"]
    return None


async def load(
    dsn: str, rows: int = 5_000_000, days: int = 30, log: Callable[[str], None] = print
) -> datetime:
    """Make sure the bench database holds the data; return the first day (UTC midnight)."""
    await migrate.apply(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        first = await loaded(conn, rows, days)
        if first is not None:
            return first
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET maintenance_work_mem = '256MB'")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        first = today - timedelta(days=days - 1)
        await conn.execute("DELETE FROM bench_meta")
        await conn.execute("DROP TABLE IF EXISTS seed_logs")
        await conn.execute(SEED_SCHEMA)
        for name in await conn.fetch(
            "SELECT inhrelid::regclass::text AS n FROM pg_inherits "
            "WHERE inhparent = 'system_logs'::regclass"
        ):
            await conn.execute(f"DROP TABLE {name['n']}")
        await conn.execute("TRUNCATE log_counts_minute, log_counts_hour")
        per_day = rows // days
        for day in range(days):
            started = time.perf_counter()
            lower = first + timedelta(days=day)
            table = f"system_logs_p{lower:%Y%m%d}"
            count = per_day if day < days - 1 else rows - per_day * (days - 1)
            await conn.execute(f"CREATE TABLE {table} (LIKE system_logs INCLUDING DEFAULTS)")
            await conn.execute(
                _DAY_INSERT.format(table=table), lower, day * per_day, list(SERVICES), count
            )
            low, high = lower.isoformat(), (lower + timedelta(days=1)).isoformat()
            bound = f"\"timestamp\" >= '{low}' AND \"timestamp\" < '{high}'"
            await conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_bounds CHECK ({bound})")
            await conn.execute(
                f"ALTER TABLE system_logs ATTACH PARTITION {table} "
                f"FOR VALUES FROM ('{low}') TO ('{high}')"
            )
            await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_bounds")
            log(f"  day {day + 1}/{days}: {count} rows in {time.perf_counter() - started:.1f} s")
        await conn.execute(
            "INSERT INTO log_counts_minute SELECT date_trunc('minute', \"timestamp\"), service, "
            "level, count(*) FROM system_logs GROUP BY 1, 2, 3"
        )
        await conn.execute(
            "INSERT INTO log_counts_hour SELECT date_trunc('hour', \"timestamp\"), service, "
            "level, count(*) FROM system_logs GROUP BY 1, 2, 3"
        )
        log("  copying into the seed's schema")
        await conn.execute(
            'INSERT INTO seed_logs (id, "timestamp", level, service, logger_name, message, '
            "request_id, user_id, session_id, event_type, extra_data, exception_type, "
            "exception_message, stack_trace, ip_address, user_agent) "
            'SELECT id, "timestamp", level, service, logger_name, message, request_id, user_id, '
            "session_id, event_type, extra_data, exception_type, exception_message, stack_trace, "
            "ip_address, user_agent FROM system_logs"
        )
        await conn.execute("VACUUM ANALYZE")
        await conn.execute(
            "INSERT INTO bench_meta (rows, days, first_day) VALUES ($1, $2, $3)", rows, days, first
        )
        return first
    finally:
        await conn.close()
