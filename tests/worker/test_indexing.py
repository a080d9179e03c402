"""The app as the Python worker indexes it in Azure: `python -m devhost.check` runs the worker's
own handlers (azure-functions-runtime: worker init, metadata, load) on function_app.py, and
refuses an app with an annotation the worker rejects. Each check runs in its own process: the
worker keeps its registry in module globals and imports the app in-process."""

from __future__ import annotations

import subprocess
import textwrap
from pathlib import Path

import azure.functions as func
import pytest

from devhost.registry import indexed
from tests.worker.conftest import ROOT, python, report

BROKEN_APP = """
import azure.functions as func

app = func.FunctionApp()


@app.function_name("batch")
@app.event_hub_message_trigger(
    arg_name="events", event_hub_name="logs", connection="EventHubConnection",
    cardinality="many", data_type="binary",
)
async def batch(events: list[func.EventHubEvent]) -> None:
    return None
"""


def _check(app_dir: Path) -> subprocess.CompletedProcess[str]:
    return python("-m", "devhost.check", str(app_dir))


def test_the_worker_loads_every_function_of_the_app() -> None:
    import function_app

    result = _check(ROOT)
    assert result.returncode == 0, result.stderr
    names = {fn.get_function_name() for fn in indexed(function_app.app)}
    assert f"loads {len(names)} functions" in result.stdout
    for name in names:
        assert name in result.stdout


@pytest.mark.parametrize(
    ("annotation", "refusal"),
    [
        ("list[func.EventHubEvent]", "invalid non-type annotation"),
        (
            "func.HttpRequest",
            "function parameter's Python type annotation HttpRequest",
        ),
    ],
)
def test_an_annotation_the_worker_rejects_fails_the_check(
    tmp_path: Path, annotation: str, refusal: str
) -> None:
    source = BROKEN_APP.replace("list[func.EventHubEvent]", annotation)
    (tmp_path / "function_app.py").write_text(textwrap.dedent(source))
    result = _check(tmp_path)
    assert result.returncode == 1
    assert "cannot load the batch function" in result.stderr
    assert refusal in result.stderr


def test_the_same_app_with_typing_list_loads(tmp_path: Path) -> None:
    source = BROKEN_APP.replace("list[func.EventHubEvent]", "typing.List[func.EventHubEvent]")
    (tmp_path / "function_app.py").write_text("import typing\n" + textwrap.dedent(source))
    result = _check(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "loads 1 functions: batch" in result.stdout


def test_every_event_hub_function_takes_its_batch_as_typing_list() -> None:
    import typing

    import function_app

    checked = 0
    for fn in indexed(function_app.app):
        triggers = [b for b in fn.get_bindings() if b.type == "eventHubTrigger"]
        if not triggers:
            continue
        hint = typing.get_type_hints(fn.get_user_function())[triggers[0].name]
        assert hint == typing.List[func.EventHubEvent], fn.get_function_name()  # noqa: UP006
        checked += 1
    assert checked == 4


LOAD = """
import asyncio, json, sys
from pathlib import Path
from devhost.registry import load
from devhost.runtime import LoadError
try:
    worker, specs = asyncio.run(load(Path(sys.argv[1])))
except LoadError as exc:
    print(json.dumps({"refused": str(exc)}))
else:
    print(json.dumps({s.name: {"trigger": s.trigger.props, "retry": vars(s.retry)} for s in specs}))
"""


def _load(app_dir: Path) -> dict:
    """What the dev host's loading path (registry.load, run by DevHost.start) makes of an app."""
    return report("-c", LOAD, str(app_dir))


def test_the_dev_host_refuses_an_app_the_worker_would_not_load(tmp_path: Path) -> None:
    (tmp_path / "function_app.py").write_text(textwrap.dedent(BROKEN_APP))
    loaded = _load(tmp_path)
    assert "cannot load the batch function" in loaded["refused"]
    assert "invalid non-type annotation" in loaded["refused"]


def test_every_event_hub_function_declares_its_own_retry_policy_and_no_timer_runs_on_startup() -> (
    None
):
    loaded = _load(ROOT)
    event_hub = {n: s for n, s in loaded.items() if s["trigger"]["type"] == "eventHubTrigger"}
    assert set(event_hub) == {"store", "archive", "analyze", "stream"}
    for name, spec in event_hub.items():
        assert spec["retry"]["max_retry_count"] > 0, name
        assert spec["retry"]["strategy"] in ("fixed_delay", "exponential_backoff"), name
    timers = {n: s for n, s in loaded.items() if s["trigger"]["type"] == "timerTrigger"}
    assert len(timers) >= 3
    for name, spec in timers.items():
        assert spec["trigger"].get("runOnStartup") is False, name
