"""Leak counters: how many secrets of each kind ingest redacted from each service's records,
never the secrets. Ingest carries the counts on the event (`_redacted`, it never touches
PostgreSQL); the analyzer stores them here in its batch transaction, one row per record and
kind, so a redelivered event counts once; stats and the hourly report read them back."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

import asyncpg

from shared import redaction
from shared.analyzer import instant
from shared.records import REDACTED_COUNTS

_INSERT = """
INSERT INTO secret_leaks (record_id, kind, service, seen_at, count)
SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::timestamptz[], $5::int[])
ON CONFLICT (record_id, kind) DO NOTHING
"""
_COUNTS = """
SELECT service, kind, sum(count)::bigint AS count FROM secret_leaks
WHERE seen_at >= $1 AND seen_at < $2 {service_filter}
GROUP BY service, kind ORDER BY count DESC, service, kind
"""
_ALL_SERVICES = _COUNTS.format(service_filter="")
_SOME_SERVICES = _COUNTS.format(service_filter="AND service = ANY($3::text[])")


def counted(record: Mapping[str, Any]) -> dict[str, int]:
    """The record's redaction counts by kind (empty when nothing was redacted); a kind this
    version does not know, or a count that is not a positive number, is left out."""
    found = record.get(REDACTED_COUNTS)
    if not isinstance(found, dict):
        return {}
    return {
        kind: n
        for kind, n in found.items()
        if kind in redaction.KINDS and isinstance(n, int) and not isinstance(n, bool) and n > 0
    }


def rows(records: Iterable[Mapping[str, Any]]) -> list[tuple[str, str, str, datetime, int]]:
    """(record id, kind, service, when, count) of every record that had secrets redacted."""
    found = []
    for record in records:
        counts = counted(record)
        record_id = record.get("id")
        when = instant(record.get("received_at")) or instant(record.get("timestamp"))
        if not counts or not isinstance(record_id, str) or when is None:
            continue
        service = str(record.get("service") or "unknown")
        for kind, n in counts.items():
            found.append((record_id, kind, service, when, n))
    return found


async def record(conn: asyncpg.Connection, records: Sequence[Mapping[str, Any]]) -> int:
    """Store the counts of these records (each record and kind once); returns rows offered."""
    found = rows(records)
    if found:
        columns = list(zip(*found, strict=True))
        await conn.execute(_INSERT, *(list(c) for c in columns))
    return len(found)


async def counts(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    services: Sequence[str] | None = None,
) -> list[dict[str, Any]]:
    """`[{"service", "kind", "count"}]` of the secrets redacted in [start, end), most first."""
    if services is None:
        found = await conn.fetch(_ALL_SERVICES, start, end)
    else:
        found = await conn.fetch(_SOME_SERVICES, start, end, list(services))
    return [{"service": r["service"], "kind": r["kind"], "count": r["count"]} for r in found]
