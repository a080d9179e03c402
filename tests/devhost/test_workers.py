"""Event Hub-triggered functions in a worker process, invoked through the Python worker's own
handlers: the outputs the function sets, failures raised to the consumer, and a worker that
dies replaced."""

from __future__ import annotations

import asyncio
import dataclasses
import pickle
from datetime import UTC, datetime

import orjson
import pytest

from devhost.eventhub import EventColumns, LocalEventHub, StoredEvent
from devhost.workers import Call, FunctionWorker, WorkerFailure, assign
from shared import records
from shared import stream as live
from shared.access import Caller, Role
from shared.settings import get_settings


def _bodies(n: int) -> list[bytes]:
    now = datetime.now(UTC)
    caller = Caller("test", Role.INGEST)
    return [
        records.encode(
            records.normalize(
                {
                    "id": f"w-{i}",
                    "level": "ERROR" if i % 3 == 0 else "INFO",
                    "service": "trading-engine",
                    "message": f"order {i}",
                    "stack_trace": "secret frames",
                },
                caller,
                get_settings(),
                now,
            )
        )
        for i in range(n)
    ]


async def _call(function: str, bodies: list[bytes]) -> Call:
    hub = LocalEventHub("logs", partition_count=1)
    hub.register("live")
    await hub.publish([("trading-engine", b) for b in bodies])
    batch = hub.partitions[0].read("live", len(bodies))
    return Call(function, hub.name, "live", "0", EventColumns.of(batch), 1, 12)


def test_functions_are_dealt_round_robin_over_the_workers() -> None:
    names = ["store", "archive", "analyze", "stream"]
    assert assign(names, 1) == [names]
    assert assign(names, 2) == [["store", "analyze"], ["archive", "stream"]]
    assert assign(names, 8) == [["store"], ["archive"], ["analyze"], ["stream"]]
    assert assign(names, 0) == []


async def test_a_call_pickles_to_the_same_events() -> None:
    call = await _call("stream", _bodies(3))
    copy = pickle.loads(pickle.dumps(call))
    assert copy == call
    assert isinstance(copy.events.enqueued_times[0], datetime)
    assert [
        StoredEvent(b, k, n, t, x)
        for b, k, n, t, x in zip(
            copy.events.bodies,
            copy.events.keys,
            copy.events.sequence_numbers,
            copy.events.enqueued_times,
            copy.events.enqueued_texts,
            strict=True,
        )
    ] == [
        StoredEvent(b, "trading-engine", i, call.events.enqueued_times[0], x)
        for i, (b, x) in enumerate(zip(call.events.bodies, call.events.enqueued_texts, strict=True))
    ]


async def test_a_worker_answers_with_what_the_function_set_and_fails_loudly() -> None:
    bodies = _bodies(20)
    call = await _call("stream", bodies)
    expected = [("signalr", live.encode(live.batch_messages(bodies, get_settings())))]
    worker = FunctionWorker(0, ["stream"])
    await worker.start()
    try:
        assert await worker.call(dataclasses.replace(call, listeners=False)) == []
        outputs = await worker.call(call)
        assert outputs == expected
        [(name, value)] = outputs
        assert name == "signalr"
        sent = orjson.loads(value)
        readers = next(m for m in sent if m["groupName"] == "readers")
        assert [r["id"] for r in readers["arguments"][0]] == [f"w-{i}" for i in range(20)]
        assert all("stack_trace" not in r for r in readers["arguments"][0])

        with pytest.raises(WorkerFailure, match="KeyError"):
            await worker.call(await _call("not-a-function-here", bodies))

        first = worker._process
        assert first is not None
        first.kill()
        await asyncio.to_thread(first.join, 10)
        assert not worker.alive
        assert await worker.call(call) == expected
        assert worker._process is not first and worker.alive
    finally:
        await worker.stop()
    assert not worker.alive


def test_the_collector_is_relaxed_and_start_up_objects_frozen() -> None:
    import gc

    from devhost import collector

    before, frozen = gc.get_threshold(), gc.get_freeze_count()
    try:
        collector.relax()
        assert gc.get_threshold() == collector.THRESHOLDS
        assert gc.get_freeze_count() > frozen
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
