"""Listing trades at 5 million rows a day: `GET /trades` answered from the chain table the
analyzer keeps (`trade_chains`), beside the same first page computed from `system_logs` by
grouping a day of records by chain key, side by side in one run over the same rows.

Target: p95 <= 100 ms for every listing from the chain table over 24 h.

Then what keeping chains costs the analyzer: the demo fleet's records in batches of 1,000
through the whole analyzer step, beside the chain upkeep alone on the same batches.

Database: BENCH_DATABASE_URL, else an embedded server in .benchdata/trades-pg (database
`trades`). One day of rows is generated inside PostgreSQL (`bench/trades_data.sql`), loaded
into its own partition, and the chains are built from it by `trade_chains.rebuild` (the
same recomputation the analyzer runs per batch); the data is kept between runs.
BENCH_TRADES_ROWS (default 5000000), BENCH_TRADES_RUNS (30), BENCH_TRADES_PLAIN_RUNS (5)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import databases
from bench.bench_search import percentiles, timed
from shared import db, trade_api, trade_chains, trades
from shared.access import Caller, Role
from shared.settings import Settings
from shared.trade_alerts import deadlines

ROWS = int(os.environ.get("BENCH_TRADES_ROWS", "5000000"))
UPKEEP_SECONDS = 120.0
RUNS = int(os.environ.get("BENCH_TRADES_RUNS", "30"))
PLAIN_RUNS = int(os.environ.get("BENCH_TRADES_PLAIN_RUNS", "5"))
TARGET_P95_MS = 100.0
PAGE = 50
ADMIN = Caller("bench", Role.ADMIN)
LIMITED = Caller("bench-risk", Role.READER, services=("portfolio-manager",))
_DAY_INSERT = (Path(__file__).parent / "trades_data.sql").read_text(encoding="utf-8")
META = """CREATE TABLE IF NOT EXISTS bench_trades_meta (rows bigint NOT NULL,
    day timestamptz NOT NULL, loaded_at timestamptz NOT NULL DEFAULT now())"""

PLAIN = """
WITH s AS (
    SELECT {key} AS key, l.level, l."timestamp", l.service, l.id, l.extra_data
    FROM system_logs l
    WHERE l."timestamp" >= ${start} AND l."timestamp" < ${end} AND l.level = ANY(${levels}::text[])
), chains AS (
    SELECT key, min("timestamp") AS started,
        (array_agg(extra_data ->> 'symbol' ORDER BY "timestamp")
            FILTER (WHERE extra_data ? 'symbol'))[1] AS symbol,
        (array_agg(extra_data ->> 'side' ORDER BY "timestamp")
            FILTER (WHERE extra_data ? 'side'))[1] AS side,
        min("timestamp") FILTER (WHERE level = 'SIGNAL_RECEIVED') AS signal_at,
        min("timestamp") FILTER (WHERE level = 'AI_DECISION') AS decision_at,
        min("timestamp") FILTER (WHERE level = 'TRADE_EXECUTED') AS executed_at,
        bool_or(level = 'RISK_ALERT') AS blocked, bool_or(level = 'ERROR') AS failed,
        jsonb_agg(jsonb_build_object('level', level, 'time', "timestamp", 'service', service,
            'id', id) ORDER BY "timestamp") AS stages
    FROM s WHERE key IS NOT NULL
    GROUP BY key
    HAVING bool_or(level = ANY(${trading}::text[]))
)
SELECT * FROM chains {where} ORDER BY started DESC, key DESC LIMIT {limit}
"""


async def load(conn: asyncpg.Connection, settings: Settings) -> datetime:
    """The day the bench rows cover, generating them (and their chains) when missing."""
    await conn.execute(META)
    row = await conn.fetchrow("SELECT rows, day FROM bench_trades_meta")
    if row and row["rows"] == ROWS:
        return row["day"]
    day = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(1)
    table = f"system_logs_p{day:%Y%m%d}"
    await conn.execute("SET synchronous_commit = off")
    await conn.execute("SET maintenance_work_mem = '256MB'")
    await conn.execute("DELETE FROM bench_trades_meta")
    await conn.execute("TRUNCATE trade_stages, trade_chains")
    await conn.execute(f"DROP TABLE IF EXISTS {table}")
    started = time.perf_counter()
    await conn.execute(f"CREATE TABLE {table} (LIKE system_logs INCLUDING DEFAULTS)")
    await conn.execute(_DAY_INSERT.format(table=table), day, ROWS)
    low, high = day.isoformat(), (day + timedelta(days=1)).isoformat()
    bound = f"\"timestamp\" >= '{low}' AND \"timestamp\" < '{high}'"
    await conn.execute(f"ALTER TABLE {table} ADD CONSTRAINT {table}_bounds CHECK ({bound})")
    await conn.execute(
        f"ALTER TABLE system_logs ATTACH PARTITION {table} FOR VALUES FROM ('{low}') TO ('{high}')"
    )
    await conn.execute(f"ALTER TABLE {table} DROP CONSTRAINT {table}_bounds")
    print(f"  {ROWS} rows generated in {time.perf_counter() - started:.1f} s", flush=True)
    started = time.perf_counter()
    added, chains = await trade_chains.rebuild(
        conn,
        day,
        day + timedelta(days=1),
        trades.key_paths(settings.trade_key_fields),
        deadlines(settings),
        chunk=50_000,
    )
    elapsed = time.perf_counter() - started
    print(f"  {added} stages, {chains} chains built in {elapsed:.1f} s", flush=True)
    await conn.execute("VACUUM ANALYZE")
    await conn.execute("INSERT INTO bench_trades_meta (rows, day) VALUES ($1, $2)", ROWS, day)
    return day


@dataclass
class Case:
    name: str
    chains: Callable[[], Awaitable[Any]]
    plain: Callable[[], Awaitable[Any]] | None = None


def plain_query(
    conn: asyncpg.Connection, settings: Settings, start: datetime, end: datetime, where: str = ""
) -> Callable[[], Awaitable[Any]]:
    key, args = trade_chains.key_sql(trades.key_paths(settings.trade_key_fields))
    n = len(args)
    sql = PLAIN.format(
        key=key, start=n + 1, end=n + 2, levels=n + 3, trading=n + 4, where=where, limit=PAGE + 1
    )
    values = [*args, start, end, sorted(trades.STAGE_LEVELS), list(trades.TRADING_LEVELS)]
    return lambda: conn.fetch(sql, *values)


async def run() -> bool:
    server = databases.server_url("trades-pg")
    url = databases.with_database(server, "trades")
    admin = await asyncpg.connect(server)
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = 'trades'"):
            await admin.execute("CREATE DATABASE trades")
    finally:
        await admin.close()
    from shared import migrate

    await migrate.apply(url)
    settings = replace(Settings(), database_url=url, search_timeout_seconds=120.0)
    conn = await asyncpg.connect(url)
    try:
        await db.init_connection(conn)
        day = await load(conn, settings)
        end = day + timedelta(days=1)
        rows = await conn.fetchval("SELECT count(*) FROM system_logs")
        chains = await conn.fetchval("SELECT count(*) FROM trade_chains WHERE trading")
        print(f"  {rows} rows, {chains} trades over the 24 h from {day:%Y-%m-%d %H:%M} UTC")

        def listing(caller: Caller = ADMIN, **query: Any) -> Callable[[], Awaitable[Any]]:
            chosen = trade_api.TradesQuery(start=day, end=end, limit=PAGE, **query)
            return lambda: trade_api.list_trades(settings, chosen, caller, now=end)

        first = await trade_api.list_trades(
            settings, trade_api.TradesQuery(start=day, end=end, limit=PAGE), ADMIN, now=end
        )
        position = trade_api.cursor.decode(first["next_cursor"], settings.cursor_secret)
        cases = [
            Case("first page, 24 h", listing(), plain_query(conn, settings, day, end)),
            Case(
                "symbol ETHUSDT, 24 h",
                listing(symbol="ETHUSDT"),
                plain_query(conn, settings, day, end, "WHERE symbol = 'ETHUSDT'"),
            ),
            Case(
                "status stalled, 24 h",
                listing(status="stalled"),
                plain_query(
                    conn,
                    settings,
                    day,
                    end,
                    "WHERE executed_at IS NULL AND NOT blocked AND NOT failed"
                    " AND decision_at IS NULL",
                ),
            ),
            Case("status executed, 24 h", listing(status="executed")),
            Case("service portfolio-manager", listing(services=("portfolio-manager",))),
            Case("reader limited to one service", listing(LIMITED)),
            Case("second page by cursor", listing(after=position)),
        ]
        print(
            f"\n{'query (page of 50)':34} {'chains p50':>11} {'p95':>8} "
            f"{'system_logs p50':>16} {'p95':>9} {'speed-up':>9}"
        )
        ok = True
        for case in cases:
            c50, c95 = percentiles(await timed(case.chains, RUNS))
            line = f"{case.name:34} {c50:9.1f}ms {c95:6.1f}ms"
            if case.plain is not None:
                p50, p95 = percentiles(await timed(case.plain, PLAIN_RUNS))
                line += f" {p50:14.0f}ms {p95:7.0f}ms {p50 / c50:8.0f}x"
            verdict = "ok" if c95 <= TARGET_P95_MS else f"MISSED (p95 target {TARGET_P95_MS:g} ms)"
            ok = ok and c95 <= TARGET_P95_MS
            print(f"{line}  {verdict}", flush=True)
        return ok
    finally:
        await conn.close()
        await db.close()


async def upkeep(server: str) -> None:
    """What keeping chains adds to the analyzer: the demo fleet's records in batches of 1,000
    through the whole analyzer step (rules, alerts, chains, position), beside the chain upkeep
    alone on the same batches (a fresh database for each), in one run."""
    from devhost.demo import sample
    from shared import analysis, trade_alerts

    records = sample(UPKEEP_SECONDS, rate=200.0, seed=5)
    for i, record in enumerate(records):
        record["id"] = f"up-{i}"
    batches = [records[i : i + 1000] for i in range(0, len(records) - 999, 1000)]
    stages = sum(
        len(trades.stages_of(b, trades.key_paths(("signal_id", "request_id")))) for b in batches
    )
    timings: dict[str, list[float]] = {"analyzer step": [], "chain upkeep alone": []}
    async with databases.fresh(server, "tradesup") as url:
        settings = replace(Settings(), database_url=url)
        analysis._analyzer = None
        seq = 0
        for batch in batches:
            deliveries = []
            for record in batch:
                deliveries.append(analysis.Delivery(orjson.dumps(record), "p0", seq))
                seq += 1
            started = time.perf_counter()
            await analysis.analyze(deliveries, settings)
            timings["analyzer step"].append((time.perf_counter() - started) * 1000)
        await db.close()
    async with databases.fresh(server, "tradesup") as url:
        settings = replace(Settings(), database_url=url)
        ruleset = analysis.analyzer(settings).ruleset
        conn = await asyncpg.connect(url)
        try:
            for batch in batches:
                started = time.perf_counter()
                async with conn.transaction():
                    await trade_alerts.record_batch(
                        conn, batch, settings, ruleset, datetime.now(UTC)
                    )
                timings["chain upkeep alone"].append((time.perf_counter() - started) * 1000)
        finally:
            await conn.close()
        await db.close()
    whole = statistics.median(timings["analyzer step"])
    print(
        f"\n{len(batches)} demo batches of 1,000 records ({stages} trade stages in all), "
        "median per batch:"
    )
    for name, samples in timings.items():
        median = statistics.median(samples)
        print(f"  {name:22} {median:7.1f} ms  ({median / whole:.0%} of the analyzer step)")


def main() -> bool:
    ok = asyncio.run(run())
    asyncio.run(upkeep(databases.server_url("trades-pg")))
    return ok


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
