"""Invocations through the Python worker's own handlers, fed with the data the dev host shapes
as the Functions host does (devhost.hostdata): an Event Hubs batch with its trigger metadata
and retry context, an HTTP request, a timer tick, a failing function. A small app runs in a
child process (the worker keeps global state and imports the app in-process); it reports what
its functions saw, and the test compares that with what was sent."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.worker.conftest import report as python_report

APP = """
import json
import typing

import azure.functions as func

app = func.FunctionApp(http_auth_level=func.AuthLevel.ANONYMOUS)
SIGNALR = {"connection_string_setting": "AzureSignalRConnectionString"}


@app.function_name("batch")
@app.retry(strategy="fixed_delay", max_retry_count="3", delay_interval="00:00:02")
@app.event_hub_message_trigger(
    arg_name="events", event_hub_name="logs", connection="EventHubConnection",
    cardinality="many", data_type="binary",
)
@app.generic_output_binding(arg_name="out", type="signalR", hub_name="other", **SIGNALR)
async def batch(
    events: typing.List[func.EventHubEvent], out: func.Out[str], context: func.Context
) -> None:
    out.set(json.dumps({
        "bodies": [e.get_body().decode() for e in events],
        "sequence_numbers": [e.sequence_number for e in events],
        "keys": [e.partition_key for e in events],
        "times": [e.enqueued_time.isoformat() for e in events],
        "partition": events[0].metadata["PartitionContext"]["PartitionId"],
        "group": events[0].metadata["PartitionContext"]["ConsumerGroup"],
        "system": events[0].metadata["SystemPropertiesArray"][0],
        "retry": [context.retry_context.retry_count, context.retry_context.max_retry_count],
    }))


@app.function_name("failing")
@app.event_hub_message_trigger(
    arg_name="events", event_hub_name="logs", connection="EventHubConnection",
    cardinality="many", data_type="binary",
)
async def failing(events: typing.List[func.EventHubEvent]) -> None:
    raise ValueError("the sink is down")


