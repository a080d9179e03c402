"""Publishing accepted records to Event Hubs, partitioned by service.

The publisher is the `azure-eventhub` aio producer (the output binding cannot set a partition
key), in Azure and in the dev host, which runs an AMQP endpoint for it (`devhost/amqp.py`).
`install()` puts another publisher in its place (tests that record what would be sent)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import zlib
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, Protocol

from shared.errors import TooLarge, Unavailable
from shared.settings import Settings

log = logging.getLogger(__name__)

RETRY_AFTER_SECONDS = 5

Event = tuple[str, bytes]
"""(partition key, body): one record serialised as JSON, keyed by its service."""


class Publisher(Protocol):
    async def publish(self, events: Sequence[Event]) -> None:
        """Send every event or raise; partial sends are safe because sinks are idempotent."""

    async def close(self) -> None: ...


class EventHubPublisher:
    """A few aio producers (one AMQP connection each), created on first use and reused across
    invocations. Each partition key is bound to one of them, so one key's batches go in order
    while different keys' batches are in flight at the same time (one producer sends one batch
    at a time: it waits for the service's disposition before the next)."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producers: list[Any] = []
        self._lock = asyncio.Lock()

    async def _clients(self) -> list[Any]:
        if not self._producers:
            async with self._lock:
                if not self._producers:
                    count = max(1, self._settings.eventhub_producer_connections)
                    self._producers = [self._create() for _ in range(count)]
        return self._producers

    def _create(self) -> Any:
        from azure.eventhub.aio import EventHubProducerClient

        s = self._settings
        conn = s.eventhub_connection
        options: dict[str, Any] = {
            "eventhub_name": s.eventhub_name,
            "retry_total": s.eventhub_retry_total,
            "retry_backoff_factor": s.eventhub_retry_backoff_seconds,
            "retry_backoff_max": s.eventhub_retry_backoff_max_seconds,
        }
        if conn.connection_string:
            return EventHubProducerClient.from_connection_string(conn.connection_string, **options)
        if not conn.fully_qualified_namespace:
            raise Unavailable("Event Hubs is not configured", retry_after=30)
        from shared.identity import credential

        return EventHubProducerClient(
            fully_qualified_namespace=conn.fully_qualified_namespace,
            credential=credential(conn.client_id or s.azure_client_id),
            **options,
        )

    async def publish(self, events: Sequence[Event]) -> None:
        """Every batch is built before any is sent, so an event over the size limit (413)
        sends nothing; then each partition key's batches go in order, keys concurrently, all
        within the send timeout. Any failure of the service is a 503 with Retry-After."""
        timeout = self._settings.eventhub_send_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                producers = await self._clients()
                by_key = group_by_key(events)
                batches = await asyncio.gather(
                    *(_batches(producer_for(producers, k), k, b) for k, b in by_key.items())
                )
                await asyncio.gather(
                    *(
                        _send_in_order(producer_for(producers, key), key_batches, timeout)
                        for key, key_batches in zip(by_key, batches, strict=True)
                    )
                )
        except (TooLarge, Unavailable):
            raise
        except TimeoutError as exc:
            log.warning("Event Hubs did not confirm a send within %.1f s", timeout)
            raise Unavailable(
                f"Event Hubs did not confirm the send within {timeout:g} s; retry later",
                retry_after=RETRY_AFTER_SECONDS,
            ) from exc
        except Exception as exc:
            log.warning("Event Hubs refused a batch: %r", exc)
            raise Unavailable(
                "Event Hubs refused the batch; retry later", retry_after=RETRY_AFTER_SECONDS
            ) from exc

    async def close(self) -> None:
        producers, self._producers = self._producers, []
        for producer in producers:
            await producer.close()


def group_by_key(events: Sequence[Event]) -> dict[str, list[bytes]]:
    by_key: dict[str, list[bytes]] = defaultdict(list)
    for key, body in events:
        by_key[key].append(body)
    return by_key


def producer_for(producers: Sequence[Any], key: str) -> Any:
    """The producer a partition key always uses (a stable hash, not Python's salted one)."""
    return producers[zlib.crc32(key.encode()) % len(producers)]


async def _batches(producer: Any, key: str, bodies: list[bytes]) -> list[Any]:
    from azure.eventhub import EventData

    batches = [await producer.create_batch(partition_key=key)]
    for body in bodies:
        with contextlib.suppress(ValueError):
            batches[-1].add(EventData(body))
            continue
        batches.append(await producer.create_batch(partition_key=key))
        try:
            batches[-1].add(EventData(body))
        except ValueError:
            limit = batches[-1].max_size_in_bytes
            raise TooLarge(
                f"a record of {len(body):,} bytes is over the Event Hubs limit of "
                f"{limit:,} bytes a message",
                detail={"bytes": len(body), "limit": limit},
            ) from None
    return [b for b in batches if len(b)]


async def _send_in_order(producer: Any, batches: list[Any], timeout: float) -> None:
    for batch in batches:
        await producer.send_batch(batch, timeout=timeout)


_publisher: Publisher | None = None


def install(publisher: Publisher | None) -> None:
    """Use this publisher for the rest of the process (the dev host's in-process hub)."""
    global _publisher
    _publisher = publisher


def publisher(settings: Settings) -> Publisher:
    global _publisher
    if _publisher is None:
        _publisher = EventHubPublisher(settings)
    return _publisher


async def publish(events: Sequence[Event], settings: Settings) -> None:
    if events:
        await publisher(settings).publish(events)
