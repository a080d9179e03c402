"""The secrets corpus end to end through `python -m devhost`: POST /api/logs, the live stream
to an admin, the rows in PostgreSQL, search, both exports and the stats hold no secret from
it; look-alikes arrive unchanged; the leaks are counted per service and kind."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
import uuid
from typing import Any

import aiohttp
import orjson

from tests.e2e.test_ingest_to_postgres import post, wait_for_rows
from tests.records.test_secrets_corpus import LOOK_ALIKES, SECRETS, raw_record
from tests.stream.conftest import ListenerFactory

ADMIN = {"X-Api-Key": "dev-admin-key"}
SERVICE = f"corpus-{uuid.uuid4().hex[:8]}"


def sent(entry: dict[str, Any]) -> dict[str, Any]:
    raw = raw_record(entry)
    raw["service"] = SERVICE
    raw.setdefault("id", str(uuid.uuid4()))
    return raw


async def get(base_url: str, path: str, params: list[tuple[str, str]]) -> tuple[int, str]:
    async with (
        aiohttp.ClientSession(headers=ADMIN) as session,
        session.get(f"{base_url}/api/{path}", params=params) as response,
    ):
        return response.status, await response.text()


def leaked(text: str) -> list[str]:
    return [f"{e['kind']} in {e['field']}" for e in SECRETS if e["secret"] in text]


async def test_the_corpus_leaves_no_secret_in_stream_storage_search_export_or_stats(
    dev_host, listen: ListenerFactory
) -> None:
    stream = await listen(f"{dev_host.base_url}/api", headers=ADMIN)
    records = [sent(e) for e in SECRETS + LOOK_ALIKES]
    status, body, _ = await post(dev_host.base_url, records)
    assert status == 202, body
    assert body["accepted"] == len(records) and body["rejected"] == []
    rows = await wait_for_rows(dev_host.database_url, body["ids"], timeout=20)
    assert len(rows) == len(records)

    def streamed() -> list[dict[str, Any]]:
        arrays = stream.received.get("logs", [])
        return [r for (array,) in arrays for r in array if r.get("service") == SERVICE]

    deadline = time.monotonic() + 20
    while len(streamed()) < len(records) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    assert len(streamed()) == len(records)
    assert not leaked(orjson.dumps(streamed()).decode())

    stored = orjson.dumps([dict(r) for r in rows], default=str).decode()
    assert not leaked(stored)
    by_id = {r["id"]: r for r in rows}
    for entry, record in zip(SECRETS + LOOK_ALIKES, records, strict=True):
        if "lookalike" not in entry:
            continue
        row = by_id.get(record["id"])
        assert row is not None, entry
        field = "extra_data" if entry["field"] == "top" else entry["field"]
        value = json.loads(row[field]) if field == "extra_data" else row[field]
        assert value == entry["value"], entry["lookalike"]

    query = [("service", SERVICE), ("limit", "1000")]
    status, text = await get(dev_host.base_url, "logs/search", query)
    assert status == 200 and len(orjson.loads(text)["items"]) == len(records)
    assert not leaked(text)
    for export in ("ndjson", "csv"):
        status, text = await get(dev_host.base_url, "logs/export", [*query, ("format", export)])
        assert status == 200 and len(text.splitlines()) >= len(records)
        assert not leaked(text), export

    deadline = time.monotonic() + 20
    while True:
        status, text = await get(dev_host.base_url, "logs/stats", [("range", "1h")])
        counted = {
            c["kind"]: c["count"]
            for c in orjson.loads(text)["secrets_redacted"]
            if c["service"] == SERVICE
        }
        if sum(counted.values()) >= len(SECRETS) or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.3)
    assert sum(counted.values()) >= len(SECRETS)
    assert {"jwt", "telegram_token", "private_key", "mnemonic", "webhook"} <= set(counted)
    assert not leaked(text)


async def test_the_servers_csv_export_writes_formula_cells_as_text(dev_host) -> None:
    service = f"formula-{uuid.uuid4().hex[:8]}"
    messages = ['=HYPERLINK("http://evil.example","x")', "+cmd|' /C calc'!A0", "@SUM(A1)", "ok"]
    records = [{"service": service, "message": m, "id": str(uuid.uuid4())} for m in messages]
    status, body, _ = await post(dev_host.base_url, records)
    assert status == 202, body
    assert len(await wait_for_rows(dev_host.database_url, body["ids"])) == len(records)
    query = [("service", service), ("format", "csv")]
    status, text = await get(dev_host.base_url, "logs/export", query)
    assert status == 200
    rows = list(csv.reader(io.StringIO(text)))
    column = rows[0].index("message")
    assert sorted(r[column] for r in rows[1:]) == sorted(
        ["'" + m if m[0] in "=+@" else m for m in messages]
    )
