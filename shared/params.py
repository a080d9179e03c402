"""Strict query-parameter validation for the read API.

Every endpoint names the parameters it accepts; anything else is refused with 400, and every
error names the offending parameter in `detail.parameter`. Values arrive as (name, value)
pairs so repeated parameters (`service=a&service=b`) are seen as such."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared import cursor, fields, levels, timeparse, where
from shared.errors import BadRequest

DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
MAX_EXPORT_LIMIT = 10_000_000
MAX_TEXT_CHARS = 256
MAX_QUERY_CHARS = 1000
MAX_VALUES = 50
STATS_RANGES: dict[str, timedelta] = {
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}
EXPORT_FORMATS = ("ndjson", "csv")

RECORD_FIELDS: tuple[str, ...] = fields.NAMES
ALWAYS_SELECTED = ("id", "timestamp")
TEXT_FILTERS: tuple[str, ...] = fields.SEARCHABLE
"""Exact-match filters: the searchable fields of the field table."""
FILTER_PARAMETERS = ("q", "level", "min_level", "service", *TEXT_FILTERS, "start", "end", "where")
SEARCH_PARAMETERS = (*FILTER_PARAMETERS, "limit", "cursor", "fields")
EXPORT_PARAMETERS = (*FILTER_PARAMETERS, "limit", "cursor", "format", "fields")
RECORD_PARAMETERS = ("fields",)
STATS_PARAMETERS = ("range",)
ALERTS_PARAMETERS = ("status", "service", "limit")
REPORTS_PARAMETERS = ("limit",)
ALERT_STATUSES = ("active", "resolved")
MAX_ALERTS_LIMIT = 1000
DEFAULT_REPORTS_LIMIT = 24
MAX_REPORTS_LIMIT = 168
REPEATABLE = frozenset({"service", "level", "fields"})
REPEATED_WHOLE = frozenset({"where"})
"""Repeatable, each value taken whole (a `where` value may hold commas)."""

_PHRASE = re.compile(r'(?<!-)"([^"]+)"')
"""A quoted phrase that is not excluded (`-"..."`)."""

Pairs = Iterable[tuple[str, str]]


def _bad(parameter: str, message: str) -> BadRequest:
    return BadRequest(f"parameter {parameter}: {message}", detail={"parameter": parameter})


@dataclass(frozen=True, slots=True)
class Filters:
    """What a search or export selects. Empty tuples and None mean no restriction."""

    q: str | None = None
    words: str | None = None
    phrases: tuple[str, ...] = ()
    levels: tuple[str, ...] = ()
    min_level_no: int | None = None
    services: tuple[str, ...] = ()
    text: dict[str, str] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    where: tuple[where.Condition, ...] = ()


@dataclass(frozen=True, slots=True)
class SearchQuery:
    filters: Filters
    limit: int = DEFAULT_LIMIT
    after: cursor.Position | None = None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class ExportQuery:
    filters: Filters
    format: str = "ndjson"
    limit: int | None = None
    after: cursor.Position | None = None
    fields: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class StatsQuery:
    range: str = "24h"

    @property
    def span(self) -> timedelta:
        return STATS_RANGES[self.range]


def _collect(pairs: Pairs, allowed: Sequence[str]) -> dict[str, list[str]]:
    """Group values by name, refusing unknown, repeated (where not repeatable), empty and
    unstorable values."""
    values: dict[str, list[str]] = {}
    for name, value in pairs:
        if name not in allowed:
            shown = name.encode("utf-8", "replace").decode()
            shown = shown if len(shown) <= 64 else shown[:64] + "..."
            raise BadRequest(
                f"unknown parameter {shown!r}; this endpoint accepts: {', '.join(allowed)}",
                detail={"parameter": shown, "allowed": list(allowed)},
            )
        if "\x00" in value:
            raise _bad(name, "must not contain NUL characters")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            raise _bad(name, "must be valid UTF-8") from None
        value = value.strip()
        if not value:
            raise _bad(name, "must not be empty")
        bucket = values.setdefault(name, [])
        if name in REPEATABLE:
            parts = [v.strip() for v in value.split(",") if v.strip()]
            if not parts:
                raise _bad(name, "must name at least one value")
            bucket.extend(parts)
            if len(bucket) > MAX_VALUES:
                raise _bad(name, f"at most {MAX_VALUES} values")
        elif name in REPEATED_WHOLE:
            bucket.append(value)
        elif bucket:
            raise _bad(name, "given more than once")
        else:
            bucket.append(value)
    return values


def _one(values: dict[str, list[str]], name: str) -> str | None:
    found = values.get(name)
    return found[0] if found else None


def _text(name: str, value: str, limit: int = MAX_TEXT_CHARS) -> str:
    if len(value) > limit:
        raise _bad(name, f"at most {limit} characters")
    return value


def _int(name: str, raw: str, low: int, high: int) -> int:
    if not re.fullmatch(r"[+-]?\d{1,12}", raw):
        raise _bad(name, f"must be an integer from {low} to {high}")
    number = int(raw)
    if not low <= number <= high:
        raise _bad(name, f"must be an integer from {low} to {high}")
    return number


def _level(name: str, raw: str) -> str:
    """A level name in any case, or a number mapped to the nearest level at or below it."""
    numeric = re.fullmatch(r"\d{1,3}", raw)
    level = levels.from_number(int(raw)) if numeric else levels.canonical(raw)
    if level is None:
        raise _bad(name, f"unknown level {raw[:40]!r}; known: {', '.join(levels.LEVELS)}")
    return level


def _min_level_no(raw: str) -> int:
    if re.fullmatch(r"\d{1,3}", raw):
        return _int("min_level", raw, 0, 100)
    return levels.number(_level("min_level", raw))


def _instant(name: str, raw: str, now: datetime | None) -> datetime:
    try:
        return timeparse.parse_instant(raw, now)
    except ValueError as exc:
        raise _bad(name, str(exc)) from None


def _filters(values: dict[str, list[str]], now: datetime | None) -> Filters:
    q = _one(values, "q")
    if q is not None:
        _text("q", q, MAX_QUERY_CHARS)
    phrases = tuple(p.strip() for p in _PHRASE.findall(q or "") if p.strip())
    start_raw, end_raw = _one(values, "start"), _one(values, "end")
    start = _instant("start", start_raw, now) if start_raw else None
    end = _instant("end", end_raw, now) if end_raw else None
    if start and end and start >= end:
        raise _bad("start", "must be before end")
    min_level = _one(values, "min_level")
    return Filters(
        q=q,
        words=_PHRASE.sub(lambda m: f" {m.group(1)} ", q) if q else None,
        phrases=phrases,
        levels=tuple(dict.fromkeys(_level("level", v) for v in values.get("level", []))),
        min_level_no=_min_level_no(min_level) if min_level else None,
        services=tuple(dict.fromkeys(_text("service", v) for v in values.get("service", []))),
        text={n: _text(n, v) for n in TEXT_FILTERS if (v := _one(values, n)) is not None},
        start=start,
        end=end,
        where=where.parse_all(values.get("where", [])),
    )


def _after(values: dict[str, list[str]], cursor_secret: str) -> cursor.Position | None:
    token = _one(values, "cursor")
    if token is None:
        return None
    try:
        return cursor.decode(token, cursor_secret)
    except cursor.InvalidCursor as exc:
        raise _bad("cursor", str(exc)) from None


def _fields(values: dict[str, list[str]]) -> tuple[str, ...]:
    """The record fields asked for (none: all), `id` and `timestamp` always among them."""
    asked = values.get("fields", [])
    for name in asked:
        if name not in RECORD_FIELDS:
            raise _bad("fields", f"unknown field {name[:40]!r}; known: {', '.join(RECORD_FIELDS)}")
    if not asked:
        return ()
    return tuple(dict.fromkeys([*ALWAYS_SELECTED, *asked]))


def parse_search(pairs: Pairs, cursor_secret: str, now: datetime | None = None) -> SearchQuery:
    values = _collect(pairs, SEARCH_PARAMETERS)
    limit = _one(values, "limit")
    return SearchQuery(
        filters=_filters(values, now),
        limit=_int("limit", limit, 1, MAX_LIMIT) if limit else DEFAULT_LIMIT,
        after=_after(values, cursor_secret),
        fields=_fields(values),
    )


def parse_export(pairs: Pairs, cursor_secret: str, now: datetime | None = None) -> ExportQuery:
    values = _collect(pairs, EXPORT_PARAMETERS)
    fmt = (_one(values, "format") or "ndjson").lower()
    if fmt not in EXPORT_FORMATS:
        raise _bad("format", f"must be one of {', '.join(EXPORT_FORMATS)}")
    limit = _one(values, "limit")
    return ExportQuery(
        filters=_filters(values, now),
        format=fmt,
        limit=_int("limit", limit, 1, MAX_EXPORT_LIMIT) if limit else None,
        after=_after(values, cursor_secret),
        fields=_fields(values),
    )


def parse_stats(pairs: Pairs) -> StatsQuery:
    values = _collect(pairs, STATS_PARAMETERS)
    chosen = _one(values, "range") or "24h"
    if chosen not in STATS_RANGES:
        raise _bad("range", f"must be one of {', '.join(STATS_RANGES)}")
    return StatsQuery(range=chosen)


def parse_alerts(pairs: Pairs) -> tuple[str, str | None, int]:
    """(status, service, limit) of GET /alerts."""
    values = _collect(pairs, ALERTS_PARAMETERS)
    status = (_one(values, "status") or "active").lower()
    if status not in ALERT_STATUSES:
        raise _bad("status", f"must be one of {', '.join(ALERT_STATUSES)}")
    service = _one(values, "service")
    limit = _one(values, "limit")
    return (
        status,
        _text("service", service) if service else None,
        _int("limit", limit, 1, MAX_ALERTS_LIMIT) if limit else DEFAULT_LIMIT,
    )


def parse_reports(pairs: Pairs) -> int:
    """The `limit` of GET /reports."""
    limit = _one(_collect(pairs, REPORTS_PARAMETERS), "limit")
    return _int("limit", limit, 1, MAX_REPORTS_LIMIT) if limit else DEFAULT_REPORTS_LIMIT


def parse_record(pairs: Pairs) -> tuple[str, ...]:
    """The `fields` of a one-record read."""
    return _fields(_collect(pairs, RECORD_PARAMETERS))


def parse_nothing(pairs: Pairs) -> None:
    """For endpoints that take no query parameters: refuse any."""
    _collect(pairs, ())


def record_id(raw: str) -> str:
    """A record id from the path: 1 to 256 characters, no NUL."""
    if not raw or len(raw) > MAX_TEXT_CHARS or "\x00" in raw:
        raise _bad("id", f"must be 1 to {MAX_TEXT_CHARS} characters")
    try:
        raw.encode("utf-8")
    except UnicodeEncodeError:
        raise _bad("id", "must be valid UTF-8") from None
    return raw


# GET /logs/aggregate and GET /logs/fields: the search filters plus their own parameters.

AGGREGATE_FUNCTIONS = ("count", "sum", "avg", "min", "max", "p50", "p90", "p95", "p99")
AGGREGATE_COLUMNS = ("service", "level", "logger_name", "event_type")
INTERVALS: dict[str, timedelta] = {
    "1m": timedelta(minutes=1),
    "5m": timedelta(minutes=5),
    "15m": timedelta(minutes=15),
    "1h": timedelta(hours=1),
    "1d": timedelta(days=1),
}
MAX_BUCKETS = 20_000
AGGREGATE_PARAMETERS = (*FILTER_PARAMETERS, "fn", "field", "by", "interval")
FIELDS_PARAMETERS = FILTER_PARAMETERS


@dataclass(frozen=True, slots=True)
class AggregateQuery:
    filters: Filters
    fn: str = "count"
    field: tuple[str, ...] | None = None
    by_column: str | None = None
    by_path: tuple[str, ...] | None = None
    interval: str | None = None

    @property
    def by(self) -> str | None:
        return self.by_column or (".".join(self.by_path) if self.by_path else None)


def parse_aggregate(pairs: Pairs, now: datetime | None = None) -> AggregateQuery:
    values = _collect(pairs, AGGREGATE_PARAMETERS)
    filters = _filters(values, now)
    fn = (_one(values, "fn") or "count").lower()
    if fn not in AGGREGATE_FUNCTIONS:
        raise _bad("fn", f"must be one of {', '.join(AGGREGATE_FUNCTIONS)}")
    raw_field = _one(values, "field")
    if raw_field is None and fn != "count":
        raise _bad("field", f"required with fn={fn}: the extra_data path to aggregate")
    field_path = where.parse_path(raw_field, "field") if raw_field is not None else None
    by = _one(values, "by")
    by_column = by if by in AGGREGATE_COLUMNS else None
    by_path = where.parse_path(by, "by") if by is not None and by_column is None else None
    interval = _one(values, "interval")
    if interval is not None and interval not in INTERVALS:
        raise _bad("interval", f"must be one of {', '.join(INTERVALS)}")
    if interval is not None and filters.start is not None:
        span = (filters.end or now or datetime.now(filters.start.tzinfo)) - filters.start
        if span / INTERVALS[interval] > MAX_BUCKETS:
            raise _bad("interval", f"more than {MAX_BUCKETS} buckets in the range; widen it")
    return AggregateQuery(filters, fn, field_path, by_column, by_path, interval)


def parse_fields(pairs: Pairs, now: datetime | None = None) -> Filters:
    return _filters(_collect(pairs, FIELDS_PARAMETERS), now)
