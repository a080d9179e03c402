"""`where` on extra_data, `GET /logs/aggregate` and `GET /logs/fields` through the functions of
`function_app`, against a real PostgreSQL. Every query carries `where=batch=<this run>` so it
sees only this module's records."""

from __future__ import annotations

import asyncio
import json
import statistics
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from shared import db, store
from shared.access import hash_key
from shared.settings import reset_settings
from tests.query.conftest import SUFFIX, call, key_entries, search
from tests.query.test_openapi import fuzz, session_loop

pytestmark = pytest.mark.usefixtures("query_settings", "limited_to_y")
__all__ = ["session_loop"]

BATCH = uuid.uuid4().hex[:12]
SERVICE_X = f"qx-fields-{SUFFIX}"
SERVICE_Y = f"qy-fields-{SUFFIX}"
LIMITED = "test-reader-of-y-key"
"""A reader key limited to SERVICE_Y."""
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT")
OURS = [("where", f"batch={BATCH}")]


def make(now: datetime) -> list[dict[str, Any]]:
    """60 records over 6 minutes, alternating services. response_time on even ones, a nested
    order side, a code that is sometimes the string "300" and sometimes the number 300."""
    records = []
    for i in range(60):
        extra: dict[str, Any] = {
            "batch": BATCH,
            "i": i,
            "symbol": SYMBOLS[i % 3],
            "order_id": f"ord-{BATCH}-{i}",
            "order": {"side": "buy" if i % 4 < 2 else "sell", "qty": i % 5},
            "note": "a, b and c" if i == 7 else "plain",
        }
        if i % 2 == 0:
            extra["response_time"] = i * 10
        if i % 5 == 0:
            extra["code"] = "300"
        elif i % 7 == 0:
            extra["code"] = 300
        records.append(
            {
                "id": f"xf-{BATCH}-{i:03d}",
                "timestamp": now - timedelta(seconds=6 * i),
                "level": "ERROR" if i % 6 == 0 else "INFO",
                "service": SERVICE_Y if i % 2 else SERVICE_X,
                "logger_name": "bots.orders",
                "message": f"order {i}",
                "extra_data": extra,
            }
        )
    return records


