"""Nothing outlives the command that started it: a dev host killed with SIGKILL, or whose
parent (`make dev`) is killed, leaves no PostgreSQL, Azurite or worker process behind, and a
process that uses an embedded PostgreSQL stops it when it ends, unless another live process
still uses it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from devhost.process import DevHostProcess

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.slow


def _postmaster(data: Path) -> int:
    return int((data / "postmaster.pid").read_text().split()[0])


def _gone(pids: list[int], timeout: float = 15.0) -> list[int]:
    """The pids still alive after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    alive = pids
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [p for p in alive if psutil.pid_exists(p) and not _zombie(p)]
    return alive


def _zombie(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return True


def _services(host_pid: int, data: Path) -> dict[str, int]:
    """The dev host's PostgreSQL, Azurite and worker processes."""
    found = {"postgres": _postmaster(data / "postgres")}
    for child in psutil.Process(host_pid).children(recursive=True):
        command = " ".join(child.cmdline())
        if "azurite" in command:
            found["azurite"] = child.pid
        elif "multiprocessing" in command:
            found[f"worker {child.pid}"] = child.pid
    return found


def _embedded_host() -> DevHostProcess:
    """A dev host that starts its own PostgreSQL and Azurite, as `make dev` does."""
    return DevHostProcess("", env={"DEVHOST_WORKERS": "2"})


def test_a_dev_host_killed_with_sigkill_leaves_nothing_running() -> None:
    host = _embedded_host()
    try:
        host.start()
        assert host.proc is not None
        services = _services(host.proc.pid, host.data)
        assert "azurite" in services and len(services) >= 3, services
        host.proc.send_signal(signal.SIGKILL)
        host.proc.wait(10)
        assert _gone(list(services.values())) == []
    finally:
        host.remove()


WRAPPER = "import subprocess, sys; subprocess.call(sys.argv[1:])"
"""A command that runs the dev host as its child, as `make dev` does."""


def test_killing_the_command_that_started_the_dev_host_stops_it() -> None:
    host = _embedded_host()
    log = (host.data / "devhost.log").open("ab")
    parent = subprocess.Popen(
        [sys.executable, "-c", WRAPPER, str(ROOT / ".venv" / "bin" / "python"), "-m", "devhost"],
        cwd=ROOT,
        env=host.env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while "Log pipeline ready at" not in host.log():
            assert time.monotonic() < deadline and parent.poll() is None, host.log()[-3000:]
            time.sleep(0.2)
        [dev_host] = psutil.Process(parent.pid).children()
        services = _services(dev_host.pid, host.data)
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        assert _gone([dev_host.pid, *services.values()]) == [], host.log()[-3000:]
        assert "stopping: draining accepted events" in host.log()
    finally:
        if parent.poll() is None:
            parent.kill()
        host.remove()


USER = """
import sys, time
from pathlib import Path
from devhost import lifeline
server = lifeline.embedded_postgres(Path(sys.argv[1]))
print(server.get_uri(), flush=True)
time.sleep(float(sys.argv[2]))
"""


def _user(data: Path, seconds: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, "-c", USER, str(data), str(seconds)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None and proc.stdout.readline().startswith("postgresql://")
    return proc


def test_an_embedded_postgres_stops_with_its_last_live_user() -> None:
    # Not under pytest's tmp_path: as root, PostgreSQL runs as pgserver's own user, which
    # must reach the data directory.
    home = Path(tempfile.mkdtemp(prefix="pg-lifeline-"))
    data = home / "pg"
    first = _user(data, 600)
    second = _user(data, 600)
    postmaster = _postmaster(data)
    try:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
        time.sleep(1)
        assert psutil.pid_exists(postmaster), "stopped under a live user"
        second.send_signal(signal.SIGKILL)
        second.wait(10)
        assert _gone([postmaster]) == []

        third = _user(data, 0)
        postmaster = _postmaster(data)
        assert third.wait(30) == 0
        assert _gone([postmaster]) == []
    finally:
        for proc in (first, second):
            if proc.poll() is None:
                proc.kill()
        if (data / "postmaster.pid").exists() and psutil.pid_exists(_postmaster(data)):
            os.kill(_postmaster(data), signal.SIGKILL)
        shutil.rmtree(home, ignore_errors=True)
