"""Analysis speed, side by side in one run.

1. The analyzer on one core with the default rules plus 50 more: records per second of our
   one-pass RE2 set (with and without JSON decoding) beside the seed's loop of `re.search` per
   rule over the same records. Target: at least 50,000 records/s including decoding. Rates are
   per second of the process's CPU time, so other processes on a shared machine do not count
   against them.
2. Retention on a million expired rows, both ways it removes them: whole day partitions past
   the longest policy (dropped) and expired DEBUG rows interleaved with kept ERROR rows
   (batched deletes). Time, rows/s and the table's size before and after.
3. `GET /api/logs/stats?range=7d` at 5 million rows (the search benchmark's data set, kept in
   .benchdata between runs): p95 from the rollups beside a count over the raw rows. Target:
   p95 at most 100 ms.

Database: BENCH_DATABASE_URL's server, else an embedded server in .benchdata/analysis-pg; a
fresh database per run, dropped afterwards. BENCH_ANALYSIS_RECORDS (default 200000),
BENCH_RETENTION_ROWS (default 1000000)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import re
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import orjson

from bench import databases
from shared import levels, retention, rules
from shared.analyzer import Analyzer
from shared.settings import DEFAULT_RETENTION_DAYS, Settings

ROOT = Path(__file__).resolve().parent.parent
RECORDS = int(os.environ.get("BENCH_ANALYSIS_RECORDS", "200000"))
SEED_RECORDS = max(RECORDS // 10, 1000)
RETENTION_ROWS = int(os.environ.get("BENCH_RETENTION_ROWS", "1000000"))
TARGET_RECORDS_PER_S = 50_000
STATS_ROWS = int(os.environ.get("BENCH_SEARCH_ROWS", "5000000"))
STATS_RUNS = 30
STATS_TARGET_MS = 100
EXTRA_RULES = 50
SERVICES = (
    "api-gateway",
    "trading-engine",
    "ai-processor",
    "telegram-bot",
    "portfolio-manager",
    "exchange-connector",
)
MESSAGES = (
    "Order {i} filled BTCUSDT qty 0.01 at 43{i}.5",
    "Signal received for ETHUSDT: momentum {i}",
    "AI decision: hold position {i} confidence 0.{i}",
    "GET /api/portfolio/{i} 200",
    "Heartbeat {i} ok",
    "Risk check passed for account {i}",
    "Connection refused by exchange after {i} ms",
    "Order {i} rejected: insufficient balance",
    "Rate limit exceeded on endpoint /order ({i})",
)


def extra_rules() -> list[dict[str, Any]]:
    return [
        {
            "name": f"custom_{i:02d}",
            "pattern": f"(module_{i:02d} (crashed|stalled)|error code E{i:04d}\\b)",
            "severity": "low",
        }
        for i in range(EXTRA_RULES)
    ]


def synthetic_records(n: int, seed: int = 11) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = datetime(2026, 11, 27, 12, tzinfo=UTC)
    names = list(levels.LEVELS)
    weights = [20, 40, 8, 8, 8, 8, 3, 4, 1]
    records = []
    for i in range(n):
        level = rng.choices(names, weights)[0]
        extra: dict[str, Any] = {"symbol": "BTCUSDT"}
        if rng.random() < 0.3:
            extra["response_time"] = round(rng.expovariate(1 / 400), 1)
        records.append(
            {
                "id": f"b-{i}",
                "timestamp": (start + timedelta(milliseconds=5 * i)).isoformat(),
                "received_at": (start + timedelta(milliseconds=5 * i + 3)).isoformat(),
                "level": level,
                "level_no": levels.LEVELS[level],
                "service": rng.choice(SERVICES),
                "logger_name": "bot",
                "message": rng.choice(MESSAGES).format(i=i),
                "extra_data": extra,
            }
        )
    return records


def seed_loop(
    records: list[dict[str, Any]], patterns: list[str], slow_ms: float
) -> tuple[int, int]:
    """The seed's analysis: every rule's pattern searched in turn with `re.search`, then the
    slow-response check. Returns ((record, pattern) matches, slow records)."""
    matches = slow = 0
    for record in records:
        message = record.get("message") or ""
        for pattern in patterns:
            if re.search(pattern, message, re.IGNORECASE):
                matches += 1
        extra = record.get("extra_data") or {}
        if isinstance(extra.get("response_time"), int | float) and extra["response_time"] > slow_ms:
            slow += 1
    return matches, slow


def set_matches(ruleset: rules.RuleSet, records: list[dict[str, Any]]) -> int:
    """(record, pattern) matches of the message by our RE2 set, for comparison."""
    [(_, matcher, _)] = [s for s in ruleset.field_sets if s[0] == "message"]
    return sum(len(matcher.Match(r["message"]) or ()) for r in records)


@contextlib.contextmanager
def one_core() -> Iterator[str]:
    """Run on one core, restoring the process's affinity afterwards."""
    try:
        before = os.sched_getaffinity(0)
        core = min(before)
        os.sched_setaffinity(0, {core})
    except (AttributeError, OSError):
        yield "unpinned"
        return
    try:
        yield f"core {core}"
    finally:
        os.sched_setaffinity(0, before)


