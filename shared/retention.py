"""Retention: keeps `system_logs` at the size the per-level policy allows.

- A day partition wholly past the longest policy is dropped whole: detached CONCURRENTLY (so
  readers and writers are never blocked), then dropped; no row-by-row delete, no bloat.
- Rows of levels with shorter policies are deleted in bounded batches: each statement covers a
  range of the partition's pages (a TID range scan) and its own short transaction, so no lock is
  held for long and the work can stop at its time budget and resume the next night.
- A partition swept for a level once it is wholly past that level's policy is remembered in
  `retention_swept` and not rescanned.
- Plain VACUUM (never VACUUM FULL) afterwards makes the freed space reusable.

The archive in Blob Storage keeps everything; this only bounds the database. All SQL that
removes rows by policy, and the SQL of `retention_swept` and `retention_runs`, is here."""

from __future__ import annotations

import logging
import re
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from shared import db
from shared.settings import Settings

log = logging.getLogger(__name__)

PARENT = "system_logs"
ROLLUPS = (
    ("log_counts_minute", "minute"),
    ("log_counts_hour", "hour"),
    ("secret_leaks", "seen_at"),
)
"""Count tables trimmed past the longest retention (the leak counters with them)."""
LOCK_TIMEOUT = "5s"
DEFAULT_ROWS_PER_PAGE = 40
VACUUM_GROUP = 50
"""Partitions vacuumed by one VACUUM statement (plain VACUUM: never FULL, no exclusive lock)."""
_BOUND = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")


@dataclass(frozen=True, slots=True)
class Partition:
    name: str
    lower: datetime | None
    upper: datetime | None
    """None for a DEFAULT partition: its rows are swept with a timestamp condition."""


@dataclass
class Summary:
    started_at: datetime
    cutoffs: dict[str, datetime]
    dropped: list[dict[str, Any]] = field(default_factory=list)
    deleted: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    rollup_rows_deleted: int = 0
    bytes_before: int = 0
    bytes_after: int = 0
    complete: bool = True
    finished_at: datetime | None = None

    @property
    def rows_removed(self) -> int:
        return sum(self.deleted.values()) + sum(d["rows"] for d in self.dropped)

    def document(self) -> dict[str, Any]:
        removed_by_level: dict[str, int] = defaultdict(int)
        for level, n in self.deleted.items():
            removed_by_level[level] += n
        for d in self.dropped:
            for level, n in d["by_level"].items():
                removed_by_level[level] += n
        return {
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "complete": self.complete,
            "cutoffs": self.cutoffs,
            "rows_removed": self.rows_removed,
            "removed_by_level": dict(sorted(removed_by_level.items())),
            "rows_deleted_in_batches": sum(self.deleted.values()),
            "partitions_dropped": [d["name"] for d in self.dropped],
            "rows_in_dropped_partitions": sum(d["rows"] for d in self.dropped),
            "rollup_rows_deleted": self.rollup_rows_deleted,
            "bytes_before": self.bytes_before,
            "bytes_after": self.bytes_after,
        }


def cutoffs(policy: Mapping[str, int], now: datetime) -> dict[str, datetime]:
    """The moment before which each level's rows are past their policy."""
    return {level: now - timedelta(days=days) for level, days in sorted(policy.items())}


