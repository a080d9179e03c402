"""The trade chain tables (`trade_stages`, `trade_chains`): every SQL statement that reads or
writes them lives here.

Each batch's stages are inserted once (by key and record id) and the summaries of the keys they
touch are recomputed from all their stages in the same statement, so a redelivered batch or a
stage arriving late leaves the same summary as an orderly arrival would."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from shared import records
from shared.search import _Where as Where
from shared.trades import (
    DECISION,
    EXECUTION,
    FAILED_LEVEL_NO,
    HOLD_DECISIONS,
    MAX_KEY_CHARS,
    MAX_VALUE_CHARS,
    RISK,
    SIGNAL,
    STAGE_LEVELS,
    TRADING_LEVELS,
    KeyPath,
    Stage,
)

STAGE_FIELDS = (
    "key",
    "record_id",
    "timestamp",
    "level",
    "level_no",
    "service",
    "symbol",
    "side",
    "decision",
)
MAX_STAGES = 50
"""Stages a chain's summary lists (the first ones); its records are all kept."""

_TIME = """to_char("timestamp" AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""

_CLAIM = """
INSERT INTO trade_chains AS c (key, trading, started, last_service, last_record_id, services,
                               stages)
SELECT k, false, now(), '', '', '{}', '[]' FROM unnest($1::text[]) AS k ORDER BY k
ON CONFLICT (key) DO UPDATE SET updated_at = now()
"""
"""Lock the summary rows of these keys (making the missing ones), in key order, until the
transaction ends: chains of one key are recomputed one transaction at a time, so a batch
recomputing a chain sees every stage a concurrent batch of another partition committed
rather than overwriting the summary with its own partial view. Row locks, not advisory
ones: a batch of thousands of keys does not fill PostgreSQL's lock table."""

_INSERT_STAGES = """
INSERT INTO trade_stages (key, record_id, "timestamp", level, level_no, service, symbol, side,
                          decision)
SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::smallint[],
                     $6::text[], $7::text[], $8::text[], $9::text[])
ORDER BY 1, 2
ON CONFLICT (key, record_id) DO NOTHING
"""

_RECOMPUTE = f"""
WITH agg AS (
    SELECT key,
        bool_or(level = ANY($4::text[])) AS trading,
        min("timestamp") AS started,
        (array_agg(symbol ORDER BY "timestamp", record_id)
            FILTER (WHERE symbol IS NOT NULL))[1] AS symbol,
        (array_agg(side ORDER BY "timestamp", record_id)
            FILTER (WHERE side IS NOT NULL))[1] AS side,
        (array_agg(decision ORDER BY "timestamp", record_id)
            FILTER (WHERE decision IS NOT NULL))[1] AS decision,
        min("timestamp") FILTER (WHERE level = '{SIGNAL}') AS signal_at,
        min("timestamp") FILTER (WHERE level = '{DECISION}') AS decision_at,
        min("timestamp") FILTER (WHERE level = '{EXECUTION}') AS executed_at,
        min("timestamp") FILTER (WHERE level = '{RISK}') AS blocked_at,
        min("timestamp") FILTER (WHERE level_no >= {FAILED_LEVEL_NO}) AS failed_at,
        (array_agg(service ORDER BY "timestamp", record_id)
            FILTER (WHERE level = '{SIGNAL}'))[1] AS signal_service,
        (array_agg(service ORDER BY "timestamp", record_id)
            FILTER (WHERE level = '{DECISION}'))[1] AS decision_service,
        (array_agg(service ORDER BY "timestamp", record_id)
            FILTER (WHERE level = '{EXECUTION}'))[1] AS execution_service,
        (array_agg(service ORDER BY "timestamp" DESC, record_id DESC))[1] AS last_service,
        (array_agg(record_id ORDER BY "timestamp" DESC, record_id DESC))[1] AS last_record_id,
        array_agg(DISTINCT service ORDER BY service) AS services,
        to_jsonb((array_agg(
            jsonb_build_object('level', level, 'time', {_TIME}, 'service', service,
                               'id', record_id)
            ORDER BY "timestamp", record_id))[1:{MAX_STAGES}]) AS stages
    FROM trade_stages WHERE key = ANY($1::text[])
    GROUP BY key
), judged AS (
    SELECT agg.*,
        CASE WHEN executed_at IS NOT NULL THEN 'executed'
             WHEN blocked_at IS NOT NULL THEN 'blocked'
             WHEN failed_at IS NOT NULL THEN 'failed'
             WHEN decision = ANY($5::text[]) THEN 'held'
        END AS outcome
    FROM agg
)
INSERT INTO trade_chains AS c (key, trading, started, symbol, side, decision, signal_at,
    decision_at, executed_at, blocked_at, failed_at, signal_service, decision_service,
    execution_service, last_service, last_record_id, outcome, waiting_for, deadline, services,
    stages)
SELECT key, trading, started, symbol, side, decision, signal_at, decision_at, executed_at,
    blocked_at, failed_at, signal_service, decision_service, execution_service, last_service,
    last_record_id, outcome,
    CASE WHEN outcome IS NULL THEN
        CASE WHEN decision_at IS NULL THEN 'decision' ELSE 'execution' END
    END,
    CASE WHEN outcome IS NULL THEN
        CASE WHEN decision_at IS NULL THEN coalesce(signal_at, started) + $2::interval
             ELSE decision_at + $3::interval END
    END,
    services, stages
FROM judged ORDER BY key
ON CONFLICT (key) DO UPDATE SET
    trading = EXCLUDED.trading, started = EXCLUDED.started, symbol = EXCLUDED.symbol,
    side = EXCLUDED.side, decision = EXCLUDED.decision, signal_at = EXCLUDED.signal_at,
    decision_at = EXCLUDED.decision_at, executed_at = EXCLUDED.executed_at,
    blocked_at = EXCLUDED.blocked_at, failed_at = EXCLUDED.failed_at,
    signal_service = EXCLUDED.signal_service, decision_service = EXCLUDED.decision_service,
    execution_service = EXCLUDED.execution_service, last_service = EXCLUDED.last_service,
    last_record_id = EXCLUDED.last_record_id, outcome = EXCLUDED.outcome,
    waiting_for = EXCLUDED.waiting_for, deadline = EXCLUDED.deadline,
    services = EXCLUDED.services, stages = EXCLUDED.stages, updated_at = now()
"""

