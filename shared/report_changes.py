"""How an hour compares with the hours before it: each count of a report against the same span
of the previous hour and of the same hour yesterday, and whether it falls outside the range of
the 24 hours before it (`unusual`).

Counts come from the per-minute rollup the store keeps, over the same elapsed span of each
earlier hour, so the hour so far (say its first 20 minutes) is compared with the first 20
minutes of the hours before it, never with whole hours. Response-time p95 per service is
compared with the previous hour and the same hour yesterday over the same span.

All of it is computed when a report is read, over the services the caller may see."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from shared import levels

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
HISTORY_HOURS = 24
ERROR_LEVEL_NO = levels.LEVELS["ERROR"]
TRADING_FIGURES = {"trades_executed": "TRADE_EXECUTED", "risk_alerts": "RISK_ALERT"}

_WINDOW_COUNTS = """
SELECT w.start, m.service, m.level, sum(m.count)::bigint AS n
FROM unnest($1::timestamptz[]) AS w(start)
JOIN log_counts_minute m ON m.minute >= w.start AND m.minute < w.start + $2::interval
WHERE $3::text[] IS NULL OR m.service = ANY($3::text[])
GROUP BY 1, 2, 3
"""

_WINDOW_P95 = """
SELECT w.start, l.service,
       percentile_cont(0.95) WITHIN GROUP (ORDER BY (l.extra_data->>'response_time')::float8) AS p95
FROM unnest($1::timestamptz[]) AS w(start)
JOIN system_logs l ON l."timestamp" >= w.start AND l."timestamp" < w.start + $2::interval
WHERE jsonb_typeof(l.extra_data->'response_time') = 'number'
  AND ($3::text[] IS NULL OR l.service = ANY($3::text[]))
GROUP BY 1, 2
"""

_WINDOW_ALERTS = """
SELECT w.start, count(a.id)::bigint AS n
FROM unnest($1::timestamptz[]) AS w(start)
LEFT JOIN alerts a ON a.first_seen >= w.start AND a.first_seen < w.start + $2::interval
     AND ($3::text[] IS NULL OR a.service = ANY($3::text[]))
GROUP BY 1
"""

Counts = dict[tuple[str, str], int]


def figures(counts: Counts) -> dict[str, Any]:
    """The report's count figures from (service, level) counts."""
    by_level: dict[str, int] = {}
    by_service: dict[str, int] = {}
    for (service, level), n in counts.items():
        by_level[level] = by_level.get(level, 0) + n
        by_service[service] = by_service.get(service, 0) + n
    errors = sum(n for lvl, n in by_level.items() if levels.LEVELS.get(lvl, 0) >= ERROR_LEVEL_NO)
    flat: dict[str, Any] = {"total": sum(by_level.values()), "errors": errors}
    for name, level in TRADING_FIGURES.items():
        flat[name] = by_level.get(level, 0)
    flat["by_level"] = by_level
    flat["by_service"] = by_service
    return flat


def change(
    value: float | None,
    previous: float | None,
    yesterday: float | None,
    history: Sequence[float] | None,
) -> dict[str, Any]:
    """One figure against its earlier values. `unusual` is true when the value lies outside the
    lowest and highest of the last 24 hours (None when fewer than two of them had any data)."""
    low = high = None
    unusual = None
    if history is not None:
        seen = [h for h in history if h is not None]
        if len(seen) >= 2 and value is not None:
            low, high = min(seen), max(seen)
            unusual = value < low or value > high
    return {
        "value": value,
        "previous_hour": previous,
        "same_hour_yesterday": yesterday,
        "delta_previous_hour": None if value is None or previous is None else value - previous,
        "delta_same_hour_yesterday": None
        if value is None or yesterday is None
        else value - yesterday,
        "range_24h": None if low is None else [low, high],
        "unusual": unusual,
    }


def _windows(hour: datetime) -> tuple[list[datetime], datetime, datetime]:
    history = [hour - HOUR * k for k in range(1, HISTORY_HOURS + 1)]
    return [hour, *history], hour - HOUR, hour - DAY


