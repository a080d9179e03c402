"""Functions as the Functions host sees them: the metadata the Python worker's own indexing
reports (devhost.runtime: the same bindings and retry options the host receives in Azure),
with their bindings resolved."""

from __future__ import annotations

import functools
import json
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import azure.functions as func

from devhost.runtime import ROOT, Function, Worker

_SETTING = re.compile(r"%([^%]+)%")


def resolve(value: Any, environ: Mapping[str, str] | None = None) -> Any:
    """Replace `%NAME%` app-setting expressions, as the host does."""
    if not isinstance(value, str):
        return value
    env = os.environ if environ is None else environ

    def setting(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in env:
            raise LookupError(f"binding expression %{name}% names an unset app setting")
        return env[name]

    return _SETTING.sub(setting, value)


@dataclass
class Binding:
    type: str
    name: str
    direction: str
    props: dict[str, Any]

    def get(self, key: str, default: Any = None) -> Any:
        return resolve(self.props.get(key, default))


@dataclass(frozen=True)
class RetryPolicy:
    """A function's own retry policy (`@bp.retry`), as the host applies it: without one, a
    single attempt. Intervals in seconds; max_retry_count -1 retries without end."""

    max_retry_count: int = 0
    strategy: str = "fixed_delay"
    delay_interval: float = 0.0
    minimum_interval: float = 0.0
    maximum_interval: float = 0.0

    @classmethod
    def of(cls, options: Any) -> RetryPolicy:
        """From the worker's RpcRetryOptions (None: the function declares no policy)."""
        if options is None:
            return cls()

        def seconds(value: Any) -> float:
            return value.total_seconds()

        return cls(
            max_retry_count=int(options.max_retry_count),
            strategy=options.retry_strategy,
            delay_interval=seconds(options.delay_interval),
            minimum_interval=seconds(options.minimum_interval),
            maximum_interval=seconds(options.maximum_interval),
        )

    def delay(self, retry: int) -> float:
        """Seconds to wait before retry number `retry` (from 0)."""
        if self.strategy == "fixed_delay":
            return self.delay_interval
        return min(self.minimum_interval * 2**retry, self.maximum_interval)


@dataclass
class FunctionSpec:
    name: str
    bindings: list[Binding]
    trigger: Binding
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    extras: list[Binding] = field(default_factory=list)

    @property
    def trigger_type(self) -> str:
        return self.trigger.type


@functools.cache
def indexed(app: func.FunctionApp) -> tuple[Any, ...]:
    """The app's functions. The SDK indexes an app only once (a second `get_functions()`
    refuses every name as a duplicate), so every caller in a process shares this."""
    return tuple(app.get_functions())


def specs_of(functions: Iterable[Function]) -> list[FunctionSpec]:
    """FunctionSpecs from what the worker reported (its raw bindings are function.json's)."""
    specs = []
    for fn in functions:
        raw = [json.loads(b) for b in fn.raw_bindings]
        bindings = [
            Binding(type=b["type"], name=b["name"], direction=b["direction"].lower(), props=b)
            for b in raw
        ]
        trigger = next(b for b in bindings if b.type.endswith("Trigger"))
        extras = [b for b in bindings if b is not trigger and b.name != "$return"]
        specs.append(
            FunctionSpec(
                name=fn.name,
                bindings=bindings,
                trigger=trigger,
                retry=RetryPolicy.of(fn.retry),
                extras=extras,
            )
        )
    return specs


async def load(app_dir: Path = ROOT) -> tuple[Worker, list[FunctionSpec]]:
    """Index and load the app through the worker's own handlers, as the host does at start.
    Raises devhost.runtime.LoadError, with the worker's message, for an app that would not
    load in Azure."""
    worker = Worker(app_dir)
    try:
        functions = await worker.start()
    except BaseException:
        worker.stop()
        raise
    return worker, specs_of(functions)
