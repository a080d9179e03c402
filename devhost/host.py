"""The dev host: starts the local services, loads `function_app`, and runs its HTTP routes,
Event Hub consumers and timers on one event loop."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import importlib
import json
import logging
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import orjson
from aiohttp import web
from azure.functions.timer import TimerRequest

from devhost import collector, environment
from devhost.eventhub import (
    BatchShape,
    Consumer,
    EventColumns,
    LocalEventHub,
    Partition,
    StoredEvent,
)
from devhost.http import routes
from devhost.registry import Binding, Context, FunctionSpec, RetryContext, discover, invoke
from devhost.services import Azurite, EmbeddedPostgres, free_port
from devhost.signalr_outputs import reaches_nobody
from devhost.timers import Schedule
from devhost.workers import Call, FunctionWorker, assign

log = logging.getLogger("devhost")
ROOT = Path(__file__).resolve().parent.parent
_EXPRESSION = re.compile(r"^\{(headers|query)\.([^}]+)\}$")


class DevHost:
    def __init__(self, host: str = "127.0.0.1", port: int = 7071, demo: bool = False) -> None:
        self.host = host
        self.port = port
        self.demo = demo
        self.base_url = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
        self.stop_event = asyncio.Event()
        self.demo_stop = asyncio.Event()
        self.demo_task: asyncio.Task[None] | None = None
        self.tasks: list[asyncio.Task[Any]] = []
        self.postgres: EmbeddedPostgres | None = None
        self.azurite: Azurite | None = None
        self.hub: LocalEventHub | None = None
        self.amqp: Any = None
        self.signalr: Any = None
        self.runner: web.AppRunner | None = None
        self.specs: list[FunctionSpec] = []
        self.workers: list[FunctionWorker] = []
        self.host_json: dict[str, Any] = json.loads((ROOT / "host.json").read_text())

    # services -----------------------------------------------------------------------------

    def start_services(self) -> None:
        """Environment, PostgreSQL and Azurite: the blocking part of start-up."""
        explicit = environment.load(ROOT, os.environ)
        environment.guard_interface(self.host, os.environ)
        data = environment.data_dir(ROOT)
        if "DATABASE_URL" not in explicit and not os.environ.get("POSTGRES_HOST"):
            self.postgres = EmbeddedPostgres(data / "postgres")
            os.environ["DATABASE_URL"] = self.postgres.start()
        if "ArchiveStorage" not in explicit:
            port = free_port(int(os.environ.get("AZURITE_PORT", "10000")))
            self.azurite = Azurite(ROOT, data / "azurite", port)
            os.environ["ArchiveStorage"] = self.azurite.start()

    def stop_services(self) -> None:
        if self.azurite is not None:
            self.azurite.stop()
        if self.postgres is not None:
            self.postgres.stop()

    # functions ----------------------------------------------------------------------------

    async def start(self) -> None:
        from shared import events, migrate
        from shared.settings import get_settings, reset_settings

        await migrate.apply(os.environ["DATABASE_URL"])
        reset_settings()
        settings = get_settings()
        app = importlib.import_module("function_app").app
        self.specs = discover(app)
        self.hub = LocalEventHub(
            settings.eventhub_name,
            partition_count=int(os.environ.get("DEVHOST_PARTITIONS", "4")),
        )
        if os.environ.get("DEVHOST_EVENTHUB", "amqp").strip().lower() == "memory":
            events.install(self.hub)
        else:
            await self._start_amqp(self.hub)
            reset_settings()
            settings = get_settings()
        self.signalr = self._signalr_hub(settings.signalr_hub)

        web_app = web.Application(client_max_size=64 * 1024 * 1024)
        prefix = self.host_json.get("extensions", {}).get("http", {}).get("routePrefix", "api")
        web_app.add_routes(routes(prefix, self.specs, self._invoke_http))
        if self.signalr is not None:
            web_app.add_routes(self.signalr.routes())
            web_app.on_shutdown.append(self.signalr.on_shutdown)
        web_app.router.add_get("/", self._home)
        self.runner = web.AppRunner(web_app, access_log=None, auto_decompress=False)
        await self.runner.setup()
        await web.TCPSite(self.runner, self.host, self.port).start()

        await self._start_workers()
        collector.relax()
        self._start_consumers()
        self._start_timers()
        if self.demo:
            self._start_demo()

    async def _start_amqp(self, hub: LocalEventHub) -> None:
        """An AMQP endpoint in front of the in-process hub, so ingest sends through the real
        `azure-eventhub` producer (shared/events.py) as it does in Azure. DEVHOST_EVENTHUB=memory
        hands ingest the hub directly instead (the benchmark's comparison)."""
        from devhost.amqp import AmqpEndpoint

        self.amqp = AmqpEndpoint(
            hub.name,
            [p.id for p in hub.partitions],
            hub.publish,
            last_sequence=lambda pid: hub.partitions[int(pid)].next_sequence - 1,
        )
        await self.amqp.start("127.0.0.1")
        os.environ["EventHubConnection"] = self.amqp.connection_string

    def _signalr_hub(self, hub_name: str) -> Any:
        needs_hub = any(
            b.type in ("signalR", "signalRConnectionInfo") for s in self.specs for b in s.bindings
        )
        if not needs_hub:
            return None
        import secrets

        from devhost.signalr import Hub

        key = secrets.token_urlsafe(32)
        os.environ["AzureSignalRConnectionString"] = (
            f"Endpoint={self.base_url}/signalr;AccessKey={key};Version=1.0;"
        )
        return Hub(hub_name, self.base_url, key)

    async def _home(self, request: web.Request) -> web.StreamResponse:
        raise web.HTTPFound("/api/dashboard")

    async def _resolve_input(self, binding: Binding, trigger: Any) -> Any:
        if binding.type == "signalRConnectionInfo":
            user_id = None
            match = _EXPRESSION.match(binding.props.get("userId") or "")
            if match and isinstance(trigger, func.HttpRequest):
                source = trigger.headers if match.group(1) == "headers" else trigger.params
                user_id = source.get(match.group(2))
            return json.dumps(self.signalr.connection_info(user_id))
        raise RuntimeError(f"the dev host has no input binding of type {binding.type}")

    async def _deliver_output(self, binding: Binding, value: Any) -> None:
        if binding.type != "signalR":
            raise RuntimeError(f"the dev host has no output binding of type {binding.type}")
        if isinstance(value, str | bytes) and reaches_nobody(value, self.signalr.connection_count):
            return
        items = orjson.loads(value) if isinstance(value, str | bytes) else value
        for item in items if isinstance(items, list) else [items]:
            await self.signalr.apply(item)

    async def _call(self, spec: FunctionSpec, trigger: Any, context: Context | None = None) -> Any:
        inputs = {}
        for binding in spec.extras:
            if binding.direction == "in":
                inputs[binding.name] = await self._resolve_input(binding, trigger)
        return await invoke(
            spec,
            trigger,
            context=context,
            resolve_input=lambda b, _t: inputs[b.name],
            deliver_output=self._deliver_output,
        )

    async def _invoke_http(self, spec: FunctionSpec, request: func.HttpRequest) -> Any:
        return await self._call(spec, request)

    async def _start_workers(self) -> None:
        """Worker processes for the Event Hub-triggered functions: DEVHOST_WORKERS of them,
        by default one per core (none on one core), at most one per function, the functions
        dealt round-robin. A function with an input binding
        stays in this process, which resolves inputs."""
        cores = os.cpu_count() or 1
        default = str(cores) if cores > 1 else "0"
        count = int(os.environ.get("DEVHOST_WORKERS", "").strip() or default)
        movable = [
            s.name
            for s in self.specs
            if s.trigger_type == "eventHubTrigger"
            and not any(b.direction == "in" for b in s.extras)
        ]
        self.workers = [FunctionWorker(i, names) for i, names in enumerate(assign(movable, count))]
        try:
            await asyncio.gather(*(w.start() for w in self.workers))
        except BaseException:
            await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)
            raise

    def _worker_of(self, spec: FunctionSpec) -> FunctionWorker | None:
        return next((w for w in self.workers if spec.name in w.functions), None)

    def _start_consumers(self) -> None:
        assert self.hub is not None
        shape = BatchShape.from_host_json(self.host_json)
        for spec in self.specs:
            if spec.trigger_type != "eventHubTrigger":
                continue
            group = spec.trigger.get("consumerGroup") or "$Default"
            many = (spec.trigger.props.get("cardinality") or "many").lower() == "many"
            self.hub.register(group)
            worker = self._worker_of(spec)
            for partition in self.hub.partitions:
                if worker is None:
                    consumer = Consumer(
                        self.hub,
                        group,
                        partition,
                        shape,
                        self._event_delivery(spec, many),
                        spec.name,
                    )
                else:
                    consumer = Consumer(
                        self.hub,
                        group,
                        partition,
                        shape,
                        self._worker_delivery(spec, worker),
                        spec.name,
                        build=_call_builder(spec),
                    )
                self.tasks.append(asyncio.create_task(consumer.run(self.stop_event)))

    def _worker_delivery(self, spec: FunctionSpec, worker: FunctionWorker) -> Any:
        outputs = {b.name: b for b in spec.extras if b.direction == "out"}

        async def deliver(call: Call, attempt: int, max_retry: int) -> None:
            call = dataclasses.replace(
                call,
                retry_count=attempt,
                max_retry_count=max_retry,
                listeners=self.signalr is not None and self.signalr.connection_count > 0,
            )
            for name, value in await worker.call(call):
                await self._deliver_output(outputs[name], value)

        return deliver

    def _event_delivery(self, spec: FunctionSpec, many: bool) -> Any:
        async def deliver(events: list[func.EventHubEvent], attempt: int, max_retry: int) -> None:
            context = Context(spec.name, RetryContext(attempt, max_retry))
            if many:
                await self._call(spec, events, context)
            else:
                for event in events:
                    await self._call(spec, event, context)

        return deliver

    def _start_timers(self) -> None:
        for spec in self.specs:
            if spec.trigger_type == "timerTrigger":
                schedule = Schedule.parse(spec.trigger.get("schedule"))
                run_on_startup = bool(spec.trigger.props.get("runOnStartup"))
                self.tasks.append(
                    asyncio.create_task(self._run_timer(spec, schedule, run_on_startup))
                )

    async def _run_timer(self, spec: FunctionSpec, schedule: Schedule, on_startup: bool) -> None:
        last: datetime | None = None
        if on_startup:
            await self._fire_timer(spec, schedule, last)
            last = datetime.now(UTC)
        while not self.stop_event.is_set():
            due = schedule.next_after(datetime.now(UTC))
            wait = (due - datetime.now(UTC)).total_seconds()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stop_event.wait(), max(wait, 0))
                return
            await self._fire_timer(spec, schedule, last)
            last = due

    async def _fire_timer(self, spec: FunctionSpec, schedule: Schedule, last: Any) -> None:
        now = datetime.now(UTC)
        timer = TimerRequest(
            past_due=False,
            schedule_status={
                "Last": last.isoformat() if last else None,
                "Next": schedule.next_after(now).isoformat(),
                "LastUpdated": now.isoformat(),
            },
            schedule={"AdjustForDST": False},
        )
        try:
            await self._call(spec, timer)
        except Exception:
            log.exception("timer %s failed", spec.name)

    def _start_demo(self) -> None:
        from devhost import demo

        key = environment.DEV_KEYS["ingest"]
        self.demo_task = asyncio.create_task(demo.run(self.base_url, key, self.demo_stop))

    async def stop(self, drain_seconds: float = 10.0) -> None:
        """Stop the demo and taking requests, let the consumers drain what was accepted, then
        stop."""
        self.demo_stop.set()
        if self.demo_task is not None:
            await asyncio.gather(self.demo_task, return_exceptions=True)
        if self.runner is not None:
            await self.runner.cleanup()
        if self.hub is not None:
            deadline = asyncio.get_running_loop().time() + drain_seconds
            while self.hub.backlog() > 0 and asyncio.get_running_loop().time() < deadline:
                await asyncio.sleep(0.1)
        self.stop_event.set()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)
        if self.signalr is not None:
            await self.signalr.close()
        await _close_shared()
        if self.amqp is not None:
            await self.amqp.close()


def _call_builder(spec: FunctionSpec) -> Any:
    def build(
        hub: LocalEventHub, group: str, partition: Partition, batch: list[StoredEvent]
    ) -> Call:
        return Call(spec.name, hub.name, group, partition.id, EventColumns.of(batch))

    return build


async def _close_shared() -> None:
    from shared import blob, events
    from shared.settings import get_settings

    with contextlib.suppress(Exception):
        await events.publisher(get_settings()).close()

    with contextlib.suppress(Exception):
        from shared import db

        await db.close()
    with contextlib.suppress(Exception):
        await blob.close()
