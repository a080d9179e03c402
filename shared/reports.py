"""Hourly reports: what happened in one UTC hour, stored in PostgreSQL (`reports`, all of its
SQL is here) and as JSON in Blob Storage, replaced when the same hour is reported again.

The report holds volume by service and level, the top error messages, response times per
service (average, p95, maximum of `extra_data.response_time`), the alerts opened in the hour and
those active at its end, the last retention run, and, with an Application Insights workspace,
function health.

Reports are also written as Markdown beside the JSON and, with `REPORT_NOTIFY` on, summarised to
the notification channels. The hour so far is built on request (`current`). Whenever a report is
read, its changes against earlier hours are added (`shared.report_changes`), scoped to the
caller's services."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from shared import (
    alerts,
    blob,
    db,
    leaks,
    levels,
    monitor,
    notify,
    report_changes,
    report_markdown,
    retention,
)
from shared.errors import NotFound
from shared.settings import Settings

log = logging.getLogger(__name__)

HOUR = timedelta(hours=1)
TOP_ERRORS = 10
ERROR_LEVEL_NO = 40
MESSAGE_CHARS = 300
SIGNALR_GROUPS = ("readers", "admins")

_VOLUME = """
SELECT service, level, count(*) AS n
FROM system_logs
WHERE "timestamp" >= $1 AND "timestamp" < $2
GROUP BY service, level
"""

_TOP_ERRORS = f"""
SELECT service, left(message, {MESSAGE_CHARS}) AS message, count(*) AS n,
       max("timestamp") AS last_seen
FROM system_logs
WHERE "timestamp" >= $1 AND "timestamp" < $2 AND level_no >= {ERROR_LEVEL_NO}
GROUP BY 1, 2
ORDER BY n DESC, service, message
LIMIT {TOP_ERRORS}
"""

_TRADES = """
SELECT service, coalesce(extra_data->>'symbol', '') AS symbol,
       count(*) FILTER (WHERE level = 'TRADE_EXECUTED') AS executed,
       count(*) FILTER (WHERE level = 'RISK_ALERT') AS blocked
