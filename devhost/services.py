"""The real local services the dev host runs: embedded PostgreSQL (pgserver) and Azurite."""

from __future__ import annotations

import logging
import socket
import subprocess
import time
from pathlib import Path
from typing import Any

from devhost import lifeline

log = logging.getLogger("devhost")

AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


def port_is_free(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def free_port(preferred: int | None = None) -> int:
    if preferred and port_is_free(preferred):
        return preferred
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, timeout: float, proc: subprocess.Popen[Any] | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before listening")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"nothing listened on port {port} within {timeout} s")


class EmbeddedPostgres:
    """A real PostgreSQL server from the pgserver wheel, its data kept in `data`."""

    def __init__(self, data: Path) -> None:
        self.data = data
        self._server: Any = None

    def start(self) -> str:
        self._server = lifeline.embedded_postgres(self.data)
        return self._server.get_uri()

    def stop(self) -> None:
        if self._server is not None:
            self._server.cleanup()
            self._server = None


class Azurite:
    """Azurite's Blob service from node_modules, listening on loopback."""

    def __init__(self, root: Path, data: Path, port: int) -> None:
        self.binary = root / "node_modules" / ".bin" / "azurite-blob"
        self.data = data
        self.port = port
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};"
            f"BlobEndpoint=http://127.0.0.1:{self.port}/devstoreaccount1;"
        )

    def start(self) -> str:
        if not self.binary.exists():
            raise SystemExit("Azurite is not installed: run `make setup` (npm ci)")
        self.data.mkdir(parents=True, exist_ok=True)
        logfile = (self.data / "azurite.log").open("ab")
        self._proc = subprocess.Popen(
            [
                str(self.binary),
                "--silent",
                "--skipApiVersionCheck",
                "--blobHost",
                "127.0.0.1",
                "--blobPort",
                str(self.port),
                "--location",
                str(self.data),
            ],
            stdout=logfile,
            stderr=subprocess.STDOUT,
        )
        lifeline.guard_process(self._proc.pid)
        wait_for_port(self.port, 30, self._proc)
        return self.connection_string

    def stop(self) -> None:
        if self._proc is not None:
            self._proc.terminate()
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
            self._proc = None