SUMMARY_COLUMNS = (
    "key, symbol, side, decision, started, signal_at, decision_at, executed_at, outcome, "
    "waiting_for, deadline, services, stages"
)


@dataclass(frozen=True, slots=True)
class Deadlines:
    """How long a chain may wait for its next stage before it counts as stalled."""

    decision: timedelta
    execution: timedelta


async def record(
    conn: asyncpg.Connection, stages: Sequence[Stage], deadlines: Deadlines
) -> list[str]:
    """Insert these stages (once each) and recompute the summaries of their keys, in the
    caller's transaction (which holds each key's lock until it ends); returns the keys
    touched."""
    if not stages:
        return []
    columns: list[list[Any]] = [[] for _ in STAGE_FIELDS]
    for stage in stages:
        for i, name in enumerate(STAGE_FIELDS):
            columns[i].append(getattr(stage, name))
    keys = sorted(set(columns[0]))
    await conn.execute(_CLAIM, keys)
    await conn.execute(_INSERT_STAGES, *columns)
    await conn.execute(
        _RECOMPUTE,
        keys,
        deadlines.decision,
        deadlines.execution,
        list(TRADING_LEVELS),
        list(HOLD_DECISIONS),
    )
    return keys


@dataclass
class ChainFilter:
    """What a listing selects; `services` None means any service, () means none."""

    start: datetime | None = None
    end: datetime | None = None
    services: tuple[str, ...] | None = None
    symbol: str | None = None
    status: str | None = None
    after: tuple[datetime, str] | None = None


_STATUS = {
    "open": "outcome IS NULL AND deadline > {0}",
    "stalled": "outcome IS NULL AND deadline <= {0}",
}


def _where(chosen: ChainFilter, now: datetime) -> Where:
    where = Where()
    where.add("trading")
    if chosen.services is not None:
        if not chosen.services:
            where.add("false")
        else:
            where.add("services && {0}::text[]", list(chosen.services))
    if chosen.start is not None:
        where.add("started >= {0}", chosen.start)
    if chosen.end is not None:
        where.add("started < {0}", chosen.end)
    if chosen.symbol is not None:
        where.add("symbol = {0}", chosen.symbol)
    if chosen.status in _STATUS:
        where.add(_STATUS[chosen.status], now)
    elif chosen.status is not None:
        where.add("outcome = {0}", chosen.status)
    if chosen.after is not None:
        where.add("(started, key) < ({0}, {1})", *chosen.after)
    return where


async def listing(
    conn: asyncpg.Connection, chosen: ChainFilter, limit: int, now: datetime
) -> list[asyncpg.Record]:
    """Chain summaries, newest started first, at most `limit`."""
    where = _where(chosen, now)
    sql = (
        f"SELECT {SUMMARY_COLUMNS} FROM trade_chains{where.sql()}"
        f" ORDER BY started DESC, key DESC LIMIT ${len(where.args) + 1}"
    )
    return await conn.fetch(sql, *where.args, limit)


