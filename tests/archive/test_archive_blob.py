"""The archive function against a real Azurite: blob content, name, metadata, idempotence,
dead letters for bodies that are not records, and an outage in the middle of a stream."""

from __future__ import annotations

import gzip
import hashlib
import re

import orjson
import pytest

from bench.archive_data import bodies, records
from shared import archive, blob, deadletter
from shared.settings import Settings
from tests.archive.conftest import (
    ENQUEUED,
    InvocationContext,
    RetryContext,
    archive_function,
    blob_names,
    host_events,
)


def test_encode_is_gzip_ndjson_of_the_batch_in_order() -> None:
    items = records(300)
    encoded = archive.encode(bodies(items))
    lines = gzip.decompress(encoded.content).splitlines()
    assert [orjson.loads(line)["id"] for line in lines] == [r["id"] for r in items]
    assert [orjson.loads(line) for line in lines] == [orjson.loads(b) for b in bodies(items)]
    assert encoded.count == 300
    assert encoded.first_timestamp == items[0]["timestamp"]
    assert encoded.last_timestamp == items[-1]["timestamp"]
    assert encoded.sha256 == hashlib.sha256(encoded.content).hexdigest()
    assert archive.encode(bodies(items)).content == encoded.content


def test_encode_keeps_undecodable_bodies_out_and_reports_them() -> None:
    good = bodies(records(3))
    encoded = archive.encode([good[0], b"not json", good[1], b"[1, 2]", good[2]])
    assert encoded.count == 3
    assert [r.index for r in encoded.rejected] == [1, 3]
    assert all(r.error.startswith("undecodable event") for r in encoded.rejected)
    assert len(gzip.decompress(encoded.content).splitlines()) == 3


def test_encode_rewrites_a_multiline_body_onto_one_line() -> None:
    record = records(1)[0]
    pretty = orjson.dumps(record, option=orjson.OPT_INDENT_2)
    lines = gzip.decompress(archive.encode([pretty]).content).splitlines()
    assert len(lines) == 1 and orjson.loads(lines[0]) == record


def test_partition_is_read_from_the_trigger_metadata() -> None:
    events = host_events(bodies(records(2)), "3", 120, ENQUEUED)
    from functions import consumer

    assert consumer.partition(events[0].metadata) == "3"
    assert consumer.partition({"partitionContext": '{"partitionId": "7"}'}) == "7"
    assert consumer.partition({}) == ""
    assert [e.sequence_number for e in events] == [120, 121]


async def _download(settings: Settings, name: str) -> tuple[bytes, dict[str, str], object]:
    client = await blob.container(settings, settings.archive_container)
    downloader = await client.download_blob(name, decompress=False)
    return await downloader.readall(), dict(downloader.properties.metadata), downloader.properties


async def test_function_writes_one_blob_equal_to_the_batch(storage: Settings) -> None:
    items = records(100)
    events = host_events(bodies(items), "3", 120, ENQUEUED)
    await archive_function()(events, InvocationContext(RetryContext(0, 12)))

    name = "logs/2026/11/27/14/p3-000120-000219.ndjson.gz"
    assert await blob_names(storage, storage.archive_container) == [name]
    content, metadata, properties = await _download(storage, name)
    lines = gzip.decompress(content).splitlines()
    assert [orjson.loads(line)["id"] for line in lines] == [r["id"] for r in items]
    assert metadata == {
        "record_count": "100",
        "first_timestamp": items[0]["timestamp"],
        "last_timestamp": items[-1]["timestamp"],
        "sha256": hashlib.sha256(content).hexdigest(),
        "ndjson_bytes": str(sum(len(b) + 1 for b in bodies(items))),
    }
    assert properties.content_settings.content_type == "application/x-ndjson"
    assert properties.content_settings.content_encoding == "gzip"


async def test_same_batch_twice_leaves_one_blob_with_the_same_content(storage: Settings) -> None:
    events = host_events(bodies(records(50)), "0", 7, ENQUEUED)
    function = archive_function()
    await function(events, InvocationContext(RetryContext(0, 12)))
    names = await blob_names(storage, storage.archive_container)
    first, _, _ = await _download(storage, names[0])
    await function(events, InvocationContext(RetryContext(1, 12)))
    assert await blob_names(storage, storage.archive_container) == names
    second, _, _ = await _download(storage, names[0])
    assert first == second


