"""Trade chains from the records themselves: which records belong to a trade, under which key,
and what each says about it (symbol, side, decision).

A trade chain is the trading-level records (SIGNAL_RECEIVED, AI_DECISION, TRADE_EXECUTED,
RISK_ALERT), plus WARNING and ERROR records, that share a chain key: the first of the
`TRADE_KEY_FIELDS` paths a record carries (default `signal_id`, then `request_id`). A path names
a record field (`request_id`, `session_id`...) or a path into `extra_data` (`signal_id`,
`order.signal_id`, or explicitly `extra_data.signal_id`). Pure functions: no I/O."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared import levels, records
from shared.analyzer import instant

SIGNAL, DECISION, EXECUTION, RISK = "SIGNAL_RECEIVED", "AI_DECISION", "TRADE_EXECUTED", "RISK_ALERT"
TRADING_LEVELS = (SIGNAL, DECISION, EXECUTION, RISK)
STAGE_LEVELS = frozenset({*TRADING_LEVELS, "WARNING", "ERROR", "CRITICAL"})
FAILED_LEVEL_NO = levels.number("ERROR")
HOLD_DECISIONS = ("hold", "skip")
SIDES = ("buy", "sell")
STATUSES = ("executed", "blocked", "failed", "held", "open", "stalled")
MAX_KEY_CHARS = 256
MAX_VALUE_CHARS = 64
DEFAULT_KEY_FIELDS = ("signal_id", "request_id")
_RECORD_FIELDS = frozenset(records.FIELDS) - {"extra_data"}


@dataclass(frozen=True, slots=True)
class KeyPath:
    """Where a chain key is read: a record field, or a path of keys into extra_data."""

    field: str | None
    path: tuple[str, ...] = ()


def key_paths(names: Sequence[str]) -> tuple[KeyPath, ...]:
    """The `TRADE_KEY_FIELDS` names as paths; ValueError for an empty or malformed one."""
    paths = []
    for name in names:
        parts = tuple(name.strip().split("."))
        if not name.strip() or any(not p for p in parts):
            raise ValueError(f"setting TRADE_KEY_FIELDS: {name!r} is not a field or path")
        if parts[0] == "extra_data" and len(parts) > 1:
            paths.append(KeyPath(None, parts[1:]))
        elif len(parts) == 1 and parts[0] in _RECORD_FIELDS:
            paths.append(KeyPath(parts[0]))
        else:
            paths.append(KeyPath(None, parts))
    if not paths:
        raise ValueError("setting TRADE_KEY_FIELDS must name at least one field")
    return tuple(paths)


def _scalar(value: Any, limit: int) -> str | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | str):
        text = str(value).strip()
        return text[:limit] if text else None
    return None


def _lookup(extra: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(extra, Mapping):
            return None
        extra = extra.get(part)
    return extra


def chain_key(record: Mapping[str, Any], paths: Sequence[KeyPath]) -> str | None:
    """The record's chain key: the first path that holds a non-empty scalar."""
    extra = record.get("extra_data")
    for path in paths:
        value = record.get(path.field) if path.field else _lookup(extra, path.path)
        key = _scalar(value, MAX_KEY_CHARS)
        if key is not None:
            return key
    return None


def _lower(extra: Mapping[str, Any], *names: str) -> str | None:
    for name in names:
        value = _scalar(extra.get(name), MAX_VALUE_CHARS)
        if value is not None:
            return value.lower()
    return None


@dataclass(frozen=True, slots=True)
class Stage:
    """One record's part in a chain, as the chain table keeps it."""

    key: str
    record_id: str
    timestamp: datetime
    level: str
    level_no: int
    service: str
    symbol: str | None
    side: str | None
    decision: str | None


def stage_of(record: Mapping[str, Any], paths: Sequence[KeyPath]) -> Stage | None:
    """The record's stage, or None when it is no part of a trade chain (another level, no key,
    no id or no readable timestamp)."""
    level = record.get("level")
    if level not in STAGE_LEVELS:
        return None
    key = chain_key(record, paths)
    record_id = record.get("id")
    moment = instant(record.get("timestamp"))
    if key is None or not record_id or moment is None:
        return None
    extra = record.get("extra_data")
    extra = extra if isinstance(extra, Mapping) else {}
    symbol = _scalar(extra.get("symbol"), MAX_VALUE_CHARS)
    decision = _lower(extra, "decision", "action") if level == DECISION else None
    side = _lower(extra, "side")
    if side is None and decision in SIDES:
        side = decision
    return Stage(
        key=key,
        record_id=str(record_id),
        timestamp=moment,
        level=str(level),
        level_no=int(record.get("level_no") or levels.number(str(level))),
        service=str(record.get("service") or "unknown"),
        symbol=symbol.upper() if symbol else None,
        side=side,
        decision=decision,
    )


def stages_of(records: Iterable[Mapping[str, Any]], paths: Sequence[KeyPath]) -> list[Stage]:
    """The stages among these records, in (key, record id) order (the order rows are locked)."""
    found = {}
    for record in records:
        stage = stage_of(record, paths)
        if stage is not None:
            found[(stage.key, stage.record_id)] = stage
    return [found[k] for k in sorted(found)]