@pytest.fixture
def limited_to_y(query_settings: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = {"name": "t-y", "hash": hash_key(LIMITED), "role": "reader", "services": [SERVICE_Y]}
    monkeypatch.setenv("API_KEYS", json.dumps([*key_entries(), entry]))
    reset_settings()


@dataclass(frozen=True)
class Data:
    records: list[dict[str, Any]]
    now: datetime

    def ids(self, keep: Any) -> list[str]:
        return [r["id"] for r in self.records if keep(r)]


@pytest.fixture(scope="module")
async def data(database_url: str) -> AsyncIterator[Data]:
    now = datetime.now(UTC).replace(second=30, microsecond=0) - timedelta(minutes=2)
    records = make(now)
    conn = await asyncpg.connect(database_url)
    try:
        await db.init_connection(conn)
        await store.write(conn, records)
    finally:
        await conn.close()
    records.sort(key=lambda r: (r["timestamp"], r["id"]), reverse=True)
    yield Data(records, now)


async def found(query: list[tuple[str, str]], key: str = "admin") -> list[str]:
    reply = await search([*OURS, *query, ("limit", "1000")], key)
    assert reply.status == 200, reply.body
    return [item["id"] for item in reply.json()["items"]]


def extra(record: dict[str, Any]) -> dict[str, Any]:
    return record["extra_data"]


async def test_where_text_equality(data: Data) -> None:
    assert await found([("where", "symbol=ETHUSDT")]) == data.ids(
        lambda r: extra(r)["symbol"] == "ETHUSDT"
    )


async def test_where_numbers_compare_as_numbers(data: Data) -> None:
    # as text "90" > "300"; as numbers it is not
    assert await found([("where", "response_time>=300")]) == data.ids(
        lambda r: extra(r).get("response_time", -1) >= 300
    )
    assert await found([("where", "response_time<90")]) == data.ids(
        lambda r: "response_time" in extra(r) and extra(r)["response_time"] < 90
    )
    assert await found([("where", "response_time=300.0")]) == data.ids(
        lambda r: extra(r).get("response_time") == 300
    )


async def test_where_number_matches_number_and_its_spelling_quoted_only_text(data: Data) -> None:
    either = data.ids(lambda r: extra(r).get("code") in ("300", 300))
    assert await found([("where", "code=300")]) == either
    assert await found([("where", "code=3e2")]) == either
    assert await found([("where", "code>=299.5")]) == either
    assert await found([("where", 'code="300"')]) == data.ids(
        lambda r: extra(r).get("code") == "300"
    )
    assert await found([("where", "symbol>5")]) == []  # text that is no number never compares


async def test_where_nested_path_and_and(data: Data) -> None:
    assert await found([("where", "order.side=buy"), ("where", "order.qty>2")]) == data.ids(
        lambda r: extra(r)["order"]["side"] == "buy" and extra(r)["order"]["qty"] > 2
    )


async def test_where_not_equal_includes_records_without_the_path(data: Data) -> None:
    assert await found([("where", "code!=300")]) == data.ids(
        lambda r: extra(r).get("code") not in ("300", 300)
    )
    assert await found([("where", "symbol!=BTCUSDT")]) == data.ids(
        lambda r: extra(r)["symbol"] != "BTCUSDT"
    )


async def test_where_text_order_and_commas_in_values(data: Data) -> None:
    assert await found([("where", "symbol>ETHUSDT")]) == data.ids(
        lambda r: extra(r)["symbol"] > "ETHUSDT"
    )
    assert await found([("where", "note=a, b and c")]) == data.ids(
        lambda r: r["id"].endswith("007")
    )


async def test_where_on_the_indexed_order_id(data: Data) -> None:
    assert await found([("where", f"order_id=ord-{BATCH}-17")]) == [f"xf-{BATCH}-017"]
    assert len(await found([("where", f"order_id!=ord-{BATCH}-17")])) == 59


async def test_where_on_export(data: Data) -> None:
    reply = await call("export_logs", "logs/export", [*OURS, ("where", "symbol=SOLUSDT")])
    assert reply.status == 200
    lines = [orjson.loads(line) for line in reply.body.splitlines()]
    assert [r["id"] for r in lines] == data.ids(lambda r: extra(r)["symbol"] == "SOLUSDT")


@pytest.mark.parametrize(
    "expression",
    ["symbol", "symbol=", "=ETHUSDT", "symbol!ETH", "a..b=1", "sym bol=x", "x" * 300 + "=1"],
)
@pytest.mark.parametrize(
    ("name", "path"),
    [
        ("search_logs", "logs/search"),
        ("export_logs", "logs/export"),
        ("aggregate_logs", "logs/aggregate"),
        ("log_fields", "logs/fields"),
    ],
)
async def test_malformed_where_is_400_naming_where(name: str, path: str, expression: str) -> None:
    reply = await call(name, path, [("where", expression)])
    assert reply.status == 400
    body = reply.json()
    assert body["detail"]["parameter"] == "where"
    assert "where" in body["error"]


async def aggregate(query: list[tuple[str, str]], key: str = "admin") -> dict[str, Any]:
    reply = await call("aggregate_logs", "logs/aggregate", [*OURS, *query], key)
    assert reply.status == 200, reply.body
    return reply.json()


def minute(moment: datetime) -> str:
    return moment.replace(second=0, microsecond=0).isoformat()


async def test_count_by_service_per_minute(data: Data) -> None:
    body = await aggregate([("by", "service"), ("interval", "1m")])
    assert (body["fn"], body["field"], body["by"], body["interval"]) == (
        "count",
        None,
        "service",
        "1m",
    )
    expected: dict[str, dict[str, int]] = {}
    for r in data.records:
        per = expected.setdefault(r["service"], {})
        per[minute(r["timestamp"])] = per.get(minute(r["timestamp"]), 0) + 1
    got = {
        s["group"]: {datetime.fromisoformat(p["time"]).isoformat(): p["count"] for p in s["points"]}
        for s in body["series"]
    }
    assert got == expected
    for series in body["series"]:
        assert all(p["value"] == p["count"] for p in series["points"])
        times = [p["time"] for p in series["points"]]
        assert times == sorted(times)


@pytest.mark.parametrize(
    ("fn", "compute"),
    [
        ("sum", sum),
        ("avg", statistics.fmean),
        ("min", min),
        ("max", max),
        ("p50", lambda v: statistics.quantiles(v, n=100, method="inclusive")[49]),
        ("p95", lambda v: statistics.quantiles(v, n=100, method="inclusive")[94]),
        ("p99", lambda v: statistics.quantiles(v, n=100, method="inclusive")[98]),
    ],
)
async def test_functions_over_a_numeric_field_whole_range(
    fn: str, compute: Any, data: Data
) -> None:
    start = (data.now - timedelta(hours=1)).isoformat()
    body = await aggregate([("fn", fn), ("field", "response_time"), ("start", start)])
    values = [extra(r)["response_time"] for r in data.records if "response_time" in extra(r)]
    [series] = body["series"]
    assert series["group"] is None
    [point] = series["points"]
    assert point["count"] == len(values) == 30
    assert point["value"] == pytest.approx(compute(values))
    assert datetime.fromisoformat(point["time"]) == data.now - timedelta(hours=1)


async def test_p95_by_an_extra_data_path_with_filters(data: Data) -> None:
    body = await aggregate(
        [("fn", "p90"), ("field", "i"), ("by", "symbol"), ("level", "INFO"), ("interval", "1h")]
    )
    got = {s["group"]: sum(p["count"] for p in s["points"]) for s in body["series"]}
    expected: dict[str, int] = {}
    for r in data.records:
        if r["level"] == "INFO":
            expected[extra(r)["symbol"]] = expected.get(extra(r)["symbol"], 0) + 1
    assert got == expected


async def test_count_of_a_field_counts_records_holding_it(data: Data) -> None:
    body = await aggregate([("field", "code")])
    [series] = body["series"]
    assert series["points"][0]["count"] == len(data.ids(lambda r: "code" in extra(r)))


async def test_limited_reader_aggregates_only_its_service(data: Data) -> None:
    body = await aggregate([("by", "service")], key=LIMITED)
    assert [s["group"] for s in body["series"]] == [SERVICE_Y]
    assert body["series"][0]["points"][0]["count"] == 30


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ([("fn", "median")], "fn"),
        ([("fn", "avg")], "field"),
        ([("interval", "2m")], "interval"),
        ([("by", "a b")], "by"),
        ([("field", "x..y"), ("fn", "sum")], "field"),
        ([("start", "2020-01-01T00:00:00Z"), ("interval", "1m")], "interval"),
        ([("symbol", "ETHUSDT")], "symbol"),
    ],
)
async def test_aggregate_refuses_bad_parameters(
    query: list[tuple[str, str]], parameter: str
) -> None:
    reply = await call("aggregate_logs", "logs/aggregate", query)
    assert reply.status == 400
    assert reply.json()["detail"]["parameter"] == parameter


