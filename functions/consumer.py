"""The one reader of an Event Hub trigger, for every Event Hub function (store, archive,
analyze, stream): the host's batch, its trigger metadata and its retry context become plain
`shared` data (`EventBatch`, `Attempt`).

For a cardinality-many trigger the host sends, besides the bodies:

- `PartitionContext` (JSON: `FullyQualifiedNamespace`, `EventHubName`, `ConsumerGroup`,
  `PartitionId`): the partition;
- `SystemPropertiesArray` (per event: `SequenceNumber`, `Offset`, `PartitionKey`,
  `EnqueuedTimeUtc` with 7 fractional digits), which the worker's converter also turns into
  each `EventHubEvent`'s `sequence_number`, `partition_key` and `enqueued_time`;
- `SequenceNumberArray`, `EnqueuedTimeUtcArray`, `PartitionKeyArray`: the same per field.

An event's own attributes are used first, then `SystemPropertiesArray`, then the per-field
arrays. Metadata keys are matched without regard to case."""

from __future__ import annotations

import typing
from collections.abc import Mapping
from typing import Any

import azure.functions as func
import orjson

from shared.eventbatch import EventBatch
from shared.sink_policy import Attempt
from shared.timeparse import instant


def attempt(context: func.Context | None) -> Attempt:
    """The invocation's place in its retry policy. No retry context reads as `max_retry_count`
    0: the host will not retry, which `shared.sink_policy` answers with retries of its own."""
    retry = getattr(context, "retry_context", None)
    if retry is None:
        return Attempt()
    return Attempt(int(retry.retry_count), int(retry.max_retry_count))


def batch(events: typing.List[func.EventHubEvent], event_hub: str) -> EventBatch:  # noqa: UP006
    """The batch as plain data (`event_hub`: the hub the app names its blobs after)."""
    metadata = events[0].metadata if events else None
    system = _json(_lookup(metadata, "SystemPropertiesArray"))
    system = system if isinstance(system, list) else []

    def column(name: str) -> list[Any]:
        per_field = _json(_lookup(metadata, f"{name}Array"))
        per_field = per_field if isinstance(per_field, list) else []
        values = []
        for i in range(len(events)):
            value = _lookup(system[i], name) if i < len(system) else None
            if value is None and i < len(per_field):
                value = per_field[i]
            values.append(value)
        return values

    sequences, times, keys = (
        column("SequenceNumber"),
        column("EnqueuedTimeUtc"),
        column("PartitionKey"),
    )
    return EventBatch(
        event_hub=event_hub,
        partition=partition(metadata),
        bodies=[event.get_body() for event in events],
        sequence_numbers=[
            e.sequence_number if e.sequence_number is not None else _int(sequences[i])
            for i, e in enumerate(events)
        ],
        enqueued_times=[instant(e.enqueued_time or times[i]) for i, e in enumerate(events)],
        partition_keys=[e.partition_key or keys[i] for i, e in enumerate(events)],
    )


def partition(metadata: Mapping[str, Any] | None) -> str:
    """`PartitionContext.PartitionId` (an object, or its JSON text); "" when absent."""
    context = _json(_lookup(metadata, "PartitionContext"))
    found = _lookup(context, "PartitionId") if isinstance(context, Mapping) else None
    return "" if found is None else str(found)


def _lookup(mapping: Any, name: str) -> Any:
    if not isinstance(mapping, Mapping):
        return None
    if name in mapping:
        return mapping[name]
    lower = name.lower()
    return next((v for k, v in mapping.items() if str(k).lower() == lower), None)


def _json(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return orjson.loads(value)
        except orjson.JSONDecodeError:
            return None
    return value


def _int(value: Any) -> int | None:
    try:
        return None if value is None else int(value)
    except (TypeError, ValueError):
        return None
