"""The `azure-eventhub` producer (shared/events.py, the aio client, unpatched) against the dev
host's AMQP endpoint (devhost/amqp.py), and the ingest route's answers when the endpoint is
down, busy, refusing or silent, or an event is over the size limit."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg
import orjson
import pytest
from aiohttp import web
from azure.eventhub import EventData
from azure.eventhub.aio import EventHubProducerClient
from azure.eventhub.exceptions import EventHubError

from devhost.amqp import AmqpEndpoint, Refusal
from devhost.eventhub import LocalEventHub
from devhost.http import routes
from devhost.process import DevHostProcess
from devhost.registry import discover, invoke
from shared import events
from shared.errors import TooLarge, Unavailable
from shared.settings import Connection, Settings, reset_settings
from tests.conftest import ROOT

RouteFactory = Callable[..., Awaitable[str]]
"""Serves the ingest route with the producer pointed at a connection string; returns its URL."""
INGEST = {"Authorization": "Bearer dev-ingest-key", "Content-Type": "application/json"}


@dataclass
class Endpoint:
    hub: LocalEventHub
    amqp: AmqpEndpoint
    received: list[tuple[str | None, list[tuple[str, bytes]]]] = field(default_factory=list)
    delay: float = 0.0

    def settings(self, **options: object) -> Settings:
        conn = Connection("EventHubConnection", connection_string=self.amqp.connection_string)
        return Settings(eventhub_connection=conn, **options)  # type: ignore[arg-type]


async def start_endpoint(max_message_size: int = 1024 * 1024, capacity: int = 10**6) -> Endpoint:
    hub = LocalEventHub("logs", partition_count=4, capacity=capacity)
    hub.register("test")
    endpoint: Endpoint

    async def deliver(batch: list[tuple[str, bytes]], partition_id: str | None) -> None:
        if endpoint.delay:
            await asyncio.sleep(endpoint.delay)
        await hub.publish(batch, partition_id)
        endpoint.received.append((partition_id, batch))

    amqp = AmqpEndpoint(
        "logs",
        [p.id for p in hub.partitions],
        deliver,
        max_message_size=max_message_size,
        last_sequence=lambda pid: hub.partitions[int(pid)].next_sequence - 1,
    )
    endpoint = Endpoint(hub, amqp)
    await amqp.start()
    return endpoint


@pytest.fixture
async def endpoint() -> AsyncIterator[Endpoint]:
    ep = await start_endpoint()
    yield ep
    await ep.amqp.close()


def stored(hub: LocalEventHub) -> dict[str, list[tuple[str, bytes]]]:
    return {p.id: [(e.partition_key, e.body) for e in p.events] for p in hub.partitions}


async def test_management_reads_hub_and_partition_properties(endpoint: Endpoint) -> None:
    client = EventHubProducerClient.from_connection_string(
        endpoint.amqp.connection_string, eventhub_name="logs"
    )
    async with client:
        hub = await client.get_eventhub_properties()
        assert hub["eventhub_name"] == "logs"
        assert hub["partition_ids"] == ["0", "1", "2", "3"]
        assert abs(hub["created_at"].timestamp() - time.time()) < 60
        empty = await client.get_partition_properties("2")
        assert empty["is_empty"] and empty["last_enqueued_sequence_number"] == -1
        batch = await client.create_batch(partition_id="2")
        for body in (b"a", b"b", b"c"):
            batch.add(EventData(body))
        await client.send_batch(batch)
        after = await client.get_partition_properties("2")
    assert after["id"] == "2" and not after["is_empty"]
    assert after["last_enqueued_sequence_number"] == 2
    other = EventHubProducerClient.from_connection_string(
        endpoint.amqp.connection_string, eventhub_name="other", retry_total=0
    )
    async with other:
        with pytest.raises(EventHubError, match="Status code: 404"):
            await other.get_eventhub_properties()
    assert [e.body for e in endpoint.hub.partitions[2].events] == [b"a", b"b", b"c"]


async def test_batches_split_at_the_size_limit_and_keep_each_service_in_one_partition() -> None:
    limit = 64 * 1024
    ep = await start_endpoint(max_message_size=limit)
    publisher = events.EventHubPublisher(ep.settings())
    services = ["api-gateway", "trading-engine", "ai-processor"]
    sent = [
        (service, orjson.dumps({"service": service, "n": i, "pad": "x" * 900}))
        for i in range(300)
        for service in services
    ]
    try:
        await publisher.publish(sent)
    finally:
        await publisher.close()
        await ep.amqp.close()
    per_service = {s: [m for m in ep.received if m[1][0][0] == s] for s in services}
    for service, messages in per_service.items():
        assert len(messages) >= 5, f"{service}: 300 KB in {len(messages)} messages of 64 KB"
        assert all(sum(len(b) for _, b in batch) < limit for _, batch in messages)
        assert all(key == service for _, batch in messages for key, _ in batch)
    assert sorted(len(b) for _, batch in ep.received for _, b in batch) == sorted(
        len(b) for _, b in sent
    )
    partitions = stored(ep.hub)
    for service in services:
        home = ep.hub.partition_for(service).id
        mine = [body for key, body in partitions[home] if key == service]
        assert mine == [b for k, b in sent if k == service], "all of it, in order"
        others = [k for pid, evs in partitions.items() if pid != home for k, _ in evs]
        assert service not in others


async def test_an_event_over_the_limit_is_413_and_sends_nothing() -> None:
    ep = await start_endpoint(max_message_size=4096)
    publisher = events.EventHubPublisher(ep.settings())
    try:
        with pytest.raises(TooLarge) as caught:
            await publisher.publish([("engine", b"x" * 100), ("gateway", b"y" * 10_000)])
    finally:
        await publisher.close()
        await ep.amqp.close()
    assert caught.value.status == 413
    assert caught.value.detail["bytes"] == 10_000 and caught.value.detail["limit"] <= 4096
    assert ep.amqp.deliveries == 0 and ep.received == []


@pytest.mark.parametrize("hub", ["other-hub", "logs/Partitions/9"])
async def test_a_link_to_an_entity_the_endpoint_lacks_is_refused(
    endpoint: Endpoint, hub: str
) -> None:
    client = EventHubProducerClient.from_connection_string(
        endpoint.amqp.connection_string.replace("EntityPath=logs", f"EntityPath={hub}"),
        eventhub_name=hub.partition("/")[0],
        retry_total=0,
    )
    async with client:
        with pytest.raises(EventHubError) as caught:
            if "/" in hub:
                batch = await client.create_batch(partition_id=hub.rpartition("/")[2])
            else:
                batch = await client.create_batch()
            batch.add(EventData(b"x"))
            await client.send_batch(batch)
    assert endpoint.received == [] and endpoint.hub.backlog() == 0
    refusals = ("amqp:not-found", "Status code: 404", "Invalid partition 9")
    assert any(r in str(caught.value) for r in refusals), caught.value


async def test_the_session_window_is_reopened_as_deliveries_are_settled() -> None:
    """The SDK stops sending on a session whose incoming window is spent: the endpoint's
    flow frames must reopen it (a window of 4, 25 sends)."""
    hub = LocalEventHub("logs", partition_count=4)
    hub.register("test")
    amqp = AmqpEndpoint("logs", ["0", "1", "2", "3"], hub.publish, session_window=4)
    await amqp.start()
    conn = Connection("EventHubConnection", connection_string=amqp.connection_string)
    publisher = events.EventHubPublisher(
        Settings(eventhub_connection=conn, eventhub_send_timeout_seconds=5)
    )
    try:
        for n in range(25):
            await publisher.publish([("engine", str(n).encode())])
    finally:
        await publisher.close()
        await amqp.close()
    assert [e.body for e in hub.partition_for("engine").events] == [
        str(n).encode() for n in range(25)
    ]


async def test_partition_keys_are_sent_concurrently(endpoint: Endpoint) -> None:
    settings = endpoint.settings(eventhub_producer_connections=4)
    publisher = events.EventHubPublisher(settings)
    producers = await publisher._clients()
    keys: dict[int, str] = {}
    for n in range(200):
        keys.setdefault(producers.index(events.producer_for(producers, f"svc-{n}")), f"svc-{n}")
    assert len(keys) == 4
    batch = [(key, b"{}") for key in keys.values()]
    try:
        await publisher.publish(batch)  # connect every producer first
        endpoint.delay = 0.4
        started = time.perf_counter()
        await publisher.publish(batch)
        elapsed = time.perf_counter() - started
    finally:
        await publisher.close()
    assert elapsed < 1.0, f"4 keys at 0.4 s each took {elapsed:.2f} s: sent one after another"
    assert len(endpoint.received) == 8


async def test_a_silent_endpoint_hits_the_send_timeout(endpoint: Endpoint) -> None:
    endpoint.amqp.refusal = Refusal(hang=True)
    publisher = events.EventHubPublisher(endpoint.settings(eventhub_send_timeout_seconds=0.8))
    started = time.perf_counter()
    try:
        with pytest.raises(Unavailable) as caught:
            await publisher.publish([("engine", b"{}")])
        elapsed = time.perf_counter() - started
        endpoint.amqp.refusal = None
        await publisher.publish([("engine", b"after")])
    finally:
        await publisher.close()
    assert 0.7 < elapsed < 3
    assert caught.value.headers["Retry-After"] == str(events.RETRY_AFTER_SECONDS)
    assert endpoint.received == [(None, [("engine", b"after")])], "the same producers send on"


@pytest.mark.parametrize("retries", [0, 2])
async def test_retry_settings_reach_the_producer(retries: int) -> None:
    """A namespace that drops every connection is tried once plus EVENTHUB_RETRY_TOTAL times."""
    connects = 0

    async def drop(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connects
        connects += 1
        writer.close()

    server = await asyncio.start_server(drop, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    conn = Connection(
        "EventHubConnection",
        connection_string=f"Endpoint=sb://127.0.0.1:{port};SharedAccessKeyName=k;"
        "SharedAccessKey=k;EntityPath=logs;UseDevelopmentEmulator=true",
    )
    settings = Settings(
        eventhub_connection=conn,
        eventhub_retry_total=retries,
        eventhub_retry_backoff_seconds=0.05,
        eventhub_send_timeout_seconds=20,
    )
    publisher = events.EventHubPublisher(settings)
    try:
        with pytest.raises(Unavailable):
            await publisher.publish([("engine", b"{}")])
    finally:
        await publisher.close()
        server.close()
    assert connects == retries + 1


# The ingest route ---------------------------------------------------------------------------


@pytest.fixture
async def ingest_route(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[RouteFactory]:
    """The ingest function behind the dev host's HTTP routing, with the settings' producer
    pointed at an endpoint the test controls."""
    import function_app

    specs = [s for s in discover(function_app.app) if s.name == "ingest"]
    example = json.loads((ROOT / "local.settings.example.json").read_text())["Values"]
    runners: list[web.AppRunner] = []

    async def serve(connection_string: str, **env: str) -> str:
        monkeypatch.setenv("API_KEYS", example["API_KEYS"])
        monkeypatch.setenv("EventHubConnection", connection_string)
        monkeypatch.setenv("EVENTHUB_RETRY_TOTAL", "1")
        monkeypatch.setenv("EVENTHUB_RETRY_BACKOFF_SECONDS", "0.05")
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        reset_settings()
        events.install(None)
        app = web.Application()
        app.add_routes(routes("api", specs, lambda spec, request: invoke(spec, request)))
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/api/logs"

    yield serve
    for runner in runners:
        await runner.cleanup()
    from shared.settings import get_settings

    await events.publisher(get_settings()).close()
    events.install(None)
    reset_settings()


async def post(url: str, records: list[dict[str, object]]) -> tuple[int, Any, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(url, data=orjson.dumps(records), headers=INGEST) as response,
    ):
        return response.status, await response.json(), dict(response.headers)


def record(service: str = "trading-engine", message: str = "order filled") -> dict[str, object]:
    return {"level": "INFO", "service": service, "message": message}


async def test_ingest_sends_through_the_producer(
    ingest_route: RouteFactory, endpoint: Endpoint
) -> None:
    url = await ingest_route(endpoint.amqp.connection_string)
    status, body, _ = await post(url, [record("trading-engine"), record("api-gateway")] * 3)
    assert status == 202 and body["accepted"] == 6
    landed = [(k, orjson.loads(b)["id"]) for evs in stored(endpoint.hub).values() for k, b in evs]
    assert sorted(i for _, i in landed) == sorted(body["ids"])
    engine = endpoint.hub.partition_for("trading-engine")
    assert sum(1 for e in engine.events if e.partition_key == "trading-engine") == 3


async def test_endpoint_down_is_503_with_retry_after(ingest_route: RouteFactory) -> None:
    ep = await start_endpoint()
    down = ep.amqp.connection_string
    await ep.amqp.close()
    url = await ingest_route(down)
    status, body, headers = await post(url, [record()])
    assert status == 503, body
    assert headers["Retry-After"] == str(events.RETRY_AFTER_SECONDS)
    assert "retry" in body["error"]


async def test_endpoint_busy_is_503_and_loses_nothing_once_it_recovers(
    ingest_route: RouteFactory,
) -> None:
    ep = await start_endpoint(capacity=0)
    try:
        url = await ingest_route(ep.amqp.connection_string)
        status, _, headers = await post(url, [record()])
        assert status == 503 and int(headers["Retry-After"]) > 0
        assert ep.received == [] and ep.amqp.deliveries >= 1
        ep.hub.capacity = 100
        status, body, _ = await post(url, [record()])
        assert status == 202
        assert [orjson.loads(b)["id"] for _, batch in ep.received for _, b in batch] == body["ids"]
    finally:
        await ep.amqp.close()


async def test_endpoint_refusing_is_503(ingest_route: RouteFactory, endpoint: Endpoint) -> None:
    endpoint.amqp.refusal = Refusal(condition=b"amqp:unauthorized-access", description="no")
    url = await ingest_route(endpoint.amqp.connection_string)
    status, body, headers = await post(url, [record()])
    assert status == 503, body
    assert headers["Retry-After"] == str(events.RETRY_AFTER_SECONDS)


async def test_endpoint_silent_is_503_within_the_send_timeout(
    ingest_route: RouteFactory, endpoint: Endpoint
) -> None:
    endpoint.amqp.refusal = Refusal(hang=True)
    url = await ingest_route(endpoint.amqp.connection_string, EVENTHUB_SEND_TIMEOUT_SECONDS="1")
    started = time.perf_counter()
    status, body, headers = await post(url, [record()])
    assert status == 503 and "Retry-After" in headers, body
    assert time.perf_counter() - started < 3


async def test_an_event_over_the_limit_is_413_through_the_route(ingest_route: RouteFactory) -> None:
    ep = await start_endpoint(max_message_size=8 * 1024)
    try:
        url = await ingest_route(ep.amqp.connection_string)
        status, body, _ = await post(url, [record(), record(message="m" * 20_000)])
        assert status == 413, body
        assert body["detail"]["limit"] <= 8 * 1024
        assert ep.amqp.deliveries == 0
    finally:
        await ep.amqp.close()


async def test_the_dev_host_ingests_through_the_producer(dev_host: DevHostProcess) -> None:
    """`python -m devhost` as `make dev` runs it: ingest's publisher is the SDK producer, and
    what it sends over AMQP becomes rows."""
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{dev_host.base_url}/api/health") as response,
    ):
        health = await response.json()
    assert health["checks"]["eventhub"] == {"status": "ok", "mode": "producer", "hub": "logs"}
    records = [record(service=f"svc-{i % 3}", message=f"m{i}") for i in range(30)]
    status, body, _ = await post(f"{dev_host.base_url}/api/logs", records)
    assert status == 202
    conn = await asyncpg.connect(dev_host.database_url)
    try:
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            rows = await conn.fetch(
                "SELECT id, service FROM system_logs WHERE id = ANY($1::text[])", body["ids"]
            )
            if len(rows) == 30:
                break
            await asyncio.sleep(0.1)
    finally:
        await conn.close()
    assert sorted(r["id"] for r in rows) == sorted(body["ids"])
