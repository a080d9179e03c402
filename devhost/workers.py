"""Event Hub-triggered functions in worker processes, so that the HTTP loop (ingest) and the
consumers run on different cores.

The main process keeps the Event Hub, every consumer group's cursors and the retry policy. For
each batch it sends a worker the stored events; the worker builds the trigger exactly as the
in-process path does (`trigger_events`), invokes the function discovered from the same
`function_app` metadata with its context and retry context, and answers with what the
function set on its output bindings, which the main process delivers (the SignalR hub lives
there). A failure comes back as an exception, so retries and checkpoints stay in one place."""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import itertools
import logging
import multiprocessing
import os
import pickle
import signal
import struct
import tempfile
import traceback
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.process import BaseProcess
from pathlib import Path
from typing import Any

from devhost import collector, logs, loop
from devhost.eventhub import EventColumns, build_trigger
from devhost.registry import Binding, Context, FunctionSpec, RetryContext, discover, invoke
from devhost.signalr_outputs import reaches_nobody

log = logging.getLogger("devhost.workers")

_FRAME = struct.Struct("!I")
Channel = tuple[asyncio.StreamReader, asyncio.StreamWriter]
_START_TIMEOUT = 60.0
_STOP_TIMEOUT = 15.0
_STREAM_LIMIT = 64 * 1024 * 1024


class WorkerFailure(Exception):
    """The function failed in its worker (the message carries the worker's traceback), or the
    worker exited before answering."""


@dataclass(frozen=True, slots=True)
class Call:
    """One invocation of an Event Hub-triggered function, as sent to a worker."""

    function: str
    hub: str
    group: str
    partition: str
    events: EventColumns
    retry_count: int = 0
    max_retry_count: int = 0
    listeners: bool = True
    """Whether the SignalR hub had a connected client when the batch was sent: without one, a
    `signalR` output that holds only messages is not handed back."""


def _frame(message: Any) -> list[bytes]:
    data = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    return [_FRAME.pack(len(data)), data]


async def _receive(reader: asyncio.StreamReader) -> Any:
    (size,) = _FRAME.unpack(await reader.readexactly(_FRAME.size))
    return pickle.loads(await reader.readexactly(size))


def assign(names: Sequence[str], workers: int) -> list[list[str]]:
    """Deal the functions round-robin over `workers` processes (none without functions)."""
    if workers <= 0:
        return []
    groups: list[list[str]] = [[] for _ in range(min(workers, len(names)))]
    for i, name in enumerate(names):
        groups[i % len(groups)].append(name)
    return groups


class FunctionWorker:
    """The main process's handle on one worker process and the functions it runs."""

    def __init__(self, index: int, functions: Sequence[str]) -> None:
        self.index = index
        self.functions = tuple(functions)
        self._dir = Path(tempfile.mkdtemp(prefix="devhost-worker-"))
        self._socket = str(self._dir / "worker.sock")
        self._process: BaseProcess | None = None
        self._server: asyncio.Server | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._reader_task: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[Any]] = {}
        self._ids = itertools.count()
        self._starting = asyncio.Lock()
        self._connected: asyncio.Future[Channel] | None = None

    @property
    def alive(self) -> bool:
        return (
            self._process is not None
            and self._process.is_alive()
            and self._writer is not None
            and not self._writer.is_closing()
        )

    async def start(self) -> None:
        async with self._starting:
            if self.alive:
                return
            connected: asyncio.Future[Channel] = asyncio.get_running_loop().create_future()
            self._connected = connected
            if self._server is None:
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(self._socket)
                self._server = await asyncio.start_unix_server(
                    self._on_connect, self._socket, limit=_STREAM_LIMIT
                )
            if self._process is not None:
                self._process.join(0)
            process = multiprocessing.get_context("spawn").Process(
                target=serve,
                args=(self._socket, self.functions),
                name=f"devhost-worker-{self.index}",
                daemon=True,
            )
            process.start()
            self._process = process
            try:
                reader, writer = await asyncio.wait_for(
                    _connected_or_exited(connected, process), _START_TIMEOUT
                )
            except BaseException:
                process.kill()
                raise
            self._writer = writer
            self._reader_task = asyncio.create_task(self._read_answers(reader))
            log.info(
                "worker %d (pid %s) runs %s", self.index, process.pid, ", ".join(self.functions)
            )

    def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if self._connected is not None and not self._connected.done():
            self._connected.set_result((reader, writer))
        else:
            writer.close()

    async def _read_answers(self, reader: asyncio.StreamReader) -> None:
        try:
            while True:
                call_id, ok, payload = await _receive(reader)
                future = self._pending.pop(call_id, None)
                if future is None or future.done():
                    continue
                if ok:
                    future.set_result(payload)
                else:
                    future.set_exception(WorkerFailure(payload))
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            pending, self._pending = self._pending, {}
            for future in pending.values():
                if not future.done():
                    future.set_exception(WorkerFailure(f"worker {self.index} exited"))

    async def call(self, call: Call) -> list[tuple[str, Any]]:
        """Invoke the function in the worker; returns (output binding name, value) pairs.
        A worker that has exited is started again first."""
        if not self.alive:
            await self.start()
        assert self._writer is not None
        call_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[call_id] = future
        self._writer.writelines(_frame((call_id, call)))
        await self._writer.drain()
        return await future

    async def stop(self) -> None:
        """Close the channel (the worker finishes what it is running, closes its pools and
        exits), wait for it, and remove the socket."""
        if self._writer is not None:
            self._writer.close()
            with contextlib.suppress(Exception):
                await self._writer.wait_closed()
        if self._reader_task is not None:
            with contextlib.suppress(Exception):
                await self._reader_task
        process = self._process
        if process is not None:
            await asyncio.to_thread(process.join, _STOP_TIMEOUT)
            if process.is_alive():
                process.kill()
                await asyncio.to_thread(process.join, 5)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        with contextlib.suppress(FileNotFoundError):
            os.unlink(self._socket)
        with contextlib.suppress(OSError):
            self._dir.rmdir()


