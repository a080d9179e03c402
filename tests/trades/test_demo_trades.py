"""The demo fleet's trades, built into chains on real PostgreSQL: every status shows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from devhost.demo import sample
from shared import db, trade_api, trade_chains, trades
from shared.access import Caller, Role
from shared.settings import Settings
from shared.trade_alerts import deadlines

SECONDS = 240.0
START = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
async def settings(database_url: str) -> AsyncIterator[Settings]:
    yield replace(Settings(), database_url=database_url)
    await db.close()


async def test_demo_trades_show_every_status(settings: Settings) -> None:
    records = sample(SECONDS, rate=8.0, seed=11)
    for i, record in enumerate(records):
        record["id"] = f"demo-trade-{i}"
    stages = trades.stages_of(records, trades.key_paths(settings.trade_key_fields))
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        await trade_chains.record(conn, stages, deadlines(settings))
    end = START + timedelta(seconds=SECONDS)
    query = trade_api.TradesQuery(start=START, end=end, limit=trade_api.MAX_LIMIT)
    page = await trade_api.list_trades(settings, query, Caller("t", Role.ADMIN), now=end)
    statuses = {item["status"] for item in page["items"]}
    assert statuses == set(trades.STATUSES)
    items = page["items"]
    executed = [i for i in items if i["status"] == "executed" and i["key"].startswith("sig")]
    assert executed and all(i["latency_ms"]["signal_to_execution"] > 0 for i in executed)
