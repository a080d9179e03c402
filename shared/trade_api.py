"""The trades read API: `GET /trades` (chains, newest first), `GET /trades/{key}` (one chain
with its records) and `GET /trades/stats` (stage latency percentiles), in the caller's view.

A reader limited to some services sees only chains with a record of one of them, and of each
chain only those records and stages; a chain's status and latencies are the chain's own."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson

from shared import cursor, params, search, trade_chains, trades
from shared.access import Caller
from shared.errors import NotFound
from shared.settings import Settings

LIST_PARAMETERS = ("start", "end", "service", "symbol", "status", "limit", "cursor")
STATS_PARAMETERS = ("start", "end", "range", "service", "symbol")
DEFAULT_LIMIT = 50
MAX_LIMIT = 500


@dataclass(frozen=True, slots=True)
class TradesQuery:
    start: datetime | None = None
    end: datetime | None = None
    services: tuple[str, ...] = ()
    symbol: str | None = None
    status: str | None = None
    limit: int = DEFAULT_LIMIT
    after: cursor.Position | None = None


@dataclass(frozen=True, slots=True)
class StatsQuery:
    start: datetime
    end: datetime
    services: tuple[str, ...] = ()
    symbol: str | None = None


def _window(values: dict[str, list[str]], now: datetime) -> tuple[datetime | None, datetime | None]:
    start_raw, end_raw = params._one(values, "start"), params._one(values, "end")
    start = params._instant("start", start_raw, now) if start_raw else None
    end = params._instant("end", end_raw, now) if end_raw else None
    if start and end and start >= end:
        raise params._bad("start", "must be before end")
    return start, end


def _symbol(values: dict[str, list[str]]) -> str | None:
    symbol = params._one(values, "symbol")
    return params._text("symbol", symbol, trades.MAX_VALUE_CHARS).upper() if symbol else None


def _services(values: dict[str, list[str]]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(params._text("service", v) for v in values.get("service", [])))


def parse_list(pairs: params.Pairs, cursor_secret: str, now: datetime | None = None) -> TradesQuery:
    values = params._collect(pairs, LIST_PARAMETERS)
    start, end = _window(values, now or datetime.now(UTC))
    status = params._one(values, "status")
    if status is not None and status.lower() not in trades.STATUSES:
        raise params._bad("status", f"must be one of {', '.join(trades.STATUSES)}")
    limit = params._one(values, "limit")
    return TradesQuery(
        start=start,
        end=end,
        services=_services(values),
        symbol=_symbol(values),
        status=status.lower() if status else None,
        limit=params._int("limit", limit, 1, MAX_LIMIT) if limit else DEFAULT_LIMIT,
        after=params._after(values, cursor_secret),
    )


def parse_stats(pairs: params.Pairs, now: datetime | None = None) -> StatsQuery:
    values = params._collect(pairs, STATS_PARAMETERS)
    now = now or datetime.now(UTC)
    start, end = _window(values, now)
    chosen = params._one(values, "range")
    if chosen is not None and chosen not in params.STATS_RANGES:
        raise params._bad("range", f"must be one of {', '.join(params.STATS_RANGES)}")
    if chosen is not None and start is not None:
        raise params._bad("range", "give either range or start, not both")
    end = end or now
    span = params.STATS_RANGES[chosen or "24h"]
    return StatsQuery(
        start=start or end - span, end=end, services=_services(values), symbol=_symbol(values)
    )


def trade_key(raw: str) -> str:
    """A chain key from the path: 1 to 256 characters, no NUL."""
    if not raw or len(raw) > trades.MAX_KEY_CHARS or "\x00" in raw:
        raise params._bad("key", f"must be 1 to {trades.MAX_KEY_CHARS} characters")
    return raw


def _ms(later: datetime | None, earlier: datetime | None) -> float | None:
    if later is None or earlier is None:
        return None
    return round((later - earlier).total_seconds() * 1000, 3)


def _status(row: Mapping[str, Any], now: datetime) -> str:
    outcome = row["outcome"]
    if outcome is not None:
        return str(outcome)
    deadline = row["deadline"]
    return "open" if deadline is not None and deadline > now else "stalled"


def _stages(row: Mapping[str, Any], caller: Caller) -> list[dict[str, Any]]:
    stages = row["stages"]
    if isinstance(stages, str | bytes):
        stages = orjson.loads(stages)
    return [s for s in stages if caller.may_read_service(s["service"])]


def summary(row: Mapping[str, Any], caller: Caller, now: datetime) -> dict[str, Any]:
    """A chain as `/trades` lists it."""
    signal, decision, executed = row["signal_at"], row["decision_at"], row["executed_at"]
    return {
        "key": row["key"],
        "symbol": row["symbol"],
        "side": row["side"],
        "decision": row["decision"],
        "status": _status(row, now),
        "started": row["started"],
        "waiting_for": row["waiting_for"] if row["outcome"] is None else None,
        "deadline": row["deadline"],
        "stages": _stages(row, caller),
        "latency_ms": {
            "signal_to_decision": _ms(decision, signal),
            "decision_to_execution": _ms(executed, decision),
            "signal_to_execution": _ms(executed, signal),
        },
    }


async def list_trades(
    settings: Settings, query: TradesQuery, caller: Caller, now: datetime | None = None
) -> dict[str, Any]:
    """One page of chains, newest started first: `{"items": [...], "next_cursor": ...}`."""
    now = now or datetime.now(UTC)
    chosen = trade_chains.ChainFilter(
        start=query.start,
        end=query.end,
        services=search.readable_services(query.services, caller),
        symbol=query.symbol,
        status=query.status,
        after=(query.after.timestamp, query.after.id) if query.after else None,
    )
    async with search.reading(settings) as conn:
        rows = await trade_chains.listing(conn, chosen, query.limit + 1, now)
    items = [summary(r, caller, now) for r in rows[: query.limit]]
    next_cursor = None
    if len(rows) > query.limit:
        last = rows[query.limit - 1]
        next_cursor = cursor.encode(
            cursor.Position(last["started"], last["key"]), settings.cursor_secret
        )
    return {"items": items, "next_cursor": next_cursor}


_RECORDS = """
{select} JOIN unnest($1::text[], $2::timestamptz[]) AS k(id, ts)
    ON system_logs.id = k.id AND system_logs."timestamp" = k.ts
