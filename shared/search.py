"""Every read of `system_logs`: search (keyset pages, newest first), one record by id, and
the streamed export. SQL is assembled only from the constant fragments below; every value
travels as a bind parameter.

Access control is enforced here, in SQL: a caller limited to some services never gets a row
of another service, and a reader's query never even selects the hidden fields."""

from __future__ import annotations

import contextlib
import csv
import io
import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson

from shared import csv_cells, cursor, db, levels, params
from shared import where as conditions
from shared.access import READER_HIDDEN_FIELDS, Caller, Role
from shared.errors import NotFound, Unavailable
from shared.settings import Settings

log = logging.getLogger(__name__)

CONNECTION_ERRORS = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
)

COLUMNS = params.RECORD_FIELDS
READER_COLUMNS = tuple(c for c in COLUMNS if c not in READER_HIDDEN_FIELDS)

RARE_LEVEL_NO = 30
"""The partial index `system_logs_warning_timestamp` covers level_no >= 30; filters at or above
it repeat that bound as a constant so that generic plans can use the index too."""

SLICE_FIRST = timedelta(hours=1)
SLICE_GROWTH = 4
SLICE_OPEN_AFTER = timedelta(days=400)
SELECTIVE_FILTERS = frozenset({"request_id", "trace_id"})
"""Filters with an index of their own that match a few rows: one query over the whole range
(about 2 ms at 5 M rows) beats planning a query per time window (13-25 ms, measured)."""

_TEXT_COLUMN = {name: f'"{name}" = {{0}}' for name in params.TEXT_FILTERS}
"""The exact filters: one per searchable field of the field table (constant column names)."""
_ONE_SERVICE = "service = {0}"
_SERVICES = "service = ANY({0}::text[])"
_ONE_LEVEL = "level_no = {0}::smallint"
_LEVELS = "level_no = ANY({0}::smallint[])"
_MIN_LEVEL = "level_no >= {0}::smallint"
_RARE_LEVELS = f"level_no >= {RARE_LEVEL_NO}"
_START = '"timestamp" >= {0}'
_END = '"timestamp" < {0}'
SEARCH_RAW = (
    "message || ' ' || service || ' ' || coalesce(logger_name, '') || ' ' "
    "|| coalesce(event_type, '') || ' ' || coalesce(exception_type, '') || ' ' "
    "|| coalesce(jsonb_path_query_array(extra_data, "
    """'strict $.** ? (@.type() == "string")')::text, '')"""
)


def _word_breaks(text: str) -> str:
    """/ . : as spaces, so the parts of URLs, paths, host and dotted names are words of their
    own (`sendMessage` in `.../bot123/sendMessage`); the parser splits at the rest of the
    punctuation itself. Three replace() calls cost the writer less than one translate()."""
    return f"replace(replace(replace({text}, '/', ' '), '.', ' '), ':', ' ')"


SEARCH_TEXT = f"to_tsvector('simple'::regconfig, {_word_breaks(SEARCH_RAW)})"
"""What `q` matches (migration 0051 indexes exactly this expression)."""
_FULL_TEXT = f"{SEARCH_TEXT} @@ websearch_to_tsquery('simple', {_word_breaks('{0}')})"
_PHRASE = f"strpos(lower({SEARCH_RAW}), lower({{0}})) > 0"
_AFTER = '"timestamp" <= {0} AND ("timestamp", id) < ({0}, {1})'
_BY_ID = "id = {0}"
_NOTHING = "false"
_ORDER = ' ORDER BY "timestamp" DESC, id DESC'
CUSTOM_PLANS = "SET plan_cache_mode = force_custom_plan"
"""Plan each search with its values: a generic plan cannot prune partitions by a range known
only at run time as well, nor judge how common a full-text word is (measured: 150 ms instead
of 8 ms for a 7-day word search). The pool resets it when the connection returns."""