async def test_undecodable_event_is_dead_lettered_with_its_reason(storage: Settings) -> None:
    good = bodies(records(4))
    events = host_events([good[0], b"\xff\xfe not json", good[1]], "1", 40, ENQUEUED)
    await archive_function()(events, InvocationContext(RetryContext(0, 12)))
    (archived,) = await blob_names(storage, storage.archive_container)
    _, metadata, _ = await _download(storage, archived)
    assert metadata["record_count"] == "2"
    (letter_name,) = await blob_names(storage, storage.deadletter_container)
    letter = await deadletter.read(storage, letter_name)
    assert letter.sink == "archive"
    assert "undecodable event" in letter.reason
    assert [deadletter.raw_bytes(e) for e in letter.records] == [b"\xff\xfe not json"]
    assert letter.details["partition"] == "1" and letter.details["indexes"] == [1]


async def test_final_attempt_dead_letters_the_batch_when_blob_refuses(
    storage: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    items = bodies(records(20))
    events = host_events(items, "2", 500, ENQUEUED)

    async def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("archive container unavailable")

    monkeypatch.setattr(archive, "upload", refuse)
    function = archive_function()
    with pytest.raises(OSError):
        await function(events, InvocationContext(RetryContext(3, 12)))
    assert await blob_names(storage, storage.deadletter_container) == []

    await function(events, InvocationContext(RetryContext(12, 12)))
    (name,) = await blob_names(storage, storage.deadletter_container)
    letter = await deadletter.read(storage, name)
    assert letter.sink == "archive" and letter.attempts == 13
    assert "archive container unavailable" in letter.reason
    assert [deadletter.raw_bytes(e) for e in letter.records] == items
    assert letter.details["first_sequence"] == 500 and letter.details["last_sequence"] == 519


async def test_blob_outage_mid_stream_loses_nothing_once_it_is_back(
    storage: Settings, azurite
) -> None:
    """The runtime retries a failed batch (here: up to 12 times, without the waits); Azurite
    is stopped after the second batch and started again during the retries of the third."""
    function = archive_function()
    items = records(600)
    batches = [items[i : i + 100] for i in range(0, 600, 100)]
    failures = 0
    for number, batch in enumerate(batches):
        if number == 2:
            azurite.stop()
        events = host_events(bodies(batch), "5", 1000 + number * 100, ENQUEUED)
        for retry in range(13):
            if number == 2 and retry == 3:
                azurite.start()
            try:
                await function(events, InvocationContext(RetryContext(retry, 12)))
                break
            except Exception:
                failures += 1
        else:
            pytest.fail(f"batch {number} was never archived")
    assert failures >= 2

    names = await blob_names(storage, storage.archive_container)
    assert len(names) == 6
    archived: list[str] = []
    for name in names:
        content, _, _ = await _download(storage, name)
        archived += [orjson.loads(line)["id"] for line in gzip.decompress(content).splitlines()]
    assert archived == [r["id"] for r in items]
    assert await blob_names(storage, storage.deadletter_container) == []
    assert all(re.fullmatch(r"logs/2026/11/27/14/p5-\d{6}-\d{6}\.ndjson\.gz", n) for n in names)


async def test_final_attempt_holds_the_batch_until_blob_is_back(
    storage: Settings, azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On the last attempt, with Blob Storage down for both the archive and the dead letter,
    the function holds the batch and archives it once Azurite is back."""
    import asyncio

    monkeypatch.setenv("FINAL_ATTEMPT_HOLD_SECONDS", "60")
    from shared.settings import reset_settings

    reset_settings()
    items = records(30)
    events = host_events(bodies(items), "6", 0, ENQUEUED)
    azurite.stop()
    loop = asyncio.get_running_loop()
    loop.call_later(2.0, azurite.start)
    await archive_function()(events, InvocationContext(RetryContext(12, 12)))
    (name,) = await blob_names(storage, storage.archive_container)
    content, _, _ = await _download(storage, name)
    assert [orjson.loads(line)["id"] for line in gzip.decompress(content).splitlines()] == [
        r["id"] for r in items
    ]


async def test_with_no_host_retries_the_function_holds_the_batch_until_blob_is_back(
    storage: Settings, azurite, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No retry context (no retry policy on the function): the first Blob failure is not the
    batch's last; the batch is archived once Azurite is back, with no dead letter."""
    import asyncio

    monkeypatch.setenv("FINAL_ATTEMPT_HOLD_SECONDS", "60")
    from shared.settings import reset_settings

    reset_settings()
    items = records(10)
    events = host_events(bodies(items), "7", 0, ENQUEUED)
    azurite.stop()
    asyncio.get_running_loop().call_later(2.0, azurite.start)
    await archive_function()(events, InvocationContext(None))
    (name,) = await blob_names(storage, storage.archive_container)
    assert name.endswith("p7-000000-000009.ndjson.gz")
    assert await blob_names(storage, storage.deadletter_container) == []