@app.route(route="echo/{name}", methods=["POST"])
def echo(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(
        json.dumps({
            "name": req.route_params["name"],
            "q": req.params.get("q"),
            "body": req.get_body().decode(),
            "header": req.headers.get("x-test"),
        }),
        status_code=201,
        mimetype="application/json",
    )


@app.timer_trigger(arg_name="timer", schedule="0 * * * * *", run_on_startup=False)
@app.generic_output_binding(arg_name="out", type="signalR", hub_name="logs", **SIGNALR)
async def tick(timer: func.TimerRequest, out: func.Out[str]) -> None:
    out.set(json.dumps({"past_due": timer.past_due}))
"""

DRIVER = """
import asyncio
import json
import sys
from datetime import datetime
from pathlib import Path

from devhost import hostdata
from devhost.registry import load
from devhost.runtime import InvocationFailed


async def main() -> None:
    worker, specs = await load(Path(sys.argv[1]))
    sent = json.loads(sys.argv[2])
    report = {"retry": {s.name: list(vars(s.retry).values()) for s in specs}}
    inputs, metadata = hostdata.eventhub_batch(
        "batch", "events", hub="logs", group="archive", partition="3",
        bodies=[b.encode() for b in sent["bodies"]], keys=sent["keys"],
        sequence_numbers=sent["sequence_numbers"], enqueued_texts=sent["texts"],
    )
    response = await worker.invoke("batch", inputs, metadata, (2, 3))
    report["batch"] = hostdata.outputs(response)
    undo = hostdata.memoize_enqueued_times()
    response = await worker.invoke("batch", inputs, metadata, (2, 3))
    report["batch_dev_host"] = hostdata.outputs(response)
    undo()
    try:
        await worker.invoke("failing", inputs, metadata)
    except InvocationFailed as exc:
        report["failing"] = [exc.message, str(exc)]
    trigger = hostdata.http_request(
        "req", method="POST", url="http://127.0.0.1/api/echo/x?q=1", headers={"x-test": "h"},
        query={"q": "1"}, route_params={"name": "x"}, body=b"hello",
    )
    status, headers, cookies, body = hostdata.http_response(await worker.invoke("echo", [trigger]))
    report["echo"] = [status, headers, body.decode()]
    timer = hostdata.timer_info("timer", last=None, next_due=datetime(2026, 1, 1))
    report["tick"] = hostdata.outputs(await worker.invoke("tick", [timer]))
    worker.stop()
    print(json.dumps(report))


asyncio.run(main())
"""


def _run(app_dir: Path, sent: dict) -> dict:
    (app_dir / "function_app.py").write_text(textwrap.dedent(APP))
    return python_report("-c", DRIVER, str(app_dir), json.dumps(sent))


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, list[datetime]]:
    from devhost.hostdata import host_time

    times = [datetime(2026, 12, 7, 13, 52, 4, 123456, UTC) + timedelta(seconds=i) for i in range(3)]
    sent = {
        "bodies": ['{"n": 0}', '{"n": 1}', '{"n": 2}'],
        "keys": ["trading-engine", "api-gateway", "trading-engine"],
        "sequence_numbers": [40, 41, 42],
        "texts": [host_time(t) for t in times],
    }
    return _run(tmp_path_factory.mktemp("app"), sent), sent, times


def test_the_host_sends_enqueued_times_with_seven_fractional_digits() -> None:
    from devhost.hostdata import host_time

    assert (
        host_time(datetime(2026, 12, 7, 13, 52, 4, 123456, UTC)) == "2026-12-07T13:52:04.1234560Z"
    )


def test_an_event_hubs_batch_reaches_the_function_as_the_host_sends_it(report) -> None:
    seen, sent, times = report
    [(name, value)] = seen["batch"]
    assert name == "out"
    batch = json.loads(value)
    assert batch["bodies"] == sent["bodies"]
    assert batch["sequence_numbers"] == sent["sequence_numbers"]
    assert batch["keys"] == sent["keys"]
    assert [datetime.fromisoformat(t) for t in batch["times"]] == times
    assert (batch["partition"], batch["group"]) == ("3", "archive")
    system = batch["system"]
    assert system["x-opt-sequence-number"] == system["SequenceNumber"] == 40
    assert system["x-opt-partition-key"] == system["PartitionKey"] == "trading-engine"
    assert system["x-opt-enqueued-time"] == system["EnqueuedTimeUtc"] == sent["texts"][0]
    assert batch["retry"] == [2, 3]


def test_the_dev_host_shortcut_gives_the_function_the_same_events(report) -> None:
    seen = report[0]
    assert seen["batch_dev_host"] == seen["batch"]


def test_remembered_enqueued_time_parses_equal_the_sdks_own() -> None:
    from azure.functions.eventhub import EventHubTriggerConverter

    from devhost.hostdata import host_time, memoize_enqueued_times

    start = datetime(2026, 12, 7, 23, 59, 59, 999999, UTC)
    texts = [host_time(start + timedelta(microseconds=7 * i)) for i in range(50)]
    texts += ["2026-12-07T13:52:04Z", "2026-12-07T13:52:04.5Z", "2026-12-07T13:52:04+00:00"]
    expected = [EventHubTriggerConverter._parse_datetime(t) for t in texts]
    undo = memoize_enqueued_times()
    try:
        assert [EventHubTriggerConverter._parse_datetime(t) for t in texts] == expected
        assert [EventHubTriggerConverter._parse_datetime(t) for t in texts] == expected
    finally:
        undo()
    assert "_parse_datetime" not in EventHubTriggerConverter.__dict__
    assert all(e is not None and e.tzinfo is not None for e in expected)


def test_the_worker_reports_each_functions_own_retry_policy(report) -> None:
    retry = report[0]["retry"]
    assert retry["batch"] == [3, "fixed_delay", 2.0, 0.0, 0.0]
    assert retry["failing"][0] == 0 and retry["echo"][0] == 0


def test_a_failing_function_comes_back_as_a_failed_status_with_its_exception(report) -> None:
    message, detail = report[0]["failing"]
    assert message == "ValueError: the sink is down"
    assert "Traceback" in detail and "raise ValueError" in detail


def test_http_and_timer_invocations(report) -> None:
    seen = report[0]
    status, headers, body = seen["echo"]
    assert status == 201
    assert headers["content-type"] == "application/json"
    assert json.loads(body) == {"name": "x", "q": "1", "body": "hello", "header": "h"}
    [(name, value)] = seen["tick"]
    assert name == "out" and json.loads(value) == {"past_due": False}