async def test_aggregate_and_fields_need_a_reader_key() -> None:
    for name, path in (("aggregate_logs", "logs/aggregate"), ("log_fields", "logs/fields")):
        assert (await call(name, path, key=None)).status == 401
        assert (await call(name, path, key="ingest")).status == 403


async def fields(query: list[tuple[str, str]], key: str = "admin") -> dict[str, Any]:
    reply = await call("log_fields", "logs/fields", [*OURS, *query], key)
    assert reply.status == 200, reply.body
    return reply.json()


async def test_fields_lists_paths_types_counts_and_top_values(data: Data) -> None:
    body = await fields([])
    by_path = {f["path"]: f for f in body["fields"]}
    assert body["records"] == 60 and body["sampled"] is False
    assert set(by_path) == {
        "batch",
        "i",
        "symbol",
        "order_id",
        "order.side",
        "order.qty",
        "note",
        "response_time",
        "code",
    }
    assert by_path["symbol"]["types"] == ["string"]
    assert by_path["symbol"]["count"] == 60
    assert by_path["symbol"]["top"] == [
        {"value": "BTCUSDT", "count": 20},
        {"value": "ETHUSDT", "count": 20},
        {"value": "SOLUSDT", "count": 20},
    ]
    assert by_path["code"]["types"] == ["number", "string"]
    codes = data.ids(lambda r: "code" in extra(r))
    assert by_path["code"]["count"] == len(codes)
    assert {"value": 300, "count": 7} in by_path["code"]["top"]
    assert {"value": "300", "count": 12} in by_path["code"]["top"]
    assert by_path["response_time"]["count"] == 30
    assert len(by_path["order_id"]["top"]) == 10
    assert all(t["count"] == 1 for t in by_path["order_id"]["top"])
    assert by_path["order.qty"]["top"][0] == {"value": 0, "count": 12}


