"""The live tail under stress: a dropped connection reconnects and fills the gap from
history, and 1,000 records a second keep the page responsive with a bounded DOM."""

from __future__ import annotations

import asyncio
import time

import pytest
from playwright.async_api import WebSocketRoute, expect

from tests.dashboard.conftest import Dashboard, marker, record

pytestmark = pytest.mark.browser


async def test_a_dropped_connection_reconnects_and_fills_the_gap(dashboard: Dashboard) -> None:
    sockets: list[WebSocketRoute] = []
    outage = asyncio.Event()

    async def route(ws: WebSocketRoute) -> None:
        if outage.is_set():
            await ws.close(code=1011, reason="network outage")
            return
        ws.connect_to_server()
        sockets.append(ws)

    await dashboard.page.route_web_socket(lambda url: True, route)
    await dashboard.open()
    word = marker()
    await dashboard.filter_text(word)
    [before] = await dashboard.post([record(message=f"before {word}")])
    await expect(dashboard.row(before)).to_be_visible(timeout=5_000)

    outage.set()
    for ws in sockets:
        await ws.close(code=1006, reason="dropped")
    connection = dashboard.page.get_by_test_id("connection")
    await expect(connection).to_have_attribute("data-state", "waiting")
    await expect(connection).to_contain_text("retry in")
    during = await dashboard.post([record(message=f"during {word} {i}") for i in range(3)])
    await asyncio.sleep(1.5)
    for record_id in during:
        await expect(dashboard.row(record_id)).to_have_count(0)

    outage.clear()
    await dashboard.wait_live(timeout=20_000)
    for record_id in during:
        await expect(dashboard.row(record_id)).to_be_visible(timeout=5_000)
    await expect(dashboard.page.get_by_test_id("notice")).to_contain_text("filled from history")
    assert len(await dashboard.shown_ids()) == 4, "the overlap is deduplicated"
    [after] = await dashboard.post([record(message=f"after {word}")])
    await expect(dashboard.row(after)).to_be_visible(timeout=5_000)


async def test_a_thousand_records_a_second_keep_the_page_responsive(dashboard: Dashboard) -> None:
    tail_limit = 300
    await dashboard.open(query=f"?tail={tail_limit}")
    await dashboard.page.evaluate(
        """() => {
        window.__rendered = new Set();
        addEventListener("dashboard:rendered", (e) => e.detail.forEach((id) => __rendered.add(id)));
    }"""
    )
    word = marker()
    rate, seconds, per_request = 1000, 6, 100
    stop = asyncio.Event()
    ids: list[str] = []

    async def flood() -> int:
        sent = 0
        started = time.monotonic()
        while sent < rate * seconds and not stop.is_set():
            batch = [
                record(message=f"tick {word} {sent + i}", level="INFO" if i % 7 else "ERROR")
                for i in range(per_request)
            ]
            ids.extend(await dashboard.post(batch))
            sent += per_request
            ahead = sent / rate - (time.monotonic() - started)
            if ahead > 0:
                await asyncio.sleep(ahead)
        return sent

    poster = asyncio.create_task(flood())
    try:
        largest_dom = 0
        await asyncio.sleep(2)
        pause = dashboard.page.get_by_test_id("pause")
        await pause.click()
        await expect(pause).to_contain_text("Resume", timeout=5_000)
        await pause.click()
        await expect(pause).to_have_text("Pause", timeout=5_000)
        while not poster.done():
            largest_dom = max(largest_dom, await dashboard.rows().count())
            await asyncio.sleep(0.5)
        sent = await poster
    finally:
        stop.set()
        await asyncio.gather(poster, return_exceptions=True)
    assert sent == rate * seconds
    table = dashboard.page.get_by_test_id("live-table")
    await expect(table).to_have_attribute("data-total", str(tail_limit), timeout=10_000)
    newest = f"tick {word} {sent - 1}"
    await expect(dashboard.rows().first).to_contain_text(newest, timeout=10_000)
    assert 0 < largest_dom < 100, "only the rows in view are in the DOM"
    trimmed = dashboard.page.get_by_test_id("trimmed")
    assert int(await trimmed.get_attribute("data-trimmed") or 0) >= sent - tail_limit
    rendered = await dashboard.page.evaluate("[...window.__rendered]")
    assert ids[-1] in rendered
    assert dashboard.problems == []
