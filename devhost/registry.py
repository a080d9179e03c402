"""Functions as the Functions host sees them: discovered from `app.get_functions()` metadata
(the same function.json that deploys), with their bindings resolved and a way to invoke them."""

from __future__ import annotations

import asyncio
import functools
import inspect
import json
import os
import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import azure.functions as func
from azure.functions import _abc as functions_abc

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


@dataclass
class FunctionSpec:
    name: str
    user_function: Callable[..., Any]
    bindings: list[Binding]
    trigger: Binding
    wants_context: bool = False
    extras: list[Binding] = field(default_factory=list)

    @property
    def trigger_type(self) -> str:
        return self.trigger.type


@functools.cache
def indexed(app: func.FunctionApp) -> tuple[Any, ...]:
    """The app's functions. The SDK indexes an app only once (a second `get_functions()`
    refuses every name as a duplicate), so every caller in a process shares this."""
    return tuple(app.get_functions())


def discover(app: func.FunctionApp) -> list[FunctionSpec]:
    specs = []
    for fn in indexed(app):
        raw = json.loads(fn.get_function_json())["bindings"]
        bindings = [
            Binding(type=b["type"], name=b["name"], direction=b["direction"].lower(), props=b)
            for b in raw
        ]
        trigger = next(b for b in bindings if b.type.endswith("Trigger"))
        user_function = fn.get_user_function()
        params = inspect.signature(user_function).parameters
        extras = [b for b in bindings if b is not trigger and b.name != "$return"]
        specs.append(
            FunctionSpec(
                name=fn.get_function_name(),
                user_function=user_function,
                bindings=bindings,
                trigger=trigger,
                wants_context="context" in params,
                extras=extras,
            )
        )
    return specs


class Out(func.Out[Any]):
    """An output binding value, as func.Out."""

    def __init__(self) -> None:
        self._value: Any = None

    def set(self, val: Any) -> None:
        self._value = val

    def get(self) -> Any:
        return self._value


class RetryContext(functions_abc.RetryContext):
    def __init__(self, retry_count: int, max_retry_count: int) -> None:
        self._count = retry_count
        self._max = max_retry_count

    @property
    def retry_count(self) -> int:
        return self._count

    @property
    def max_retry_count(self) -> int:
        return self._max

    @property
    def exception(self) -> Any:
        return None


class TraceContext(functions_abc.TraceContext):
    @property
    def trace_state(self) -> str:
        return ""

    @property
    def trace_parent(self) -> str:
        return f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"

    @property
    def attributes(self) -> dict[str, str]:
        return {}


class Context(func.Context):
    def __init__(self, function_name: str, retry: RetryContext | None = None) -> None:
        self._id = str(uuid.uuid4())
        self._name = function_name
        self._retry = retry or RetryContext(0, 0)

    @property
    def invocation_id(self) -> str:
        return self._id

    @property
    def thread_local_storage(self) -> Any:
        return None

    @property
    def function_name(self) -> str:
        return self._name

    @property
    def function_directory(self) -> str:
        return os.getcwd()

    @property
    def trace_context(self) -> TraceContext:
        return TraceContext()

    @property
    def retry_context(self) -> RetryContext:
        return self._retry


InputResolver = Callable[[Binding, Any], Any]
OutputSink = Callable[[Binding, Any], Any]


async def invoke(
    spec: FunctionSpec,
    trigger_value: Any,
    *,
    context: Context | None = None,
    resolve_input: InputResolver | None = None,
    deliver_output: OutputSink | None = None,
) -> Any:
    """Call the user function with its trigger, inputs and outputs, then deliver what it set on
    its output bindings. Returns the function's return value."""
    kwargs: dict[str, Any] = {spec.trigger.name: trigger_value}
    outs: list[tuple[Binding, Out]] = []
    for binding in spec.extras:
        if binding.direction == "out":
            out = Out()
            outs.append((binding, out))
            kwargs[binding.name] = out
        elif resolve_input is not None:
            kwargs[binding.name] = resolve_input(binding, trigger_value)
        else:
            raise RuntimeError(f"{spec.name}: no resolver for input binding {binding.type}")
    if spec.wants_context:
        kwargs["context"] = context or Context(spec.name)
    if inspect.iscoroutinefunction(spec.user_function):
        result = await spec.user_function(**kwargs)
    else:
        result = await asyncio.to_thread(spec.user_function, **kwargs)
    if deliver_output is not None:
        for binding, out in outs:
            if out.get() is not None:
                await deliver_output(binding, out.get())
    return result