@contextlib.asynccontextmanager
async def reading(settings: Settings) -> AsyncIterator[asyncpg.Connection]:
    """A pooled connection for reads; PostgreSQL being down becomes a 503, not a 500."""
    try:
        pool = await db.pool(settings)
        async with pool.acquire() as conn:
            await conn.execute(CUSTOM_PLANS)
            yield conn
    except CONNECTION_ERRORS as exc:
        log.warning("PostgreSQL unavailable for a read: %s", exc)
        if not isinstance(exc, asyncpg.TooManyConnectionsError):
            db.discard()
        raise Unavailable("the log database is unavailable; retry shortly") from None


class _Where:
    """A conjunction of constant SQL fragments and the bind parameters they refer to."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.args: list[Any] = []

    def add(self, fragment: str, *values: Any) -> None:
        first = len(self.args) + 1
        self.args.extend(values)
        self.clauses.append(fragment.format(*(f"${first + i}" for i in range(len(values)))))

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""


def readable_services(requested: Sequence[str], caller: Caller) -> tuple[str, ...] | None:
    """The services a query may touch: the requested ones the caller may read, or all the
    caller may read; None means no restriction; an empty tuple means nothing."""
    if caller.services is None:
        return tuple(requested) or None
    if not requested:
        return caller.services
    return tuple(s for s in requested if s in caller.services)


def _restrict_services(where: _Where, services: tuple[str, ...] | None) -> None:
    if services is None:
        return
    if not services:
        where.add(_NOTHING)
    elif len(services) == 1:
        where.add(_ONE_SERVICE, services[0])
    else:
        where.add(_SERVICES, list(services))


def _where(filters: params.Filters, caller: Caller) -> _Where:
    where = _Where()
    _restrict_services(where, readable_services(filters.services, caller))
    if filters.levels:
        numbers = sorted({levels.number(name) for name in filters.levels})
        if len(numbers) == 1:
            where.add(_ONE_LEVEL, numbers[0])
        else:
            where.add(_LEVELS, numbers)
        if numbers[0] >= RARE_LEVEL_NO:
            where.add(_RARE_LEVELS)
    if filters.min_level_no is not None:
        where.add(_MIN_LEVEL, filters.min_level_no)
        if filters.min_level_no >= RARE_LEVEL_NO:
            where.add(_RARE_LEVELS)
    for name, value in filters.text.items():
        where.add(_TEXT_COLUMN[name], value)
    if filters.start is not None:
        where.add(_START, filters.start)
    if filters.end is not None:
        where.add(_END, filters.end)
    if filters.q is not None:
        where.add(_FULL_TEXT, filters.words or filters.q)
        for phrase in filters.phrases:
            where.add(_PHRASE, phrase)
    for condition in filters.where:
        fragment, values = conditions.fragment(condition)
        where.add(fragment, *values)
    return where


def filter_clauses(filters: params.Filters, caller: Caller) -> _Where:
    """The WHERE conditions of a filter set, for the other readers of `system_logs`
    (aggregate, fields); add to them and render with `.sql()`."""
    return _where(filters, caller)


def visible_columns(caller: Caller, fields: Sequence[str] = ()) -> tuple[str, ...]:
    """The columns a caller gets: the fields asked for (default all), less what its role may
    not see."""
    wanted = fields or COLUMNS
    if caller.role is Role.ADMIN:
        return tuple(wanted)
    return tuple(c for c in wanted if c not in READER_HIDDEN_FIELDS)


def _select(caller: Caller, fields: Sequence[str] = ()) -> str:
    """The SELECT list: only names of `COLUMNS` (validated), never text from a request."""
    columns = visible_columns(caller, fields)
    if not set(columns) <= set(COLUMNS):
        raise ValueError("only record columns may be selected")
    return "SELECT " + ", ".join(f'"{c}"' for c in columns) + " FROM system_logs"


def _record(row: asyncpg.Record, caller: Caller) -> dict[str, Any]:
    return caller.view(dict(row.items()))


def _too_slow(timeout: float) -> Unavailable:
    return Unavailable(
        f"the search took longer than {timeout:g} s; narrow it with start/end, service or level",
        retry_after=1,
    )


async def fetch_bounded(settings: Settings, sql: str, args: list[Any]) -> list[asyncpg.Record]:
    """One read query on a reading connection, answered 503 when it takes longer than
    `SEARCH_TIMEOUT_SECONDS` (for the read API's other questions: aggregate, fields)."""
    timeout = settings.search_timeout_seconds
    async with reading(settings) as conn:
        try:
            return await conn.fetch(sql, *args, timeout=timeout)
        except TimeoutError:
            raise _too_slow(timeout) from None


async def search(settings: Settings, query: params.SearchQuery, caller: Caller) -> dict[str, Any]:
    """One page, newest first: `{"items": [...], "next_cursor": str | None}`."""
    async with reading(settings) as conn:
        return await search_on(
            conn, query, caller, settings.cursor_secret, settings.search_timeout_seconds
        )


def time_slices(
    start: datetime | None, upper: datetime | None, now: datetime
) -> list[tuple[datetime | None, datetime | None]]:
    """[lower, upper) windows walking back from `upper` (or now) over 1, 4, 16, 64... hours until
    `start` (or, unbounded, past the longest retention, then one open-ended window). A search
    walks these newest first and stops once the page is full: a common word costs an hour of
    matches rather than the whole range, and a search without a start plans and probes the
    few daily partitions of its first windows rather than every partition kept."""
    anchor = upper or now
    slices: list[tuple[datetime | None, datetime | None]] = []
    high: datetime | None = upper
    width = SLICE_FIRST
    while True:
        low = anchor - width
        if start is not None and low <= start:
            slices.append((start, high))
            return slices
        if start is None and width > SLICE_OPEN_AFTER:
            slices.append((None, high))
            return slices
        slices.append((low, high))
        high = low
        width *= SLICE_GROWTH


def _page_sql(
    query: params.SearchQuery,
    caller: Caller,
    window: tuple[datetime | None, datetime | None],
) -> tuple[str, list[Any]]:
    filters, after = query.filters, query.after
    where = _where(filters, caller)
    low, high = window
    if low is not None and low != filters.start:
        where.add(_START, low)
    if high is not None and high != filters.end:
        where.add(_END, high)
    if after is not None:
        where.add(_AFTER, after.timestamp, after.id)
    sql = f"{_select(caller, query.fields)}{where.sql()}{_ORDER} LIMIT ${len(where.args) + 1}"
    return sql, where.args


async def search_on(
    conn: asyncpg.Connection,
    query: params.SearchQuery,
    caller: Caller,
    cursor_secret: str,
    timeout: float,
    now: datetime | None = None,
) -> dict[str, Any]:
    """`search` on a given connection: one query when an indexed filter picks a handful of
    rows anyway, else `time_slices` newest first."""
    filters, after = query.filters, query.after
    upper = filters.end
    if after is not None and (upper is None or after.timestamp < upper):
        upper = after.timestamp + timedelta(microseconds=1)
    if SELECTIVE_FILTERS & filters.text.keys() or conditions.selective(filters.where):
        windows: list[tuple[datetime | None, datetime | None]] = [(filters.start, upper)]
    else:
        windows = time_slices(filters.start, upper, now or datetime.now(UTC))
    rows: list[asyncpg.Record] = []
    deadline = time.monotonic() + timeout
    try:
        for window in windows:
            sql, args = _page_sql(query, caller, window)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError
            rows.extend(await conn.fetch(sql, *args, query.limit + 1 - len(rows), timeout=left))
            if len(rows) > query.limit:
                break
    except TimeoutError:
        raise _too_slow(timeout) from None
    items = [_record(r, caller) for r in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = cursor.encode(cursor.Position(last["timestamp"], last["id"]), cursor_secret)
    return {"items": items, "next_cursor": next_cursor}


async def by_id(
    settings: Settings, record_id: str, caller: Caller, fields: Sequence[str] = ()
) -> dict[str, Any]:
    """One record (the newest if a client reused an id); NotFound when it does not exist or
    belongs to a service the caller may not read."""
    async with reading(settings) as conn:
        return await by_id_on(conn, record_id, caller, fields)


async def by_id_on(
    conn: asyncpg.Connection, record_id: str, caller: Caller, fields: Sequence[str] = ()
) -> dict[str, Any]:
    where = _Where()
    where.add(_BY_ID, record_id)
    _restrict_services(where, readable_services((), caller))
    sql = f"{_select(caller, fields)}{where.sql()}{_ORDER} LIMIT 1"
    row = await conn.fetchrow(sql, *where.args)
    if row is None:
        raise NotFound(f"no record with id {record_id[:80]!r}")
    return _record(row, caller)


def export_sql(query: params.ExportQuery, caller: Caller) -> tuple[str, list[Any]]:
    where = _where(query.filters, caller)
    if query.after is not None:
        where.add(_AFTER, query.after.timestamp, query.after.id)
    sql = f"{_select(caller, query.fields)}{where.sql()}{_ORDER}"
    if query.limit is not None:
        where.args.append(query.limit)
        sql += f" LIMIT ${len(where.args)}"
    return sql, where.args


def _csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict | list):
        return orjson.dumps(value).decode()
    if isinstance(value, str):
        return csv_cells.neutralise(value)
    return str(value)


class _CsvChunk:
    """Formats rows as CSV into a reusable buffer."""

    def __init__(self, columns: Sequence[str]) -> None:
        self.columns = columns
        self.buffer = io.StringIO()
        self.writer = csv.writer(self.buffer, lineterminator="\r\n")

    def take(self) -> bytes:
        data = self.buffer.getvalue().encode()
        self.buffer.seek(0)
        self.buffer.truncate()
        return data

    def header(self) -> bytes:
        self.writer.writerow(self.columns)
        return self.take()

    def rows(self, records: Sequence[dict[str, Any]]) -> bytes:
        for record in records:
            self.writer.writerow([_csv_value(record.get(c)) for c in self.columns])
        return self.take()


def _ndjson(records: Sequence[dict[str, Any]]) -> bytes:
    return b"".join(orjson.dumps(r) + b"\n" for r in records)


@dataclass(frozen=True, slots=True)
class ExportChunk:
    """Encoded rows and the position of the last of them (None for the CSV header)."""

    data: bytes
    last: cursor.Position | None


async def export_chunks(
    settings: Settings, query: params.ExportQuery, caller: Caller
) -> AsyncIterator[ExportChunk]:
    """The export as a stream of chunks (NDJSON lines, or CSV after a header row), newest first,
    `EXPORT_CHUNK_ROWS` rows at a time from a server-side cursor: memory stays bounded by one
    chunk however many rows match. Holds one pooled connection while iterating."""
    sql, args = export_sql(query, caller)
    columns = visible_columns(caller, query.fields)
    csv_chunk = _CsvChunk(columns) if query.format == "csv" else None
    if csv_chunk is not None:
        yield ExportChunk(csv_chunk.header(), None)
    chunk_rows, timeout = settings.export_chunk_rows, settings.search_timeout_seconds
    async with reading(settings) as conn, conn.transaction(readonly=True):
        rows_cursor = await conn.cursor(sql, *args)
        while True:
            try:
                rows = await rows_cursor.fetch(chunk_rows, timeout=timeout)
            except TimeoutError:
                raise _too_slow(timeout) from None
            if not rows:
                return
            records = [_record(r, caller) for r in rows]
            data = csv_chunk.rows(records) if csv_chunk is not None else _ndjson(records)
            yield ExportChunk(data, cursor.Position(rows[-1]["timestamp"], rows[-1]["id"]))
            if len(rows) < chunk_rows:
                return


async def export_body(
    settings: Settings, query: params.ExportQuery, caller: Caller
) -> tuple[bytes, str | None]:
    """The export as one body for hosts that need a whole response (Azure Functions' classic
    HTTP model), at most about `EXPORT_MAX_BYTES`: when more rows remain, the body ends at a row
    boundary and the returned cursor continues it (`cursor=` on the next export call)."""
    parts: list[bytes] = []
    size = 0
    more: str | None = None
    last: cursor.Position | None = None
    async with contextlib.aclosing(export_chunks(settings, query, caller)) as chunks:
        async for chunk in chunks:
            if size >= settings.export_max_bytes and chunk.last is not None and last is not None:
                more = cursor.encode(last, settings.cursor_secret)
                break
            parts.append(chunk.data)
            size += len(chunk.data)
            last = chunk.last
    return b"".join(parts), more
