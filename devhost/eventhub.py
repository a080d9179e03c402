"""An in-process Event Hub: partitions chosen by partition key, sequence numbers, enqueued
times, a cursor per consumer group and partition, and consumers that call Event Hub-triggered
functions with batches shaped by host.json and the host's retry policy."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import azure.functions as func
import orjson
from azure.functions.eventhub import EventHubTriggerConverter
from azure.functions.meta import Datum

from shared.errors import Unavailable

log = logging.getLogger("devhost.eventhub")


@dataclass(frozen=True, slots=True)
class StoredEvent:
    body: bytes
    partition_key: str
    sequence_number: int
    enqueued_time: datetime
    enqueued_text: str
    """enqueued_time in ISO 8601, formatted once per publish rather than per reader."""

    @property
    def offset(self) -> int:
        return self.sequence_number


@dataclass
class Partition:
    id: str
    events: list[StoredEvent] = field(default_factory=list)
    base: int = 0
    """Sequence number of events[0]: consumed events are trimmed from the front."""
    cursors: dict[str, int] = field(default_factory=dict)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def next_sequence(self) -> int:
        return self.base + len(self.events)

    def pending(self, group: str) -> int:
        return self.next_sequence - self.cursors.get(group, self.base)

    def read(self, group: str, limit: int) -> list[StoredEvent]:
        start = self.cursors.get(group, self.base) - self.base
        return self.events[start : start + limit]

    def commit(self, group: str, next_sequence: int) -> None:
        self.cursors[group] = next_sequence
        oldest = min(self.cursors.values(), default=self.next_sequence)
        if oldest - self.base > 1024:
            del self.events[: oldest - self.base]
            self.base = oldest


class LocalEventHub:
    """Implements shared.events.Publisher. Refuses (503) when its consumers fall more than
    `capacity` events behind, as a throttled namespace would."""

    def __init__(self, name: str, partition_count: int = 4, capacity: int = 2_000_000) -> None:
        self.name = name
        self.partitions = [Partition(id=str(i)) for i in range(partition_count)]
        self.capacity = capacity
        self.groups: set[str] = set()

    def partition_for(self, key: str) -> Partition:
        digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
        return self.partitions[int.from_bytes(digest, "big") % len(self.partitions)]

    def register(self, group: str) -> None:
        """Register a consumer group; it starts from the partitions' current end."""
        if group not in self.groups:
            self.groups.add(group)
            for p in self.partitions:
                p.cursors.setdefault(group, p.next_sequence)

    def backlog(self) -> int:
        return max(
            (p.pending(g) for p in self.partitions for g in self.groups),
            default=0,
        )

    async def publish(
        self, events: Sequence[tuple[str, bytes]], partition_id: str | None = None
    ) -> None:
        """Append the events to the partition of each one's key, or all to `partition_id`."""
        if self.backlog() + len(events) > self.capacity:
            raise Unavailable("the event hub is throttling: consumers are behind", retry_after=2)
        now = datetime.now(UTC)
        now_text = now.isoformat()
        touched = set()
        partitions: dict[str, Partition] = {}
        chosen = self.partitions[int(partition_id)] if partition_id is not None else None
        for key, body in events:
            p = chosen or partitions.get(key) or partitions.setdefault(key, self.partition_for(key))
            p.events.append(StoredEvent(body, key, p.next_sequence, now, now_text))
            touched.add(p.id)
        for p in self.partitions:
            if p.id in touched:
                p.arrived.set()

    async def close(self) -> None:
        return None


@dataclass(frozen=True)
class BatchShape:
    """host.json `extensions.eventHubs` and `retry`, as the dev host applies them."""

    max_batch: int = 100
    max_wait: float = 0.2
    max_retries: int = 0
    min_interval: float = 1.0
    max_interval: float = 60.0

    @classmethod
    def from_host_json(cls, host: dict[str, Any]) -> BatchShape:
        hubs = host.get("extensions", {}).get("eventHubs", {})
        retry = host.get("retry", {})
        return cls(
            max_batch=int(hubs.get("maxEventBatchSize", cls.max_batch)),
            max_wait=timespan(hubs.get("maxWaitTime", "00:00:00.2")),
            max_retries=int(retry.get("maxRetryCount", 0)),
            min_interval=timespan(retry.get("minimumInterval", "00:00:01")),
            max_interval=timespan(retry.get("maximumInterval", "00:01:00")),
        )

    def delay(self, attempt: int) -> float:
        return min(self.min_interval * 2**attempt, self.max_interval)


def timespan(value: str) -> float:
    """Seconds in a .NET TimeSpan string like 00:00:01 or 00:00:00.200."""
    hours, minutes, seconds = value.split(":")
    return int(hours) * 3600 + int(minutes) * 60 + float(seconds)


def _json(value: Any) -> str:
    return orjson.dumps(value).decode()


@dataclass(frozen=True, slots=True)
class EventColumns:
    """A batch of stored events as columns: what a trigger is built from, and what pickles at
    memory speed to a worker process (events of one publish share one enqueued time)."""

    bodies: list[bytes]
    keys: list[str]
    sequence_numbers: list[int]
    enqueued_times: list[datetime]
    enqueued_texts: list[str]

    @classmethod
    def of(cls, batch: Sequence[StoredEvent]) -> EventColumns:
        return cls(
            [e.body for e in batch],
            [e.partition_key for e in batch],
            [e.sequence_number for e in batch],
            [e.enqueued_time for e in batch],
            [e.enqueued_text for e in batch],
        )


