"""The PostgreSQL writer for log records, and the upkeep of their daily partitions.

A batch is COPY-loaded into a per-connection TEMP staging table, then moved with one
`INSERT ... SELECT ... ON CONFLICT DO NOTHING` whose inserted rows also feed the per-minute and
per-hour counts, all in one transaction: a redelivered batch inserts nothing and counts
nothing. The primary key is (id, timestamp), as partitioning requires; a record id already
stored within a day of the staged timestamp also counts as stored, so a client that retries
a record with its id but without a timestamp (which then defaults to the time it was
received) is still stored once. All SQL that writes `system_logs` lives here."""

from __future__ import annotations

import contextlib
from collections import Counter
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import asyncpg

from shared import levels, records

COLUMNS: tuple[str, ...] = records.FIELDS
TEXT_COLUMNS = frozenset(COLUMNS) - {"timestamp", "received_at", "level_no", "extra_data"}
_ID, _TIMESTAMP, _RECEIVED_AT, _LEVEL, _LEVEL_NO, _SERVICE = range(6)
_MESSAGE = COLUMNS.index("message")
_TEXT_INDEXES = tuple(i for i, c in enumerate(COLUMNS) if c in TEXT_COLUMNS)
STAGING_TABLE = "system_logs_staging"
_column_list = ", ".join(f'"{c}"' for c in COLUMNS)

CREATE_STAGING = f"""
CREATE TEMP TABLE IF NOT EXISTS {STAGING_TABLE}
    (LIKE system_logs INCLUDING DEFAULTS) ON COMMIT DELETE ROWS
"""
STAGING_TABLE_PER_TRANSACTION = "system_logs_staging_txn"
CREATE_STAGING_PER_TRANSACTION = f"""
CREATE TEMP TABLE {STAGING_TABLE_PER_TRANSACTION}
    (LIKE system_logs INCLUDING DEFAULTS) ON COMMIT DROP
"""

_MOVE_STAGED = """
WITH inserted AS (
    INSERT INTO system_logs ({columns})
    SELECT DISTINCT ON (s.id) {staged_columns} FROM {staging} s
    WHERE NOT EXISTS (
        SELECT 1 FROM system_logs l
        WHERE l.id = s.id
          AND l."timestamp" > s."timestamp" - interval '1 day'
          AND l."timestamp" < s."timestamp" + interval '1 day'
    )
    ON CONFLICT DO NOTHING
    RETURNING "timestamp", service, level
), per_minute AS (
    INSERT INTO log_counts_minute AS c (minute, service, level, count)
    SELECT date_trunc('minute', "timestamp", 'UTC'), service, level, count(*)
    FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (minute, service, level) DO UPDATE SET count = c.count + EXCLUDED.count
), per_hour AS (
    INSERT INTO log_counts_hour AS c (hour, service, level, count)
    SELECT date_trunc('hour', "timestamp", 'UTC'), service, level, count(*)
    FROM inserted GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
    ON CONFLICT (hour, service, level) DO UPDATE SET count = c.count + EXCLUDED.count
)
SELECT count(*) FROM inserted
"""
_staged_column_list = ", ".join(f's."{c}"' for c in COLUMNS)
MOVE_STAGED = _MOVE_STAGED.format(
    columns=_column_list, staged_columns=_staged_column_list, staging=STAGING_TABLE
)
MOVE_STAGED_PER_TRANSACTION = _MOVE_STAGED.format(
    columns=_column_list,
    staged_columns=_staged_column_list,
    staging=STAGING_TABLE_PER_TRANSACTION,
)

INSERT_ROW = f"""
INSERT INTO system_logs ({_column_list})
VALUES ({", ".join(f"${n}" for n in range(1, len(COLUMNS) + 1))})
ON CONFLICT DO NOTHING
"""
"""One row at a time (executemany): the baseline the staged writer is measured against."""

