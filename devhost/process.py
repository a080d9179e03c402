"""The dev host as a subprocess on a free port, as a newcomer runs it: for tests and benchmarks."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from devhost.services import free_port

ROOT = Path(__file__).resolve().parent.parent


class DevHostProcess:
    """`python -m devhost` in a subprocess on a free port, as a newcomer runs it."""

    def __init__(self, database_url: str, env: dict[str, str] | None = None) -> None:
        self.port = free_port()
        self.database_url = database_url
        self.data = Path(tempfile.mkdtemp(prefix="devhost-"))
        self.log_path = self.data / "devhost.log"
        self.env = {
            **os.environ,
            "PORT": str(self.port),
            "DATABASE_URL": database_url,
            "DEVHOST_DATA": str(self.data),
            "AZURITE_PORT": str(free_port()),
            **(env or {}),
        }
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def start(self, timeout: float = 90) -> None:
        out = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "python"), "-m", "devhost"],
            cwd=ROOT,
            env=self.env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Log pipeline ready at" in self.log():
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"dev host exited:\n{self.log()[-4000:]}")
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"dev host not ready in {timeout} s:\n{self.log()[-4000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.data, ignore_errors=True)
