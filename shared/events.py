"""Publishing accepted records to Event Hubs, partitioned by service.

In Azure the publisher is the `azure-eventhub` aio producer (the output binding cannot set a
partition key); the dev host installs its in-process hub with `install()`."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Sequence
from typing import Protocol

from shared.errors import Unavailable
from shared.settings import Settings

log = logging.getLogger(__name__)

Event = tuple[str, bytes]
"""(partition key, body): one record serialised as JSON, keyed by its service."""


class Publisher(Protocol):
    async def publish(self, events: Sequence[Event]) -> None:
        """Send every event or raise; partial sends are safe because sinks are idempotent."""

    async def close(self) -> None: ...


class EventHubPublisher:
    """The aio producer, created on first use and reused across invocations."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings
        self._producer = None
        self._lock = asyncio.Lock()

    async def _client(self):  # type: ignore[no-untyped-def]
        if self._producer is None:
            async with self._lock:
                if self._producer is None:
                    self._producer = self._create()
        return self._producer

    def _create(self):  # type: ignore[no-untyped-def]
        from azure.eventhub.aio import EventHubProducerClient

        conn = self._settings.eventhub_connection
        hub = self._settings.eventhub_name
        if conn.connection_string:
            return EventHubProducerClient.from_connection_string(
                conn.connection_string, eventhub_name=hub
            )
        if not conn.fully_qualified_namespace:
            raise Unavailable("Event Hubs is not configured", retry_after=30)
        from shared.identity import credential

        return EventHubProducerClient(
            fully_qualified_namespace=conn.fully_qualified_namespace,
            eventhub_name=hub,
            credential=credential(conn.client_id or self._settings.azure_client_id),
        )

    async def publish(self, events: Sequence[Event]) -> None:
        from azure.eventhub import EventData
        from azure.eventhub.exceptions import EventHubError

        by_key: dict[str, list[bytes]] = defaultdict(list)
        for key, body in events:
            by_key[key].append(body)
        producer = await self._client()
        try:
            for key, bodies in by_key.items():
                batch = await producer.create_batch(partition_key=key)
                for body in bodies:
                    try:
                        batch.add(EventData(body))
                    except ValueError:
                        await producer.send_batch(batch)
                        batch = await producer.create_batch(partition_key=key)
                        batch.add(EventData(body))
                if len(batch):
                    await producer.send_batch(batch)
        except EventHubError as exc:
            log.warning("Event Hubs refused a batch: %s", exc)
            raise Unavailable("Event Hubs refused the batch; retry later", retry_after=5) from exc

    async def close(self) -> None:
        if self._producer is not None:
            await self._producer.close()
            self._producer = None


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
