"""Fixtures for the archive tests: settings pointing at the session's Azurite with containers
of their own per test, and Event Hub batches shaped as the Functions host delivers them."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from shared import blob
from shared.settings import Settings, get_settings, reset_settings


@pytest.fixture
async def storage(azurite, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Settings]:
    suffix = uuid.uuid4().hex[:10]
    monkeypatch.setenv("ArchiveStorage", azurite.connection_string)
    monkeypatch.setenv("ARCHIVE_CONTAINER", f"archive-{suffix}")
    monkeypatch.setenv("DEADLETTER_CONTAINER", f"deadletter-{suffix}")
    monkeypatch.setenv("EVENTHUB_NAME", "logs")
    monkeypatch.setenv("BLOB_RETRY_TOTAL", "0")
    monkeypatch.setenv("FINAL_ATTEMPT_HOLD_SECONDS", "0")
    reset_settings()
    await blob.close()
    yield get_settings()
    await blob.close()
    reset_settings()


async def blob_names(settings: Settings, container: str) -> list[str]:
    client = await blob.container(settings, container)
    return sorted([b.name async for b in client.list_blobs()])


@dataclass
class RetryContext:
    retry_count: int
    max_retry_count: int
    exception: object = None


@dataclass
class InvocationContext:
    retry_context: RetryContext | None
    invocation_id: str = "test"
    function_name: str = "archive"


def host_events(
    bodies: Sequence[bytes],
    partition: str,
    first_sequence: int,
    enqueued: datetime,
    event_hub: str = "logs",
    consumer_group: str = "archive",
) -> list:
    """The events a cardinality-many, binary Event Hubs trigger receives, built by the worker's
    own converter from the trigger metadata the Functions host sends."""
    import json

    import azure.functions as func
    from azure.functions import meta
    from azure.functions.eventhub import EventHubTriggerConverter

    class Collection:
        def __init__(self, values: list[bytes]) -> None:
            self.bytes = values

    times = [(enqueued + timedelta(milliseconds=i)).isoformat() for i in range(len(bodies))]
    seqs = [first_sequence + i for i in range(len(bodies))]
    system = [
        {
            "SequenceNumber": seqs[i],
            "Offset": str(1000 + seqs[i]),
            "PartitionKey": "svc",
            "EnqueuedTimeUtc": times[i],
        }
        for i in range(len(bodies))
    ]
    metadata = {
        "PartitionContext": meta.Datum(
            json.dumps(
                {
                    "FullyQualifiedNamespace": "localhost",
                    "EventHubName": event_hub,
                    "ConsumerGroup": consumer_group,
                    "PartitionId": partition,
                }
            ),
            "json",
        ),
        "SequenceNumberArray": meta.Datum(json.dumps(seqs), "json"),
        "EnqueuedTimeUtcArray": meta.Datum(json.dumps(times), "json"),
        "SystemPropertiesArray": meta.Datum(json.dumps(system), "json"),
    }
    events = EventHubTriggerConverter.decode(
        meta.Datum(Collection(list(bodies)), "collection_bytes"), trigger_metadata=metadata
    )
    assert all(isinstance(e, func.EventHubEvent) for e in events)
    return events


def archive_function():
    """The archive function as the worker would call it, found through the app's metadata."""
    import azure.functions as func

    from functions import archive as archive_functions

    app = func.FunctionApp()
    app.register_functions(archive_functions.bp)
    (function,) = [f for f in app.get_functions() if f.get_function_name() == "archive"]
    return function.get_user_function()


ENQUEUED = datetime(2026, 11, 27, 14, 5, tzinfo=UTC)