async def _counts(
    conn: asyncpg.Connection, starts: list[datetime], span: timedelta, services: list[str] | None
) -> dict[datetime, Counts]:
    out: dict[datetime, Counts] = {start: {} for start in starts}
    for row in await conn.fetch(_WINDOW_COUNTS, starts, span, services):
        out[row["start"]][(row["service"], row["level"])] = row["n"]
    return out


def _had_data(counts: Counts) -> bool:
    return bool(counts)


async def compare(
    conn: asyncpg.Connection,
    hour: datetime,
    end: datetime,
    services: Sequence[str] | None,
) -> dict[str, Any]:
    """The changes of the report of [hour, end) (end is the hour's end, or now for the hour so
    far) against earlier hours, over `services` (None: every service)."""
    span = max(end - hour, timedelta(minutes=1))
    wanted = None if services is None else list(services)
    starts, previous, yesterday = _windows(hour)
    by_window = await _counts(conn, starts, span, wanted)
    now_figures = figures(by_window[hour])
    earlier = {start: figures(c) for start, c in by_window.items() if start != hour}
    active = [start for start in starts[1:] if _had_data(by_window[start])]

    def series(pick: Any) -> dict[str, Any]:
        history = [pick(earlier[s]) for s in active]
        return change(pick(now_figures), pick(earlier[previous]), pick(earlier[yesterday]), history)

    result: dict[str, Any] = {
        "span_minutes": round(span.total_seconds() / 60),
        "total": series(lambda f: f["total"]),
        "errors": series(lambda f: f["errors"]),
    }
    for name in TRADING_FIGURES:
        result[name] = series(lambda f, name=name: f[name])
    level_names = set(now_figures["by_level"]) | set(earlier[previous]["by_level"])
    result["by_level"] = {
        level: series(lambda f, level=level: f["by_level"].get(level, 0))
        for level in sorted(level_names, key=lambda lvl: levels.LEVELS.get(lvl, 0))
    }
    service_names = set(now_figures["by_service"]) | set(earlier[previous]["by_service"])
    result["by_service"] = {
        service: series(lambda f, service=service: f["by_service"].get(service, 0))
        for service in sorted(service_names)
    }
    result["response_p95_ms"] = await _p95_changes(conn, hour, previous, yesterday, span, wanted)
    result["alerts_opened"] = await _alert_changes(conn, starts, span, wanted, active)
    return result


async def _p95_changes(
    conn: asyncpg.Connection,
    hour: datetime,
    previous: datetime,
    yesterday: datetime,
    span: timedelta,
    services: list[str] | None,
) -> dict[str, Any]:
    p95: dict[datetime, dict[str, float]] = {hour: {}, previous: {}, yesterday: {}}
    for row in await conn.fetch(_WINDOW_P95, list(p95), span, services):
        p95[row["start"]][row["service"]] = round(float(row["p95"]), 3)
    return {
        service: change(value, p95[previous].get(service), p95[yesterday].get(service), None)
        for service, value in sorted(p95[hour].items())
    }


async def _alert_changes(
    conn: asyncpg.Connection,
    starts: list[datetime],
    span: timedelta,
    services: list[str] | None,
    active: Sequence[datetime],
) -> dict[str, Any]:
    n = {row["start"]: row["n"] for row in await conn.fetch(_WINDOW_ALERTS, starts, span, services)}
    hour = starts[0]
    return change(
        n.get(hour, 0), n.get(hour - HOUR, 0), n.get(hour - DAY, 0), [n.get(s, 0) for s in active]
    )


def unusual_figures(changes: Mapping[str, Any]) -> list[str]:
    """Names of the figures marked unusual, for summaries: `total`, `by_service.X`, ..."""
    names = []
    for key, value in changes.items():
        if not isinstance(value, dict):
            continue
        if "unusual" in value:
            if value["unusual"]:
                names.append(key)
        else:
            names += [f"{key}.{sub}" for sub, c in value.items() if c.get("unusual")]
    return names