def analyzer_figures() -> tuple[list[str], bool]:
    settings = replace(Settings(), alert_rules_json=orjson.dumps({"rules": extra_rules()}).decode())
    ruleset = rules.load(settings)
    records = synthetic_records(RECORDS)
    bodies = [orjson.dumps(r) for r in records]
    patterns = [r.pattern for r in ruleset.pattern_rules]
    with one_core() as pinned:
        return _measure(ruleset, settings, records, bodies, patterns, pinned)


def _measure(
    ruleset: rules.RuleSet,
    settings: Settings,
    records: list[dict[str, Any]],
    bodies: list[bytes],
    patterns: list[str],
    pinned: str,
) -> tuple[list[str], bool]:
    engine = Analyzer(ruleset)
    engine.scan("warm", records[:2000])
    started = time.process_time()
    scan = engine.scan("0", records)
    scan_s = time.process_time() - started

    started = time.process_time()
    decoded = [orjson.loads(b) for b in bodies]
    Analyzer(ruleset).scan("1", decoded)
    full_s = time.process_time() - started

    subset = records[:SEED_RECORDS]
    started = time.process_time()
    seed_loop(subset, patterns, settings.slow_response_ms)
    seed_s = time.process_time() - started
    seed_rate = len(subset) / seed_s

    ours_matches = set_matches(ruleset, subset)
    seed_matches, _ = seed_loop(subset, patterns, settings.slow_response_ms)
    met = met_target = len(records) / full_s >= TARGET_RECORDS_PER_S

    scan_rate = len(records) / scan_s
    full_rate = len(records) / full_s
    met = met_target and ours_matches == seed_matches
    lines = [
        f"analyzer, {len(ruleset.pattern_rules)} pattern rules + windowed rules, {pinned}",
        f"{'path':44} {'records/s':>12} {'vs seed':>9}",
        f"{'ours: RE2 set, one pass (decoded records)':44} {scan_rate:12,.0f} "
        f"{scan_rate / seed_rate:8.1f}x",
        f"{'ours: JSON decode + one pass':44} {full_rate:12,.0f} {full_rate / seed_rate:8.1f}x",
        f"{'seed: re.search per rule per record':44} {seed_rate:12,.0f} {1:8.1f}x",
        f"target >= {TARGET_RECORDS_PER_S:,} records/s with decoding: "
        f"{'met' if met else 'MISSED'}; alerts found in the run: {len(scan.hits())}",
        f"same answers: {ours_matches:,} (record, pattern) matches by our set, "
        f"{seed_matches:,} by the seed's loop",
    ]
    return lines, met


FILL = """
INSERT INTO system_logs (id, "timestamp", received_at, level, level_no, service, message)
SELECT $5 || i,
       $1::timestamptz - ($2::float8 + (i::float8 / $4) * $3::float8) * interval '1 day',
       $1::timestamptz, $6, $7, 'svc-' || (i % 6), 'bench row ' || i
FROM generate_series(1, $4) AS i
"""


async def fill(
    conn: asyncpg.Connection,
    now: datetime,
    oldest_days: float,
    span_days: float,
    rows: int,
    level: str,
) -> None:
    await conn.execute(
        "SELECT ensure_system_logs_partition(d::date) FROM generate_series("
        "($1::timestamptz - $2::float8 * interval '1 day' - interval '1 day')::date, "
        "($1::timestamptz - $3::float8 * interval '1 day' + interval '1 day')::date, "
        "interval '1 day') AS d",
        now,
        oldest_days + span_days,
        oldest_days,
    )
    await conn.execute(
        FILL, now, oldest_days, span_days, rows, f"{level.lower()}-", level, levels.LEVELS[level]
    )
    # steady state, as autovacuum keeps it: GIN pending lists merged, statistics fresh
    await conn.execute("VACUUM ANALYZE system_logs")