async def _connected_or_exited(connected: asyncio.Future[Channel], process: BaseProcess) -> Channel:
    while not connected.done():
        if not process.is_alive():
            raise RuntimeError(f"worker exited with {process.exitcode} before it connected")
        await asyncio.wait({connected}, timeout=0.1)
    return connected.result()


# --- the worker process


def serve(socket_path: str, functions: Sequence[str]) -> None:
    """The worker's entry point (run by multiprocessing in a fresh interpreter). Ctrl-C in a
    terminal reaches the whole process group: the worker ignores it and stops when the main
    process, having drained the consumers, closes its channel."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    logs.configure()
    loop.run(_serve(socket_path, functions))


async def _serve(socket_path: str, functions: Sequence[str]) -> None:
    app = importlib.import_module("function_app").app
    specs = {s.name: s for s in discover(app) if s.name in functions}
    missing = set(functions) - set(specs)
    if missing:
        raise RuntimeError(f"function_app has no function named {', '.join(sorted(missing))}")
    collector.relax()
    reader, writer = await asyncio.open_unix_connection(socket_path, limit=_STREAM_LIMIT)
    running: set[asyncio.Task[None]] = set()
    try:
        while True:
            try:
                call_id, call = await _receive(reader)
            except (asyncio.IncompleteReadError, ConnectionError):
                break
            task = asyncio.create_task(_answer(specs, call_id, call, writer))
            running.add(task)
            task.add_done_callback(running.discard)
        await asyncio.gather(*running, return_exceptions=True)
    finally:
        writer.close()
        await _close_shared()


async def _answer(
    specs: dict[str, FunctionSpec], call_id: int, call: Call, writer: asyncio.StreamWriter
) -> None:
    try:
        answer: tuple[int, bool, Any] = (call_id, True, await run_call(specs[call.function], call))
    except Exception:
        answer = (call_id, False, traceback.format_exc())
    if not writer.is_closing():
        writer.writelines(_frame(answer))
        await writer.drain()


async def run_call(spec: FunctionSpec, call: Call) -> list[tuple[str, Any]]:
    """Invoke the function on the call's batch as the in-process host does; return what it set
    on its output bindings."""
    outputs: list[tuple[str, Any]] = []

    async def collect(binding: Binding, value: Any) -> None:
        if (
            binding.type == "signalR"
            and isinstance(value, str | bytes)
            and reaches_nobody(value, int(call.listeners))
        ):
            return
        outputs.append((binding.name, value))

    events = build_trigger(call.hub, call.group, call.partition, call.events)
    context = Context(spec.name, RetryContext(call.retry_count, call.max_retry_count))
    many = (spec.trigger.props.get("cardinality") or "many").lower() == "many"
    if many:
        await invoke(spec, events, context=context, deliver_output=collect)
    else:
        for event in events:
            await invoke(spec, event, context=context, deliver_output=collect)
    return outputs


async def _close_shared() -> None:
    from shared import blob, db

    with contextlib.suppress(Exception):
        await db.close()
    with contextlib.suppress(Exception):
        await blob.close()
