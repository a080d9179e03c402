"""Fixtures for the store tests: settings for the session's database and Azurite (a dead-letter
container of their own per test), record bodies as ingest publishes them, and a PostgreSQL
server of their own that a test may stop and start."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import pytest

from devhost import lifeline
from shared import blob, db, store
from shared.settings import Settings, get_settings, reset_settings
from tests.conftest import free_port


@pytest.fixture
async def settings(
    database_url: str, azurite: Any, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Settings]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("ArchiveStorage", azurite.connection_string)
    monkeypatch.setenv("DEADLETTER_CONTAINER", f"deadletter-{uuid.uuid4().hex[:10]}")
    monkeypatch.setenv("POSTGRES_DAYS_AHEAD", "1")
    reset_settings()
    await blob.close()
    await db.close()
    yield get_settings()
    await db.close()
    await blob.close()
    store.forget_partitions()
    reset_settings()


def record(**fields: Any) -> dict[str, Any]:
    """A normalised record as ingest publishes it (ISO timestamps)."""
    now = datetime.now(UTC)
    base: dict[str, Any] = {
        "id": uuid.uuid4().hex,
        "timestamp": now.isoformat(),
        "received_at": now.isoformat(),
        "level": "INFO",
        "level_no": 20,
        "service": "trading-engine",
        "logger_name": "engine.orders",
        "message": "Order filled: bought 3 BTCUSDT",
        "request_id": None,
        "user_id": None,
        "session_id": None,
        "event_type": None,
        "extra_data": None,
        "exception_type": None,
        "exception_message": None,
        "stack_trace": None,
        "ip_address": None,
        "user_agent": None,
    }
    base.update(fields)
    return base


def body(rec: dict[str, Any]) -> bytes:
    return orjson.dumps(rec)


async def dead_letters(settings: Settings) -> list[dict[str, Any]]:
    client = await blob.container(settings, settings.deadletter_container)
    documents = []
    async for item in client.list_blobs():
        data = await (await client.download_blob(item.name)).readall()
        documents.append(orjson.loads(data))
    return documents


PG_BIN = Path(__import__("pgserver").__file__).resolve().parent / "pginstall" / "bin"


class OwnPostgres:
    """A PostgreSQL server in a temp dir, managed with pg_ctl, that a test may stop and start
    without disturbing the session's shared server."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="pgstore-"))
        self.data = self.dir / "data"
        self.port = free_port()
        self.as_user: list[str] = []
        if os.geteuid() == 0:
            # PostgreSQL refuses to run as root; pgserver runs it as its own system user.
            import pwd

            entry = pwd.getpwnam("pgserver")
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
            self.as_user = ["runuser", "-u", "pgserver", "--"]
        self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust")

    def _run(self, program: str, *args: str, check: bool = True) -> None:
        subprocess.run(
            [*self.as_user, str(PG_BIN / program), *args], check=check, capture_output=True
        )

    @property
    def log(self) -> Path:
        return self.dir / "log"

    @property
    def url(self) -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/postgres"

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.data), "-o", options, "-w", "-l", str(self.log), "start")
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        lifeline.guard_process(postmaster)

    def stop(self) -> None:
        self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop", check=False)

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def own_postgres() -> Iterator[OwnPostgres]:
    server = OwnPostgres()
    server.start()
    yield server
    server.remove()