async def one(
    conn: asyncpg.Connection, key: str, services: tuple[str, ...] | None
) -> asyncpg.Record | None:
    """One chain's summary, if it is a trade and shares a service with `services`."""
    return await conn.fetchrow(
        f"SELECT {SUMMARY_COLUMNS} FROM trade_chains WHERE key = $1 AND trading"
        " AND ($2::text[] IS NULL OR services && $2::text[])",
        key,
        list(services) if services is not None else None,
    )


async def stage_rows(conn: asyncpg.Connection, key: str) -> list[asyncpg.Record]:
    """Every stage of a chain (record id, timestamp, service), oldest first."""
    return await conn.fetch(
        'SELECT record_id, "timestamp", service FROM trade_stages WHERE key = $1'
        ' ORDER BY "timestamp", record_id',
        key,
    )


_STATS = """
SELECT s.stage, s.service, c.symbol, count(*) AS count,
    percentile_cont(0.5) WITHIN GROUP (ORDER BY s.ms) AS p50_ms,
    percentile_cont(0.95) WITHIN GROUP (ORDER BY s.ms) AS p95_ms
FROM trade_chains c, LATERAL (VALUES
    ('signal_to_decision', c.decision_service,
        extract(epoch FROM c.decision_at - c.signal_at) * 1000),
    ('decision_to_execution', c.execution_service,
        extract(epoch FROM c.executed_at - c.decision_at) * 1000),
    ('signal_to_execution', c.execution_service,
        extract(epoch FROM c.executed_at - c.signal_at) * 1000)
) AS s(stage, service, ms)
WHERE c.trading AND c.started >= $1 AND c.started < $2 AND s.ms IS NOT NULL
  AND ($3::text[] IS NULL OR s.service = ANY($3::text[]))
  AND ($4::text IS NULL OR c.symbol = $4)
GROUP BY 1, 2, 3
ORDER BY 1, 2, 3
"""


async def stage_stats(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    services: tuple[str, ...] | None,
    symbol: str | None,
) -> list[asyncpg.Record]:
    """p50/p95 of each stage's latency by the service that closed the stage, and symbol."""
    return await conn.fetch(
        _STATS, start, end, list(services) if services is not None else None, symbol
    )


async def mark_stalled(
    conn: asyncpg.Connection, now: datetime, horizon: timedelta
) -> list[asyncpg.Record]:
    """Chains past their deadline (within `horizon` of it) not yet alerted: mark each with the
    service it is alerted under (the one whose record it waits to follow) and return them."""
    return await conn.fetch(
        """
        UPDATE trade_chains SET stalled_alert = CASE waiting_for
            WHEN 'decision' THEN coalesce(signal_service, last_service)
            ELSE coalesce(decision_service, last_service) END
        WHERE trading AND outcome IS NULL AND deadline <= $1 AND deadline > $2
          AND stalled_alert IS NULL
        RETURNING key, symbol, waiting_for, stalled_alert, last_record_id, deadline
        """,
        now,
        now - horizon,
    )


async def clear_stalled(
    conn: asyncpg.Connection, keys: Sequence[str], now: datetime
) -> list[asyncpg.Record]:
    """Of these chains, unmark those alerted as stalled that have since moved on; returns
    (key, stalled_alert) of each."""
    if not keys:
        return []
    return await conn.fetch(
        """
        UPDATE trade_chains c SET stalled_alert = NULL
        FROM (SELECT key, stalled_alert FROM trade_chains
              WHERE key = ANY($1::text[]) AND stalled_alert IS NOT NULL
              FOR UPDATE) AS old
        WHERE c.key = old.key AND (c.outcome IS NOT NULL OR c.deadline > $2)
        RETURNING c.key, old.stalled_alert
        """,
        list(keys),
        now,
    )


async def services_still_stalled(conn: asyncpg.Connection, services: Sequence[str]) -> set[str]:
    """Which of these services still have a chain alerted as stalled."""
    rows = await conn.fetch(
        "SELECT DISTINCT stalled_alert FROM trade_chains WHERE stalled_alert = ANY($1::text[])",
        list(services),
    )
    return {r["stalled_alert"] for r in rows}


# --- rebuilding chains from stored records (records stored before chains were kept, a
# changed TRADE_KEY_FIELDS, the benchmark's generated rows) -----------------------------


def _scalar_sql(expression: str) -> str:
    """The SQL twin of `trades._scalar` for a jsonb value: a string or number, trimmed,
    cut to length, NULL when empty."""
    return (
        f"CASE WHEN jsonb_typeof({expression}) IN ('string', 'number') "
        f"THEN nullif(left(btrim({expression} #>> '{{}}'), {MAX_VALUE_CHARS}), '') END"
    )


