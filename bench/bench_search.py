"""Read speed at 5 million rows: the canonical queries against the project's schema (daily
partitions, the migrations' indexes, keyset cursors, rollups) and against the seed's schema
(one table, primary key only, ILIKE, OFFSET), side by side in one run over the same rows.

Targets: p95 <= 50 ms for each query except 7-day stats (<= 250 ms), and the filtered queries
at least 20 times faster than on the seed's schema (by p50). A second table measures the
index choice for time ranges on one day's rows: B-tree against BRIN; a third the peak memory
of exporting a day's rows streamed against fetched whole (target: 10 times less).

Database: BENCH_DATABASE_URL, else an embedded server in .benchdata/search-pg (database
`search`). The rows are generated once by `bench/search_data.py` and kept between runs.
BENCH_SEARCH_ROWS (default 5000000), BENCH_SEARCH_RUNS (default 30), BENCH_SEED_RUNS (5)."""

from __future__ import annotations

import asyncio
import os
import statistics
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import search_data
from shared import db, params, search, stats
from shared.access import Caller, Role
from shared.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("BENCH_SEARCH_ROWS", "5000000"))
DAYS = 30
RUNS = int(os.environ.get("BENCH_SEARCH_RUNS", "30"))
SEED_RUNS = int(os.environ.get("BENCH_SEED_RUNS", "5"))
WARMUP = 3
SPEEDUP_TARGET = 20.0
ADMIN = Caller("bench", Role.ADMIN)
SECRET = "bench"
FTS_WORD = "rejected"
PHRASE = "Trade execution failed"
PAGE = 50

SEED_COLUMNS = (
    'id, "timestamp", level, service, logger_name, message, request_id, user_id, session_id, '
    "event_type, extra_data, exception_type, exception_message, stack_trace, ip_address, "
    "user_agent"
)
SEED_SERVICE = f"""SELECT {SEED_COLUMNS} FROM seed_logs WHERE service = $1
    AND "timestamp" >= $2 AND "timestamp" < $3 ORDER BY "timestamp" DESC LIMIT 100"""
SEED_ERRORS = f"""SELECT {SEED_COLUMNS} FROM seed_logs WHERE level IN ('ERROR', 'CRITICAL')
    AND "timestamp" >= $1 AND "timestamp" < $2 ORDER BY "timestamp" DESC LIMIT 100"""
SEED_REQUEST = f"""SELECT {SEED_COLUMNS} FROM seed_logs WHERE request_id = $1
    ORDER BY "timestamp" DESC LIMIT 100"""
SEED_TEXT = f"""SELECT {SEED_COLUMNS} FROM seed_logs WHERE message ILIKE '%' || $1 || '%'
    AND "timestamp" >= $2 AND "timestamp" < $3 ORDER BY "timestamp" DESC LIMIT 100"""
SEED_PAGE = f"""SELECT {SEED_COLUMNS} FROM seed_logs WHERE service = $1
    ORDER BY "timestamp" DESC OFFSET {(PAGE - 1) * 100} LIMIT 100"""
SEED_STATS = (
    'SELECT level, count(*) FROM seed_logs WHERE "timestamp" >= $1 GROUP BY level',
    'SELECT service, count(*) FROM seed_logs WHERE "timestamp" >= $1 GROUP BY service',
    'SELECT date_trunc(\'hour\', "timestamp"), count(*) FROM seed_logs WHERE "timestamp" >= $1'
    " AND level IN ('ERROR', 'CRITICAL') GROUP BY 1",
)


@dataclass
class Case:
    name: str
    ours: Callable[[], Awaitable[Any]]
    seed: Callable[[], Awaitable[Any]]
    target_ms: float
    filtered: bool = True
    informational: bool = False


def percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return statistics.median(ordered), p95


async def timed(fn: Callable[[], Awaitable[Any]], runs: int) -> list[float]:
    for _ in range(WARMUP if runs > 5 else 1):
        await fn()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await fn()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def bench_dsn() -> str:
    url = os.environ.get("BENCH_DATABASE_URL")
    if url:
        return url
    from devhost import lifeline

    server = lifeline.embedded_postgres(ROOT / ".benchdata" / "search-pg")

    async def ensure_database() -> None:
        conn = await asyncpg.connect(server.get_uri())
        try:
            if not await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = 'search'"):
                await conn.execute("CREATE DATABASE search")
        finally:
            await conn.close()

    asyncio.run(ensure_database())
    return server.get_uri("search")