ADD_COUNTS = """
WITH counts AS (
    SELECT to_timestamp(epoch_minute * 60) AS minute, service, level, count
    FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[])
        AS c(epoch_minute, service, level, count)
), per_minute AS (
    INSERT INTO log_counts_minute AS c (minute, service, level, count)
    SELECT minute, service, level, count FROM counts ORDER BY 1, 2, 3
    ON CONFLICT (minute, service, level) DO UPDATE SET count = c.count + EXCLUDED.count
)
INSERT INTO log_counts_hour AS c (hour, service, level, count)
SELECT date_trunc('hour', minute, 'UTC'), service, level, sum(count)
FROM counts GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
ON CONFLICT (hour, service, level) DO UPDATE SET count = c.count + EXCLUDED.count
"""
"""The rollup counts of a batch COPY-ed whole (the fast path), counted by the client."""

ENSURE_PARTITION = "SELECT ensure_system_logs_partition($1::date)"

_known_partitions: set[date] = set()


class MissingStaging(Exception):
    """This connection has no staging table yet (created once per connection, on first use)."""


class MissingPartition(Exception):
    """A row found no partition (dropped by retention after this process cached it)."""


def _aware(value: Any, name: str) -> datetime:
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {type(value).__name__}")
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def row(record: Mapping[str, Any], now: datetime | None = None) -> tuple[Any, ...]:
    """The record as a tuple in COLUMNS order; raises ValueError/TypeError if it cannot be."""
    values = [record.get(c) for c in COLUMNS]
    if not (values[_ID] and values[_SERVICE] and values[_LEVEL]):
        raise ValueError("a record needs an id, a service and a level")
    timestamp = values[_TIMESTAMP]
    if type(timestamp) is not datetime or timestamp.tzinfo is None:
        values[_TIMESTAMP] = _aware(timestamp, "timestamp")
    received = values[_RECEIVED_AT]
    if received is None:
        values[_RECEIVED_AT] = now or _utcnow()
    elif type(received) is not datetime or received.tzinfo is None:
        values[_RECEIVED_AT] = _aware(received, "received_at")
    if values[_LEVEL_NO] is None:
        level_no = levels.LEVELS.get(str(values[_LEVEL]))
        if level_no is None:
            raise ValueError(f"unknown level {values[_LEVEL]!r} and no level_no")
        values[_LEVEL_NO] = level_no
    if values[_MESSAGE] is None:
        values[_MESSAGE] = ""
    for i in _TEXT_INDEXES:
        value = values[i]
        if value is not None and type(value) is not str:
            values[i] = str(value)
    return tuple(values)


def _utcnow() -> datetime:
    return datetime.now(UTC)


