"""The shipper endpoints over HTTP on `python -m devhost`: statuses, bodies and headers as
each protocol's clients read them, and what lands in PostgreSQL."""

from __future__ import annotations

import gzip
import uuid
from typing import Any

import aiohttp
import cramjam
import orjson

from tests.shippers.push_proto import push_request
from tests.shippers.test_clients import INGEST_KEY, rows_where

BEARER = {"Authorization": f"Bearer {INGEST_KEY}"}


async def request(
    method: str, url: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes, dict[str, str]]:
    async with (
        aiohttp.ClientSession() as session,
        session.request(method, url, data=body, headers=headers or {}) as response,
    ):
        return response.status, await response.read(), dict(response.headers)


def as_json(body: bytes) -> Any:
    return orjson.loads(body)


async def test_elasticsearch_probes(dev_host) -> None:
    api = f"{dev_host.base_url}/api"
    status, body, headers = await request("GET", f"{api}/", headers=BEARER)
    assert status == 200 and as_json(body)["version"]["number"].startswith("8.")
    assert headers["X-Elastic-Product"] == "Elasticsearch"
    status, body, _ = await request("HEAD", f"{api}/", headers=BEARER)
    assert status == 200 and body == b""
    for path, key in (
        ("_license", "license"),
        ("_xpack", "features"),
        ("_cluster/health", "status"),
    ):
        status, body, _ = await request("GET", f"{api}/{path}", headers=BEARER)
        assert status == 200 and key in as_json(body), path
    status, body, _ = await request(
        "PUT", f"{api}/_index_template/filebeat", b'{"index_patterns": ["x"]}', BEARER
    )
    assert (status, as_json(body)) == (200, {"acknowledged": True})
    status, body, _ = await request("GET", f"{api}/_cluster/health")
    assert status == 200, "probes need no key: some clients send them without their headers"
    status, body, _ = await request("GET", f"{api}/no/such/route")
    assert status == 404 and as_json(body)["error"]


async def test_other_routes_still_answer(dev_host) -> None:
    status, body, _ = await request("GET", f"{dev_host.base_url}/api/health")
    assert status in (200, 503) and "X-Elastic-Product" not in body.decode()
    status, _, _ = await request("OPTIONS", f"{dev_host.base_url}/api/_bulk")
    assert status == 204


async def test_bulk_over_http_with_index_in_the_path_and_gzip(dev_host) -> None:
    marker = uuid.uuid4().hex
    body = (
        b'{"index": {"_id": "bulk-'
        + marker.encode()
        + b'"}}\n'
        + orjson.dumps({"message": f"gz {marker}", "level": "error", "@timestamp": 1773489600})
        + b'\n{"delete": {"_id": "x"}}\n'
    )
    status, raw, headers = await request(
        "POST",
        f"{dev_host.base_url}/api/bots/_bulk",
        gzip.compress(body),
        {**BEARER, "Content-Type": "application/x-ndjson", "Content-Encoding": "gzip"},
    )
    answer = as_json(raw)
    assert status == 200 and answer["errors"] is True
    assert headers["X-Elastic-Product"] == "Elasticsearch"
    assert (
        answer["items"][0]["index"] | {"_index": "bots", "status": 201}
        == answer["items"][0]["index"]
    )
    assert answer["items"][1]["delete"]["status"] == 400
    (row,) = await rows_where(dev_host.database_url, "id = $1", f"bulk-{marker}")
    assert row["level"] == "ERROR"
    assert row["timestamp"].isoformat() == "2026-03-14T12:00:00+00:00"


async def test_bulk_limits_and_auth(dev_host) -> None:
    url = f"{dev_host.base_url}/api/_bulk"
    big = b'{"index": {}}\n' + orjson.dumps({"message": "x" * (1024 * 1024)}) + b"\n"
    status, raw, _ = await request("POST", url, big, {**BEARER, "Content-Type": "application/json"})
    assert status == 413 and as_json(raw)["error"]
    status, _, _ = await request("POST", url, b'{"index": {}}\n{"message": "m"}\n')
    assert status == 401
    ndjson = {**BEARER, "Content-Type": "application/x-ndjson"}
    status, raw, _ = await request("POST", url, b"oops\n", ndjson)
    assert status == 400 and "malformed action" in as_json(raw)["error"]
    status, raw, _ = await request("POST", url, b"{}\n", {**BEARER, "Content-Type": "text/csv"})
    assert status == 415 and as_json(raw)["error"]