def search_case(filters: params.Filters, after: Any = None) -> Callable[[], Awaitable[Any]]:
    query = params.SearchQuery(filters=filters, limit=100, after=after)
    return lambda: search.search_on(CONN[0], query, ADMIN, SECRET, 30.0)


CONN: list[asyncpg.Connection] = []


async def cursor_for_page(filters: params.Filters, page: int) -> Any:
    after = None
    for _ in range(page - 1):
        body = await search.search_on(
            CONN[0], params.SearchQuery(filters=filters, limit=100, after=after), ADMIN, SECRET, 30
        )
        token = body["next_cursor"]
        after = search.cursor.decode(token, SECRET)
    return after


async def cases(end: datetime) -> list[Case]:
    conn = CONN[0]
    day, week = end - timedelta(hours=24), end - timedelta(days=7)
    request_id = await conn.fetchval(
        'SELECT request_id FROM system_logs WHERE "timestamp" >= $1 LIMIT 1', week
    )
    service = "trading-engine"
    paged = params.Filters(services=(service,))
    after = await cursor_for_page(paged, PAGE)

    async def seed_stats() -> None:
        for sql in SEED_STATS:
            await conn.fetch(sql, week)

    def seed(sql: str, *args: Any) -> Callable[[], Awaitable[Any]]:
        return lambda: conn.fetch(sql, *args)

    return [
        Case(
            "newest 100 of one service, 24 h",
            search_case(params.Filters(services=(service,), start=day, end=end)),
            seed(SEED_SERVICE, service, day, end),
            50,
        ),
        Case(
            "ERROR and above, 24 h",
            search_case(params.Filters(min_level_no=40, start=day, end=end)),
            seed(SEED_ERRORS, day, end),
            50,
        ),
        Case(
            "one request_id",
            search_case(params.Filters(text={"request_id": request_id})),
            seed(SEED_REQUEST, request_id),
            50,
        ),
        Case(
            f"full-text word '{FTS_WORD}', 7 d",
            search_case(params.Filters(q=FTS_WORD, start=week, end=end)),
            seed(SEED_TEXT, FTS_WORD, week, end),
            50,
        ),
        Case(
            f'exact phrase "{PHRASE}", 7 d',
            search_case(params.Filters(q=f'"{PHRASE}"', phrases=(PHRASE,), start=week, end=end)),
            seed(SEED_TEXT, PHRASE, week, end),
            50,
            informational=True,
        ),
        Case(
            "stats, 7 d",
            lambda: stats.stats_on(conn, params.StatsQuery("7d"), ADMIN, end),
            seed_stats,
            250,
            filtered=False,
        ),
        Case(
            f"page {PAGE} of one service (cursor vs OFFSET)",
            search_case(paged, after),
            seed(SEED_PAGE, service),
            50,
        ),
    ]


INDEX_CHOICE = """
CREATE TABLE IF NOT EXISTS bench_day_btree AS
    SELECT * FROM {day} ORDER BY "timestamp";
CREATE INDEX IF NOT EXISTS bench_day_btree_ts ON bench_day_btree ("timestamp");
CREATE TABLE IF NOT EXISTS bench_day_brin AS
    SELECT * FROM {day} ORDER BY "timestamp";
CREATE INDEX IF NOT EXISTS bench_day_brin_ts ON bench_day_brin USING brin ("timestamp");
ANALYZE bench_day_btree;
ANALYZE bench_day_brin;
"""
NEWEST_IN_HOUR = """SELECT * FROM {table} WHERE "timestamp" >= $1 AND "timestamp" < $2
    ORDER BY "timestamp" DESC LIMIT 100"""
COUNT_HOUR = 'SELECT count(*) FROM {table} WHERE "timestamp" >= $1 AND "timestamp" < $2'


async def index_choice(conn: asyncpg.Connection, end: datetime) -> list[str]:
    """B-tree against BRIN on the timestamp of one day's rows (stored in time order, as they
    arrive): the API's shape (newest 100 of a range) and a range count."""
    day = end.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    await conn.execute(INDEX_CHOICE.format(day=f"system_logs_p{day:%Y%m%d}"))
    low, high = day + timedelta(hours=12), day + timedelta(hours=13)
    lines = [
        f"{'index on timestamp (one day, 166k rows)':44} {'newest 100 p50':>15} "
        f"{'count 1 h p50':>14} {'size':>9}"
    ]
    for kind in ("btree", "brin"):
        table = f"bench_day_{kind}"
        newest = await timed(
            lambda t=table: conn.fetch(NEWEST_IN_HOUR.format(table=t), low, high), RUNS
        )
        counted = await timed(
            lambda t=table: conn.fetchval(COUNT_HOUR.format(table=t), low, high), RUNS
        )
        size = await conn.fetchval("SELECT pg_relation_size($1::regclass)", f"{table}_ts")
        lines.append(
            f"{kind:44} {statistics.median(newest):12.2f} ms {statistics.median(counted):11.2f} ms"
            f" {size / 1024:6.0f} kB"
        )
    return lines


