"""The replay and verify command lines, run as a user would run them."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta

from bench.archive_data import bodies, records
from shared import archive, blob
from shared.settings import Settings
from tests.conftest import ROOT


async def _run(settings: Settings, *args: str) -> tuple[int, str, str]:
    env = os.environ | {
        "ArchiveStorage": settings.storage_connection.connection_string,
        "ARCHIVE_CONTAINER": settings.archive_container,
        "DEADLETTER_CONTAINER": settings.deadletter_container,
        "BLOB_RETRY_TOTAL": "0",
        "DEVHOST_DATA": str(ROOT / ".devdata" / "none"),
    }
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        *args,
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


async def test_verify_command_passes_then_reports_a_replaced_blob(storage: Settings) -> None:
    start = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    batch = archive.Batch("logs", "0", bodies(records(40, start=start, seed=201)), [0, 39], [start])
    outcome = await archive.archive_batch(storage, batch)
    window = ["--start", start.isoformat(), "--end", (start + timedelta(hours=1)).isoformat()]

    code, out, err = await _run(storage, "shared.verify", *window)
    assert code == 0, err
    assert "blobs checked     1" in out and "mismatches        0" in out
    assert "1/1 hours" in err

    client = await blob.container(storage, storage.archive_container)
    properties = await client.get_blob_client(outcome.blob).get_blob_properties()
    forged = archive.encode(bodies(records(40, start=start, seed=202)))
    await client.upload_blob(
        outcome.blob, forged.content, overwrite=True, metadata=properties.metadata
    )
    code, out, _ = await _run(storage, "shared.verify", *window)
    assert code == 1
    assert f"MISMATCH {outcome.blob}: sha256" in out


async def test_replay_command_rejects_a_range_that_ends_before_it_starts(
    storage: Settings,
) -> None:
    code, _, err = await _run(
        storage, "shared.replay", "--source", "archive", "--start", "1h", "--end", "2h"
    )
    assert code == 2 and "--end must be after --start" in err
    code, _, err = await _run(
        storage, "shared.replay", "--source", "archive", "--start", "1h", "--to", "origin"
    )
    assert code == 2 and "dead letters only" in err
