"""Fixtures for trade chains: records of whole trades, fed through the real analyzer and store
into the session's PostgreSQL, and the read API's keys and function caller."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from shared import analysis, db, store
from shared.settings import Settings
from tests.query.conftest import KEYS, call, key_entries, query_settings  # noqa: F401

_ids = itertools.count()
Record = dict[str, Any]


def suffix() -> str:
    return uuid.uuid4().hex[:8]


def record(
    service: str,
    level: str,
    moment: datetime,
    message: str = "",
    request_id: str | None = None,
    **extra: Any,
) -> Record:
    from shared import levels

    return {
        "id": f"tr-{suffix()}-{next(_ids)}",
        "timestamp": moment.isoformat(),
        "received_at": moment.isoformat(),
        "level": level,
        "level_no": levels.number(level),
        "service": service,
        "logger_name": f"{service}.trades",
        "message": message or f"{level.lower()} {extra.get('symbol', '')}",
        "request_id": request_id,
        "extra_data": extra,
        "stack_trace": "Traceback (most recent call last): ..." if level == "ERROR" else None,
        "exception_message": "order refused" if level == "ERROR" else None,
    }


async def feed(settings: Settings, records: Sequence[Record], store_too: bool = True) -> None:
    """The records through the analyzer (one batch per service, as partitions carry them) and,
    unless told otherwise, into system_logs."""
    deliveries = [
        analysis.Delivery(body=orjson.dumps(r), partition=f"p-{r['service']}") for r in records
    ]
    await analysis.analyze(deliveries, settings)
    if store_too:
        pool = await db.pool(settings)
        await store.write(pool, list(records))
