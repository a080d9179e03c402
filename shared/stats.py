"""Statistics for a window ending now (`1h`, `24h`, `7d`): totals by level and by service, the
error trend by hour and the active alerts by severity.

Counts come from the rollups the store keeps in the same transaction as the rows: whole hours
from `log_counts_hour`, the minutes before the first whole hour from `log_counts_minute`, so a
7-day window reads about 9,000 rollup rows instead of millions of records."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from shared import leaks, levels, params, search
from shared.access import Caller
from shared.settings import Settings

ERROR_LEVELS = [name for name, number in levels.LEVELS.items() if number >= levels.LEVELS["ERROR"]]

_COUNTS = """
WITH counts AS (
    SELECT hour AS bucket, service, level, count FROM log_counts_hour
    WHERE hour >= $2 AND hour <= $3 {service_filter}
    UNION ALL
    SELECT date_trunc('hour', minute), service, level, count FROM log_counts_minute
    WHERE minute >= $1 AND minute < $2 {service_filter}
)
SELECT GROUPING(level) = 0 AS is_level, GROUPING(service) = 0 AS is_service,
       level, service, bucket, sum(count)::bigint AS n,
       coalesce(sum(count) FILTER (WHERE level = ANY($4::text[])), 0)::bigint AS errors
FROM counts
GROUP BY GROUPING SETS ((level), (service), (bucket))
"""
_ALL_SERVICES = _COUNTS.format(service_filter="")
_SOME_SERVICES = _COUNTS.format(service_filter="AND service = ANY($5::text[])")


def _floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _ceil_hour(moment: datetime) -> datetime:
    floor = moment.replace(minute=0, second=0, microsecond=0)
    return floor if floor == moment else floor + timedelta(hours=1)


async def _active_alerts(conn: asyncpg.Connection, caller: Caller) -> dict[str, int]:
    try:
        from shared import alerts
    except ImportError:
        return {}
    if caller.services is None:
        return await alerts.active_counts_by_severity(conn)
    counts: dict[str, int] = {}
    for service in caller.services:
        for alert in await alerts.listing(conn, "active", service=service, limit=10_000):
            counts[alert["severity"]] = counts.get(alert["severity"], 0) + 1
    return counts


async def stats_on(
    conn: asyncpg.Connection, query: params.StatsQuery, caller: Caller, now: datetime
) -> dict[str, Any]:
    start = _floor_minute(now - query.span)
    whole_hours = _ceil_hour(start)
    services = search.readable_services((), caller)
    args: list[Any] = [start, whole_hours, now, ERROR_LEVELS]
    if services is None:
        rows = await conn.fetch(_ALL_SERVICES, *args)
    else:
        rows = await conn.fetch(_SOME_SERVICES, *args, list(services))
    by_level = {r["level"]: r["n"] for r in rows if r["is_level"]}
    by_service = {r["service"]: r["n"] for r in rows if r["is_service"]}
    errors_by_hour = {
        r["bucket"]: r["errors"] for r in rows if not (r["is_level"] or r["is_service"])
    }
    trend = []
    hour = start.replace(minute=0)
    while hour <= now:
        trend.append({"hour": hour, "errors": errors_by_hour.get(hour, 0)})
        hour += timedelta(hours=1)
    return {
        "range": query.range,
        "start": start,
        "end": now,
        "total": sum(by_level.values()),
        "by_level": dict(sorted(by_level.items(), key=lambda kv: levels.LEVELS.get(kv[0], 0))),
        "by_service": dict(sorted(by_service.items(), key=lambda kv: -kv[1])),
        "error_trend": trend,
        "alerts_by_severity": await _active_alerts(conn, caller),
        "secrets_redacted": await leaks.counts(conn, start, now, services),
    }


async def stats(
    settings: Settings, query: params.StatsQuery, caller: Caller, now: datetime | None = None
) -> dict[str, Any]:
    """The statistics of the window `query.range` ending now, over the services the caller
    may read."""
    async with search.reading(settings) as conn:
        return await stats_on(conn, query, caller, now or datetime.now(UTC))
