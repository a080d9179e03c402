"""Nothing outlives the command that started it: the embedded PostgreSQL servers and Azurite
stop when the process that started (or reused) them ends, even when it is killed.

PostgreSQL from pgserver runs detached (pg_ctl daemonises it) and Azurite is a child that a
killed parent leaves orphaned, so neither dies with its command by itself. `guard()` starts,
once per process, a small watchdog process (`python -m devhost.lifeline`, in its own session
so that Ctrl-C in the terminal does not reach it) that holds the read end of a pipe. When the
process ends, however it ends, the kernel closes the write end; the watchdog reads end-of-file
and stops what was registered:

- a child process (Azurite): SIGTERM, then SIGKILL after 5 s; identified by pid and start
  time, so a reused pid is never signalled;
- an embedded PostgreSQL: the dead process is taken off pgserver's list of processes using
  that data directory (`.handle_pids.json`, under pgserver's own lock), with any other dead
  ones, and the server is stopped (fast shutdown, then SIGKILL after 10 s) when no live user
  is left. A process that ended normally has already taken itself off (pgserver's own exit
  handler, with cleanup_mode="stop"), so the watchdog leaves its server alone.

`exit_with_parent()` makes the dev host stop (SIGTERM to itself, handled as Ctrl-C is) when
its parent dies, so that killing `make dev` stops the dev host, and with it everything else."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

_STOP_GRACE = 5.0
_POSTGRES_GRACE = 10.0


class _Watchdog:
    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "devhost.lifeline", str(os.getpid())],
            stdin=subprocess.PIPE,
            start_new_session=True,
            cwd=Path(__file__).resolve().parent.parent,
        )
        assert self.proc.stdin is not None
        self.pipe: IO[bytes] = self.proc.stdin
        self.lock = threading.Lock()

    def send(self, entry: dict[str, Any]) -> None:
        with self.lock:
            self.pipe.write(json.dumps(entry).encode() + b"\n")
            self.pipe.flush()


_watchdog: _Watchdog | None = None
_watchdog_lock = threading.Lock()


def _the_watchdog() -> _Watchdog:
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None or _watchdog.proc.poll() is not None:
            _watchdog = _Watchdog()
        return _watchdog


def _start_time(pid: int) -> float:
    import psutil

    return psutil.Process(pid).create_time()


def guard_process(pid: int) -> None:
    """Stop this child process when the current process ends."""
    _the_watchdog().send({"kind": "process", "pid": pid, "started": _start_time(pid)})


def guard_postgres(data: Path) -> None:
    """Stop the embedded PostgreSQL of `data` when the current process ends and no other live
    process uses it."""
    _the_watchdog().send({"kind": "postgres", "data": str(data), "user": os.getpid()})


def embedded_postgres(data: Path) -> Any:
    """pgserver's server for `data` (started, or reused if running), stopped when the current
    process ends, normally (pgserver's exit handler) or not (the watchdog)."""
    import pgserver

    data.mkdir(parents=True, exist_ok=True)
    _forget_dead_users(data)
    server = pgserver.get_server(str(data), cleanup_mode="stop")
    guard_postgres(data)
    return server


def _forget_dead_users(data: Path) -> None:
    """Take processes that died without saying so off pgserver's list of the server's users,
    so that the last live one stops it (pgserver stops a server only when its list is empty)."""
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList

    handles = DiskList(data / ".handle_pids.json")
    with PostgresServer._lock:
        users = handles.get()
        live = [pid for pid in users if _alive(pid)]
        if live != users:
            handles.put(live)


def exit_with_parent(interval: float = 0.5) -> None:
    """SIGTERM this process when its parent dies (its parent pid changes)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


# --- the watchdog process


def _alive(pid: int, started: float | None = None) -> bool:
    import psutil

    try:
        process = psutil.Process(pid)
        if started is not None and abs(process.create_time() - started) > 0.01:
            return False
        return process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _wait_gone(pid: int, seconds: float, started: float | None = None) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _alive(pid, started):
            return True
        time.sleep(0.05)
    return not _alive(pid, started)


def _stop_process(pid: int, started: float) -> None:
    if not _alive(pid, started):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not _wait_gone(pid, _STOP_GRACE, started):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _stop_postgres(data: Path, user: int) -> None:
    from pgserver.postgres_server import PostgresServer
    from pgserver.utils import DiskList, PostmasterInfo

    handles = DiskList(data / ".handle_pids.json")
    with PostgresServer._lock:
        users = handles.get()
        if user not in users:
            return
        remaining = [pid for pid in users if pid != user and _alive(pid)]
        handles.put(remaining)
    info = PostmasterInfo.read_from_pgdata(data)
    if remaining or info is None or not _alive(info.pid):
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(info.pid, signal.SIGINT)
    if not _wait_gone(info.pid, _POSTGRES_GRACE):
        with contextlib.suppress(ProcessLookupError):
            os.kill(info.pid, signal.SIGKILL)


def watch(stream: IO[bytes]) -> None:
    """Read registrations until end-of-file (the owner ended), then stop what they name."""
    entries = [json.loads(line) for line in iter(stream.readline, b"") if line.strip()]
    for entry in entries:
        try:
            if entry["kind"] == "process":
                _stop_process(entry["pid"], entry["started"])
            elif entry["kind"] == "postgres":
                _stop_postgres(Path(entry["data"]), entry["user"])
        except Exception as exc:
            print(f"lifeline: could not stop {entry}: {exc}", file=sys.stderr, flush=True)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    watch(sys.stdin.buffer)
