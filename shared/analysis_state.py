"""The analyzer's durable state: its position in each partition (`analyzer_positions`) and when
each service was last heard from (`service_activity`). All SQL of both tables lives here."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import asyncpg


@dataclass(frozen=True, slots=True)
class Position:
    """The last event the analyzer stored for a partition."""

    sequence_number: int
    enqueued_at: datetime | None


async def lock_position(conn: asyncpg.Connection, partition: str) -> Position | None:
    """The partition's stored position, locked until the caller's transaction ends, so two
    deliveries of the same batch are analyzed one after the other, the second seeing the
    first's position."""
    await conn.execute(
        "INSERT INTO analyzer_positions (partition_id, sequence_number) VALUES ($1, -1) "
        "ON CONFLICT (partition_id) DO NOTHING",
        partition,
    )
    row = await conn.fetchrow(
        "SELECT sequence_number, enqueued_at FROM analyzer_positions "
        "WHERE partition_id = $1 FOR UPDATE",
        partition,
    )
    if row is None or row["sequence_number"] < 0:
        return None
    return Position(row["sequence_number"], row["enqueued_at"])


async def save_position(conn: asyncpg.Connection, partition: str, position: Position) -> None:
    await conn.execute(
        "UPDATE analyzer_positions SET sequence_number = $2, enqueued_at = $3, updated_at = now() "
        "WHERE partition_id = $1",
        partition,
        position.sequence_number,
        position.enqueued_at,
    )


async def record_heard(conn: asyncpg.Connection, heard: Mapping[str, datetime]) -> None:
    """Move each service's last-heard time forward (never back)."""
    if not heard:
        return
    await conn.execute(
        """
        INSERT INTO service_activity AS s (service, last_seen)
        SELECT * FROM unnest($1::text[], $2::timestamptz[])
        ON CONFLICT (service) DO UPDATE SET last_seen = greatest(s.last_seen, EXCLUDED.last_seen)
        """,
        list(heard),
        list(heard.values()),
    )


async def silent_since(
    conn: asyncpg.Connection, quiet_since: datetime, heard_after: datetime
) -> dict[str, datetime]:
    """Services last heard between `heard_after` and `quiet_since`: gone quiet, but not so
    long ago that they count as retired."""
    rows = await conn.fetch(
        "SELECT service, last_seen FROM service_activity WHERE last_seen < $1 AND last_seen >= $2",
        quiet_since,
        heard_after,
    )
    return {r["service"]: r["last_seen"] for r in rows}
