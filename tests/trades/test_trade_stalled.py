"""The trade_stalled rule with its deadlines set short: the real analyzer and alert maintenance
on real PostgreSQL alert on a chain that misses a stage, and resolve when the stage comes late."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from shared import analysis, db, notify
from shared.settings import Settings
from tests.trades.conftest import feed, record, suffix


@pytest.fixture
async def short(database_url: str) -> AsyncIterator[Settings]:
    settings = replace(
        Settings(),
        database_url=database_url,
        trade_decision_seconds=1.0,
        trade_execution_seconds=2.0,
    )
    analysis._analyzer = None
    yield settings
    analysis._analyzer = None
    await notify.close()
    await db.close()


def stalled_alerts(outcome: analysis.Outcome, service: str) -> list[dict]:
    return [
        c.alert
        for c in outcome.changes
        if c.alert["rule"] == "trade_stalled" and c.alert["service"] == service
    ]


async def test_alerts_with_key_symbol_and_missing_stage_then_resolves_when_it_arrives(
    short: Settings,
) -> None:
    s = suffix()
    gateway, ai = f"st-gateway-{s}", f"st-ai-{s}"
    key = f"sig-{s}"
    t0 = datetime.now(UTC)
    await feed(short, [record(gateway, "SIGNAL_RECEIVED", t0, signal_id=key, symbol="BTCUSDT")])

    early = await analysis.maintain(short, now=t0 + timedelta(seconds=0.5))
    assert stalled_alerts(early, gateway) == []

    late = await analysis.maintain(short, now=t0 + timedelta(seconds=1.5))
    [alert] = stalled_alerts(late, gateway)
    assert alert["status"] == "active" and alert["count"] == 1
    for part in (key, "BTCUSDT", "no decision within 1 s of its signal"):
        assert part in alert["description"]
    again = await analysis.maintain(short, now=t0 + timedelta(seconds=1.8))
    assert stalled_alerts(again, gateway) == []

    decided = datetime.now(UTC)
    decision = record(ai, "AI_DECISION", decided, signal_id=key, decision="buy")
    outcome = await analysis.analyze(
        [analysis.Delivery(body=_json(decision), partition=f"p-{ai}")], short
    )
    resolved = [a for a in outcome.resolved if a["rule"] == "trade_stalled"]
    assert [(a["service"], a["status"]) for a in resolved] == [(gateway, "resolved")]

    stuck = await analysis.maintain(short, now=decided + timedelta(seconds=2.5))
    [execution_alert] = stalled_alerts(stuck, ai)
    assert "no execution within 2 s of its buy or sell decision" in execution_alert["description"]

    executed = record(f"st-exchange-{s}", "TRADE_EXECUTED", datetime.now(UTC), signal_id=key)
    outcome = await analysis.analyze(
        [analysis.Delivery(body=_json(executed), partition="p-exchange")], short
    )
    assert [a["service"] for a in outcome.resolved if a["rule"] == "trade_stalled"] == [ai]


async def test_one_alert_per_service_resolves_only_when_every_chain_moved_on(
    short: Settings,
) -> None:
    s = suffix()
    gateway = f"st2-gateway-{s}"
    t0 = datetime.now(UTC)
    keys = [f"a-{s}", f"b-{s}"]
    await feed(short, [record(gateway, "SIGNAL_RECEIVED", t0, signal_id=k) for k in keys])
    [alert] = stalled_alerts(await analysis.maintain(short, now=t0 + timedelta(seconds=5)), gateway)
    assert alert["count"] == 2 and "1 more stalled" in alert["description"]

    held = record(f"st2-ai-{s}", "AI_DECISION", datetime.now(UTC), signal_id=keys[0], action="hold")
    first = await analysis.analyze([analysis.Delivery(_json(held), "p-ai")], short)
    assert [a for a in first.resolved if a["rule"] == "trade_stalled"] == []

    blocked = record(f"st2-risk-{s}", "RISK_ALERT", datetime.now(UTC), signal_id=keys[1])
    second = await analysis.analyze([analysis.Delivery(_json(blocked), "p-risk")], short)
    assert [a["service"] for a in second.resolved if a["rule"] == "trade_stalled"] == [gateway]


async def test_rule_can_be_disabled(short: Settings) -> None:
    s = suffix()
    settings = replace(short, alert_rules_json='{"rules": [], "disable": ["trade_stalled"]}')
    analysis._analyzer = None
    t0 = datetime.now(UTC)
    gateway = f"st3-gateway-{s}"
    await feed(settings, [record(gateway, "SIGNAL_RECEIVED", t0, signal_id=f"c-{s}")])
    outcome = await analysis.maintain(settings, now=t0 + timedelta(seconds=5))
    assert stalled_alerts(outcome, gateway) == []


def _json(value: dict) -> bytes:
    import orjson

    return orjson.dumps(value)
