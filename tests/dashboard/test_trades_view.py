"""The Trades view in Chromium against a dev host: chains listed with status chips and
latencies, one chain's timeline across services, linked to its records and the request view."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta

import aiohttp
from playwright.async_api import expect

from tests.dashboard.conftest import READER_KEY, Dashboard, marker, record


async def wait_trade(base_url: str, key: str, status: str, timeout: float = 20) -> None:
    """Wait until the analyzer has built the chain with this status."""
    deadline = asyncio.get_running_loop().time() + timeout
    body: object = None
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {READER_KEY}"}) as http:
        while True:
            async with http.get(f"{base_url}/api/trades/{key}") as response:
                body = await response.json()
                if response.status == 200 and body["status"] == status:
                    return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"trade {key} never reached {status}: {body}")
            await asyncio.sleep(0.25)


async def test_trades_view_lists_chains_and_shows_a_timeline(dashboard: Dashboard) -> None:
    word = marker()
    executed, blocked = f"sig-{word}-x", f"sig-{word}-b"
    t0 = datetime.now(UTC) - timedelta(seconds=5)

    def at(seconds: float) -> str:
        return (t0 + timedelta(seconds=seconds)).isoformat()

    steps = [
        ("api-gateway", "SIGNAL_RECEIVED", 0.0, executed, {"side": "buy"}),
        ("ai-processor", "AI_DECISION", 1.5, executed, {"decision": "buy"}),
        ("exchange-connector", "TRADE_EXECUTED", 2.0, executed, {}),
        ("api-gateway", "SIGNAL_RECEIVED", 0.5, blocked, {}),
        ("ai-processor", "AI_DECISION", 1.0, blocked, {"decision": "sell"}),
        ("portfolio-manager", "RISK_ALERT", 1.2, blocked, {}),
    ]
    ids = await dashboard.post(
        [
            record(
                service=service,
                level=level,
                timestamp=at(offset),
                message=f"{level} {word}",
                request_id=f"req-{key}",
                extra_data={"signal_id": key, "symbol": "ETHUSDT", **extra},
            )
            for service, level, offset, key, extra in steps
        ]
    )
    await wait_trade(dashboard.base_url, executed, "executed")
    await wait_trade(dashboard.base_url, blocked, "blocked")

    async with (
        aiohttp.ClientSession(headers={"Authorization": f"Bearer {READER_KEY}"}) as http,
        http.get(
            f"{dashboard.base_url}/api/trades/stats",
            params={"start": (t0 - timedelta(minutes=1)).isoformat(), "symbol": "ETHUSDT"},
        ) as response,
    ):
        assert response.status == 200, await response.text()
        stages = {(i["stage"], i["service"]) for i in (await response.json())["items"]}
    assert ("decision_to_execution", "exchange-connector") in stages

    await dashboard.open(READER_KEY)
    await dashboard.page.get_by_test_id("tab-trades").click()
    table = dashboard.page.get_by_test_id("trades-table")
    row = table.locator(f"tr[data-key='{executed}']")
    await expect(row).to_be_visible(timeout=10_000)
    await expect(row.get_by_test_id("status-chip")).to_have_text("executed")
    await expect(row.locator("td[data-stage=signal_to_decision]")).to_have_text("1.50 s")
    await expect(row.locator("td[data-stage=decision_to_execution]")).to_have_text("500 ms")
    other = table.locator(f"tr[data-key='{blocked}']")
    await expect(other.get_by_test_id("status-chip")).to_have_text("blocked")

    await dashboard.page.get_by_test_id("trades-status").select_option("blocked")
    await expect(table.locator(f"tr[data-key='{executed}']")).to_have_count(0)
    await expect(other).to_be_visible()
    await dashboard.page.get_by_test_id("trades-status").select_option("")
    await expect(row).to_be_visible()

    await row.click()
    timeline = dashboard.page.get_by_test_id("trade-timeline")
    await expect(timeline).to_have_attribute("data-key", executed)

    # the view's state is in the URL: a reload (or a shared link) shows the same trade
    await dashboard.page.get_by_test_id("trades-status").select_option("executed")
    await expect(dashboard.page).to_have_url(re.compile(rf"view=trades.*trade_status=executed"))
    assert f"trade={executed}" in dashboard.page.url
    await dashboard.page.reload()
    await expect(dashboard.page.get_by_test_id("tab-trades")).to_have_attribute(
        "aria-selected", "true", timeout=15_000
    )
    await expect(dashboard.page.get_by_test_id("trades-status")).to_have_value("executed")
    await expect(timeline).to_have_attribute("data-key", executed, timeout=10_000)
    await dashboard.page.get_by_test_id("trades-status").select_option("")
    await expect(row).to_be_visible()
    lanes = timeline.get_by_test_id("timeline-lane")
    await expect(lanes).to_have_count(3)
    assert await lanes.evaluate_all("ls => ls.map(l => l.dataset.service)") == [
        "api-gateway",
        "ai-processor",
        "exchange-connector",
    ]
    records = timeline.get_by_test_id("chain-record")
    assert await records.evaluate_all("rs => rs.map(r => r.dataset.id)") == ids[:3]

    await timeline.locator(f"[data-testid=timeline-point][data-id='{ids[2]}']").click()
    detail = dashboard.page.get_by_test_id("detail")
    await expect(detail).to_be_visible()
    await expect(dashboard.page.get_by_test_id("detail-message")).to_have_text(
        f"TRADE_EXECUTED {word}"
    )

    await timeline.get_by_test_id("chain-request").first.click()
    view = dashboard.page.get_by_test_id("request-view")
    await expect(view).to_be_visible()
    await expect(dashboard.rows("request-table")).to_have_count(3)
    assert not dashboard.problems, dashboard.problems