async def test_fields_apply_filters_and_access(data: Data) -> None:
    body = await fields([("where", "symbol=ETHUSDT"), ("service", SERVICE_X)])
    assert body["records"] == len(
        data.ids(lambda r: extra(r)["symbol"] == "ETHUSDT" and r["service"] == SERVICE_X)
    )
    limited = await fields([], key=LIMITED)
    assert limited["records"] == 30
    symbol = next(f for f in limited["fields"] if f["path"] == "symbol")
    assert symbol["count"] == 30


async def test_fields_sample_is_the_newest_records(
    data: Data, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shared.settings import get_settings

    monkeypatch.setenv("FIELDS_SAMPLE_ROWS", "10")
    reset_settings()
    assert get_settings().fields_sample_rows == 10
    body = await fields([])
    assert body["records"] == 10 and body["sampled"] is True
    i = next(f for f in body["fields"] if f["path"] == "i")
    assert sorted(t["value"] for t in i["top"]) == list(range(10))


@pytest.mark.parametrize(
    ("name", "path", "route"),
    [
        ("aggregate_logs", "/logs/aggregate", "logs/aggregate"),
        ("log_fields", "/logs/fields", "logs/fields"),
    ],
)
def test_fuzz_from_the_schema(
    name: str, path: str, route: str, data: Data, session_loop: asyncio.AbstractEventLoop
) -> None:
    seen = fuzz(name, path, route, ["admin", "reader", LIMITED], session_loop, examples=60)
    assert {200, 400} <= seen, f"the run reached both answers and a refusal: {sorted(seen)}"


async def test_q_matches_the_fields_of_the_live_filter_and_words_in_urls(
    pg: asyncpg.Connection,
) -> None:
    service = f"qq-words-{BATCH}"
    now = datetime.now(UTC) - timedelta(minutes=1)
    rows = [
        ("url", "POST https://api.telegram.org/bot123:ABC/sendMessage failed", {}),
        ("path", "read /var/lib/bot/state_file.json", {}),
        (
            "extra",
            "order placed",
            {"client_order_id": "zq81x", "fill": {"venue": "kraken.futures"}},
        ),
        ("other", "nothing to see", {"note": "plain"}),
    ]
    records = [
        {
            "id": f"qq-{BATCH}-{name}",
            "timestamp": now - timedelta(seconds=i),
            "level": "ERROR" if name == "other" else "INFO",
            "service": service,
            "logger_name": "bots.notifier" if name == "url" else "bots.core",
            "message": message,
            "request_id": f"rq{BATCH}{name}",
            "exception_type": "ZeroDivisionError" if name == "other" else None,
            "extra_data": extra,
        }
        for i, (name, message, extra) in enumerate(rows)
    ]
    await db.init_connection(pg)
    await store.write(pg, records)

    async def q(text: str) -> list[str]:
        reply = await search([("service", service), ("q", text), ("limit", "100")])
        assert reply.status == 200, reply.body
        return [item["id"].removeprefix(f"qq-{BATCH}-") for item in reply.json()["items"]]

    assert await q("sendMessage") == ["url"]
    assert await q("telegram bot123") == ["url"]
    assert await q("api.telegram.org/bot123") == ["url"]
    assert await q("state") == ["path"]
    assert await q("zq81x") == ["extra"]  # only in extra_data
    assert await q("kraken") == ["extra"]
    assert await q("notifier") == ["url"]  # logger_name
    assert await q(f"rq{BATCH}path") == []  # request_id has a filter of its own
    assert await q("client_order_id") == []  # keys are not words, values are
    assert await q("ZeroDivisionError") == ["other"]  # exception_type
    assert await q("bots -notifier") == ["path", "extra", "other"]
    assert await q(service) == ["url", "path", "extra", "other"]


async def test_q_uses_the_full_text_index(pg: asyncpg.Connection) -> None:
    from shared import search as search_module

    await pg.execute("SET enable_seqscan = off")
    rows = await pg.fetch(
        f"EXPLAIN SELECT id FROM system_logs WHERE {search_module._FULL_TEXT.format('$1')}",
        "sendMessage",
    )
    text = "\n".join(r[0] for r in rows)
    assert "Bitmap Index Scan" in text, text