def trigger_events(
    hub: LocalEventHub, group: str, partition: Partition, batch: Sequence[StoredEvent]
) -> list[func.EventHubEvent]:
    """build_trigger for a batch of this hub's partition."""
    return build_trigger(hub.name, group, partition.id, EventColumns.of(batch))


def build_trigger(
    hub_name: str, group: str, partition_id: str, columns: EventColumns
) -> list[func.EventHubEvent]:
    """The events as the Python worker builds them for cardinality many: EventHubEvent objects
    sharing the host's trigger metadata (PartitionContext, SystemPropertiesArray, ...). Built
    directly rather than through the SDK's converter, whose per-event strptime of the
    enqueued time costs more than the functions themselves; tests check both agree."""
    sequence_numbers = columns.sequence_numbers
    keys = columns.keys
    texts = columns.enqueued_texts
    system = [
        {"SequenceNumber": n, "Offset": n, "PartitionKey": k, "EnqueuedTimeUtc": t}
        for n, k, t in zip(sequence_numbers, keys, texts, strict=True)
    ]
    metadata = {
        "PartitionContext": Datum(
            _json(
                {
                    "EventHubName": hub_name,
                    "ConsumerGroup": group,
                    "FullyQualifiedNamespace": "localhost",
                    "PartitionId": partition_id,
                }
            ),
            "json",
        ),
        "SystemPropertiesArray": Datum(_json(system), "json"),
        "SequenceNumberArray": Datum(_json(sequence_numbers), "json"),
        "PartitionKeyArray": Datum(_json(keys), "json"),
        "EnqueuedTimeUtcArray": Datum(_json(texts), "json"),
        "OffsetArray": Datum(_json(sequence_numbers), "json"),
    }
    return [
        func.EventHubEvent(
            body=body,
            trigger_metadata=metadata,
            enqueued_time=moment,
            partition_key=key,
            sequence_number=number,
            offset=number,
        )
        for body, key, number, moment in zip(
            columns.bodies, keys, sequence_numbers, columns.enqueued_times, strict=True
        )
    ]


def converter_events(metadata: dict[str, Datum], bodies: list[bytes]) -> list[func.EventHubEvent]:
    """What the SDK's own converter makes of the same trigger data (the reference)."""
    data = Datum(SimpleNamespace(bytes=bodies), "collection_bytes")
    return EventHubTriggerConverter.decode(data, trigger_metadata=metadata)


Deliver = Callable[[Any, int, int], Awaitable[None]]
"""Calls the function with (trigger, retry_count, max_retry_count): the trigger is what the
consumer's `build` makes of the batch (by default the EventHubEvents)."""
Build = Callable[["LocalEventHub", str, "Partition", list[StoredEvent]], Any]


class Consumer:
    """One function's reader of one partition in its consumer group."""

    def __init__(
        self,
        hub: LocalEventHub,
        group: str,
        partition: Partition,
        shape: BatchShape,
        deliver: Deliver,
        name: str,
        build: Build = trigger_events,
    ) -> None:
        self.build = build
        self.hub = hub
        self.group = group
        self.partition = partition
        self.shape = shape
        self.deliver = deliver
        self.name = name

    async def run(self, stop: asyncio.Event) -> None:
        p = self.partition
        while not stop.is_set():
            if p.pending(self.group) == 0:
                p.arrived.clear()
                if p.pending(self.group) == 0:
                    waiter = asyncio.ensure_future(p.arrived.wait())
                    stopper = asyncio.ensure_future(stop.wait())
                    await asyncio.wait({waiter, stopper}, return_when=asyncio.FIRST_COMPLETED)
                    waiter.cancel()
                    stopper.cancel()
                    continue
            if p.pending(self.group) < self.shape.max_batch:
                await asyncio.sleep(min(self.shape.max_wait, 0.05))
            batch = p.read(self.group, self.shape.max_batch)
            if not await self._process(batch, stop):
                return
            p.commit(self.group, batch[-1].sequence_number + 1)
            if self.partition.pending(self.group) > 0:
                p.arrived.set()

    async def _process(self, batch: list[StoredEvent], stop: asyncio.Event) -> bool:
        """Invoke with the host's retry policy; like the real host, move on after the last
        retry (the function is expected to dead-letter before that). False: stopped before the
        batch was done, so it must not be checkpointed."""
        attempt = 0
        max_retries = self.shape.max_retries
        while True:
            events = self.build(self.hub, self.group, self.partition, batch)
            try:
                await self.deliver(events, attempt, max_retries)
                return True
            except Exception:
                log.exception(
                    "%s failed on partition %s (attempt %d)", self.name, self.partition.id, attempt
                )
                if stop.is_set():
                    return False
                if max_retries >= 0 and attempt >= max_retries:
                    log.error(
                        "%s: retries exhausted; checkpoint advances past %d events",
                        self.name,
                        len(batch),
                    )
                    return True
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.shape.delay(attempt))
                attempt += 1
