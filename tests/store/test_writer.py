"""The writer: every field stored right, exactly once, counted once, partitions on demand."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, date, datetime, timedelta

import asyncpg
import pytest

from shared import db, records, store
from tests.store.conftest import record


@pytest.fixture
async def conn(pg: asyncpg.Connection) -> asyncpg.Connection:
    await db.init_connection(pg)
    return pg


def decoded(**fields: object) -> dict:
    return records.decode_event(records.encode(record(**fields)))


async def test_writer_stores_every_field(conn: asyncpg.Connection) -> None:
    full = decoded(
        id=f"full-{uuid.uuid4().hex}",
        timestamp="2026-03-04T05:06:07.123456+00:00",
        received_at="2026-03-04T05:06:08.5+00:00",
        level="RISK_ALERT",
        level_no=35,
        service="portfolio-manager",
        logger_name="risk.limits",
        message="Exposure above limit on ETHUSDT: 12000 USDT",
        request_id="req-42",
        user_id="user-7",
        session_id="sess-9",
        event_type="risk",
        extra_data={"symbol": "ETHUSDT", "exposure": 12000.5, "nested": {"ok": [1, None, "x"]}},
        exception_type="RiskLimitExceeded",
        exception_message="limit 10000",
        stack_trace="Traceback (most recent call last):\n  ...",
        ip_address="10.1.2.3",
        user_agent="bot/1.0",
    )
    assert await store.write(conn, [full]) == 1
    row = await conn.fetchrow("SELECT * FROM system_logs WHERE id = $1", full["id"])
    assert row is not None
    stored = dict(row)
    for name in store.COLUMNS:
        assert stored[name] == full[name], name
    assert stored["timestamp"] == datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)


@pytest.mark.parametrize("fast_path", [True, False], ids=["direct-copy-first", "staging-only"])
async def test_same_batch_twice_is_stored_once_and_counted_once(
    conn: asyncpg.Connection, fast_path: bool
) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    moment = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
    batch = [
        decoded(service=service, timestamp=(moment + timedelta(seconds=i)).isoformat())
        for i in range(30)
    ] + [
        decoded(service=service, level="ERROR", level_no=40, timestamp=moment.isoformat())
        for _ in range(5)
    ]
    assert await store.write(conn, batch, fast_path=fast_path) == 35
    assert await store.write(conn, batch, fast_path=fast_path) == 0
    assert await store.write(conn, batch[:10] + batch[:10], fast_path=fast_path) == 0
    stored = await conn.fetchval("SELECT count(*) FROM system_logs WHERE service = $1", service)
    assert stored == 35
    minute = await conn.fetch(
        "SELECT level, count FROM log_counts_minute WHERE service = $1 ORDER BY level", service
    )
    assert [(r["level"], r["count"]) for r in minute] == [("ERROR", 5), ("INFO", 30)]
    by_minute = await conn.fetch(
        "SELECT minute, sum(count) AS n FROM log_counts_minute WHERE service = $1 "
        "GROUP BY minute ORDER BY minute",
        service,
    )
    assert [(r["minute"], r["n"]) for r in by_minute] == [(moment.replace(second=0), 35)]
    hour = await conn.fetch(
        "SELECT hour, level, count FROM log_counts_hour WHERE service = $1 ORDER BY level", service
    )
    assert [(r["hour"], r["level"], r["count"]) for r in hour] == [
        (moment.replace(minute=0, second=0), "ERROR", 5),
        (moment.replace(minute=0, second=0), "INFO", 30),
    ]


async def test_a_batch_partly_stored_adds_and_counts_only_the_rest(
    conn: asyncpg.Connection,
) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    batch = [decoded(service=service) for _ in range(40)]
    assert await store.write(conn, batch[10:25]) == 15
    assert await store.write(conn, batch) == 25
    stored = await conn.fetchval("SELECT count(*) FROM system_logs WHERE service = $1", service)
    counted = await conn.fetchval(
        "SELECT sum(count) FROM log_counts_minute WHERE service = $1", service
    )
    hourly = await conn.fetchval(
        "SELECT sum(count) FROM log_counts_hour WHERE service = $1", service
    )
    assert (stored, counted, hourly) == (40, 40, 40)


async def test_duplicates_within_one_batch_are_stored_once(conn: asyncpg.Connection) -> None:
    one = decoded(service=f"svc-{uuid.uuid4().hex[:8]}")
    assert await store.write(conn, [one, dict(one), dict(one)]) == 1
    count = await conn.fetchval(
        "SELECT count FROM log_counts_minute WHERE service = $1", one["service"]
    )
    assert count == 1


async def test_records_for_many_days_create_their_partitions(conn: asyncpg.Connection) -> None:
    first = date(2025, 1, 30)
    days = [first + timedelta(days=n) for n in range(0, 40, 3)]
    batch = [
        decoded(timestamp=datetime(d.year, d.month, d.day, 23, 59, 59, tzinfo=UTC).isoformat())
        for d in days
    ]
    assert await store.write(conn, batch, days_ahead_count=2) == len(batch)
    partitions = {
        r["relname"]
        for r in await conn.fetch(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'system_logs'::regclass"
        )
    }
    assert {store.partition_name(d) for d in days} <= partitions
    today = datetime.now(UTC).date()
    assert {store.partition_name(today + timedelta(days=n)) for n in range(3)} <= partitions
    placed = await conn.fetch(
        "SELECT tableoid::regclass::text AS part, timestamp FROM system_logs WHERE id = ANY($1)",
        [r["id"] for r in batch],
    )
    assert all(r["part"] == store.partition_name(r["timestamp"].date()) for r in placed)


async def test_partition_dropped_after_caching_is_created_again(conn: asyncpg.Connection) -> None:
    moment = datetime(2024, 2, 29, 12, tzinfo=UTC)
    assert await store.write(conn, [decoded(timestamp=moment.isoformat())]) == 1
    await conn.execute(f"DROP TABLE {store.partition_name(moment.date())}")
    assert await store.write(conn, [decoded(timestamp=moment.isoformat())]) == 1


async def test_timestamps_in_other_offsets_land_on_their_utc_day(conn: asyncpg.Connection) -> None:
    late = decoded(timestamp="2026-07-01T23:30:00-05:00", service=f"svc-{uuid.uuid4().hex[:8]}")
    assert await store.write(conn, [late]) == 1
    part = await conn.fetchval(
        "SELECT tableoid::regclass::text FROM system_logs WHERE id = $1", late["id"]
    )
    assert part == "system_logs_p20260702"
    minute = await conn.fetchval(
        "SELECT minute FROM log_counts_minute WHERE service = $1 AND minute >= $2",
        late["service"],
        datetime(2026, 7, 2, tzinfo=UTC),
    )
    assert minute == datetime(2026, 7, 2, 4, 30, tzinfo=UTC)


async def test_a_row_postgres_rejects_fails_the_whole_write(conn: asyncpg.Connection) -> None:
    good = decoded()
    bad = decoded(message="nul \u0000 inside")
    with pytest.raises(asyncpg.DataError):
        await store.write(conn, [good, bad])
    assert await conn.fetchval("SELECT count(*) FROM system_logs WHERE id = $1", good["id"]) == 0


async def test_new_partitions_get_every_index(conn: asyncpg.Connection) -> None:
    day = date(2023, 6, 1)
    await store.ensure_partitions(conn, [day])
    parent = await conn.fetchval("SELECT count(*) FROM pg_indexes WHERE tablename = 'system_logs'")
    child = await conn.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE tablename = $1", store.partition_name(day)
    )
    assert parent >= 6
    assert child == parent


UNTOUCHED_DAY = date(1987, 7, 2)
"""A day no other test writes records on (the reports' tests pick random days from 2031)."""


async def test_creating_a_partition_does_not_wait_for_readers(
    conn: asyncpg.Connection, database_url: str
) -> None:
    reader = await asyncpg.connect(database_url)
    try:
        async with reader.transaction():
            await reader.fetch("SELECT id FROM system_logs LIMIT 1")
            created = await asyncio.wait_for(
                store.ensure_partitions(conn, [UNTOUCHED_DAY]), timeout=4
            )
    finally:
        await reader.close()
    assert created == [UNTOUCHED_DAY]


async def test_concurrent_creators_of_one_day_all_succeed(database_url: str) -> None:
    day = date(2022, 3, 14)
    conns = [await asyncpg.connect(database_url) for _ in range(6)]
    try:
        results = await asyncio.gather(
            *(c.fetchval("SELECT ensure_system_logs_partition($1)", day) for c in conns)
        )
    finally:
        for c in conns:
            await c.close()
    assert sorted(results) == [False] * 5 + [True]


async def test_a_retried_record_without_client_timestamp_is_stored_once(
    conn: asyncpg.Connection,
) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    first = datetime(2026, 4, 1, 10, 0, tzinfo=UTC)

    def arrival(moment: datetime) -> dict:
        return decoded(
            id="client-id-7",
            service=service,
            timestamp=moment.isoformat(),
            received_at=moment.isoformat(),
        )

    assert await store.write(conn, [arrival(first)]) == 1
    assert await store.write(conn, [arrival(first + timedelta(seconds=5))]) == 0
    assert await store.write(conn, [arrival(first + timedelta(days=2))]) == 1
    stored = await conn.fetchval("SELECT count(*) FROM system_logs WHERE service = $1", service)
    counted = await conn.fetchval(
        "SELECT sum(count) FROM log_counts_minute WHERE service = $1", service
    )
    assert (stored, counted) == (2, 2)
