"""`GET /logs/aggregate`: one function of an extra_data path (or a count of records), per group
and per time bucket, over the records the search filters select. The SQL is assembled from the
constant fragments below; the path, the interval and every filter value are bind parameters.

A record takes part when the field is a JSON number (`count` with a field: when the field is
present at all). Buckets start at multiples of the interval from 2000-01-01 UTC (so 1m buckets
start on the minute, 1d at midnight UTC) and only buckets holding records appear. With `by`,
the `MAX_SERIES` groups with the most records are answered, largest first."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared import params, search
from shared.access import Caller
from shared.settings import Settings

MAX_SERIES = 20

_NUMBER = (
    "jsonb_typeof(extra_data #> {0}::text[]) = 'number'",
    "(extra_data #> {0}::text[])::float8",
)
_PRESENT = ("(extra_data #> {0}::text[]) IS NOT NULL", "1::float8")
_ANY = ("true", "1::float8")
_GROUP_PATH = "(extra_data #>> {0}::text[])"
_GROUP_COLUMN = {
    "service": "service",
    "level": "level",
    "logger_name": "logger_name",
    "event_type": "event_type",
}
_FUNCTIONS = {
    "count": "count(*)::float8",
    "sum": "sum(v)",
    "avg": "avg(v)",
    "min": "min(v)",
    "max": "max(v)",
    "p50": "percentile_cont(0.5) WITHIN GROUP (ORDER BY v)",
    "p90": "percentile_cont(0.9) WITHIN GROUP (ORDER BY v)",
    "p95": "percentile_cont(0.95) WITHIN GROUP (ORDER BY v)",
    "p99": "percentile_cont(0.99) WITHIN GROUP (ORDER BY v)",
}
_BUCKET = "date_bin({0}::interval, ts, TIMESTAMPTZ '2000-01-01 00:00:00+00')"
_WHOLE = "min(ts)"
_TOP = (
    ", top AS (SELECT grp FROM picked GROUP BY grp ORDER BY count(*) DESC, grp NULLS LAST "
    f"LIMIT {MAX_SERIES})"
)
_JOIN_TOP = " JOIN top ON picked.grp IS NOT DISTINCT FROM top.grp"


def aggregate_sql(query: params.AggregateQuery, caller: Caller) -> tuple[str, list[Any]]:
    where = search.filter_clauses(query.filters, caller)
    if query.field is None:
        present, value = _ANY
    else:
        present, value = _NUMBER if query.fn != "count" else _PRESENT
        where.add(present, list(query.field))
        value = value.format(f"${len(where.args)}")
    if query.by_column is not None:
        group = _GROUP_COLUMN[query.by_column]
    elif query.by_path is not None:
        where.args.append(list(query.by_path))
        group = _GROUP_PATH.format(f"${len(where.args)}")
    else:
        group = "NULL::text"
    if query.interval is not None:
        where.args.append(params.INTERVALS[query.interval])
        bucket, grouping = _BUCKET.format(f"${len(where.args)}"), "1, 2"
    else:
        bucket, grouping = _WHOLE, "1"
    picked = f'SELECT {group} AS grp, "timestamp" AS ts, {value} AS v FROM system_logs{where.sql()}'
    select = f"SELECT picked.grp, {bucket} AS t, {_FUNCTIONS[query.fn]} AS value, count(*) AS n"
    if query.by is None:
        # one group: no need to hold the rows for a second pass
        sql = f"{select} FROM ({picked}) AS picked GROUP BY {grouping} ORDER BY {grouping}"
    else:
        sql = (
            f"WITH picked AS MATERIALIZED ({picked}){_TOP} "
            f"{select} FROM picked{_JOIN_TOP} GROUP BY {grouping} ORDER BY {grouping}"
        )
    return sql, where.args


def _series(rows: list[Any], query: params.AggregateQuery) -> list[dict[str, Any]]:
    series: dict[str | None, list[dict[str, Any]]] = {}
    for row in rows:
        moment: datetime = row["t"]
        if query.interval is None and query.filters.start is not None:
            moment = query.filters.start
        series.setdefault(row["grp"], []).append(
            {"time": moment.isoformat(), "value": float(row["value"]), "count": row["n"]}
        )
    ordered = sorted(series.items(), key=lambda item: -sum(p["count"] for p in item[1]))
    return [{"group": group, "points": points} for group, points in ordered]


async def aggregate(
    settings: Settings, query: params.AggregateQuery, caller: Caller
) -> dict[str, Any]:
    """`{"fn", "field", "by", "interval", "series": [{"group", "points": [...]}]}`."""
    sql, args = aggregate_sql(query, caller)
    rows = await search.fetch_bounded(settings, sql, list(args))
    return {
        "fn": query.fn,
        "field": ".".join(query.field) if query.field else None,
        "by": query.by,
        "interval": query.interval,
        "series": _series(rows, query),
    }
