"""`python -m bench.worker_cost`: what the Python worker's path costs per record of an Event Hubs
batch, run by bench_worker in a process of its own (the worker keeps global state and imports
the app in-process). Prints one JSON object of microseconds per record.

Batches of 500 records (host.json's maxEventBatchSize) of about 500 bytes, every method taking
turns round by round:
- worker: an invocation request through the worker's handlers (azure_functions_runtime) for a
  function that does nothing: trigger metadata to Datums, the SDK's EventHubTriggerConverter
  building the EventHubEvents, the call, the answer. What Azure pays in the worker per record,
  besides gRPC, whatever the function does.
- dev host: the same, with the dev host's one shortcut (hostdata.memoize_enqueued_times: the
  converter's own parse, remembered per distinct enqueued time; a request's records share
  one in the dev host's Event Hub).
- enqueued time: the converter's parse of one `...1234567Z` enqueued time (per record, it
  tries its list of strptime formats), alone.
- direct: EventHubEvents built directly from the same values, with no parsing (how the dev
  host built them before it ran the worker's path).
- function: the live stream function's own work on the batch (decode, reader and admin views,
  SignalR messages), for scale.
- host data: the dev host shaping the batch as the Functions host does (devhost.hostdata); in
  Azure the host does this, in .NET."""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import textwrap
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import azure.functions as func
import orjson
from azure.functions.eventhub import EventHubTriggerConverter

from devhost import hostdata
from devhost.registry import load

BATCH = 500
ROUNDS = 30

APP = """
import typing

import azure.functions as func

app = func.FunctionApp()


@app.function_name("noop")
@app.event_hub_message_trigger(
    arg_name="events", event_hub_name="logs", connection="EventHubConnection",
    cardinality="many", data_type="binary",
)
async def noop(events: typing.List[func.EventHubEvent]) -> None:
    return None
"""


def _bodies() -> list[bytes]:
    now = datetime.now(UTC).isoformat()
    return [
        orjson.dumps(
            {
                "id": f"cost-{i}",
                "timestamp": now,
                "received_at": now,
                "level": "INFO",
                "level_no": 20,
                "service": "trading-engine",
                "logger_name": "engine.orders",
                "message": f"order {i} filled at 101.25 after 3 partial fills",
                "request_id": f"req-{i // 50}",
                "event_type": "order_filled",
                "extra_data": {"symbol": "BTC/USDT", "qty": 0.25, "price": 101.25, "fills": 3},
                "stack_trace": None,
            }
        )
        for i in range(BATCH)
    ]


def _direct(bodies: list[bytes], metadata: dict[str, Any], keys, numbers, times) -> list[Any]:
    return [
        func.EventHubEvent(
            body=body,
            trigger_metadata=metadata,
            enqueued_time=moment,
            partition_key=key,
            sequence_number=number,
            offset=number,
        )
        for body, key, number, moment in zip(bodies, keys, numbers, times, strict=True)
    ]


async def _measure() -> dict[str, float]:
    from shared import stream as live
    from shared.settings import get_settings

    app_dir = Path(tempfile.mkdtemp(prefix="worker-cost-"))
    (app_dir / "function_app.py").write_text(textwrap.dedent(APP))
    worker, _ = await load(app_dir)
    bodies = _bodies()
    keys = ["trading-engine"] * BATCH
    numbers = list(range(BATCH))
    now = datetime.now(UTC)
    times = [now] * BATCH
    texts = [hostdata.host_time(now)] * BATCH
    settings = get_settings()

    def shape() -> tuple[list[Any], dict[str, Any]]:
        return hostdata.eventhub_batch(
            "noop",
            "events",
            hub="logs",
            group="g",
            partition="0",
            bodies=bodies,
            keys=keys,
            sequence_numbers=numbers,
            enqueued_texts=texts,
        )

    inputs, metadata = shape()
    datums = {k: func.meta.Datum(v.json, "json") for k, v in metadata.items()}

    async def worker_path() -> None:
        await worker.invoke("noop", inputs, metadata, (0, 12))

    async def dev_host_path() -> None:
        undo = hostdata.memoize_enqueued_times()
        try:
            await worker.invoke("noop", inputs, metadata, (0, 12))
        finally:
            undo()

    async def parse() -> None:
        for text in texts:
            EventHubTriggerConverter._parse_datetime(text)

    async def direct() -> None:
        _direct(bodies, datums, keys, numbers, times)

    async def function() -> None:
        live.batch_messages(bodies, settings)

    async def host_data() -> None:
        shape()

    methods: dict[str, Callable[[], Any]] = {
        "worker": worker_path,
        "dev_host": dev_host_path,
        "enqueued_time": parse,
        "direct": direct,
        "function": function,
        "host_data": host_data,
    }
    samples: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(ROUNDS):
        for name, method in methods.items():
            started = time.perf_counter()
            await method()
            samples[name].append((time.perf_counter() - started) / BATCH * 1e6)
    worker.stop()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> int:
    print(json.dumps(asyncio.run(_measure())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
