"""The store function's batch logic: Event Hub bodies into PostgreSQL, exactly once.

- A body that does not decode into a record is dead-lettered with the reason.
- Data PostgreSQL rejects (a value it cannot hold, a violated constraint) is isolated by
  bisecting the batch: the good records are stored, each bad one is dead-lettered with its reason.
- Anything else (PostgreSQL unreachable or restarting, too many connections, timeouts,
  serialization failures, deadlocks, a schema not migrated) fails the batch, and
  `shared.sink_policy` decides: retried by the host (the idempotent writer makes that safe), or
  on the final attempt dead-lettered whole with the reason.
- A dead letter that cannot be written fails the batch the same way: retried, never lost.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared import db, deadletter, sink_policy, store
from shared.eventbatch import EventBatch
from shared.settings import Settings
from shared.sink_policy import Attempt, reason_of

log = logging.getLogger(__name__)

SINK = deadletter.Sink.STORE

Item = tuple[bytes, Mapping[str, Any]]
"""An event body and the record decoded from it."""

CONNECTION_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
)
DATA_ERRORS: tuple[type[BaseException], ...] = (
    asyncpg.DataError,
    asyncpg.IntegrityConstraintViolationError,
    asyncpg.ProgramLimitExceededError,
    ValueError,
    TypeError,
    OverflowError,
)


@dataclass(frozen=True, slots=True)
class StoreResult:
    received: int
    stored: int
    """Rows inserted now; a redelivered record is stored earlier and not counted again."""
    dead_lettered: int

    @property
    def already_stored(self) -> int:
        return self.received - self.stored - self.dead_lettered


def is_data_error(exc: BaseException) -> bool:
    """True when the same records would be rejected again, whatever the retry (asyncpg's
    client-side invalid-input error is an InterfaceError and a ValueError: data)."""
    return isinstance(exc, DATA_ERRORS)


def is_connection_error(exc: BaseException) -> bool:
    return isinstance(exc, CONNECTION_ERRORS) and not is_data_error(exc)


def decode(bodies: Sequence[bytes]) -> tuple[list[Item], list[tuple[bytes, str]]]:
    """(decoded items, bodies that are no storable record with their reasons)."""
    from shared import records

    items: list[Item] = []
    undecodable: list[tuple[bytes, str]] = []
    for body in bodies:
        try:
            record = records.decode_event(body)
            store.row(record)
            items.append((body, record))
        except Exception as exc:
            undecodable.append((body, reason_of(exc)))
    return items, undecodable


async def write_isolating(
    pool: asyncpg.Pool, items: Sequence[Item], days_ahead: int
) -> tuple[int, list[tuple[bytes, str]]]:
    """Write the items; on a data error, bisect to store every good one. Returns (rows
    inserted, rejected bodies with their reasons). Other errors propagate."""
    try:
        return await store.write(pool, [r for _, r in items], days_ahead_count=days_ahead), []
    except Exception as exc:
        if not is_data_error(exc):
            raise
        if len(items) == 1:
            return 0, [(items[0][0], reason_of(exc))]
        middle = len(items) // 2
        first = await write_isolating(pool, items[:middle], days_ahead)
        second = await write_isolating(pool, items[middle:], days_ahead)
        return first[0] + second[0], first[1] + second[1]


async def _store(settings: Settings, batch: EventBatch, attempt: Attempt) -> StoreResult:
    items, undecodable = decode(batch.bodies)
    stored = 0
    rejected: list[tuple[bytes, str]] = []
    if items:
        try:
            pool = await db.pool(settings)
            stored, rejected = await write_isolating(pool, items, settings.postgres_days_ahead)
        except Exception as exc:
            if is_connection_error(exc):
                await db.expire_connections()
            raise
    for body, reason in [*undecodable, *rejected]:
        await deadletter.write(
            settings,
            SINK,
            reason,
            [body],
            attempt.number,
            key=f"{batch.key()}.{hashlib.sha256(body).hexdigest()[:16]}",
            at=batch.enqueued_at,
            details=batch.details(),
        )
    return StoreResult(len(batch.bodies), stored, len(undecodable) + len(rejected))


async def store_events(settings: Settings, batch: EventBatch, attempt: Attempt) -> StoreResult:
    """Store one Event Hub batch under the one retry and dead-letter policy."""
    received = len(batch.bodies)
    return await sink_policy.settle(
        settings,
        SINK,
        batch,
        attempt,
        lambda: _store(settings, batch, attempt),
        lambda _letter: StoreResult(received, 0, received),
    )
