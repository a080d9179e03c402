"""The dashboard's views for questions about fields, in Chromium against the dev host: a value
in the detail panel filters by it, the field sidebar, the history's range picker, histogram and
brush, the records around one, the metrics chart, and every view restored from its URL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from playwright.async_api import expect

from tests.dashboard.conftest import Dashboard, marker, record, wait_stored

pytestmark = pytest.mark.browser


def url_params(dashboard: Dashboard) -> dict[str, list[str]]:
    return parse_qs(urlsplit(dashboard.page.url).query)


async def wait_url(dashboard: Dashboard, name: str, value: str | None = None) -> list[str]:
    deadline = asyncio.get_running_loop().time() + 5
    while True:
        found = url_params(dashboard).get(name, [])
        if (found and (value is None or value in found)) or (
            asyncio.get_running_loop().time() > deadline
        ):
            return found
        await asyncio.sleep(0.05)


async def reopen(dashboard: Dashboard, url: str) -> None:
    """Open a copied URL in a fresh tab state (the key is kept for the session)."""
    await dashboard.page.goto("about:blank")
    await dashboard.page.goto(url)
    await dashboard.wait_live()


async def posted(dashboard: Dashboard, word: str, records: list[dict[str, Any]]) -> list[str]:
    ids = await dashboard.post(records)
    await wait_stored(dashboard.base_url, word, len(records))
    return ids


async def test_a_value_in_the_detail_filters_history_and_the_url_restores_it(
    dashboard: Dashboard,
) -> None:
    word = marker()
    service = f"svc-{word}"
    eth, eth2, btc = await posted(
        dashboard,
        word,
        [
            record(message=f"fill {word}", service=service, extra_data={"symbol": "ETHUSDT"}),
            record(message=f"fill {word}", service=service, extra_data={"symbol": "ETHUSDT"}),
            record(message=f"fill {word}", service=service, extra_data={"symbol": "BTCUSDT"}),
        ],
    )
    await dashboard.open(query=f"?view=history&q={word}")
    await expect(dashboard.row(btc, "history-table")).to_be_visible(timeout=5_000)
    await dashboard.row(eth, "history-table").click()
    await dashboard.page.locator("[data-testid=detail-where][data-path=symbol]").click()
    await expect(dashboard.page.get_by_test_id("where-chip")).to_have_attribute(
        "data-where", "symbol=ETHUSDT"
    )
    assert sorted(await dashboard.settled_ids([eth, eth2], "history-table")) == sorted([eth, eth2])
    assert await wait_url(dashboard, "where", "symbol=ETHUSDT") == ["symbol=ETHUSDT"]

    await reopen(dashboard, dashboard.page.url)
    await expect(dashboard.row(eth2, "history-table")).to_be_visible(timeout=5_000)
    assert sorted(await dashboard.settled_ids([eth, eth2], "history-table")) == sorted([eth, eth2])
    await expect(dashboard.page.get_by_test_id("tab-history")).to_have_attribute(
        "aria-selected", "true"
    )

    await dashboard.row(eth, "history-table").click()
    await dashboard.page.get_by_test_id("detail-filter-service").click()
    await expect(
        dashboard.page.locator(f"[data-testid=filter-services] [data-service='{service}']")
    ).to_have_attribute("aria-pressed", "true")
    assert await wait_url(dashboard, "service", service) == [service]
    assert dashboard.problems == []


async def test_the_field_sidebar_lists_paths_and_filters_by_a_value(dashboard: Dashboard) -> None:
    word = marker()
    ids = await posted(
        dashboard,
        word,
        [
            record(message=f"order {word}", extra_data={"side": "buy", "fill": {"qty": 2}}),
            record(message=f"order {word}", extra_data={"side": "buy", "fill": {"qty": 5}}),
            record(message=f"order {word}", extra_data={"side": "sell", "fill": {"qty": 5}}),
        ],
    )
    await dashboard.open(query=f"?view=history&q={word}")
    sidebar = dashboard.page.get_by_test_id("fields")
    side = sidebar.locator("details[data-path=side]")
    await expect(side).to_contain_text("string · 3", timeout=5_000)
    await expect(sidebar.locator("details[data-path='fill.qty']")).to_contain_text("number · 3")
    await side.locator("summary").click()
    await side.locator("[data-testid=field-value][data-value=sell]").click()
    assert await dashboard.settled_ids([ids[2]], "history-table") == [ids[2]]
    assert await wait_url(dashboard, "where", "side=sell") == ["side=sell"]
    assert dashboard.problems == []


async def test_range_presets_absolute_range_histogram_and_brush(dashboard: Dashboard) -> None:
    word = marker()
    now = datetime.now(UTC)
    times = [now - timedelta(minutes=m) for m in (2, 3, 40)]
    ids = await posted(
        dashboard,
        word,
        [record(message=f"tick {word}", timestamp=t.isoformat()) for t in times],
    )
    await dashboard.open(query=f"?view=history&q={word}&start=1h")
    histogram = dashboard.page.get_by_test_id("histogram")
    await expect(histogram).to_have_attribute("data-total", "3", timeout=5_000)
    await expect(histogram).to_have_attribute("data-interval", "1m")

    await dashboard.page.locator("[data-testid=range] [data-preset='15m']").click()
    await expect(histogram).to_have_attribute("data-total", "2", timeout=5_000)
    assert sorted(await dashboard.settled_ids(ids[:2], "history-table")) == sorted(ids[:2])
    assert await wait_url(dashboard, "start", "15m") == ["15m"]

    start = (now - timedelta(minutes=45)).strftime("%Y-%m-%dT%H:%M:%SZ")
    end = (now - timedelta(minutes=30)).strftime("%Y-%m-%dT%H:%M:%SZ")
    await dashboard.page.get_by_test_id("range-start").fill(start)
    await dashboard.page.get_by_test_id("range-end").fill(end)
    await dashboard.page.get_by_test_id("range-apply").click()
    await expect(histogram).to_have_attribute("data-total", "1", timeout=5_000)
    assert await dashboard.settled_ids([ids[2]], "history-table") == [ids[2]]
    assert await wait_url(dashboard, "end", end) == [end]

    await dashboard.page.locator("[data-testid=range] [data-preset='1h']").click()
    await expect(histogram).to_have_attribute("data-total", "3", timeout=5_000)
    box = await dashboard.page.get_by_test_id("histogram-svg").bounding_box()
    assert box is not None
    y = box["y"] + box["height"] / 2
    # drag over the last quarter of the hour: the two recent records, not the older one
    await dashboard.page.mouse.move(box["x"] + box["width"] * 0.75, y)
    await dashboard.page.mouse.down()
    await dashboard.page.mouse.move(box["x"] + box["width"] * 0.9, y, steps=5)
    await dashboard.page.mouse.move(box["x"] + box["width"] - 1, y, steps=5)
    await dashboard.page.mouse.up()
    await expect(histogram).to_have_attribute("data-total", "2", timeout=5_000)
    [zoomed] = await wait_url(dashboard, "start")
    assert zoomed.endswith("Z") and datetime.fromisoformat(zoomed) > now - timedelta(minutes=20)
    assert sorted(await dashboard.settled_ids(ids[:2], "history-table")) == sorted(ids[:2])
    assert dashboard.problems == []


async def test_records_around_one_are_its_service_within_n_seconds(dashboard: Dashboard) -> None:
    word = marker()
    service = f"near-{word}"
    center = datetime.now(UTC) - timedelta(minutes=10)
    offsets = (-30, 0, 20, 200)
    ids = await posted(
        dashboard,
        word,
        [
            *(
                record(
                    message=f"step {s} {word}",
                    service=service,
                    timestamp=(center + timedelta(seconds=s)).isoformat(),
                )
                for s in offsets
            ),
            record(message=f"other {word}", service="api-gateway", timestamp=center.isoformat()),
        ],
    )
    await dashboard.open(query=f"?view=history&q={word}")
    await dashboard.row(ids[1], "history-table").click()
    await dashboard.page.get_by_test_id("detail-around").click()
    around = dashboard.page.get_by_test_id("around-view")
    await expect(around).to_be_visible()
    table = "around-table"
    await expect(dashboard.row(ids[2], table)).to_be_visible(timeout=5_000)
    assert await dashboard.settled_ids(ids[:3], table) == ids[:3]  # oldest first, one service
    assert await wait_url(dashboard, "around", ids[1]) == [ids[1]]
    await dashboard.page.get_by_test_id("around-seconds").select_option("300")
    assert await dashboard.settled_ids(ids[:4], table) == ids[:4]

    await reopen(dashboard, dashboard.page.url)
    await expect(dashboard.row(ids[3], table)).to_be_visible(timeout=5_000)
    assert dashboard.problems == []


async def test_metrics_chart_fn_of_a_field_by_group_saved_in_the_url(dashboard: Dashboard) -> None:
    word = marker()
    a, b = f"ma-{word}", f"mb-{word}"
    values = {a: [100, 300, 200], b: [50, 70]}
    await posted(
        dashboard,
        word,
        [
            record(message=f"call {word}", service=s, extra_data={"response_time": v})
            for s, vs in values.items()
            for v in vs
        ],
    )
    query = f"?view=history&q={word}&metrics=1&fn=max&field=response_time&by=service&start=1h"
    await dashboard.open(query=query)
    legend = dashboard.page.get_by_test_id("metrics-legend")
    await expect(legend.locator(f"[data-group='{a}']")).to_have_attribute(
        "data-last", "300", timeout=5_000
    )
    await expect(legend.locator(f"[data-group='{b}']")).to_have_attribute("data-last", "70")
    lines = dashboard.page.get_by_test_id("metrics-chart").locator("polyline")
    await expect(lines).to_have_count(2)

    await dashboard.page.get_by_test_id("metrics-fn").select_option("min")
    await expect(legend.locator(f"[data-group='{a}']")).to_have_attribute(
        "data-last", "100", timeout=5_000
    )
    assert await wait_url(dashboard, "fn", "min") == ["min"]

    await dashboard.page.get_by_test_id("metrics-close").click()
    await expect(dashboard.page.get_by_test_id("metrics")).to_have_count(0)
    deadline = asyncio.get_running_loop().time() + 5
    while "metrics" in url_params(dashboard) and asyncio.get_running_loop().time() < deadline:
        await asyncio.sleep(0.05)
    assert "metrics" not in url_params(dashboard)
    assert dashboard.problems == []