def day_of(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def partition_name(day: date) -> str:
    return f"system_logs_p{day:%Y%m%d}"


async def ensure_partitions(conn: asyncpg.Connection, days: Iterable[date]) -> list[date]:
    """Create the daily partitions of these days that this process has not seen; return the
    days whose partitions were created now. Each in its own short transaction, outside any
    batch, since creating a partition briefly locks the parent table."""
    created = []
    for day in sorted(set(days) - _known_partitions):
        if await conn.fetchval(ENSURE_PARTITION, day):
            created.append(day)
        _known_partitions.add(day)
    return created


def forget_partitions() -> None:
    """Forget the partitions this process believes exist (after retention drops some)."""
    _known_partitions.clear()


def days_ahead(today: date, count: int) -> list[date]:
    return [today + timedelta(days=n) for n in range(count + 1)]


def minute_counts(
    rows: Sequence[tuple[Any, ...]],
) -> tuple[list[int], list[str], list[str], list[int]]:
    """Rows per (minute since the epoch, service, level), as the four arrays ADD_COUNTS takes,
    in key order."""
    counts = Counter((int(r[_TIMESTAMP].timestamp() // 60), r[_SERVICE], r[_LEVEL]) for r in rows)
    keys = sorted(counts)
    return (
        [k[0] for k in keys],
        [k[1] for k in keys],
        [k[2] for k in keys],
        [counts[k] for k in keys],
    )


def _missing_partition(exc: asyncpg.CheckViolationError) -> MissingPartition | None:
    return MissingPartition(str(exc)) if "no partition" in str(exc) else None


async def _copy_direct(conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]]) -> int:
    """The fast path: COPY straight into system_logs and add the counts, in one transaction.
    Raises UniqueViolationError, with nothing stored, if any record is stored already."""
    async with conn.transaction():
        try:
            await conn.copy_records_to_table("system_logs", records=rows, columns=COLUMNS)
        except asyncpg.CheckViolationError as exc:
            missing = _missing_partition(exc)
            if missing is not None:
                raise missing from exc
            raise
        await conn.execute(ADD_COUNTS, *minute_counts(rows))
    return len(rows)


async def _copy_and_move(
    conn: asyncpg.Connection, rows: Sequence[tuple[Any, ...]], reuse_staging: bool
) -> int:
    if reuse_staging:
        create, staging, move = CREATE_STAGING, STAGING_TABLE, MOVE_STAGED
    else:
        create = CREATE_STAGING_PER_TRANSACTION
        staging, move = STAGING_TABLE_PER_TRANSACTION, MOVE_STAGED_PER_TRANSACTION
    async with conn.transaction():
        if not reuse_staging:
            await conn.execute(create)
        try:
            await conn.copy_records_to_table(staging, records=rows, columns=COLUMNS)
        except asyncpg.UndefinedTableError as exc:
            if staging in str(exc):
                raise MissingStaging(str(exc)) from exc
            raise
        try:
            return int(await conn.fetchval(move))
        except asyncpg.CheckViolationError as exc:
            missing = _missing_partition(exc)
            if missing is not None:
                raise missing from exc
            raise


async def write(
    pool: asyncpg.Pool | asyncpg.Connection,
    records: Sequence[Mapping[str, Any]],
    *,
    days_ahead_count: int = 0,
    fast_path: bool = True,
    reuse_staging: bool = True,
) -> int:
    """Store the records once each (by id and timestamp) and count them in the rollups, in one
    transaction; return the number of rows inserted (0 for a batch already stored). Creates
    the partitions of every day the batch touches and `days_ahead_count` days past today.

    The fast path COPYs the batch straight into system_logs; if any of its records is stored
    already (a redelivery, a replay, a duplicate within the batch) that transaction fails on
    the primary key and the batch goes the idempotent way: COPY into the staging table, then
    INSERT ... ON CONFLICT DO NOTHING, skipping ids already stored within a day. A batch with
    records whose timestamp was defaulted to their arrival (equal to received_at) always goes
    the idempotent way, since a client's retry of such a record arrives with another
    timestamp. Either way nothing is stored or counted twice.

    Raises ValueError/TypeError for a record that cannot be a row and asyncpg errors as
    PostgreSQL reports them; nothing of the batch is stored then."""
    if not records:
        return 0
    now = _utcnow()
    rows = [row(r, now) for r in records]
    if fast_path and any(r[_TIMESTAMP] == r[_RECEIVED_AT] for r in rows):
        fast_path = False
    days = {day_of(r[_TIMESTAMP]) for r in rows}
    days.update(days_ahead(day_of(now), days_ahead_count))
    async with _connection(pool) as conn:
        await ensure_partitions(conn, days)
        for last_try in (False, False, True):
            try:
                if fast_path:
                    try:
                        return await _copy_direct(conn, rows)
                    except asyncpg.UniqueViolationError:
                        fast_path = False
                return await _copy_and_move(conn, rows, reuse_staging)
            except MissingStaging:
                if last_try:
                    raise
                await conn.execute(CREATE_STAGING)
            except MissingPartition:
                if last_try:
                    raise
                forget_partitions()
                await ensure_partitions(conn, days)
    raise AssertionError("unreachable")


@contextlib.asynccontextmanager
async def _connection(
    source: asyncpg.Pool | asyncpg.Connection,
) -> AsyncIterator[asyncpg.Connection]:
    """A connection acquired from a pool, or the given connection itself."""
    if isinstance(source, asyncpg.Pool):
        async with source.acquire() as conn:
            yield conn
    else:
        yield source
