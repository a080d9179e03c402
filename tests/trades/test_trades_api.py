"""GET /api/trades, /api/trades/{key} and /api/trades/stats against real PostgreSQL, with the
chains built by the real analyzer from records of several services."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from openapi_schema_validator import OAS31Validator

from shared import db, openapi, trade_chains, trades
from shared.settings import Settings
from shared.trade_alerts import deadlines
from tests.query.conftest import SERVICE_A
from tests.query.test_openapi import response_schema
from tests.trades.conftest import Record, call, feed, record, suffix

S = suffix()
GATEWAY, AI, EXCHANGE, RISK, BOT = (
    f"t-gateway-{S}",
    f"t-ai-{S}",
    f"t-exchange-{S}",
    f"t-risk-{S}",
    f"t-bot-{S}",
)
LIMITED_SERVICE = SERVICE_A


@dataclass
class Trades:
    now: datetime
    records: list[Record]
    keys: dict[str, str]

    def of(self, name: str) -> list[Record]:
        key = self.keys[name]
        return [
            r
            for r in self.records
            if (r["extra_data"] or {}).get("signal_id") == key or r["request_id"] == key
        ]


def build(now: datetime) -> Trades:
    keys = {name: f"{name}-{S}" for name in ("executed", "blocked", "failed", "held", "open")}
    keys["stalled"] = f"stalled-{S}"
    keys["by_request"] = f"req-{S}"
    t0 = now - timedelta(minutes=10)
    out: list[Record] = []

    def chain(name: str, start: datetime, steps: list[tuple[str, str, float, dict[str, Any]]]):
        for service, level, offset, extra in steps:
            out.append(
                record(
                    service,
                    level,
                    start + timedelta(seconds=offset),
                    signal_id=keys[name],
                    **extra,
                )
            )

    chain(
        "executed",
        t0,
        [
            (GATEWAY, "SIGNAL_RECEIVED", 0, {"symbol": "btcusdt", "side": "buy"}),
            (GATEWAY, "INFO", 0.5, {"symbol": "BTCUSDT"}),
            (AI, "AI_DECISION", 1.5, {"symbol": "BTCUSDT", "decision": "BUY"}),
            (EXCHANGE, "TRADE_EXECUTED", 2.25, {"symbol": "BTCUSDT", "qty": 1}),
        ],
    )
    chain(
        "blocked",
        t0 + timedelta(seconds=10),
        [
            (GATEWAY, "SIGNAL_RECEIVED", 0, {"symbol": "ETHUSDT"}),
            (AI, "AI_DECISION", 2, {"symbol": "ETHUSDT", "action": "sell"}),
            (RISK, "RISK_ALERT", 3, {"symbol": "ETHUSDT"}),
        ],
    )
    chain(
        "failed",
        t0 + timedelta(seconds=20),
        [
            (GATEWAY, "SIGNAL_RECEIVED", 0, {"symbol": "SOLUSDT", "side": "buy"}),
            (AI, "AI_DECISION", 1, {"symbol": "SOLUSDT", "decision": "buy"}),
            (EXCHANGE, "WARNING", 1.5, {"symbol": "SOLUSDT"}),
            (EXCHANGE, "ERROR", 2, {"symbol": "SOLUSDT"}),
        ],
    )
    chain(
        "held",
        t0 + timedelta(seconds=30),
        [
            (GATEWAY, "SIGNAL_RECEIVED", 0, {"symbol": "BTCUSDT"}),
            (AI, "AI_DECISION", 4, {"symbol": "BTCUSDT", "decision": "hold"}),
        ],
    )
    chain("stalled", t0 + timedelta(seconds=40), [(BOT, "SIGNAL_RECEIVED", 0, {"symbol": "XRP"})])
    chain("open", now - timedelta(seconds=2), [(GATEWAY, "SIGNAL_RECEIVED", 0, {"symbol": "ADA"})])
    for service, level, offset in (
        (LIMITED_SERVICE, "SIGNAL_RECEIVED", 0),
        (AI, "AI_DECISION", 1),
        (EXCHANGE, "TRADE_EXECUTED", 3),
    ):
        extra = {"symbol": "BNBUSDT"}
        if level == "AI_DECISION":
            extra["decision"] = "buy"
        out.append(
            record(
                service,
                level,
                t0 + timedelta(seconds=50 + offset),
                request_id=keys["by_request"],
                **extra,
            )
        )
    # Not a trade: an ERROR alone under a key, and an INFO with a signal id.
    out.append(record(EXCHANGE, "ERROR", t0, request_id=f"lonely-{S}"))
    out.append(record(GATEWAY, "INFO", t0, signal_id=f"info-only-{S}"))
    return Trades(now=now, records=out, keys=keys)


@pytest.fixture(scope="module")
def trade_set() -> Trades:
    return build(datetime.now(UTC).replace(microsecond=0))


@pytest.fixture
async def loaded(query_settings: Settings, trade_set: Trades) -> AsyncIterator[Trades]:
    pool = await db.pool(query_settings)
    if not await pool.fetchval(
        "SELECT count(*) FROM trade_chains WHERE key = $1", trade_set.keys["executed"]
    ):
        await feed(query_settings, trade_set.records)
    yield trade_set
    await db.close()


def window(t: Trades) -> dict[str, str]:
    return {"start": (t.now - timedelta(minutes=15)).isoformat(), "end": t.now.isoformat()}


async def listed(t: Trades, key: str = "admin", **query: str) -> dict[str, Any]:
    reply = await call("list_trades", "trades", {**window(t), "limit": "100", **query}, key)
    assert reply.status == 200, reply.body
    return reply.json()


def by_key(page: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in page["items"]}


async def test_every_status_symbol_side_and_latency(loaded: Trades) -> None:
    items = by_key(await listed(loaded))
    ours = {name: items[key] for name, key in loaded.keys.items() if key in items}
    assert {n: i["status"] for n, i in ours.items()} == {
        "executed": "executed",
        "blocked": "blocked",
        "failed": "failed",
        "held": "held",
        "open": "open",
        "stalled": "stalled",
        "by_request": "executed",
    }
    executed = ours["executed"]
    assert (executed["symbol"], executed["side"]) == ("BTCUSDT", "buy")
    assert executed["latency_ms"] == {
        "signal_to_decision": 1500.0,
        "decision_to_execution": 750.0,
        "signal_to_execution": 2250.0,
    }
    assert [s["level"] for s in executed["stages"]] == [
        "SIGNAL_RECEIVED",
        "AI_DECISION",
        "TRADE_EXECUTED",
    ]
    first = executed["stages"][0]
    assert set(first) == {"level", "time", "service", "id"}
    assert first["service"] == GATEWAY
    assert datetime.fromisoformat(first["time"]) == loaded.now - timedelta(minutes=10)
    assert ours["blocked"]["side"] == "sell"
    assert ours["held"]["latency_ms"]["signal_to_execution"] is None
    assert [s["level"] for s in ours["failed"]["stages"]][-2:] == ["WARNING", "ERROR"]
    assert f"lonely-{S}" not in items and f"info-only-{S}" not in items
    started = [i["started"] for i in (await listed(loaded))["items"]]
    assert started == sorted(started, reverse=True)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"status": "stalled"}, {"stalled"}),
        ({"status": "OPEN"}, {"open"}),
        ({"symbol": "btcusdt"}, {"executed", "held"}),
        ({"service": RISK}, {"blocked"}),
        ({"service": f"{RISK},{BOT}"}, {"blocked", "stalled"}),
        ({"status": "executed", "symbol": "BNBUSDT"}, {"by_request"}),
    ],
)
async def test_filters(loaded: Trades, query: dict[str, str], expected: set[str]) -> None:
    names = {v: k for k, v in loaded.keys.items()}
    found = {names[k] for k in by_key(await listed(loaded, **query)) if k in names}
    assert found == expected


async def test_time_window_and_pages(loaded: Trades) -> None:
    recent = by_key(await listed(loaded, start=(loaded.now - timedelta(minutes=1)).isoformat()))
    assert loaded.keys["open"] in recent and loaded.keys["executed"] not in recent
    seen: list[str] = []
    query = {**window(loaded), "limit": "2", "service": f"{GATEWAY},{BOT},{LIMITED_SERVICE}"}
    while True:
        reply = await call("list_trades", "trades", query)
        page = reply.json()
        assert len(page["items"]) <= 2
        seen += [i["key"] for i in page["items"]]
        if not page["next_cursor"]:
            break
        query["cursor"] = page["next_cursor"]
    whole = [i["key"] for i in (await listed(loaded, service=query["service"]))["items"]]
    assert seen == whole and len(whole) == 7


async def test_one_trade_with_every_record_oldest_first(loaded: Trades) -> None:
    key = loaded.keys["failed"]
    reply = await call("get_trade", f"trades/{key}", route_params={"key": key}, key="reader")
    assert reply.status == 200, reply.body
    chain = reply.json()
    assert chain["key"] == key and chain["status"] == "failed" and chain["symbol"] == "SOLUSDT"
    wanted = sorted(loaded.of("failed"), key=lambda r: r["timestamp"])
    assert [r["id"] for r in chain["records"]] == [r["id"] for r in wanted]
    assert all("stack_trace" not in r and "exception_message" not in r for r in chain["records"])
    admin = (await call("get_trade", "t", route_params={"key": key})).json()
    assert admin["records"][-1]["stack_trace"].startswith("Traceback")


async def test_limited_reader_sees_only_chains_and_records_of_its_services(
    loaded: Trades,
) -> None:
    keys = by_key(await listed(loaded, key="limited"))
    assert set(keys) == {loaded.keys["by_request"]}
    chain = keys[loaded.keys["by_request"]]
    assert [s["service"] for s in chain["stages"]] == [LIMITED_SERVICE]
    assert chain["status"] == "executed"
    key = loaded.keys["by_request"]
    one = (await call("get_trade", "t", route_params={"key": key}, key="limited")).json()
    assert [r["service"] for r in one["records"]] == [LIMITED_SERVICE]
    hidden = loaded.keys["executed"]
    refused = await call("get_trade", "t", route_params={"key": hidden}, key="limited")
    assert refused.status == 404 and refused.json()["error"]


async def test_unknown_trade_and_non_trades_are_404(loaded: Trades) -> None:
    for key in (f"nope-{S}", f"lonely-{S}"):
        reply = await call("get_trade", "t", route_params={"key": key})
        assert reply.status == 404


async def test_stage_latency_percentiles(loaded: Trades) -> None:
    reply = await call("trade_stats", "trades/stats", {**window(loaded), "service": EXCHANGE})
    assert reply.status == 200, reply.body
    rows = {(i["stage"], i["symbol"]): i for i in reply.json()["items"]}
    btc = rows[("decision_to_execution", "BTCUSDT")]
    assert (btc["service"], btc["count"], btc["p50_ms"], btc["p95_ms"]) == (
        EXCHANGE,
        1,
        750.0,
        750.0,
    )
    assert rows[("signal_to_execution", "BNBUSDT")]["p50_ms"] == 3000.0
    assert all(i["service"] == EXCHANGE for i in reply.json()["items"])
    ai = await call("trade_stats", "trades/stats", {**window(loaded), "service": AI})
    decisions = [i for i in ai.json()["items"] if i["stage"] == "signal_to_decision"]
    assert sum(i["count"] for i in decisions) == 5
    limited = await call("trade_stats", "trades/stats", {"range": "1h"}, key="limited")
    assert limited.json()["items"] == []


@pytest.mark.parametrize(
    ("name", "query", "parameter"),
    [
        ("list_trades", {"status": "lost"}, "status"),
        ("list_trades", {"limit": "0"}, "limit"),
        ("list_trades", {"cursor": "forged.cursor"}, "cursor"),
        ("list_trades", {"start": "yesterday-ish"}, "start"),
        ("list_trades", {"q": "btc"}, "q"),
        ("trade_stats", {"range": "3w"}, "range"),
        ("trade_stats", {"range": "1h", "start": "2026-01-01T00:00:00Z"}, "range"),
    ],
)
async def test_bad_parameters_are_400(
    loaded: Trades, name: str, query: dict[str, str], parameter: str
) -> None:
    reply = await call(name, "trades", query)
    assert reply.status == 400
    assert reply.json()["detail"]["parameter"] == parameter


async def test_keys_are_required(loaded: Trades) -> None:
    assert (await call("list_trades", "trades", key=None)).status == 401
    assert (await call("list_trades", "trades", key="ingest")).status == 403


async def test_late_out_of_order_and_repeated_stages_give_the_same_chain(
    query_settings: Settings,
) -> None:
    now = datetime.now(UTC)
    key = f"order-{suffix()}"
    signal = record(GATEWAY, "SIGNAL_RECEIVED", now, signal_id=key, symbol="BTC", side="buy")
    decision = record(AI, "AI_DECISION", now + timedelta(seconds=1), signal_id=key, action="buy")
    done = record(EXCHANGE, "TRADE_EXECUTED", now + timedelta(seconds=2), signal_id=key)
    paths = trades.key_paths(query_settings.trade_key_fields)
    pool = await db.pool(query_settings)
    try:
        async with pool.acquire() as conn:
            for batch in ([done], [decision], [done, decision], [signal], [signal, done]):
                await trade_chains.record(
                    conn, trades.stages_of(batch, paths), deadlines(query_settings)
                )
            row = await conn.fetchrow(
                "SELECT outcome, symbol, side, decision, signal_at, executed_at, stages"
                " FROM trade_chains WHERE key = $1",
                key,
            )
            stage_count = await conn.fetchval(
                "SELECT count(*) FROM trade_stages WHERE key = $1", key
            )
    finally:
        await db.close()
    assert (row["outcome"], row["symbol"], row["side"], row["decision"]) == (
        "executed",
        "BTC",
        "buy",
        "buy",
    )
    assert row["executed_at"] - row["signal_at"] == timedelta(seconds=2)
    assert stage_count == 3 and len(row["stages"]) == 3


async def test_detail_answer_fits_its_schema(loaded: Trades) -> None:
    operation = openapi.document()["paths"]["/trades/{key}"]["get"]
    for key in loaded.keys.values():
        reply = await call("get_trade", "t", route_params={"key": key}, key="reader")
        assert reply.status == 200
        schema = response_schema(operation, 200)
        OAS31Validator(schema, format_checker=OAS31Validator.FORMAT_CHECKER).validate(reply.json())


async def test_concurrent_batches_of_one_chain_both_count(query_settings: Settings) -> None:
    """Two partitions' batches with stages of one chain, in overlapping transactions: the
    summary holds both, whichever commits last."""
    now = datetime.now(UTC)
    key = f"race-{suffix()}"
    signal = record(GATEWAY, "SIGNAL_RECEIVED", now, signal_id=key, symbol="BTC")
    decision = record(AI, "AI_DECISION", now + timedelta(seconds=1), signal_id=key, action="buy")
    paths = trades.key_paths(query_settings.trade_key_fields)
    limits = deadlines(query_settings)
    pool = await db.pool(query_settings)
    try:
        async with pool.acquire() as first, pool.acquire() as second:
            one = first.transaction()
            await one.start()
            await trade_chains.record(first, trades.stages_of([signal], paths), limits)

            async def other() -> None:
                async with second.transaction():
                    await trade_chains.record(second, trades.stages_of([decision], paths), limits)

            task = asyncio.create_task(other())
            await asyncio.sleep(0.3)
            await one.commit()
            await task
            row = await first.fetchrow(
                "SELECT signal_at, decision_at, decision FROM trade_chains WHERE key = $1", key
            )
    finally:
        await db.close()
    assert row["signal_at"] is not None and row["decision_at"] is not None
    assert row["decision"] == "buy"


async def test_rebuilding_from_stored_records_gives_the_chains_the_analyzer_built(
    loaded: Trades, query_settings: Settings
) -> None:
    columns = (
        "key, trading, started, symbol, side, decision, signal_at, decision_at, executed_at, "
        "blocked_at, failed_at, signal_service, decision_service, execution_service, "
        "last_service, last_record_id, outcome, waiting_for, deadline, services, stages"
    )
    keys = [*loaded.keys.values(), f"lonely-{S}"]
    select = f"SELECT {columns} FROM trade_chains WHERE key = ANY($1::text[]) ORDER BY key"
    pool = await db.pool(query_settings)
    try:
        async with pool.acquire() as conn:
            built = [dict(r) for r in await conn.fetch(select, keys)]
            await conn.execute("DELETE FROM trade_stages WHERE key = ANY($1::text[])", keys)
            await conn.execute("DELETE FROM trade_chains WHERE key = ANY($1::text[])", keys)
            added, chains = await trade_chains.rebuild(
                conn,
                loaded.now - timedelta(minutes=15),
                loaded.now + timedelta(minutes=1),
                trades.key_paths(query_settings.trade_key_fields),
                deadlines(query_settings),
                chunk=3,
            )
            rebuilt = [dict(r) for r in await conn.fetch(select, keys)]
            ours = await conn.fetchval(
                "SELECT count(*) FROM trade_stages WHERE key = ANY($1::text[])", keys
            )
    finally:
        await db.close()
    assert len(built) == len(keys)
    info_records, lonely_error = 1, 1
    expected = sum(len(loaded.of(n)) for n in loaded.keys) - info_records + lonely_error
    assert ours == expected and added >= expected
    assert chains >= len(keys)
    assert rebuilt == built


async def test_retention_forgets_chains_started_before_the_longest_policy(
    query_settings: Settings,
) -> None:
    old, recent = f"old-{suffix()}", f"recent-{suffix()}"
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=400)
    batch = [
        record(GATEWAY, "SIGNAL_RECEIVED", long_ago, signal_id=old),
        record(AI, "AI_DECISION", long_ago + timedelta(seconds=1), signal_id=old, action="hold"),
        record(GATEWAY, "SIGNAL_RECEIVED", now, signal_id=recent),
    ]
    paths = trades.key_paths(query_settings.trade_key_fields)
    pool = await db.pool(query_settings)
    try:
        async with pool.acquire() as conn:
            await trade_chains.record(
                conn, trades.stages_of(batch, paths), deadlines(query_settings)
            )
            removed = await trade_chains.forget_before(
                conn, now - timedelta(days=365), 1, time.monotonic() + 30
            )
            left = await conn.fetch(
                "SELECT key FROM trade_chains WHERE key = ANY($1::text[]) UNION ALL "
                "SELECT key FROM trade_stages WHERE key = ANY($1::text[])",
                [old, recent],
            )
    finally:
        await db.close()
    assert removed >= 3
    assert sorted(r["key"] for r in left) == [recent, recent]
