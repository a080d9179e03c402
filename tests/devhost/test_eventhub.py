import asyncio

import pytest

from devhost.eventhub import (
    BatchShape,
    Consumer,
    LocalEventHub,
    timespan,
)
from devhost.registry import RetryPolicy
from shared.errors import Unavailable


async def test_a_partition_key_always_lands_in_the_same_partition() -> None:
    hub = LocalEventHub("logs", partition_count=4)
    await hub.publish([("trading-engine", b"1"), ("api-gateway", b"2"), ("trading-engine", b"3")])
    engine = hub.partition_for("trading-engine")
    mine = [e for e in engine.events if e.partition_key == "trading-engine"]
    assert [e.body for e in mine] == [b"1", b"3"]
    numbers = [e.sequence_number for e in engine.events]
    assert numbers == list(range(len(engine.events)))


async def test_each_consumer_group_reads_every_event_and_retries_failures() -> None:
    hub = LocalEventHub("logs", partition_count=1)
    shape = BatchShape(max_batch=10, max_wait=0.01)
    policies = {
        "a": RetryPolicy(),
        "b": RetryPolicy(max_retry_count=3, strategy="fixed_delay", delay_interval=0.01),
    }
    seen: dict[str, list[bytes]] = {"a": [], "b": []}
    attempts: list[tuple[int, int]] = []

    async def deliver_a(events, attempt, max_retry) -> None:
        seen["a"].extend(e.body for e in events)

    async def deliver_b(events, attempt, max_retry) -> None:
        attempts.append((attempt, max_retry))
        if attempt < 2:
            raise RuntimeError("sink down")
        seen["b"].extend(e.body for e in events)

    stop = asyncio.Event()
    tasks = []
    for group, deliver in (("a", deliver_a), ("b", deliver_b)):
        hub.register(group)
        consumer = Consumer(
            hub, group, hub.partitions[0], shape, deliver, group, retry=policies[group]
        )
        tasks.append(asyncio.create_task(consumer.run(stop)))
    await hub.publish([("k", str(i).encode()) for i in range(5)])
    async with asyncio.timeout(5):
        while len(seen["a"]) < 5 or len(seen["b"]) < 5:
            await asyncio.sleep(0.01)
    stop.set()
    await asyncio.gather(*tasks)
    assert seen["a"] == seen["b"] == [str(i).encode() for i in range(5)]
    assert attempts[:3] == [(0, 3), (1, 3), (2, 3)]
    assert hub.backlog() == 0


async def test_a_hub_whose_consumers_are_far_behind_refuses_with_503() -> None:
    hub = LocalEventHub("logs", partition_count=1, capacity=10)
    hub.register("slow")
    await hub.publish([("k", b"x")] * 10)
    with pytest.raises(Unavailable) as refused:
        await hub.publish([("k", b"y")])
    assert refused.value.status == 503 and refused.value.headers["Retry-After"]


def test_timespans_and_retry_delays() -> None:
    assert timespan("00:00:00.200") == pytest.approx(0.2)
    assert timespan("00:05:00") == 300
    exponential = RetryPolicy(12, "exponential_backoff", minimum_interval=1, maximum_interval=5)
    assert [exponential.delay(i) for i in range(5)] == [1, 2, 4, 5, 5]
    fixed = RetryPolicy(3, "fixed_delay", delay_interval=2)
    assert [fixed.delay(i) for i in range(3)] == [2, 2, 2]


async def test_a_function_without_a_retry_policy_gets_one_attempt_then_moves_on() -> None:
    hub = LocalEventHub("logs", partition_count=1)
    hub.register("g")
    attempts: list[tuple[int, int]] = []

    async def failing(events, attempt, max_retry) -> None:
        attempts.append((attempt, max_retry))
        raise RuntimeError("sink down")

    stop = asyncio.Event()
    consumer = Consumer(hub, "g", hub.partitions[0], BatchShape(10, 0.01), failing, "g")
    task = asyncio.create_task(consumer.run(stop))
    await hub.publish([("k", b"x")])
    async with asyncio.timeout(5):
        while hub.backlog():
            await asyncio.sleep(0.01)
    stop.set()
    await task
    assert attempts == [(0, 0)]
