"""`GET /logs/fields`: which extra_data paths the selected records carry, of which JSON types,
how often, and their ten commonest values.

Objects are walked (to `where.MAX_DEPTH` keys deep) and their leaves reported by dotted path;
arrays are leaves (type `array`, no values listed). The newest `FIELDS_SAMPLE_ROWS` records
matching the filters are examined: `records` says how many were, `sampled` whether more
matched. One statement; the filter values and limits are bind parameters."""

from __future__ import annotations

from typing import Any

import orjson

from shared import params, search, where
from shared.access import Caller
from shared.settings import Settings

TOP_VALUES = 10
MAX_PATHS = 200

_SQL = """
WITH RECURSIVE picked AS (
    SELECT extra_data AS doc FROM system_logs{where}
    ORDER BY "timestamp" DESC LIMIT {rows}
), walk(path, value, depth) AS (
    SELECT e.key, e.value, 1 FROM picked, jsonb_each(picked.doc) AS e
    UNION ALL
    SELECT w.path || '.' || e.key, e.value, w.depth + 1
    FROM walk AS w, jsonb_each(w.value) AS e
    WHERE jsonb_typeof(w.value) = 'object' AND w.depth < {depth}
), counted AS (
    SELECT path, jsonb_typeof(value) AS type,
        CASE WHEN jsonb_typeof(value) IN ('string', 'number', 'boolean')
            THEN value #>> '{{}}' END AS v,
        count(*) AS n
    FROM walk WHERE jsonb_typeof(value) <> 'object' OR value = '{{}}'::jsonb
    GROUP BY 1, 2, 3
), paths AS (
    SELECT path, array_agg(DISTINCT type ORDER BY type) AS types, sum(n)::bigint AS total
    FROM counted GROUP BY path ORDER BY total DESC, path LIMIT {paths}
), ranked AS (
    SELECT c.path, c.type, c.v, c.n,
        row_number() OVER (PARTITION BY c.path ORDER BY c.n DESC, c.v) AS rank
    FROM counted AS c JOIN paths USING (path) WHERE c.v IS NOT NULL
)
SELECT p.path, p.types, p.total, r.type, r.v, r.n, (SELECT count(*) FROM picked) AS records
FROM paths AS p LEFT JOIN ranked AS r ON r.path = p.path AND r.rank <= {top}
ORDER BY p.total DESC, p.path, r.n DESC, r.v
"""
_IS_OBJECT = "jsonb_typeof(extra_data) = 'object'"


def fields_sql(filters: params.Filters, caller: Caller, sample_rows: int) -> tuple[str, list[Any]]:
    clauses = search.filter_clauses(filters, caller)
    clauses.add(_IS_OBJECT)
    args = clauses.args
    args.extend([sample_rows, where.MAX_DEPTH, MAX_PATHS, TOP_VALUES])
    n = len(args)
    sql = _SQL.format(
        where=clauses.sql(), rows=f"${n - 3}", depth=f"${n - 2}", paths=f"${n - 1}", top=f"${n}"
    )
    return sql, args


def _typed(kind: str, text: str) -> Any:
    """A value as its JSON type: numbers and booleans as such, strings as text."""
    if kind in ("number", "boolean"):
        return orjson.loads(text)
    return text


def _fields(rows: list[Any]) -> list[dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        entry = found.get(row["path"])
        if entry is None:
            entry = found[row["path"]] = {
                "path": row["path"],
                "types": list(row["types"]),
                "count": row["total"],
                "top": [],
            }
        if row["v"] is not None:
            entry["top"].append({"value": _typed(row["type"], row["v"]), "count": row["n"]})
    return list(found.values())


async def fields(settings: Settings, filters: params.Filters, caller: Caller) -> dict[str, Any]:
    """`{"fields": [{"path", "types", "count", "top": [{"value", "count"}]}], "records",
    "sampled"}`, the most common paths first."""
    sample_rows = settings.fields_sample_rows
    sql, args = fields_sql(filters, caller, sample_rows)
    rows = await search.fetch_bounded(settings, sql, list(args))
    records = rows[0]["records"] if rows else 0
    return {"fields": _fields(rows), "records": records, "sampled": records >= sample_rows}
