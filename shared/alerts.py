"""The alerts table: every SQL statement that reads or writes it lives here.

An alert is deduplicated by (rule, service): while one is active, new hits add to its count
and move its last_seen; once it has been quiet for its rule's quiet period it is resolved, and
the next hit opens a new one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

import asyncpg

SAMPLE_LIMIT = 10
"""How many sample record ids an alert keeps (the first ones seen)."""

Status = Literal["active", "resolved"]
STATUSES: tuple[Status, ...] = ("active", "resolved")


@dataclass(frozen=True, slots=True)
class Hit:
    """What one analyzed batch found for one (rule, service): `count` matching records (or
    window firings) seen between first_seen and last_seen."""

    rule: str
    service: str
    severity: str
    description: str
    action: str
    count: int
    first_seen: datetime
    last_seen: datetime
    sample_ids: tuple[str, ...]
    quiet_period: timedelta


@dataclass(frozen=True, slots=True)
class Change:
    """An alert row after an upsert; `opened` when this hit created it, `notify` when a
    notification is due (new, or the last one is older than the minimum interval)."""

    alert: dict[str, Any]
    opened: bool
    notify: bool


_COLUMNS = (
    "id, rule, service, severity, status, count, first_seen, last_seen, sample_ids, "
    "description, action, resolved_at, extract(epoch FROM quiet_period)::float8 AS quiet_seconds"
)

_UPSERT = f"""
INSERT INTO alerts AS a (rule, service, severity, status, count, first_seen, last_seen,
                         sample_ids, description, action, quiet_period, notified_at)
VALUES ($1, $2, $3, 'active', $4, $5, $6, $7, $8, $9, $10, $11)
ON CONFLICT (rule, service) WHERE status = 'active' DO UPDATE SET
    count = a.count + EXCLUDED.count,
    severity = EXCLUDED.severity,
    description = EXCLUDED.description,
    action = EXCLUDED.action,
    quiet_period = EXCLUDED.quiet_period,
    first_seen = least(a.first_seen, EXCLUDED.first_seen),
    last_seen = greatest(a.last_seen, EXCLUDED.last_seen),
    sample_ids = CASE
        WHEN cardinality(a.sample_ids) >= {SAMPLE_LIMIT} THEN a.sample_ids
        ELSE (a.sample_ids || EXCLUDED.sample_ids)[1:{SAMPLE_LIMIT}]
    END,
    notified_at = CASE
        WHEN EXCLUDED.count > 0 AND (
            a.notified_at IS NULL OR a.notified_at <= $11::timestamptz - $12::interval
        ) THEN $11
        ELSE a.notified_at
    END
RETURNING {_COLUMNS}, (xmax = 0) AS opened, notified_at = $11 AS notify
"""


async def record(
    conn: asyncpg.Connection, hits: Sequence[Hit], now: datetime, notify_interval: timedelta
) -> list[Change]:
    """Add these hits to their active alerts (opening new ones as needed), in one round trip
    and in the caller's transaction. Each hit's `notify` tells whether a notification is due,
    decided in the database so that several analyzer instances notify once per interval."""
    if not hits:
        return []
    rows = await conn.fetchmany(
        _UPSERT,
        [
            (
                hit.rule,
                hit.service,
                hit.severity,
                hit.count,
                hit.first_seen,
                hit.last_seen,
                list(hit.sample_ids[:SAMPLE_LIMIT]),
                hit.description,
                hit.action,
                hit.quiet_period,
                now,
                notify_interval,
            )
            for hit in hits
        ],
    )
    return [Change(alert=_alert(r), opened=r["opened"], notify=r["notify"]) for r in rows]


def _alert(row: asyncpg.Record) -> dict[str, Any]:
    alert = {k: v for k, v in row.items() if k not in ("opened", "notify")}
    alert["sample_ids"] = list(alert["sample_ids"])
    return alert


async def resolve_quiet(conn: asyncpg.Connection, now: datetime) -> list[dict[str, Any]]:
    """Resolve every active alert whose last hit is older than its quiet period."""
    rows = await conn.fetch(
        f"""
        UPDATE alerts SET status = 'resolved', resolved_at = $1
        WHERE status = 'active' AND last_seen <= $1::timestamptz - quiet_period
        RETURNING {_COLUMNS}
        """,
        now,
    )
    return [_alert(r) for r in rows]


async def resolve(
    conn: asyncpg.Connection, rule: str, services: Sequence[str], now: datetime
) -> list[dict[str, Any]]:
    """Resolve the active alerts of one rule for these services (a condition that has
    cleared, such as a silent service speaking again)."""
    rows = await conn.fetch(
        f"""
        UPDATE alerts SET status = 'resolved', resolved_at = $3
        WHERE status = 'active' AND rule = $1 AND service = ANY($2::text[])
        RETURNING {_COLUMNS}
        """,
        rule,
        list(services),
        now,
    )
    return [_alert(r) for r in rows]


async def listing(
    conn: asyncpg.Connection,
    status: Status = "active",
    service: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Alerts of one status, most recently seen first."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM alerts
        WHERE status = $1 AND ($2::text IS NULL OR service = $2)
        ORDER BY last_seen DESC, id DESC
        LIMIT $3
        """,
        status,
        service,
        limit,
    )
    return [_alert(r) for r in rows]


async def active_counts_by_severity(conn: asyncpg.Connection) -> dict[str, int]:
    """How many alerts are active, by severity (severities with none are absent)."""
    rows = await conn.fetch(
        "SELECT severity, count(*) AS n FROM alerts WHERE status = 'active' GROUP BY severity"
    )
    return {r["severity"]: r["n"] for r in rows}


async def _between(
    conn: asyncpg.Connection, column: str, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM alerts
        WHERE {column} >= $1 AND {column} < $2
        ORDER BY {column}, id
        """,
        start,
        end,
    )
    return [_alert(r) for r in rows]


async def opened_between(
    conn: asyncpg.Connection, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Alerts first seen in [start, end), oldest first."""
    return await _between(conn, "first_seen", start, end)


async def resolved_between(
    conn: asyncpg.Connection, start: datetime, end: datetime
) -> list[dict[str, Any]]:
    """Alerts resolved in [start, end), oldest first."""
    return await _between(conn, "resolved_at", start, end)


async def active_at(conn: asyncpg.Connection, moment: datetime) -> list[dict[str, Any]]:
    """Alerts that were active at this moment: opened by then and not resolved before it."""
    rows = await conn.fetch(
        f"""
        SELECT {_COLUMNS} FROM alerts
        WHERE first_seen <= $1 AND (resolved_at IS NULL OR resolved_at > $1)
        ORDER BY last_seen DESC, id DESC
        """,
        moment,
    )
    return [_alert(r) for r in rows]


async def active_rule_services(conn: asyncpg.Connection, rule: str) -> set[str]:
    """The services that have an active alert of this rule."""
    rows = await conn.fetch(
        "SELECT service FROM alerts WHERE status = 'active' AND rule = $1", rule
    )
    return {r["service"] for r in rows}