def key_sql(paths: Sequence[KeyPath]) -> tuple[str, list[Any]]:
    """The SQL twin of `trades.chain_key` over `system_logs` rows aliased `l`, and the
    parameters it uses ($1, $2... in order)."""
    parts: list[str] = []
    args: list[Any] = []
    for path in paths:
        if path.field is not None:
            if path.field not in records.FIELDS:
                raise ValueError(f"not a record field: {path.field!r}")
            column = f'l."{path.field}"::text'
            parts.append(f"nullif(left(btrim({column}), {MAX_KEY_CHARS}), '')")
        else:
            args.append(list(path.path))
            value = f"l.extra_data #> ${len(args)}::text[]"
            parts.append(
                f"CASE WHEN jsonb_typeof({value}) IN ('string', 'number') "
                f"THEN nullif(left(btrim({value} #>> '{{}}'), {MAX_KEY_CHARS}), '') END"
            )
    return "coalesce(" + ", ".join(parts) + ")", args


_STAGES_FROM_LOGS = """
INSERT INTO trade_stages (key, record_id, "timestamp", level, level_no, service, symbol, side,
                          decision)
SELECT key, id, "timestamp", level, level_no, service, symbol,
    coalesce(side, CASE WHEN decision = ANY(ARRAY['buy', 'sell']) THEN decision END), decision
FROM (
    SELECT {key} AS key, l.id, l."timestamp", l.level, l.level_no, l.service,
        upper({symbol}) AS symbol, lower({side}) AS side,
        CASE WHEN l.level = '{decision_level}' THEN lower(coalesce({decision}, {action})) END
            AS decision
    FROM system_logs l
    WHERE l."timestamp" >= ${start} AND l."timestamp" < ${end} AND l.level = ANY(${levels}::text[])
) AS s
WHERE key IS NOT NULL
ON CONFLICT (key, record_id) DO NOTHING
"""


async def rebuild(
    conn: asyncpg.Connection,
    start: datetime,
    end: datetime,
    paths: Sequence[KeyPath],
    deadlines: Deadlines,
    chunk: int = 20_000,
) -> tuple[int, int]:
    """Take the stages of the records stored in [start, end) and recompute every chain they
    touch, `chunk` chains per transaction. Returns (stages added, chains recomputed)."""
    key, args = key_sql(paths)
    sql = _STAGES_FROM_LOGS.format(
        key=key,
        symbol=_scalar_sql("l.extra_data -> 'symbol'"),
        side=_scalar_sql("l.extra_data -> 'side'"),
        decision=_scalar_sql("l.extra_data -> 'decision'"),
        action=_scalar_sql("l.extra_data -> 'action'"),
        decision_level=DECISION,
        start=len(args) + 1,
        end=len(args) + 2,
        levels=len(args) + 3,
    )
    status = await conn.execute(sql, *args, start, end, sorted(STAGE_LEVELS))
    added = int(status.rsplit(" ", 1)[1])
    keys = [
        r["key"]
        for r in await conn.fetch(
            'SELECT DISTINCT key FROM trade_stages WHERE "timestamp" >= $1 AND "timestamp" < $2'
            " ORDER BY key",
            start,
            end,
        )
    ]
    for i in range(0, len(keys), chunk):
        part = keys[i : i + chunk]
        async with conn.transaction():
            await conn.execute(_CLAIM, part)
            await conn.execute(
                _RECOMPUTE,
                part,
                deadlines.decision,
                deadlines.execution,
                list(TRADING_LEVELS),
                list(HOLD_DECISIONS),
            )
    return added, len(keys)


async def forget_before(
    conn: asyncpg.Connection, cutoff: datetime, batch_rows: int, deadline: float
) -> int:
    """Delete chains started before `cutoff` and their stages, `batch_rows` at a time until
    `deadline` (time.monotonic()); returns the rows deleted (retention, after the records
    themselves are gone)."""
    removed = 0
    for sql in (
        "DELETE FROM trade_stages WHERE ctid = ANY(ARRAY(SELECT ctid FROM trade_stages s "
        'WHERE s."timestamp" < $1 AND EXISTS (SELECT 1 FROM trade_chains c '
        "WHERE c.key = s.key AND c.started < $1) LIMIT $2))",
        "DELETE FROM trade_chains WHERE ctid = ANY(ARRAY(SELECT ctid FROM trade_chains "
        "WHERE started < $1 AND NOT EXISTS (SELECT 1 FROM trade_stages s "
        'WHERE s.key = trade_chains.key AND s."timestamp" >= $1) LIMIT $2))',
    ):
        while time.monotonic() < deadline:
            status = await conn.execute(sql, cutoff, batch_rows)
            count = int(status.split()[-1])
            removed += count
            if count < batch_rows:
                break
    return removed
