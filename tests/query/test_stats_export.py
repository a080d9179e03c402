"""Statistics from the rollups and the export (NDJSON, CSV, chunked, continued by cursor),
through the functions and against a real PostgreSQL."""

from __future__ import annotations

import csv
import dataclasses
import io
from collections import Counter

import orjson
import pytest

from shared import params, search
from shared.access import Caller, Role
from shared.search import COLUMNS, READER_COLUMNS
from shared.settings import Settings
from tests.query.conftest import SERVICE_A, SERVICES, DataSet, call

pytestmark = pytest.mark.usefixtures("query_settings")
OURS = [("service", s) for s in SERVICES]


def expected_stats(records: list[dict]) -> tuple[Counter, Counter, int]:
    by_level = Counter(r["level"] for r in records)
    by_service = Counter(r["service"] for r in records)
    errors = sum(1 for r in records if r["level"] in ("ERROR", "CRITICAL"))
    return by_level, by_service, errors


@pytest.mark.parametrize("window", ["1h", "24h", "7d"])
async def test_stats_of_a_limited_key_count_only_its_services(
    dataset: DataSet, window: str
) -> None:
    reply = await call("log_stats", "logs/stats", {"range": window}, key="limited")
    assert reply.status == 200
    body = reply.json()
    by_level, by_service, errors = expected_stats(dataset.of(SERVICE_A))
    assert body["range"] == window
    assert body["by_service"] == dict(by_service)
    assert body["by_level"] == dict(by_level)
    assert body["total"] == len(dataset.of(SERVICE_A))
    assert sum(h["errors"] for h in body["error_trend"]) == errors
    hours = {"1h": 2, "24h": 25, "7d": 169}[window]
    assert len(body["error_trend"]) in (hours - 1, hours)
    assert body["alerts_by_severity"] == {}


async def test_stats_for_an_admin_include_every_service(dataset: DataSet) -> None:
    body = (await call("log_stats", "logs/stats")).json()
    _, by_service, _ = expected_stats(dataset.records)
    for service, count in by_service.items():
        assert body["by_service"][service] == count
    assert body["range"] == "24h"
    assert body["total"] >= len(dataset.records)


async def test_stats_refuse_bad_range() -> None:
    reply = await call("log_stats", "logs/stats", {"range": "1y"})
    assert reply.status == 400 and reply.json()["detail"]["parameter"] == "range"


async def test_export_ndjson_is_the_search_without_the_page_limit(dataset: DataSet) -> None:
    reply = await call("export_logs", "logs/export", OURS)
    assert reply.status == 200
    assert reply.mimetype == "application/x-ndjson"
    lines = [orjson.loads(line) for line in reply.body.splitlines()]
    assert [r["id"] for r in lines] == [r["id"] for r in dataset.records]
    assert set(lines[0]) == set(COLUMNS)
    assert "X-Next-Cursor" not in reply.headers


async def test_export_csv_reader_view(dataset: DataSet) -> None:
    reply = await call("export_logs", "logs/export", [*OURS, ("format", "csv")], key="reader")
    assert reply.status == 200 and reply.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(reply.body.decode())))
    assert tuple(rows[0]) == READER_COLUMNS
    assert [r[0] for r in rows[1:]] == [r["id"] for r in dataset.records]
    extra = READER_COLUMNS.index("extra_data")
    assert orjson.loads(rows[1][extra]) == dataset.records[0]["extra_data"]


async def test_export_of_a_limited_key_and_limit(dataset: DataSet) -> None:
    reply = await call("export_logs", "logs/export", OURS, key="limited")
    services = {orjson.loads(line)["service"] for line in reply.body.splitlines()}
    assert services == {SERVICE_A}
    limited = await call("export_logs", "logs/export", [*OURS, ("limit", "7")])
    assert len(limited.body.splitlines()) == 7


async def test_export_continues_by_cursor_past_the_body_limit(
    dataset: DataSet, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EXPORT_CHUNK_ROWS", "10")
    monkeypatch.setenv("EXPORT_MAX_BYTES", "3000")
    from shared.settings import reset_settings

    reset_settings()
    seen: list[str] = []
    token = None
    calls = 0
    while True:
        reply = await call(
            "export_logs", "logs/export", OURS + ([("cursor", token)] if token else [])
        )
        assert reply.status == 200
        seen += [orjson.loads(line)["id"] for line in reply.body.splitlines()]
        calls += 1
        token = reply.headers.get("X-Next-Cursor")
        if token is None:
            break
    assert seen == [r["id"] for r in dataset.records]
    assert calls > 3


async def test_export_streams_in_bounded_chunks(query_settings: Settings, dataset: DataSet) -> None:
    settings = dataclasses.replace(query_settings, export_chunk_rows=16)
    query = params.ExportQuery(filters=params.Filters(services=SERVICES))
    sizes = []
    async for chunk in search.export_chunks(settings, query, Caller("t", Role.ADMIN)):
        sizes.append(len(chunk.data.splitlines()))
    assert sum(sizes) == len(dataset.records)
    assert max(sizes) == 16 and len(sizes) == -(-len(dataset.records) // 16)