async def test_loki_snappy_protobuf_lands_in_postgres(dev_host) -> None:
    marker = uuid.uuid4().hex
    raw = push_request(
        [
            (
                '{app="portfolio-manager", detected_level="error", host="vm-1"}',
                [(1_773_489_600_000_000_000, f"rebalance failed {marker}", {"user_id": "u-77"})],
            )
        ]
    )
    status, body, _ = await request(
        "POST",
        f"{dev_host.base_url}/api/loki/api/v1/push",
        bytes(cramjam.snappy.compress_raw(raw)),
        {**BEARER, "Content-Type": "application/x-protobuf"},
    )
    assert (status, body) == (204, b"")
    (row,) = await rows_where(dev_host.database_url, "message = $1", f"rebalance failed {marker}")
    assert row["service"] == "portfolio-manager" and row["level"] == "ERROR"
    assert row["user_id"] == "u-77"
    assert row["timestamp"].isoformat() == "2026-03-14T12:00:00+00:00"
    assert '"host": "vm-1"' in str(row["extra_data"])


async def test_loki_errors_are_plain_text(dev_host) -> None:
    url = f"{dev_host.base_url}/api/loki/api/v1/push"
    marker = uuid.uuid4().hex
    body = orjson.dumps(
        {
            "streams": [
                {
                    "stream": {"job": "x"},
                    "values": [["1773489600000000000", marker], ["soon", "bad"]],
                }
            ]
        }
    )
    status, text, headers = await request(
        "POST", url, body, {**BEARER, "Content-Type": "application/json"}
    )
    assert status == 400 and headers["Content-Type"].startswith("text/plain")
    assert b"1 of 2 entries refused" in text and b"entry 1: timestamp 'soon'" in text
    assert len(await rows_where(dev_host.database_url, "message = $1", marker)) == 1
    status, text, headers = await request("POST", url, body, {"Content-Type": "application/json"})
    assert status == 401 and headers["Content-Type"].startswith("text/plain") and text.strip()
    status, text, _ = await request(
        "POST", url, b"{", {**BEARER, "Content-Type": "application/json"}
    )
    assert status == 400 and text.startswith(b"the body is not valid JSON")


async def test_seq_ingestion_answers_as_seq(dev_host) -> None:
    marker = uuid.uuid4().hex
    good = orjson.dumps({"@mt": "Fill {Id}", "Id": marker, "@l": "Warning"})
    status, body, _ = await request(
        "POST",
        f"{dev_host.base_url}/api/events/raw?clef&apiKey={INGEST_KEY}",
        good + b"\n",
        {"Content-Type": "application/vnd.serilog.clef"},
    )
    assert (status, as_json(body)) == (201, {"MinimumLevelAccepted": None})
    (row,) = await rows_where(dev_host.database_url, "message = $1", f"Fill {marker}")
    assert row["level"] == "WARNING"
    status, body, _ = await request(
        "POST",
        f"{dev_host.base_url}/api/ingest/clef",
        good.replace(b"Fill", b"Again") + b"\n{broken\n",
        {"Content-Type": "application/vnd.serilog.clef", "X-Seq-ApiKey": INGEST_KEY},
    )
    answer = as_json(body)
    assert status == 400 and answer["accepted"] == 1 and answer["rejected"][0]["index"] == 1
    assert len(await rows_where(dev_host.database_url, "message = $1", f"Again {marker}")) == 1
    status, body, _ = await request(
        "POST",
        f"{dev_host.base_url}/api/api/events/raw",
        good.replace(b"Fill", b"Older client"),
        {"Content-Type": "application/vnd.serilog.clef", "X-Seq-ApiKey": INGEST_KEY},
    )
    assert status == 201, body
    assert await rows_where(dev_host.database_url, "message = $1", f"Older client {marker}")
    status, body, _ = await request(
        "POST", f"{dev_host.base_url}/api/ingest/clef", good, {"X-Seq-ApiKey": "wrong"}
    )
    assert status == 401 and as_json(body)["error"]
