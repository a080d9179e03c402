"""`where`, `/logs/aggregate` and `/logs/fields` over real HTTP on `python -m devhost`: the
literal routes are not taken for `logs/{id}`, and records posted to /api/logs are found by
their extra_data."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest

from tests.query.test_devhost_read import READER, get, posted

pytestmark = pytest.mark.slow


async def test_extra_data_questions_on_the_dev_host(dev_host: Any) -> None:
    base = dev_host.base_url
    service = f"dh-fields-{uuid.uuid4().hex[:8]}"
    records = [
        {
            "service": service,
            "level": "INFO",
            "message": f"Order {i} filled",
            "extra_data": {"symbol": "ETHUSDT" if i % 2 else "BTCUSDT", "response_time": i * 100},
        }
        for i in range(8)
    ]
    await posted(base, records, service)

    def url(path: str, query: list[tuple[str, str]]) -> str:
        return f"{base}/api/logs/{path}?{urlencode([('service', service), *query])}"

    status, _, body = await get(url("search", [("where", "symbol=ETHUSDT")]), READER)
    assert status == 200
    assert sorted(r["extra_data"]["response_time"] for r in orjson.loads(body)["items"]) == [
        100,
        300,
        500,
        700,
    ]

    status, _, body = await get(
        url("aggregate", [("fn", "max"), ("field", "response_time"), ("by", "symbol")]), READER
    )
    assert status == 200, body
    series = {s["group"]: s["points"][0] for s in orjson.loads(body)["series"]}
    assert {g: (p["value"], p["count"]) for g, p in series.items()} == {
        "ETHUSDT": (700.0, 4),
        "BTCUSDT": (600.0, 4),
    }

    status, _, body = await get(url("fields", []), READER)
    assert status == 200, body
    paths = {f["path"]: f for f in orjson.loads(body)["fields"]}
    assert set(paths) == {"symbol", "response_time"}
    assert paths["response_time"]["types"] == ["number"]

    status, _, body = await get(url("aggregate", [("where", "symbol")]), READER)
    assert status == 400 and orjson.loads(body)["detail"]["parameter"] == "where"
