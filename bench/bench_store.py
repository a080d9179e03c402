"""Write throughput of the PostgreSQL store, measured side by side in one run.

Rows of about 500 bytes (with JSONB extra_data) go into the full indexed schema by:
  (a) plain COPY into system_logs (no idempotency, no rollups): the ceiling for this schema,
  (b) the idempotent writer as the store runs it: COPY straight into system_logs plus the
      rollup counts, falling back to the staging path when a record is stored already,
  (s) the writer's staging path alone (what a redelivered batch takes): COPY into the reused
      TEMP staging table, INSERT ... ON CONFLICT DO NOTHING with the rollups,
  (s2) the staging path with a staging table created per transaction (ON COMMIT DROP),
  (c) asyncpg executemany INSERT ... ON CONFLICT DO NOTHING,
  (d) plain COPY into a copy of the table with only its primary key.
Methods take turns batch by batch (500 rows, host.json's maxEventBatchSize) so that noise from
other processes and the growth of the indexes fall on all of them alike.

Targets: (b) >= 80% of (a); (b) >= (c); (a) >= 50% of (d).
Database: BENCH_DATABASE_URL, else an embedded server in .benchdata/store-postgres.
"""

from __future__ import annotations

import asyncio
import os
import random
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg

from bench import databases
from shared import db, store

ROOT = Path(__file__).resolve().parent.parent
BATCH = 500
ROUNDS = int(os.environ.get("BENCH_STORE_ROUNDS", "80"))
BLOCK_ROUNDS = 10
"""Ratios are the median over blocks of 10 rounds: long enough for each block to include GIN
pending-list flushes, short enough that a burst of load from other processes spoils one block
rather than the result."""
PRELOAD_ROWS = int(os.environ.get("BENCH_STORE_PRELOAD", "100000"))
SERVICES = (
    "api-gateway",
    "trading-engine",
    "ai-processor",
    "telegram-bot",
    "portfolio-manager",
    "exchange-connector",
)
LEVEL_WEIGHTS = (
    ("DEBUG", 10, 10),
    ("INFO", 20, 60),
    ("SIGNAL_RECEIVED", 22, 6),
    ("AI_DECISION", 23, 5),
    ("TRADE_EXECUTED", 25, 8),
    ("WARNING", 30, 6),
    ("RISK_ALERT", 35, 1),
    ("ERROR", 40, 3),
    ("CRITICAL", 50, 1),
)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT", "DOGEUSDT")
MESSAGES = (
    "Order {oid} filled: bought {qty} {sym} at {px} on binance",
    "Price update for {sym}: {px} (spread {ms} bps)",
    "Signal received: BUY {sym} strength 0.{qty} from momentum model",
    "Request completed GET /api/portfolio in {ms} ms",
    "Risk check passed for {sym}: exposure {px} USDT below limit",
    "Websocket reconnect to exchange after {ms} ms, resubscribing {sym}",
    "Model decided long on {sym} with confidence 0.{qty}",
    "Trade execution failed for order {oid} on {sym}: exchange rejected",
)


def make_records(count: int, start: datetime, rng: random.Random) -> list[dict[str, Any]]:
    names = [w[0] for w in LEVEL_WEIGHTS]
    numbers = {w[0]: w[1] for w in LEVEL_WEIGHTS}
    weights = [w[2] for w in LEVEL_WEIGHTS]
    rows = []
    for i in range(count):
        level = rng.choices(names, weights)[0]
        service = rng.choice(SERVICES)
        sym = rng.choice(SYMBOLS)
        oid = f"ord-{rng.getrandbits(40):x}"
        fields = {
            "oid": oid,
            "sym": sym,
            "qty": rng.randint(1, 999),
            "px": f"{rng.uniform(0.1, 90000):.2f}",
            "ms": rng.randint(1, 5000),
        }
        ts = start + timedelta(milliseconds=i * 7)
        record = {
            "id": str(uuid.uuid4()),
            "timestamp": ts,
            "received_at": ts + timedelta(milliseconds=40),
            "level": level,
            "level_no": numbers[level],
            "service": service,
            "logger_name": f"{service}.engine",
            "message": rng.choice(MESSAGES).format(**fields),
            "request_id": f"req-{uuid.uuid4().hex[:16]}",
            "user_id": f"user-{rng.randint(1, 5000)}",
            "session_id": f"sess-{rng.randint(1, 40000)}",
            "event_type": rng.choice(("order", "price", "signal", "risk", "http")),
            "extra_data": {
                "symbol": sym,
                "order_id": oid,
                "exchange": "binance",
                "side": rng.choice(("buy", "sell")),
                "quantity": fields["qty"],
                "price": float(fields["px"]),
                "latency_ms": fields["ms"],
                "strategy": "momentum-v3",
            },
            "exception_type": "TimeoutError" if numbers[level] >= 40 else None,
            "exception_message": "exchange did not answer in time"
            if numbers[level] >= 40
            else None,
            "stack_trace": None,
            "ip_address": f"10.0.{rng.randint(0, 255)}.{rng.randint(1, 254)}",
            "user_agent": "trading-bot/3.2 python-httpx/0.27",
        }
        rows.append(record)
    return rows