async def export_memory(dsn: str, end: datetime) -> tuple[list[str], bool]:
    """Peak Python memory (tracemalloc, in a second run) and speed (in an untraced run) of
    exporting one day of rows as NDJSON: streamed by `export_chunks` against fetching every
    row first."""
    day_start = end.replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    filters = params.Filters(start=day_start, end=day_start + timedelta(days=1))
    query = params.ExportQuery(filters=filters)
    settings = Settings(database_url=dsn)

    async def streamed() -> int:
        size = 0
        async for chunk in search.export_chunks(settings, query, ADMIN):
            size += len(chunk.data)
        return size

    async def fetched_whole() -> int:
        sql, args = search.export_sql(query, ADMIN)
        async with search.reading(settings) as conn:
            rows = await conn.fetch(sql, *args)
        return len(b"".join(orjson.dumps(dict(r.items())) + b"\n" for r in rows))

    lines = [f"{'export of one day as NDJSON':44} {'peak memory':>15} {'rows/s':>14} {'bytes':>9}"]
    peaks = {}
    rows = await CONN[0].fetchval(
        'SELECT count(*) FROM system_logs WHERE "timestamp" >= $1 AND "timestamp" < $2',
        filters.start,
        filters.end,
    )
    for name, fn in (
        ("streamed (export_chunks)", streamed),
        ("fetch all, then encode", fetched_whole),
    ):
        started = time.perf_counter()
        size = await fn()
        elapsed = time.perf_counter() - started
        tracemalloc.start()
        await fn()
        peaks[name] = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        lines.append(
            f"{name:44} {peaks[name] / 2**20:11.1f} MiB {rows / elapsed:14,.0f}"
            f" {size / 2**20:5.0f} MiB"
        )
    ratio = peaks["fetch all, then encode"] / peaks["streamed (export_chunks)"]
    met = ratio >= 10
    lines.append(f"{'memory ratio (target >= 10x)':44} {ratio:11.0f}x  {'yes' if met else 'NO'}")
    await db.close()
    return lines, met


async def run() -> bool:
    dsn = await asyncio.to_thread(bench_dsn)
    started = time.perf_counter()
    first = await search_data.load(dsn, rows=ROWS, days=DAYS, log=lambda m: print(m, flush=True))
    print(f"data: {ROWS:,} rows over {DAYS} days ready in {time.perf_counter() - started:.1f} s")
    end = first + timedelta(days=DAYS) - timedelta(hours=6)
    conn = await asyncpg.connect(dsn)
    CONN[:] = [conn]
    try:
        await db.init_connection(conn)
        await conn.execute(search.CUSTOM_PLANS)
        ok = True
        header = (
            f"{'query':46} {'ours p50':>9} {'p95':>8} {'seed p50':>10} {'p95':>9} "
            f"{'speedup':>8} {'target':>18}  ok"
        )
        print(header)
        print("-" * len(header))
        for case in await cases(end):
            ours_p50, ours_p95 = percentiles(await timed(case.ours, RUNS))
            seed_p50, seed_p95 = percentiles(await timed(case.seed, SEED_RUNS))
            speedup = seed_p50 / ours_p50
            met = ours_p95 <= case.target_ms and (not case.filtered or speedup >= SPEEDUP_TARGET)
            target = f"p95<={case.target_ms:g}" + (
                f", >={SPEEDUP_TARGET:g}x" if case.filtered else ""
            )
            if case.informational:
                target, verdict = "(informational)", "-"
            else:
                verdict = "yes" if met else "NO"
                ok = ok and met
            print(
                f"{case.name:46} {ours_p50:6.2f} ms {ours_p95:5.1f} ms {seed_p50:7.1f} ms "
                f"{seed_p95:6.1f} ms {speedup:7.0f}x {target:>18}  {verdict}",
                flush=True,
            )
        print()
        for line in await index_choice(conn, end):
            print(line)
        print()
        lines, bounded = await export_memory(dsn, end)
        for line in lines:
            print(line)
        return ok and bounded
    finally:
        await conn.close()


def main() -> bool:
    return asyncio.run(run())


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
