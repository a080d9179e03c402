"""The picture in the docs: the dashboard on a dev host playing the demo fleet, with the last
quarter of an hour of demo history behind it, and one failed order open in the detail panel.
Writes docs/dashboard.png."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser, expect

from tests.conftest import DevHostProcess
from tests.dashboard.conftest import ADMIN_KEY, VIEWPORT, Dashboard, post_logs

pytestmark = [pytest.mark.browser, pytest.mark.slow]

SCREENSHOT = Path(__file__).resolve().parents[2] / "docs" / "dashboard.png"
HISTORY = timedelta(minutes=15)


def recent_history() -> list[dict[str, Any]]:
    """The demo fleet's first quarter hour, moved to end now."""
    from devhost.demo import sample

    records = sample(seconds=HISTORY.total_seconds(), rate=3)
    first = datetime.fromisoformat(records[0]["timestamp"])
    shift = datetime.now(UTC) - HISTORY - first
    for r in records:
        r["timestamp"] = (datetime.fromisoformat(r["timestamp"]) + shift).isoformat()
    return records


async def test_screenshot_of_the_dashboard_with_demo_traffic(
    browser: Browser, demo_host: DevHostProcess
) -> None:
    history = recent_history()
    for i in range(0, len(history), 1000):
        await post_logs(demo_host.base_url, history[i : i + 1000])
    context = await browser.new_context(viewport=VIEWPORT, device_scale_factor=1)
    try:
        tab = Dashboard(await context.new_page(), demo_host.base_url)
        await tab.open(ADMIN_KEY)
        await expect(tab.page.get_by_test_id("live-table")).to_have_attribute(
            "data-total", "500", timeout=20_000
        )
        failed = tab.page.locator("[data-testid=live-table] tr.lv-error").first
        await failed.click()
        await expect(tab.page.get_by_test_id("detail")).to_be_visible()
        chart_bars = tab.page.locator("[data-testid=volume-chart] rect[class^='b-']")
        await expect(chart_bars.nth(20)).to_be_attached(timeout=10_000)
        await tab.page.wait_for_timeout(3_000)
        SCREENSHOT.parent.mkdir(exist_ok=True)
        await tab.page.screenshot(path=str(SCREENSHOT))
    finally:
        await context.close()
    assert SCREENSHOT.stat().st_size > 50_000