PK_ONLY_TABLE = """
CREATE TABLE bench_pk_only (LIKE system_logs INCLUDING DEFAULTS) PARTITION BY RANGE ("timestamp");
ALTER TABLE bench_pk_only ADD PRIMARY KEY (id, "timestamp");
"""


async def _pk_only_partition(conn: asyncpg.Connection, day: datetime) -> None:
    lower = day.replace(hour=0, minute=0, second=0, microsecond=0)
    name = f"bench_pk_only_p{lower:%Y%m%d}"
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF bench_pk_only "
        f"FOR VALUES FROM ('{lower.isoformat()}') TO ('{(lower + timedelta(days=1)).isoformat()}')"
    )


Records = Sequence[dict[str, Any]]
Method = Callable[[asyncpg.Connection, Records], Awaitable[Any]]


def _rows(records: Records) -> list[tuple[Any, ...]]:
    return [store.row(r) for r in records]


async def copy_plain(conn: asyncpg.Connection, records: Records) -> None:
    await conn.copy_records_to_table("system_logs", records=_rows(records), columns=store.COLUMNS)


async def copy_pk_only(conn: asyncpg.Connection, records: Records) -> None:
    await conn.copy_records_to_table("bench_pk_only", records=_rows(records), columns=store.COLUMNS)


async def executemany(conn: asyncpg.Connection, records: Records) -> None:
    async with conn.transaction():
        await conn.executemany(store.INSERT_ROW, _rows(records))


def writer(fast_path: bool, reuse_staging: bool = True) -> Method:
    async def write(conn: asyncpg.Connection, records: Records) -> None:
        await store.write(conn, records, fast_path=fast_path, reuse_staging=reuse_staging)

    return write


METHODS: dict[str, tuple[str, Method]] = {
    "a": ("plain COPY into system_logs", copy_plain),
    "b": ("idempotent writer", writer(fast_path=True)),
    "s": ("writer's staging path, staging reused", writer(fast_path=False)),
    "s2": ("writer's staging path, staging per txn", writer(False, reuse_staging=False)),
    "c": ("executemany INSERT ON CONFLICT", executemany),
    "d": ("plain COPY, primary key only", copy_pk_only),
}


async def run(url: str) -> list[dict[str, float]]:
    conn = await asyncpg.connect(url)
    await db.init_connection(conn)
    try:
        rng = random.Random(7)
        start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
        await store.ensure_partitions(conn, [start.date()])
        await conn.execute(PK_ONLY_TABLE)
        await _pk_only_partition(conn, start)
        preload = make_records(PRELOAD_ROWS, start, rng)
        for i in range(0, len(preload), 5000):
            await copy_plain(conn, preload[i : i + 5000])
            await copy_pk_only(conn, preload[i : i + 5000])
        await conn.execute("VACUUM ANALYZE system_logs")
        await conn.execute("VACUUM ANALYZE bench_pk_only")
        cursor = start + timedelta(milliseconds=PRELOAD_ROWS * 7)
        blocks: list[dict[str, float]] = []
        for round_no in range(ROUNDS):
            if round_no % BLOCK_ROUNDS == 0:
                blocks.append(dict.fromkeys(METHODS, 0.0))
            order = list(METHODS)
            random.Random(round_no).shuffle(order)
            for key in order:
                rows = make_records(BATCH, cursor, rng)
                cursor += timedelta(milliseconds=BATCH * 7)
                began = time.perf_counter()
                await METHODS[key][1](conn, rows)
                blocks[-1][key] += time.perf_counter() - began
        return blocks
    finally:
        await conn.close()


async def amain() -> bool:
    server = await asyncio.to_thread(databases.server_url, "store-postgres")
    store.forget_partitions()  # a benchmark run before this one may have used another database
    async with databases.fresh(server, "bench_store") as url:
        blocks = await run(url)
    rows_per_block = BLOCK_ROUNDS * BATCH
    rates = {k: len(blocks) * rows_per_block / sum(b[k] for b in blocks) for k in METHODS}

    def ratio(faster: str, slower: str) -> float:
        return statistics.median(b[slower] / b[faster] for b in blocks)

    print(f"{ROUNDS} rounds of {BATCH}-row batches per method, {PRELOAD_ROWS} rows preloaded")
    print(f"{'method':<44} {'rows/s':>10}")
    for key, (label, _) in METHODS.items():
        print(f"({key}) {label:<39} {rates[key]:>10,.0f}")
    checks = [
        ("writer / plain COPY", ratio("b", "a"), 0.80),
        ("writer / executemany", ratio("b", "c"), 1.00),
        ("plain COPY / PK-only COPY", ratio("a", "d"), 0.50),
        ("staging path / plain COPY", ratio("s", "a"), None),
        ("staging reused / per txn", ratio("s", "s2"), None),
    ]
    ok = True
    print(f"\n{'ratio':<30} {'value':>7} {'target':>8}  result")
    for label, value, target in checks:
        if target is None:
            print(f"{label:<30} {value:>7.2f} {'-':>8}  (informative)")
            continue
        passed = value >= target
        ok = ok and passed
        verdict = "ok" if passed else "MISSED"
        print(f"{label:<30} {value:>7.2f} {'>=' + format(target, '.2f'):>8}  {verdict}")
    return ok


def main() -> bool:
    return asyncio.run(amain())


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