async def one_retention_case(
    url: str, name: str, expired: tuple[float, float, str], kept: tuple[float, float, str] | None
) -> str:
    conn = await asyncpg.connect(url)
    try:
        now = datetime(2026, 11, 27, 3, 0, tzinfo=UTC)
        await fill(conn, now, expired[0], expired[1], RETENTION_ROWS, expired[2])
        kept_rows = 0
        if kept:
            kept_rows = RETENTION_ROWS // 10
            await fill(conn, now, kept[0], kept[1], kept_rows, kept[2])
        await conn.execute("CHECKPOINT")
        started = time.perf_counter()
        summary = await retention.enforce(conn, DEFAULT_RETENTION_DAYS, now, batch_rows=10_000)
        elapsed = time.perf_counter() - started
        left = await conn.fetchval("SELECT count(*) FROM system_logs")
        assert left == kept_rows, (left, kept_rows)
        return (
            f"{name:42} {summary.rows_removed:>10,} {elapsed:8.1f} s "
            f"{summary.rows_removed / elapsed:>11,.0f} {summary.bytes_before / 2**20:8.0f} MB "
            f"{summary.bytes_after / 2**20:8.0f} MB {len(summary.dropped):>6}"
        )
    finally:
        await conn.close()


async def retention_figures() -> list[str]:
    server = await asyncio.to_thread(databases.server_url, "analysis-pg")
    lines = [
        f"retention, {RETENTION_ROWS:,} expired rows per case",
        f"{'case':42} {'removed':>10} {'time':>10} {'rows/s':>11} {'before':>11} "
        f"{'after':>11} {'dropped':>7}",
    ]
    cases = [
        ("whole partitions past 365 d (drop)", (400.0, 60.0, "INFO"), None),
        ("DEBUG past 7 d among kept ERROR (delete)", (8.0, 60.0, "DEBUG"), (8.0, 60.0, "ERROR")),
    ]
    for name, expired, kept in cases:
        async with databases.fresh(server, "bench_retention") as url:
            lines.append(await one_retention_case(url, name, expired, kept))
    return lines


async def stats_figures() -> tuple[list[str], bool]:
    """GET /api/logs/stats?range=7d's query at 5 million rows (the search benchmark's data,
    generated once and kept), beside a scan of the raw rows for the same totals."""
    from bench import bench_search, search_data
    from shared import db, params, stats
    from shared.access import Caller, Role

    dsn = await asyncio.to_thread(bench_search.bench_dsn)
    first = await search_data.load(dsn, rows=STATS_ROWS, days=bench_search.DAYS, log=print)
    end = first + timedelta(days=bench_search.DAYS) - timedelta(hours=6)
    conn = await asyncpg.connect(dsn)
    try:
        await db.init_connection(conn)
        caller = Caller("bench", Role.ADMIN)
        query = params.StatsQuery("7d")

        async def ours() -> Any:
            return await stats.stats_on(conn, query, caller, end)

        async def raw() -> Any:
            return await conn.fetch(RAW_STATS, end - timedelta(days=7), end)

        ours_ms = await timed_ms(ours, STATS_RUNS)
        raw_ms = await timed_ms(raw, 3)
    finally:
        await conn.close()
    ours_p95, raw_p50 = percentile(ours_ms, 0.95), percentile(raw_ms, 0.5)
    met = ours_p95 <= STATS_TARGET_MS
    return [
        f"stats for 7 days at {STATS_ROWS:,} rows ({STATS_RUNS} runs, wall time)",
        f"{'query':44} {'p50':>9} {'p95':>9} {'vs raw':>8}",
        f"{'ours: per-minute and per-hour rollups':44} {percentile(ours_ms, 0.5):6.1f} ms "
        f"{ours_p95:6.1f} ms {raw_p50 / percentile(ours_ms, 0.5):7.0f}x",
        f"{'raw rows: count by level and service':44} {raw_p50:6.1f} ms {'':>9} {1:7.0f}x",
        f"target p95 <= {STATS_TARGET_MS} ms: {'met' if met else 'MISSED'}",
    ], met


RAW_STATS = """
SELECT level, service, count(*) FROM system_logs
WHERE "timestamp" >= $1 AND "timestamp" < $2 GROUP BY level, service
"""


async def timed_ms(call: Any, runs: int) -> list[float]:
    await call()
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> bool:
    lines, met = analyzer_figures()
    print("\n".join(lines), flush=True)
    print("\n".join(asyncio.run(retention_figures())), flush=True)
    stats_lines, stats_met = asyncio.run(stats_figures())
    print("\n".join(stats_lines), flush=True)
    return met and stats_met


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
