"""The reports page in Chromium on a dev host playing the demo fleet: the hour so far with its
figures, past hours, changes, the JSON one click away, the view's state in the URL, and a top
error's link to its records."""

from __future__ import annotations

import re
import uuid

import httpx
import pytest
from playwright.async_api import Browser, expect

from tests.conftest import DevHostProcess
from tests.dashboard.conftest import ADMIN_KEY, VIEWPORT, Dashboard, post_logs, record, wait_stored

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def figure_value(tab: Dashboard, name: str) -> object:
    return tab.page.get_by_test_id(f"figure-{name}").get_by_test_id("figure-value")


def as_int(text: str) -> int:
    return int(text.replace(",", ""))


async def test_the_report_page_shows_the_hour_so_far_under_demo_traffic(
    browser: Browser, demo_host: DevHostProcess
) -> None:
    word = f"rpt{uuid.uuid4().hex[:10]}"
    trades = [
        record(level="TRADE_EXECUTED", message=f"filled {word}", extra_data={"symbol": "SOLUSDT"})
        for _ in range(3)
    ]
    failure = record(level="ERROR", service="exchange-connector", message=f"order failed {word}")
    await post_logs(demo_host.base_url, [*trades, failure])
    await wait_stored(demo_host.base_url, word, 4)
    headers = {"Authorization": f"Bearer {ADMIN_KEY}"}
    async with httpx.AsyncClient(base_url=demo_host.base_url, headers=headers) as client:
        before = (await client.get("/api/reports/current")).json()

    context = await browser.new_context(viewport=VIEWPORT)
    try:
        tab = Dashboard(await context.new_page(), demo_host.base_url)
        await tab.open(ADMIN_KEY, "?view=reports")
        await expect(tab.page.get_by_test_id("reports-view")).to_be_visible()
        await expect(tab.page.get_by_test_id("report-partial")).to_be_visible(timeout=10_000)
        total = await figure_value(tab, "total").inner_text()
        assert as_int(total) >= before["total"] > 0
        assert as_int(await figure_value(tab, "trades_executed").inner_text()) >= 3
        await expect(tab.page.get_by_test_id("report-trades")).to_contain_text("SOLUSDT")
        await expect(tab.page.get_by_test_id("report-volume")).to_contain_text("exchange-connector")

        await tab.page.get_by_test_id("report-json-toggle").click()
        await expect(tab.page.get_by_test_id("report-json")).to_contain_text('"partial": true')

        # a past hour (the report timer writes the previous hour at start): selected, in the URL
        past = tab.page.locator("[data-testid^='report-item-2']").first
        await expect(past).to_be_visible(timeout=10_000)
        hour = (await past.get_attribute("data-testid") or "").removeprefix("report-item-")
        await past.click()
        await expect(tab.page).to_have_url(re.compile(r"view=reports&hour="))
        await expect(tab.page.get_by_test_id("report-partial")).to_have_count(0)
        await tab.page.reload()
        await expect(tab.page.get_by_test_id(f"report-item-{hour}")).to_have_attribute(
            "aria-current", "true", timeout=10_000
        )

        # back to the hour so far; a top error leads to its records in history
        await tab.page.get_by_test_id("report-item-current").click()
        link = tab.page.get_by_test_id("report-error-link").filter(has_text=word)
        await expect(link).to_be_visible(timeout=20_000)
        await link.click()
        await expect(tab.page.get_by_test_id("reports-view")).to_have_count(0)
        await expect(tab.page.get_by_test_id("tab-history")).to_have_attribute(
            "aria-selected", "true"
        )
        await expect(tab.page.locator("[data-testid=history-table]")).to_contain_text(word)
        assert "view=reports" not in tab.page.url
        assert tab.problems == []
    finally:
        await context.close()


async def test_the_side_panel_shows_the_hour_so_far_with_trade_cards(
    browser: Browser, demo_host: DevHostProcess
) -> None:
    context = await browser.new_context(viewport=VIEWPORT)
    try:
        tab = Dashboard(await context.new_page(), demo_host.base_url)
        await tab.open(ADMIN_KEY)
        panel = tab.page.get_by_test_id("report")
        await expect(panel).to_contain_text("This hour so far")
        await expect(tab.page.get_by_test_id("panel-figure-total")).not_to_have_text("\u2013")
        await expect(tab.page.get_by_test_id("card-trades")).to_be_visible()
        await expect(tab.page.get_by_test_id("card-risk")).to_be_visible()
        await tab.page.get_by_test_id("open-reports").click()
        await expect(tab.page).to_have_url(re.compile(r"view=reports"))
        await expect(tab.page.get_by_test_id("report-article")).to_be_visible()
    finally:
        await context.close()
