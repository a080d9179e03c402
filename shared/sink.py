"""The store function's batch logic: Event Hub bodies into PostgreSQL, exactly once.

- A body that does not decode into a record is dead-lettered with the reason.
- Data PostgreSQL rejects (a value it cannot hold, a violated constraint) is isolated by
  bisecting the batch: the good records are stored, each bad one is dead-lettered with its reason.
- Anything else (PostgreSQL unreachable or restarting, too many connections, timeouts,
  serialization failures, deadlocks, a schema not migrated) is raised so the runtime retries the
  whole batch, which the idempotent writer makes safe; on the last attempt the batch is
  dead-lettered with the reason instead, so no batch ever ends in an exception.
- A dead letter that cannot be written raises: the batch is retried, never lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import asyncpg

from shared import db, deadletter, store
from shared.settings import Settings

log = logging.getLogger(__name__)

SINK = "postgres"
FINAL_DEADLETTER_DELAYS: tuple[float, ...] = (1.0, 2.0, 4.0, 8.0, 16.0)
"""Pauses between tries of a dead letter on a batch's last attempt (about 30 s in all)."""

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


def reason_of(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


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


async def _dead_letter(
    settings: Settings, reason: str, bodies: Sequence[bytes], attempts: int, patient: bool
) -> None:
    """Write one dead letter or raise. On the batch's last attempt (`patient`) a raised error
    would end the batch, so a dead letter Blob Storage refuses is tried again for a while."""
    delays = FINAL_DEADLETTER_DELAYS if patient else ()
    for delay in (*delays, None):
        try:
            await deadletter.write(settings, SINK, reason, bodies, attempts)
            return
        except Exception as exc:
            if delay is None:
                raise
            log.warning("dead letter refused, trying again in %.0f s: %s", delay, reason_of(exc))
            await asyncio.sleep(delay)


async def store_events(
    bodies: Sequence[bytes], attempt: int, max_attempts: int, settings: Settings
) -> StoreResult:
    """Store one Event Hub batch. `attempt` counts retries (0 on the first delivery);
    `max_attempts` is the retry policy's maximum (-1: unlimited)."""
    last_attempt = max_attempts >= 0 and attempt >= max_attempts
    attempts = attempt + 1
    items, undecodable = decode(bodies)
    stored = 0
    rejected: list[tuple[bytes, str]] = []
    if items:
        try:
            pool = await db.pool(settings)
            stored, rejected = await write_isolating(pool, items, settings.postgres_days_ahead)
        except Exception as exc:
            if is_connection_error(exc):
                await db.expire_connections()
            if not last_attempt:
                log.warning("store attempt %d failed, will retry: %s", attempts, reason_of(exc))
                raise
            log.error("store gave up after %d attempts: %s", attempts, reason_of(exc))
            reason = f"PostgreSQL unavailable after {attempts} attempts: {reason_of(exc)}"
            await _dead_letter(settings, reason, [body for body, _ in items], attempts, True)
            for body, why in undecodable:
                await _dead_letter(settings, why, [body], attempts, True)
            return StoreResult(len(bodies), 0, len(bodies))
    for body, reason in [*undecodable, *rejected]:
        await _dead_letter(settings, reason, [body], attempts, last_attempt)
    return StoreResult(len(bodies), stored, len(undecodable) + len(rejected))