def _parse_bound(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


async def partitions(conn: asyncpg.Connection) -> list[Partition]:
    """The partitions of system_logs with their bounds, oldest first."""
    rows = await conn.fetch(
        """
        SELECT c.relname AS name, pg_get_expr(c.relpartbound, c.oid) AS bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = $1::regclass
        """,
        PARENT,
    )
    found = []
    for row in rows:
        match = _BOUND.search(row["bound"] or "")
        if match:
            found.append(Partition(row["name"], _parse_bound(match[1]), _parse_bound(match[2])))
        else:
            found.append(Partition(row["name"], None, None))
    return sorted(
        found, key=lambda p: (p.lower is None, p.lower or datetime.max.replace(tzinfo=UTC))
    )


async def table_bytes(conn: asyncpg.Connection) -> int:
    """Bytes on disk of system_logs: every partition with its indexes and TOAST."""
    value = await conn.fetchval(
        "SELECT coalesce(sum(pg_total_relation_size(relid)), 0) "
        "FROM pg_partition_tree($1::regclass)",
        PARENT,
    )
    return int(value)


def _quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


async def _drop(conn: asyncpg.Connection, partition: Partition) -> dict[str, Any]:
    """Detach and drop a partition, counting what it held by level first."""
    table = _quoted(partition.name)
    by_level = {
        r["level"]: r["n"]
        for r in await conn.fetch(f"SELECT level, count(*) AS n FROM {table} GROUP BY level")
    }
    await conn.execute(f"SET lock_timeout = '{LOCK_TIMEOUT}'")
    try:
        try:
            await conn.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {table} CONCURRENTLY")
        except asyncpg.ObjectNotInPrerequisiteStateError:
            # a DEFAULT partition exists, or an earlier concurrent detach was interrupted
            pending = await conn.fetchval(
                "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = $1::regclass",
                partition.name,
            )
            if pending:
                await conn.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {table} FINALIZE")
            else:
                await conn.execute(f"ALTER TABLE {PARENT} DETACH PARTITION {table}")
        await conn.execute(f"DROP TABLE {table}")
    finally:
        await conn.execute("RESET lock_timeout")
    await conn.execute("DELETE FROM retention_swept WHERE partition_name = $1", partition.name)
    return {"name": partition.name, "rows": sum(by_level.values()), "by_level": by_level}


async def _pages(conn: asyncpg.Connection, partition: Partition) -> tuple[int, float]:
    """(pages in the partition, estimated live rows per page)."""
    row = await conn.fetchrow(
        """
        SELECT pg_relation_size(c.oid) / current_setting('block_size')::int AS pages,
               c.reltuples, c.relpages
        FROM pg_class c WHERE c.oid = $1::regclass
        """,
        _quoted(partition.name),
    )
    assert row is not None
    density = (
        row["reltuples"] / row["relpages"]
        if row["relpages"] > 0 and row["reltuples"] > 0
        else DEFAULT_ROWS_PER_PAGE
    )
    return int(row["pages"]), max(density, 1.0)


async def _sweep(
    conn: asyncpg.Connection,
    partition: Partition,
    levels: list[str],
    cutoff: datetime | None,
    batch_rows: int,
    deadline: float,
    summary: Summary,
) -> bool:
    """Delete this partition's rows of these levels (older than cutoff, when given) in batches
    of page ranges. False when the time budget ran out first."""
    table = _quoted(partition.name)
    pages, density = await _pages(conn, partition)
    step = max(1, int(batch_rows / density))
    condition = "level = ANY($3::text[])" + (' AND "timestamp" < $4' if cutoff else "")
    statement = f"""
        WITH gone AS (
            DELETE FROM {table}
            WHERE ctid >= $1::tid AND ctid < $2::tid AND {condition}
            RETURNING level
        )
        SELECT level, count(*) AS n FROM gone GROUP BY level
    """
    args: list[Any] = [levels] + ([cutoff] if cutoff else [])
    for first in range(0, pages, step):
        if time.monotonic() > deadline:
            return False
        rows = await conn.fetch(statement, (first, 0), (first + step, 0), *args)
        for r in rows:
            summary.deleted[r["level"]] += r["n"]
    return True


async def _swept(conn: asyncpg.Connection) -> set[tuple[str, str]]:
    rows = await conn.fetch("SELECT partition_name, level FROM retention_swept")
    return {(r["partition_name"], r["level"]) for r in rows}


async def _mark_swept(conn: asyncpg.Connection, partition: str, levels: list[str]) -> None:
    await conn.execute(
        "INSERT INTO retention_swept (partition_name, level) "
        "SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING",
        partition,
        levels,
    )


async def _trim_rollups(
    conn: asyncpg.Connection, cutoff: datetime, batch_rows: int, deadline: float
) -> int:
    removed = 0
    for table, column in ROLLUPS:
        while time.monotonic() < deadline:
            status = await conn.execute(
                f"""
                DELETE FROM {table} WHERE ctid = ANY(ARRAY(
                    SELECT ctid FROM {table} WHERE {column} < $1 LIMIT $2
                ))
                """,
                cutoff,
                batch_rows,
            )
            n = int(status.split()[-1])
            removed += n
            if n < batch_rows:
                break
    return removed


async def enforce(
    conn: asyncpg.Connection,
    policy: Mapping[str, int],
    now: datetime,
    batch_rows: int = 10_000,
    budget_seconds: float = 480.0,
) -> Summary:
    """Apply the policy on this (non-transactional) connection."""
    deadline = time.monotonic() + budget_seconds
    limits = cutoffs(policy, now)
    longest = min(limits.values())
    summary = Summary(started_at=now, cutoffs=limits)
    summary.bytes_before = await table_bytes(conn)
    swept = await _swept(conn)
    touched: list[Partition] = []
    for partition in await partitions(conn):
        if time.monotonic() > deadline:
            summary.complete = False
            break
        if partition.upper is not None and partition.upper <= longest:
            summary.dropped.append(await _drop(conn, partition))
            continue
        whole: list[str] = []
        partial: dict[datetime, list[str]] = defaultdict(list)
        for level, cutoff in limits.items():
            if partition.upper is not None and partition.upper <= cutoff:
                if (partition.name, level) not in swept:
                    whole.append(level)
            elif partition.lower is None or partition.lower < cutoff:
                partial[cutoff].append(level)
        if not whole and not partial:
            continue
        touched.append(partition)
        if whole:
            done = await _sweep(conn, partition, whole, None, batch_rows, deadline, summary)
            if not done:
                summary.complete = False
                break
            await _mark_swept(conn, partition.name, whole)
        for cutoff, levels in partial.items():
            if not await _sweep(conn, partition, levels, cutoff, batch_rows, deadline, summary):
                summary.complete = False
                break
        if not summary.complete:
            break
    summary.rollup_rows_deleted = await _trim_rollups(conn, longest, batch_rows, deadline)
    for first in range(0, len(touched), VACUUM_GROUP):
        group = touched[first : first + VACUUM_GROUP]
        await conn.execute("VACUUM " + ", ".join(_quoted(p.name) for p in group))
    summary.bytes_after = await table_bytes(conn)
    summary.finished_at = datetime.now(UTC)
    return summary


async def _record(conn: asyncpg.Connection, summary: Summary) -> None:
    await conn.execute(
        "INSERT INTO retention_runs (started_at, finished_at, summary) VALUES ($1, $2, $3)",
        summary.started_at,
        summary.finished_at,
        summary.document(),
    )


async def latest_run(conn: asyncpg.Connection) -> dict[str, Any] | None:
    return await conn.fetchval("SELECT summary FROM retention_runs ORDER BY id DESC LIMIT 1")


async def run(settings: Settings, now: datetime | None = None) -> dict[str, Any]:
    """The nightly run: enforce the configured policy, record and return what it removed."""
    now = now or datetime.now(UTC)
    connection = await db.connect(settings)
    try:
        summary = await enforce(
            connection,
            settings.retention_days,
            now,
            batch_rows=settings.retention_batch_rows,
            budget_seconds=settings.retention_budget_seconds,
        )
        await _record(connection, summary)
    finally:
        await connection.close()
    document = summary.document()
    log.info(
        "retention removed %d rows (%d partitions dropped), %d -> %d bytes%s",
        document["rows_removed"],
        len(document["partitions_dropped"]),
        document["bytes_before"],
        document["bytes_after"],
        "" if summary.complete else "; stopped at the time budget, resumes next run",
    )
    return document
