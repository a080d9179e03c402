"""The Python worker's own request handlers (`azure_functions_runtime`), driven as the Functions
host drives them: worker init (which indexes `function_app.py` and validates every function's
bindings and annotations), function metadata, function load, then one invocation request per
call, with host-shaped data (devhost.hostdata).

The package is published for Python 3.13 only, but its indexing is the 3.11 worker's; `make
setup` installs the pinned version (requirements-worker.txt) into `.worker-runtime/`, past its
Python pin, and it imports nothing beyond `azure-functions`. The worker keeps its function
registry in module globals and imports the app into the process, so there is one `Worker` per
process."""

from __future__ import annotations

import sys
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from devhost import protos

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_DIR = ROOT / ".worker-runtime"


class LoadError(RuntimeError):
    """The worker refused the app: it would not load in Azure either."""


class InvocationFailed(Exception):
    """The function failed: the worker answered with a failed status and this exception
    record (message and stack trace), as it answers the Functions host."""

    def __init__(self, function: str, exception: Any) -> None:
        super().__init__(f"{function}: {exception.message}\n{exception.stack_trace}")
        self.function = function
        self.message = exception.message


def handlers() -> ModuleType:
    """`azure_functions_runtime`, from `.worker-runtime/`."""
    if str(RUNTIME_DIR) not in sys.path:
        sys.path.append(str(RUNTIME_DIR))
    try:
        import azure_functions_runtime
    except ImportError as exc:
        raise SystemExit(
            f"the Python worker's runtime is not installed in {RUNTIME_DIR}: run `make setup`"
        ) from exc
    return azure_functions_runtime


@dataclass
class Request:
    """What the handlers receive: the host's message and the worker's properties."""

    request: Any
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Function:
    """One function as the worker reported it to the host."""

    name: str
    function_id: str
    raw_bindings: tuple[str, ...]
    retry: Any


def _check(result: Any, what: str) -> None:
    if result.status != protos.StatusResult.Success:
        raise LoadError(f"{what}: {result.exception.message}")


class Worker:
    """The worker's request handlers in this process."""

    def __init__(self, app_dir: Path = ROOT) -> None:
        self.app_dir = app_dir
        self.functions: dict[str, Function] = {}
        self._runtime: ModuleType | None = None

    async def start(self) -> list[Function]:
        """Worker init, function metadata and a load request per function, as the host sends
        them. Raises LoadError with the worker's own message when it refuses the app."""
        runtime = handlers()
        self._runtime = runtime
        if str(self.app_dir) not in sys.path:
            sys.path.insert(0, str(self.app_dir))
        runtime.start_threadpool_executor()
        directory = str(self.app_dir)
        init = await runtime.worker_init_request(
            self._message(
                worker_init_request=protos.WorkerInitRequest(
                    host_version="4", function_app_directory=directory, worker_directory=directory
                )
            )
        )
        _check(init.result, "the worker could not index the app")
        metadata = await runtime.functions_metadata_request(
            self._message(
                functions_metadata_request=protos.FunctionsMetadataRequest(
                    function_app_directory=directory
                )
            )
        )
        _check(metadata.result, "the worker gave no function metadata")
        for entry in metadata.function_metadata_results or []:
            loaded = await runtime.function_load_request(
                self._message(
                    function_load_request=protos.FunctionLoadRequest(
                        function_id=entry.function_id, metadata=entry
                    )
                )
            )
            _check(loaded.result, f"the worker could not load {entry.name}")
            self.functions[entry.name] = Function(
                entry.name,
                entry.function_id,
                tuple(entry.raw_bindings),
                entry.retry_options if entry.HasField("retry_options") else None,
            )
        return list(self.functions.values())

    def _message(self, **content: Any) -> Request:
        return Request(
            protos.StreamingMessage(request_id=uuid.uuid4().hex, **content),
            {"host": "127.0.0.1", "protos": protos},
        )

    async def invoke(
        self,
        name: str,
        input_data: Sequence[Any],
        trigger_metadata: dict[str, Any] | None = None,
        retry: tuple[int, int] = (0, 0),
    ) -> Any:
        """One invocation request; returns the InvocationResponse (output_data, return_value).
        A failed status raises InvocationFailed with the worker's exception record."""
        assert self._runtime is not None, "start() first"
        function = self.functions[name]
        request = protos.InvocationRequest(
            invocation_id=str(uuid.uuid4()),
            function_id=function.function_id,
            input_data=list(input_data),
            trigger_metadata=trigger_metadata or {},
            trace_context=protos.RpcTraceContext(
                trace_parent=f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
            ),
            retry_context=protos.RetryContext(retry_count=retry[0], max_retry_count=retry[1]),
        )
        response = await self._runtime.invocation_request(self._message(invocation_request=request))
        if response.result.status != protos.StatusResult.Success:
            raise InvocationFailed(name, response.result.exception)
        return response

    def stop(self) -> None:
        if self._runtime is not None:
            self._runtime.stop_threadpool_executor()
