"""The one consumer seam (`functions/consumer.py`): what the host sends for a cardinality-many
Event Hubs trigger, turned by the worker's own converter into EventHubEvents, becomes the plain
batch and attempt every sink is handed."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import azure.functions as func
import pytest
from azure.functions import meta
from azure.functions.eventhub import EventHubTriggerConverter

from functions import consumer
from shared.sink_policy import Attempt
from tests.archive.conftest import InvocationContext, RetryContext

TIMES = ["2026-11-27T14:05:09.1234567Z", "2026-11-27T14:05:09.2000001Z"]
SYSTEM = [
    {
        "x-opt-sequence-number": 41,
        "x-opt-partition-key": "trading-engine",
        "SequenceNumber": 41,
        "Offset": "4100",
        "PartitionKey": "trading-engine",
        "EnqueuedTimeUtc": TIMES[0],
    },
    {
        "x-opt-sequence-number": 42,
        "x-opt-partition-key": "ai-processor",
        "SequenceNumber": 42,
        "Offset": "4200",
        "PartitionKey": "ai-processor",
        "EnqueuedTimeUtc": TIMES[1],
    },
]
PARTITION_CONTEXT = {
    "FullyQualifiedNamespace": "ns.servicebus.windows.net",
    "EventHubName": "logs",
    "ConsumerGroup": "archive",
    "PartitionId": "5",
}


def _metadata(system: list[dict] | None = SYSTEM) -> dict[str, meta.Datum]:
    found = {"PartitionContext": meta.Datum(json.dumps(PARTITION_CONTEXT), "json")}
    if system is not None:
        found["SystemPropertiesArray"] = meta.Datum(json.dumps(system), "json")
    return found


def _host_events(bodies: list[bytes]) -> list[func.EventHubEvent]:
    """The events as the Python worker builds them from the host's invocation request."""
    data = meta.Datum(SimpleNamespace(bytes=bodies), "collection_bytes")
    return EventHubTriggerConverter.decode(data, trigger_metadata=_metadata())


def test_the_batch_carries_partition_sequence_numbers_times_and_keys() -> None:
    batch = consumer.batch(_host_events([b'{"a":1}', b'{"a":2}']), "logs")
    assert (batch.event_hub, batch.partition) == ("logs", "5")
    assert list(batch.bodies) == [b'{"a":1}', b'{"a":2}']
    assert list(batch.sequence_numbers) == [41, 42]
    assert list(batch.partition_keys) == ["trading-engine", "ai-processor"]
    assert list(batch.enqueued_times) == [
        datetime(2026, 11, 27, 14, 5, 9, 123456, tzinfo=UTC),
        datetime(2026, 11, 27, 14, 5, 9, 200000, tzinfo=UTC),
    ]
    assert batch.key() == "logs-p5-000041-000042"
    assert batch.details() == {
        "event_hub": "logs",
        "partition": "5",
        "first_sequence": 41,
        "last_sequence": 42,
        "enqueued_time": "2026-11-27T14:05:09.123456+00:00",
    }


def test_events_without_their_own_attributes_are_read_from_the_system_properties() -> None:
    metadata = _metadata()
    events = [func.EventHubEvent(body=b"{}", trigger_metadata=metadata) for _ in SYSTEM]
    batch = consumer.batch(events, "logs")
    assert list(batch.sequence_numbers) == [41, 42]
    assert [t.isoformat() for t in batch.enqueued_times if t] == [
        "2026-11-27T14:05:09.123456+00:00",
        "2026-11-27T14:05:09.200000+00:00",
    ]
    assert list(batch.partition_keys) == ["trading-engine", "ai-processor"]


def test_the_per_field_arrays_are_the_last_fallback_and_keys_match_in_any_case() -> None:
    metadata = {
        "partitionContext": meta.Datum(json.dumps({"partitionId": "7"}), "json"),
        "SequenceNumberArray": meta.Datum(json.dumps([9, 10]), "json"),
        "EnqueuedTimeUtcArray": meta.Datum(json.dumps(TIMES), "json"),
    }
    events = [func.EventHubEvent(body=b"{}", trigger_metadata=metadata) for _ in TIMES]
    batch = consumer.batch(events, "logs")
    assert (batch.partition, list(batch.sequence_numbers)) == ("7", [9, 10])
    assert batch.enqueued_at == datetime(2026, 11, 27, 14, 5, 9, 123456, tzinfo=UTC)


def test_a_batch_with_no_metadata_still_has_a_stable_key() -> None:
    events = [func.EventHubEvent(body=b'{"a":1}'), func.EventHubEvent(body=b'{"a":2}')]
    batch = consumer.batch(events, "logs")
    assert (batch.partition, list(batch.sequence_numbers)) == ("", [None, None])
    assert batch.first_sequence is None
    assert batch.key() == consumer.batch(events, "logs").key()
    assert batch.key().startswith("logs-p_-")
    assert consumer.batch([], "logs").bodies == []


@pytest.mark.parametrize(
    ("retry", "expected", "final"),
    [
        (RetryContext(0, 12), Attempt(0, 12), False),
        (RetryContext(11, 12), Attempt(11, 12), False),
        (RetryContext(12, 12), Attempt(12, 12), True),
        (RetryContext(40, -1), Attempt(40, -1), False),
        (RetryContext(0, 0), Attempt(0, 0), True),
        (None, Attempt(0, 0), True),
    ],
)
def test_the_attempt_is_read_from_the_retry_context(
    retry: RetryContext | None, expected: Attempt, final: bool
) -> None:
    attempt = consumer.attempt(InvocationContext(retry))  # type: ignore[arg-type]
    assert (attempt, attempt.final, attempt.number) == (expected, final, expected.retry_count + 1)
    assert consumer.attempt(None) == Attempt(0, 0)