WHERE ($3::text[] IS NULL OR system_logs.service = ANY($3::text[]))
ORDER BY system_logs."timestamp", system_logs.id
"""


async def _records(conn: asyncpg.Connection, key: str, caller: Caller) -> list[dict[str, Any]]:
    stages = await trade_chains.stage_rows(conn, key)
    columns = search.visible_columns(caller)
    select = "SELECT " + ", ".join(f'system_logs."{c}"' for c in columns) + " FROM system_logs"
    rows = await conn.fetch(
        _RECORDS.format(select=select),
        [s["record_id"] for s in stages],
        [s["timestamp"] for s in stages],
        list(caller.services) if caller.services is not None else None,
    )
    return [caller.view(dict(r.items())) for r in rows]


async def get_trade(
    settings: Settings, key: str, caller: Caller, now: datetime | None = None
) -> dict[str, Any]:
    """One chain and every record of it the caller may see, oldest first; NotFound when there
    is no such trade or none of its records is of a service the caller may read."""
    now = now or datetime.now(UTC)
    async with search.reading(settings) as conn:
        row = await trade_chains.one(conn, key, caller.services)
        if row is None:
            raise NotFound(f"no trade with key {key[:80]!r}")
        chain = summary(row, caller, now)
        chain["records"] = await _records(conn, key, caller)
    return chain


async def trade_stats(settings: Settings, query: StatsQuery, caller: Caller) -> dict[str, Any]:
    """p50/p95 of each stage's latency per service (the one that closed the stage) and
    symbol, over chains started in the window."""
    services = search.readable_services(query.services, caller)
    async with search.reading(settings) as conn:
        rows = await trade_chains.stage_stats(conn, query.start, query.end, services, query.symbol)
    return {
        "start": query.start,
        "end": query.end,
        "items": [
            {
                "stage": r["stage"],
                "service": r["service"],
                "symbol": r["symbol"],
                "count": r["count"],
                "p50_ms": round(r["p50_ms"], 3),
                "p95_ms": round(r["p95_ms"], 3),
            }
            for r in rows
        ],
    }
