"""Questions about extra_data at 5 million rows: `where` on a common key and on a selective one,
a 24 h p95-per-minute aggregate, and field discovery over an hour, each against the obvious
query without this project's indexes or sampling, side by side in one run over the same rows.
Then what each new index costs the writer (500-row COPY batches taking turns, as
`bench.store_index_costs` measures).

Targets (p95): symbol equality, newest 100 over 24 h <= 50 ms; order_id <= 20 ms; p95 per
minute over 24 h for one service <= 500 ms; fields over 1 h <= 300 ms.

Database: BENCH_DATABASE_URL, else the embedded server of bench_search (.benchdata/search-pg),
database `fields`. The rows are generated inside PostgreSQL by `bench/fields_data.sql` (one
INSERT ... SELECT generate_series per day, indexes built when the day is attached) and kept.
BENCH_FIELDS_ROWS (default 5000000), BENCH_FIELDS_RUNS (default 20), BENCH_FIELDS_WRITE_ROUNDS
(default 40; 0 skips the write costs)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import databases, search_data, store_index_costs
from bench.bench_search import percentiles, timed
from shared import aggregate, db, fields_discovery, migrate, params, search, where
from shared.access import Caller, Role

ROWS = int(os.environ.get("BENCH_FIELDS_ROWS", "5000000"))
DAYS = 7
RUNS = int(os.environ.get("BENCH_FIELDS_RUNS", "20"))
BASELINE_RUNS = 3
WRITE_ROUNDS = int(os.environ.get("BENCH_FIELDS_WRITE_ROUNDS", "40"))
SAMPLE_ROWS = 20_000
ADMIN = Caller("bench", Role.ADMIN)
_DAY_INSERT = (Path(__file__).with_name("fields_data.sql")).read_text(encoding="utf-8")
META = """CREATE TABLE IF NOT EXISTS bench_fields_meta (rows bigint NOT NULL, days int NOT NULL,
    first_day timestamptz NOT NULL)"""

OBVIOUS_SYMBOL = """SELECT * FROM system_logs WHERE extra_data ->> 'symbol' = $1
    AND "timestamp" >= $2 AND "timestamp" < $3 ORDER BY "timestamp" DESC LIMIT 100"""
OBVIOUS_ORDER = """SELECT * FROM system_logs WHERE extra_data ->> 'order_id' = $1
    ORDER BY "timestamp" DESC LIMIT 100"""
OBVIOUS_P95 = """SELECT date_trunc('minute', "timestamp") AS t,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY (extra_data ->> 'response_time')::float8)
    FROM system_logs WHERE service = $1 AND "timestamp" >= $2 AND "timestamp" < $3
    AND extra_data ? 'response_time' GROUP BY 1 ORDER BY 1"""


async def ensure_database(server: str, name: str) -> str:
    conn = await asyncpg.connect(server)
    try:
        if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return databases.with_database(server, name)


async def load(dsn: str, rows: int, days: int) -> datetime:
    """The data, made once and kept: `days` daily partitions ending today."""
    await migrate.apply(dsn)
    conn = await asyncpg.connect(dsn)
    try:
        await conn.execute(META)
        row = await conn.fetchrow("SELECT rows, days, first_day FROM bench_fields_meta")
        if row and row["rows"] == rows and row["days"] == days:
            return row["first_day"]
        await conn.execute("SET synchronous_commit = off")
        await conn.execute("SET maintenance_work_mem = '256MB'")
        await conn.execute("DELETE FROM bench_fields_meta")
        for name in await conn.fetch(
            "SELECT inhrelid::regclass::text AS n FROM pg_inherits "
            "WHERE inhparent = 'system_logs'::regclass"
        ):
            await conn.execute(f"DROP TABLE {name['n']}")
        today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        first = today - timedelta(days=days - 1)
        per_day = rows // days
        for day in range(days):
            started = time.perf_counter()
            lower = first + timedelta(days=day)
            table = f"system_logs_p{lower:%Y%m%d}"
            count = per_day if day < days - 1 else rows - per_day * (days - 1)
            await conn.execute(f"CREATE TABLE {table} (LIKE system_logs INCLUDING DEFAULTS)")
            await conn.execute(
                _DAY_INSERT.format(table=table),
                lower,
                day * per_day,
                list(search_data.SERVICES),
                count,
            )
            low, high = lower.isoformat(), (lower + timedelta(days=1)).isoformat()
            await conn.execute(
                f"ALTER TABLE system_logs ATTACH PARTITION {table} "
                f"FOR VALUES FROM ('{low}') TO ('{high}')"
            )
            spent = time.perf_counter() - started
            print(f"  day {day + 1}/{days}: {count:,} rows in {spent:.1f} s", flush=True)
        await conn.execute("VACUUM ANALYZE system_logs")
        await conn.execute(
            "INSERT INTO bench_fields_meta (rows, days, first_day) VALUES ($1, $2, $3)",
            rows,
            days,
            first,
        )
        return first
    finally:
        await conn.close()


@dataclass
class Case:
    name: str
    ours: Callable[[], Awaitable[Any]]
    obvious: Callable[[], Awaitable[Any]]
    target_ms: float
    obvious_is: str


def cases(conn: asyncpg.Connection, now: datetime) -> list[Case]:
    day, hour = now - timedelta(hours=24), now - timedelta(hours=1)
    symbol = where.parse_all(["symbol=ETHUSDT"])
    search_query = params.SearchQuery(params.Filters(start=day, end=now, where=symbol), limit=100)
    order_id = "ord-4000000"
    order_query = params.SearchQuery(
        params.Filters(where=where.parse_all([f"order_id={order_id}"])), limit=100
    )
    p95 = params.AggregateQuery(
        params.Filters(services=("api-gateway",), start=day, end=now),
        fn="p95",
        field=("response_time",),
        interval="1m",
    )
    p95_sql, p95_args = aggregate.aggregate_sql(p95, ADMIN)
    fields_filters = params.Filters(start=hour, end=now)
    sampled_sql, sampled_args = fields_discovery.fields_sql(fields_filters, ADMIN, SAMPLE_ROWS)
    whole_sql, whole_args = fields_discovery.fields_sql(fields_filters, ADMIN, 10**9)

    async def order_without_index() -> Any:
        async with conn.transaction():
            await conn.execute("DROP INDEX system_logs_extra_order_id")
            result = await conn.fetch(OBVIOUS_ORDER, order_id)
            raise _Rollback(result)

    async def rolled_back() -> Any:
        try:
            await order_without_index()
        except _Rollback as done:
            return done.result
        return None

    return [
        Case(
            "where symbol=ETHUSDT, newest 100 of 24 h",
            lambda: search.search_on(conn, search_query, ADMIN, "bench", 30.0, now),
            lambda: conn.fetch(OBVIOUS_SYMBOL, "ETHUSDT", day, now),
            50,
            "->> = , one query over 24 h",
        ),
        Case(
            "where order_id=... (one record of 5 M)",
            lambda: search.search_on(conn, order_query, ADMIN, "bench", 30.0, now),
            rolled_back,
            20,
            "->> = without the hash index",
        ),
        Case(
            "p95 response_time per minute, 24 h, 1 service",
            lambda: conn.fetch(p95_sql, *p95_args),
            lambda: conn.fetch(OBVIOUS_P95, "api-gateway", day, now),
            500,
            "date_trunc + percentile_cont",
        ),
        Case(
            "fields of the last hour",
            lambda: conn.fetch(sampled_sql, *sampled_args),
            lambda: conn.fetch(whole_sql, *whole_args),
            300,
            "every record of the hour",
        ),
    ]


class _Rollback(Exception):
    def __init__(self, result: Any) -> None:
        super().__init__("rollback")
        self.result = result


WRITE_VARIANTS = {
    "primary key only": [],
    "+ gin fts on message (0001, replaced)": [
        "CREATE INDEX ON {t} USING gin (to_tsvector('simple', message))"
    ],
    "+ gin fts on the search text (0051)": [
        f"CREATE INDEX ON {{t}} USING gin ({search.SEARCH_TEXT})"
    ],
    "+ hash on extra_data ->> 'order_id' (0050)": [
        "CREATE INDEX ON {t} USING hash ((extra_data ->> 'order_id'))"
    ],
}


async def write_costs(server: str) -> list[str]:
    async with databases.fresh(server, "bench_fields_write") as url:
        blocks = await store_index_costs.measure(url, WRITE_ROUNDS, 50_000, WRITE_VARIANTS)
    return store_index_costs.table(blocks)


async def run() -> bool:
    server = os.environ.get("BENCH_DATABASE_URL") or await asyncio.to_thread(
        databases.server_url, "search-pg"
    )
    dsn = await ensure_database(server, "fields")
    started = time.perf_counter()
    first = await load(dsn, ROWS, DAYS)
    print(f"data: {ROWS:,} rows over {DAYS} days ready in {time.perf_counter() - started:.1f} s")
    now = first + timedelta(days=DAYS) - timedelta(hours=1)
    conn = await asyncpg.connect(dsn)
    ok = True
    try:
        await db.init_connection(conn)
        await conn.execute(search.CUSTOM_PLANS)
        header = (
            f"{'question':46} {'ours p50':>9} {'p95':>8} {'obvious p50':>12} {'p95':>9} "
            f"{'speedup':>8} {'target':>10}  ok  obvious query"
        )
        print(header)
        print("-" * len(header))
        for case in cases(conn, now):
            ours_p50, ours_p95 = percentiles(await timed(case.ours, RUNS))
            base_p50, base_p95 = percentiles(await timed(case.obvious, BASELINE_RUNS))
            met = ours_p95 <= case.target_ms
            ok = ok and met
            print(
                f"{case.name:46} {ours_p50:6.1f} ms {ours_p95:5.1f} ms {base_p50:9.1f} ms "
                f"{base_p95:6.1f} ms {base_p50 / ours_p50:7.1f}x {f'p95<={case.target_ms:g}':>10}"
                f"  {'yes' if met else 'NO':3} {case.obvious_is}",
                flush=True,
            )
    finally:
        await conn.close()
    if WRITE_ROUNDS:
        print()
        for line in await write_costs(server):
            print(line)
    return ok


def main() -> bool:
    return asyncio.run(run())


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