FROM system_logs
WHERE "timestamp" >= $1 AND "timestamp" < $2 AND level IN ('TRADE_EXECUTED', 'RISK_ALERT')
GROUP BY 1, 2
ORDER BY 1, 2
"""

_RESPONSE_TIMES = """
SELECT service, count(*) AS n, avg(ms) AS avg_ms, max(ms) AS max_ms,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ms) AS p50_ms,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY ms) AS p95_ms
FROM (
    SELECT service, (extra_data->>'response_time')::float8 AS ms
    FROM system_logs
    WHERE "timestamp" >= $1 AND "timestamp" < $2
      AND jsonb_typeof(extra_data->'response_time') = 'number'
) timed
GROUP BY service
ORDER BY service
"""


def hour_of(moment: datetime) -> datetime:
    """The start of the UTC hour holding this moment."""
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


def _alert_summary(alert: Mapping[str, Any]) -> dict[str, Any]:
    keys = ("id", "rule", "service", "severity", "status", "count", "first_seen", "last_seen")
    return {k: alert[k] for k in keys} | {"resolved_at": alert.get("resolved_at")}


async def build(
    conn: asyncpg.Connection,
    hour: datetime,
    function_health: dict[str, Any] | None = None,
    end: datetime | None = None,
) -> dict[str, Any]:
    """The report of the hour starting at `hour`, from the rows of that hour (up to `end` for
    the hour so far)."""
    start = hour
    end = hour + HOUR if end is None else min(end, hour + HOUR)
    by_service_level: dict[str, dict[str, int]] = {}
    by_level: dict[str, int] = {}
    by_service: dict[str, int] = {}
    for row in await conn.fetch(_VOLUME, start, end):
        service, level, n = row["service"], row["level"], row["n"]
        by_service_level.setdefault(service, {})[level] = n
        by_level[level] = by_level.get(level, 0) + n
        by_service[service] = by_service.get(service, 0) + n
    top_errors = [
        {
            "service": r["service"],
            "message": r["message"],
            "count": r["n"],
            "last_seen": r["last_seen"],
        }
        for r in await conn.fetch(_TOP_ERRORS, start, end)
    ]
    response_times = {
        r["service"]: {
            "count": r["n"],
            "avg_ms": _round(r["avg_ms"]),
            "p50_ms": _round(r["p50_ms"]),
            "p95_ms": _round(r["p95_ms"]),
            "max_ms": _round(r["max_ms"]),
        }
        for r in await conn.fetch(_RESPONSE_TIMES, start, end)
    }
    trades = [
        {
            "service": r["service"],
            "symbol": r["symbol"],
            "executed": r["executed"],
            "blocked": r["blocked"],
        }
        for r in await conn.fetch(_TRADES, start, end)
    ]
    opened = [_alert_summary(a) for a in await alerts.opened_between(conn, start, end)]
    resolved = [_alert_summary(a) for a in await alerts.resolved_between(conn, start, end)]
    active = [_alert_summary(a) for a in await alerts.active_at(conn, end)]
    return {
        "hour": start,
        "period_start": start,
        "period_end": end,
        "partial": end < hour + HOUR,
        "generated_at": datetime.now(UTC),
        "total": sum(by_level.values()),
        "errors": sum(
            n for lvl, n in by_level.items() if levels.LEVELS.get(lvl, 0) >= ERROR_LEVEL_NO
        ),
        "alerts_opened": len(opened),
        "alerts_resolved": len(resolved),
        "alerts_active": len(active),
        "by_level": dict(sorted(by_level.items(), key=lambda kv: levels.LEVELS.get(kv[0], 0))),
        "by_service": dict(sorted(by_service.items())),
        "by_service_level": dict(sorted(by_service_level.items())),
        "top_errors": top_errors,
        "response_times": response_times,
        "trades": trades,
        "new_alerts": opened,
        "resolved_alerts": resolved,
        "active_alerts": active,
        "function_health": function_health,
        "last_retention": await retention.latest_run(conn),
        "secrets_redacted": await leaks.counts(conn, start, end),
    }


def blob_name(hour: datetime, suffix: str = "json") -> str:
    return f"hourly/{hour:%Y/%m/%d/%H}.{suffix}"


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


async def _save_blob(settings: Settings, report: dict[str, Any]) -> None:
    from azure.storage.blob import ContentSettings

    client = await blob.container(settings, settings.reports_container)
    hour = datetime.fromisoformat(report["hour"])
    await client.upload_blob(
        blob_name(hour),
        _dumps(report),
        overwrite=True,
        content_settings=ContentSettings(content_type="application/json"),
    )
    await client.upload_blob(
        blob_name(hour, "md"),
        report_markdown.render(report).encode(),
        overwrite=True,
        content_settings=ContentSettings(content_type="text/markdown; charset=utf-8"),
    )


async def _save_row(conn: asyncpg.Connection, report: dict[str, Any]) -> None:
    await conn.execute(
        """
        INSERT INTO reports (hour, generated_at, body) VALUES ($1, $2, $3)
        ON CONFLICT (hour) DO UPDATE
            SET generated_at = EXCLUDED.generated_at, body = EXCLUDED.body
        """,
        datetime.fromisoformat(report["hour"]),
        datetime.fromisoformat(report["generated_at"]),
        report,
    )


async def generate(settings: Settings, hour: datetime) -> dict[str, Any]:
    """Build the hour's report and store it, replacing an earlier one of the same hour. The
    blob is written first: if PostgreSQL then fails, the hour is still due and is redone."""
    hour = hour_of(hour)
    health = await monitor.function_health(settings, hour, hour + HOUR)
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        report = await build(conn, hour, health)
    report = orjson.loads(_dumps(report))
    await _save_blob(settings, report)
    async with pool.acquire() as conn:
        await _save_row(conn, report)
    return report


async def due_hours(conn: asyncpg.Connection, now: datetime, catchup_hours: int) -> list[datetime]:
    """The complete hours not yet reported: after the latest report, at most `catchup_hours`
    back; with no report yet, just the last complete hour."""
    last_complete = hour_of(now) - HOUR
    latest = await conn.fetchval("SELECT max(hour) FROM reports")
    earliest = last_complete - timedelta(hours=max(catchup_hours, 1) - 1)
    first = last_complete if latest is None else max(latest + HOUR, earliest)
    hours = []
    moment = first
    while moment <= last_complete:
        hours.append(moment)
        moment += HOUR
    return hours


async def run_due(settings: Settings, now: datetime | None = None) -> list[dict[str, Any]]:
    """Report every due hour, oldest first (the hourly timer; it catches up missed hours)."""
    now = now or datetime.now(UTC)
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        hours = await due_hours(conn, now, settings.report_catchup_hours)
    written = [await generate(settings, hour) for hour in hours]
    if settings.report_notify and written:
        notify.notifier(settings).submit([report_markdown.Summary(written[-1])])
    return written


def signalr_messages(reports: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        {"target": "report", "arguments": [report], "groupName": group}
        for report in reports
        for group in SIGNALR_GROUPS
    ]


def view(report: dict[str, Any], services: tuple[str, ...] | None) -> dict[str, Any]:
    """The report as a caller limited to these services may see it (None: every service):
    per-service figures, error messages and alerts of other services left out, totals
    recounted from what remains."""
    if services is None:
        return report
    allowed = set(services)
    by_service_level = {
        s: levels_ for s, levels_ in report["by_service_level"].items() if s in allowed
    }
    by_level: dict[str, int] = {}
    for counts in by_service_level.values():
        for level, n in counts.items():
            by_level[level] = by_level.get(level, 0) + n
    new_alerts = [a for a in report["new_alerts"] if a["service"] in allowed]
    active_alerts = [a for a in report["active_alerts"] if a["service"] in allowed]
    resolved_alerts = [a for a in report.get("resolved_alerts", []) if a["service"] in allowed]
    return {
        **report,
        "total": sum(by_level.values()),
        "errors": sum(
            n for lvl, n in by_level.items() if levels.LEVELS.get(lvl, 0) >= ERROR_LEVEL_NO
        ),
        "alerts_opened": len(new_alerts),
        "alerts_resolved": len(resolved_alerts),
        "alerts_active": len(active_alerts),
        "by_level": dict(sorted(by_level.items(), key=lambda kv: levels.LEVELS.get(kv[0], 0))),
        "by_service": {s: n for s, n in report["by_service"].items() if s in allowed},
        "by_service_level": by_service_level,
        "top_errors": [e for e in report["top_errors"] if e["service"] in allowed],
        "response_times": {s: v for s, v in report["response_times"].items() if s in allowed},
        "trades": [t for t in report.get("trades", []) if t["service"] in allowed],
        "new_alerts": new_alerts,
        "resolved_alerts": resolved_alerts,
        "active_alerts": active_alerts,
        "secrets_redacted": [
            c for c in report.get("secrets_redacted", []) if c["service"] in allowed
        ],
    }


async def _with_changes(
    conn: asyncpg.Connection, report: dict[str, Any], services: tuple[str, ...] | None
) -> dict[str, Any]:
    seen = view(report, services)
    hour = datetime.fromisoformat(seen["hour"]) if isinstance(seen["hour"], str) else seen["hour"]
    end = seen["period_end"]
    end = datetime.fromisoformat(end) if isinstance(end, str) else end
    return {**seen, "changes": await report_changes.compare(conn, hour, end, services)}


async def listing(
    settings: Settings, limit: int, services: tuple[str, ...] | None = None
) -> dict[str, Any]:
    """The latest reports, newest first, as a caller limited to `services` may see them, each
    with its changes against earlier hours."""
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        rows = await conn.fetch("SELECT body FROM reports ORDER BY hour DESC LIMIT $1::int", limit)
        return {"items": [await _with_changes(conn, _body(r["body"]), services) for r in rows]}


async def latest(settings: Settings, services: tuple[str, ...] | None = None) -> dict[str, Any]:
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        body = await conn.fetchval("SELECT body FROM reports ORDER BY hour DESC LIMIT 1")
        if body is None:
            raise NotFound("no report yet: the first is written five minutes past the hour")
        return await _with_changes(conn, _body(body), services)


async def current(
    settings: Settings, services: tuple[str, ...] | None = None, now: datetime | None = None
) -> dict[str, Any]:
    """The report of the hour so far, built now (not stored), with its changes against the
    same span of earlier hours."""
    now = (now or datetime.now(UTC)).astimezone(UTC)
    hour = hour_of(now)
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        report = orjson.loads(_dumps(await build(conn, hour, None, end=now)))
        return await _with_changes(conn, report, services)


def _body(value: Any) -> dict[str, Any]:
    return orjson.loads(value) if isinstance(value, str | bytes) else value
