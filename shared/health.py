"""Readiness of each dependency, reported without secrets."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from shared.settings import Settings

CHECK_TIMEOUT_SECONDS = 3.0


async def _timed(check: Callable[[], Awaitable[Any]]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT_SECONDS)
    except Exception as exc:
        return {"status": "down", "error": type(exc).__name__}
    return {"status": "ok", "ms": round((time.perf_counter() - started) * 1000, 1)}


async def _postgres(settings: Settings) -> None:
    from shared import db

    await db.ping(settings)


async def _blob(settings: Settings) -> None:
    from shared import blob

    await blob.service(settings).get_account_information()


def _eventhub(settings: Settings) -> dict[str, Any]:
    from shared import events

    if not isinstance(events.publisher(settings), events.EventHubPublisher):
        return {"status": "ok", "mode": "in-process"}
    if settings.eventhub_connection.configured:
        return {"status": "ok", "mode": "producer", "hub": settings.eventhub_name}
    return {"status": "down", "error": "EventHubConnection is not configured"}


async def report(settings: Settings) -> tuple[bool, dict[str, Any]]:
    """(ready, body). Ready means logs can be accepted: Event Hubs is reachable. PostgreSQL or
    Blob Storage being down degrades search and archiving but never stops ingestion, so it
    shows as "degraded" without failing the probe."""
    postgres, blob_storage = await asyncio.gather(
        _timed(lambda: _postgres(settings)), _timed(lambda: _blob(settings))
    )
    checks = {"postgres": postgres, "blob": blob_storage, "eventhub": _eventhub(settings)}
    ready = checks["eventhub"]["status"] == "ok"
    healthy = all(c["status"] == "ok" for c in checks.values())
    status = "ok" if healthy else "degraded" if ready else "down"
    return ready, {"status": status, "checks": checks}
