"""The dashboard in a real browser against the dev host: live tail, filters, detail, request
view, hostile records, export, reader view and sign-in."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import aiohttp
import pytest
from playwright.async_api import WebSocket, expect

from tests.dashboard.conftest import (
    ADMIN_KEY,
    INGEST_KEY,
    READER_KEY,
    Dashboard,
    marker,
    record,
    wait_stored,
)

pytestmark = pytest.mark.browser


async def test_page_loads_live_with_no_console_errors(dashboard: Dashboard) -> None:
    requests: list[str] = []
    dashboard.page.on("request", lambda r: requests.append(r.url))
    response = await dashboard.page.goto(f"{dashboard.base_url}/api/dashboard")
    assert response is not None and response.status == 200
    csp = response.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp
    await dashboard.page.fill("#api-key", ADMIN_KEY)
    await dashboard.page.click("form[data-testid=signin] button[type=submit]")
    await dashboard.wait_live()
    await expect(dashboard.page.get_by_test_id("volume-chart")).to_be_visible()
    await expect(dashboard.page.get_by_test_id("card-total")).to_be_visible()
    await dashboard.page.wait_for_timeout(500)
    assert dashboard.problems == []
    foreign = [u for u in requests if not u.startswith((dashboard.base_url, "ws://127.0.0.1"))]
    assert foreign == [], "every asset and call must be served by the app itself"


async def test_a_posted_record_appears_in_the_live_tail(dashboard: Dashboard) -> None:
    await dashboard.open()
    word = marker()
    [record_id] = await dashboard.post([record(message=f"order placed {word}")])
    row = dashboard.row(record_id)
    await expect(row).to_be_visible(timeout=5_000)
    await expect(row).to_contain_text(word)
    assert dashboard.problems == []


async def test_filters_narrow_the_live_tail_and_history(dashboard: Dashboard) -> None:
    await dashboard.open()
    word = marker()
    await dashboard.filter_text(word)
    info_id, error_id, other_id = await dashboard.post(
        [
            record(message=f"quote {word}", service="api-gateway"),
            record(message=f"rejected {word}", service="trading-engine", level="ERROR"),
            record(message=f"unrelated {marker()}", service="trading-engine"),
        ]
    )
    await expect(dashboard.row(info_id)).to_be_visible(timeout=5_000)
    await expect(dashboard.row(error_id)).to_be_visible()
    assert sorted(await dashboard.settled_ids([info_id, error_id])) == sorted([info_id, error_id])

    await dashboard.page.get_by_test_id("filter-min-level").select_option("ERROR")
    await expect(dashboard.row(info_id)).to_have_count(0)
    await expect(dashboard.row(error_id)).to_be_visible()

    await dashboard.page.get_by_test_id("filter-min-level").select_option("")
    await dashboard.page.locator(
        "[data-testid=filter-services] [data-service='api-gateway']"
    ).click()
    await expect(dashboard.row(error_id)).to_have_count(0)
    await expect(dashboard.row(info_id)).to_be_visible()
    later_error, later_info = await dashboard.post(
        [
            record(message=f"later {word}", service="trading-engine", level="ERROR"),
            record(message=f"later {word}", service="api-gateway"),
        ]
    )
    await expect(dashboard.row(later_info)).to_be_visible(timeout=5_000)
    assert later_error not in await dashboard.shown_ids()

    await dashboard.page.get_by_test_id("tab-history").click()
    await expect(dashboard.row(later_info, "history-table")).to_be_visible(timeout=5_000)
    assert sorted(await dashboard.shown_ids("history-table")) == sorted([info_id, later_info])
    assert other_id not in await dashboard.shown_ids("history-table")


async def test_the_detail_panel_shows_extra_data_and_stack_trace(dashboard: Dashboard) -> None:
    await dashboard.open(ADMIN_KEY)
    word = marker()
    stack = 'Traceback (most recent call last):\n  File "engine.py", line 42, in place\nKeyError'
    [record_id] = await dashboard.post(
        [
            record(
                message=f"order failed {word}",
                level="ERROR",
                service="trading-engine",
                extra_data={"symbol": "BTCUSDT", "qty": 0.25, "nested": {"venue": "binance"}},
                exception_type="KeyError",
                exception_message="'price'",
                stack_trace=stack,
                request_id=f"req-{word}",
            )
        ]
    )
    await dashboard.row(record_id).click()
    detail = dashboard.page.get_by_test_id("detail")
    await expect(detail).to_be_visible()
    extra = await dashboard.page.get_by_test_id("detail-extra").inner_text()
    assert json.loads(extra) == {"symbol": "BTCUSDT", "qty": 0.25, "nested": {"venue": "binance"}}
    assert "\n  " in extra, "extra data is shown as indented JSON"
    assert await dashboard.page.get_by_test_id("detail-stack").inner_text() == stack
    await expect(detail).to_contain_text(f"req-{word}")
    await expect(detail).to_contain_text(record_id)


async def test_a_request_id_opens_its_records_across_services(dashboard: Dashboard) -> None:
    await dashboard.open()
    request_id = f"req-{marker()}"
    services = ["api-gateway", "trading-engine", "exchange-connector"]
    ids = await dashboard.post(
        [
            record(service=s, message=f"step {i}", request_id=request_id)
            for i, s in enumerate(services)
        ]
    )
    await dashboard.post([record(service="ai-processor", message="other", request_id="req-other")])
    await expect(dashboard.row(ids[0])).to_be_visible(timeout=5_000)
    await dashboard.row(ids[0]).get_by_test_id("request-link").click()
    view = dashboard.page.get_by_test_id("request-view")
    await expect(view).to_be_visible()
    await expect(dashboard.rows("request-table")).to_have_count(3)
    assert sorted(await dashboard.shown_ids("request-table")) == sorted(ids)
    shown_services = await dashboard.rows("request-table").locator("td.service").all_inner_texts()
    assert sorted(shown_services) == sorted(services)


async def test_a_trace_id_in_the_detail_opens_the_records_of_that_trace(
    dashboard: Dashboard,
) -> None:
    """Records posted the way OpenTelemetry-aware loggers send them (`traceId`, `span.id`)
    carry their ids into the detail panel, in the field table's order, and the trace id opens
    every record of the trace."""
    await dashboard.open(ADMIN_KEY)
    trace = marker().ljust(32, "0")[:32]
    services = ["api-gateway", "trading-engine"]
    ids = await dashboard.post(
        [
            {**record(service=s, message=f"hop {i}"), "traceId": trace, "span.id": f"{i:016x}"}
            for i, s in enumerate(services)
        ]
    )
    await dashboard.post([record(message="unrelated")])
    await dashboard.row(ids[1]).click()
    detail = dashboard.page.get_by_test_id("detail")
    await expect(detail).to_contain_text(f"{1:016x}")
    names = await detail.locator("dt").all_inner_texts()
    assert names.index("span_id") > names.index("trace_id") > names.index("service")
    assert "message" not in names and "extra_data" not in names
    await dashboard.page.get_by_test_id("detail-trace").click()
    view = dashboard.page.get_by_test_id("request-view")
    await expect(view).to_contain_text("Trace")
    await expect(dashboard.rows("request-table")).to_have_count(2)
    assert sorted(await dashboard.shown_ids("request-table")) == sorted(ids)
    assert dashboard.problems == []


HOSTILE = [
    '<img src=x onerror="window.__pwned=1">',
    "</script><script>window.__pwned=2</script>",
    "<svg onload=window.__pwned=3>",
]


async def page_chip_texts(dashboard: Dashboard) -> list[str]:
    return await dashboard.page.locator("[data-testid=filter-services] .chip").all_inner_texts()


async def test_hostile_records_render_as_text_and_run_nothing(dashboard: Dashboard) -> None:
    await dashboard.open(ADMIN_KEY)
    word = marker()
    await dashboard.filter_text(word)
    message = f"{word} {HOSTILE[0]} {HOSTILE[1]} \x1b[31mred\x1b[0m\nsecond line\r\nthird"
    plain, hostile = await dashboard.post(
        [
            record(message=f"{word} plain"),
            record(
                message=message,
                level="ERROR",
                extra_data={HOSTILE[0]: HOSTILE[1], "ansi\x1b[0m": "line\nbreak"},
                stack_trace=f"{HOSTILE[2]}\n{HOSTILE[1]}",
                exception_type="<b>Bold</b>",
            ),
        ]
    )
    # A service name with markup never reaches a reader's service chips: ingest keeps the
    # record under `unknown` and moves the name into extra_data, where it shows as text.
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{dashboard.base_url}/api/logs",
            json=[record(message=f"{word} service", service=HOSTILE[0] + "\nsvc")],
            headers={"Authorization": f"Bearer {INGEST_KEY}"},
        ) as response,
    ):
        kept = await response.json()
    assert response.status == 202 and kept["coerced"] == 1, kept
    [moved] = kept["ids"]
    await expect(dashboard.row(moved)).to_contain_text("unknown", timeout=5_000)
    chips = await page_chip_texts(dashboard)
    assert not [c for c in chips if "<" in c or "svc" in c], chips
    for record_id in (plain, hostile):
        await expect(dashboard.row(record_id)).to_be_visible(timeout=5_000)
    page = dashboard.page
    row_heights = [
        (await dashboard.row(i).bounding_box() or {"height": 0})["height"] for i in (plain, hostile)
    ]
    assert max(row_heights) - min(row_heights) < 2, "a hostile record must not break the layout"
    await expect(dashboard.row(hostile)).to_contain_text(HOSTILE[0])
    await expect(dashboard.row(hostile)).to_contain_text("^[[31mred")

    await dashboard.row(hostile).click()
    await expect(page.get_by_test_id("detail-message")).to_contain_text(HOSTILE[1])
    extra = json.loads(await page.get_by_test_id("detail-extra").inner_text())
    assert extra[HOSTILE[0]] == HOSTILE[1]
    assert await page.get_by_test_id("detail-stack").inner_text() == f"{HOSTILE[2]}\n{HOSTILE[1]}"
    await page.wait_for_timeout(300)

    assert await page.evaluate("window.__pwned") is None
    assert await page.locator("#app img, #app script, #app b, #app svg [onload]").count() == 0
    assert dashboard.problems == []


async def test_export_downloads_the_filtered_records(dashboard: Dashboard, tmp_path: Path) -> None:
    await dashboard.open()
    word = marker()
    await dashboard.filter_text(word)
    ids = await dashboard.post(
        [
            record(message=f'fill {word}, "quoted"\nline', extra_data={"px": 1.5}),
            record(message=f"cancel {word}", level="WARNING"),
        ]
    )
    await dashboard.post([record(message=f"unrelated {marker()}")])
    for record_id in ids:
        await expect(dashboard.row(record_id)).to_be_visible(timeout=5_000)

    async def download(fmt: str) -> str:
        await dashboard.page.get_by_test_id("export-format").select_option(fmt)
        async with dashboard.page.expect_download() as info:
            await dashboard.page.get_by_test_id("export").click()
        target = tmp_path / (await info.value).suggested_filename
        await (await info.value).save_as(target)
        assert target.suffix == f".{fmt}"
        return target.read_text()

    as_json = json.loads(await download("json"))
    assert sorted(r["id"] for r in as_json) == sorted(ids)
    assert next(r for r in as_json if r["id"] == ids[0])["extra_data"] == {"px": 1.5}
    lines = (await download("ndjson")).splitlines()
    assert sorted(json.loads(line)["id"] for line in lines) == sorted(ids)
    rows = list(csv.DictReader(io.StringIO(await download("csv"))))
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert next(r for r in rows if r["id"] == ids[0])["message"] == f'fill {word}, "quoted"\nline'

    await wait_stored(dashboard.base_url, word, len(ids))
    async with dashboard.page.expect_download() as info:
        await dashboard.page.get_by_test_id("export-server").click()
    target = tmp_path / "server.csv"
    await (await info.value).save_as(target)
    server_rows = list(csv.DictReader(io.StringIO(target.read_text())))
    assert sorted(r["id"] for r in server_rows) == sorted(ids)


async def test_history_loads_the_next_page_by_cursor_on_scroll(dashboard: Dashboard) -> None:
    await dashboard.open()
    word = marker()
    ids = await dashboard.post([record(message=f"page {word} {i}") for i in range(230)])
    await wait_stored(dashboard.base_url, word, len(ids))
    await dashboard.filter_text(word)
    await dashboard.page.get_by_test_id("tab-history").click()
    history = dashboard.page.get_by_test_id("history-table")
    await expect(history).to_have_attribute("data-total", "200", timeout=5_000)
    await history.locator(".table-scroll").evaluate("el => el.scrollTo(0, el.scrollHeight)")
    await expect(history).to_have_attribute("data-total", "230", timeout=5_000)
    shown = set(await dashboard.shown_ids("history-table"))
    assert shown and shown <= set(ids)
    assert await dashboard.rows("history-table").count() < 100


async def test_a_reader_never_sees_admin_only_fields(dashboard: Dashboard) -> None:
    frames: list[str] = []

    def on_websocket(ws: WebSocket) -> None:
        ws.on("framereceived", lambda payload: frames.append(str(payload)))

    dashboard.page.on("websocket", on_websocket)
    await dashboard.open(READER_KEY)
    word = marker()
    hidden = ("Traceback: hidden", "hidden message", "10.1.2.3", "bot/1.0")
    [record_id] = await dashboard.post(
        [
            record(
                message=f"secret fields {word}",
                level="ERROR",
                stack_trace=hidden[0],
                exception_message=hidden[1],
                ip_address=hidden[2],
                user_agent=hidden[3],
            )
        ]
    )
    await expect(dashboard.row(record_id)).to_be_visible(timeout=5_000)
    assert any(word in frame for frame in frames), "the record came over the stream"
    assert not [h for h in hidden if any(h in frame for frame in frames)]
    await dashboard.row(record_id).click()
    detail = dashboard.page.get_by_test_id("detail")
    await expect(detail).to_be_visible()
    text = await detail.inner_text()
    assert not [h for h in hidden if h in text]
    await expect(dashboard.page.get_by_test_id("detail-stack")).to_have_count(0)
    for name in ("stack_trace", "exception_message", "ip_address", "user_agent"):
        await expect(dashboard.page.get_by_test_id(f"hidden-{name}")).to_have_text(
            "hidden for your role"
        )


async def test_an_admin_sees_no_field_marked_hidden(dashboard: Dashboard) -> None:
    await dashboard.open(ADMIN_KEY)
    word = marker()
    [record_id] = await dashboard.post(
        [record(message=f"all fields {word}", level="ERROR", stack_trace="Traceback: shown")]
    )
    await expect(dashboard.row(record_id)).to_be_visible(timeout=5_000)
    await dashboard.row(record_id).click()
    await expect(dashboard.page.get_by_test_id("detail-stack")).to_contain_text("shown")
    await expect(dashboard.page.locator("[data-testid^=hidden-]")).to_have_count(0)


@pytest.mark.parametrize(
    ("key", "message"),
    [(INGEST_KEY, "may not read logs"), ("not-a-key", "Unknown key")],
)
async def test_sign_in_refuses_keys_that_cannot_read(
    dashboard: Dashboard, key: str, message: str
) -> None:
    await dashboard.page.goto(f"{dashboard.base_url}/api/dashboard")
    await dashboard.page.fill("#api-key", key)
    await dashboard.page.click("form[data-testid=signin] button[type=submit]")
    await expect(dashboard.page.get_by_test_id("signin-error")).to_contain_text(message)
    assert await dashboard.page.evaluate("sessionStorage.length") == 0


async def test_account_sign_in_is_refused_without_a_trusted_principal(
    dashboard: Dashboard,
) -> None:
    await dashboard.page.goto(f"{dashboard.base_url}/api/dashboard")
    await dashboard.page.get_by_test_id("signin-account").click()
    await expect(dashboard.page.get_by_test_id("signin-error")).to_contain_text(
        "No signed-in account"
    )


TOP_ROW_ID = """() => {
    const scroller = document.querySelector("[data-testid=live-table] .table-scroll");
    const box = scroller.getBoundingClientRect();
    const row = document.elementFromPoint(box.left + 200, box.top + 5)?.closest("tr.row");
    return row?.dataset.id ?? null;
}"""


async def test_the_view_stays_on_the_record_being_read_while_records_arrive(
    dashboard: Dashboard,
) -> None:
    await dashboard.open()
    word = marker()
    await dashboard.filter_text(word)
    table = dashboard.page.get_by_test_id("live-table")
    ids = await dashboard.post([record(message=f"read {word} {i}") for i in range(120)])
    await expect(table).to_have_attribute("data-total", "120", timeout=5_000)
    await table.locator(".table-scroll").evaluate("el => el.scrollTo(0, 40 * 25)")
    await dashboard.page.wait_for_timeout(300)
    reading = await dashboard.page.evaluate(TOP_ROW_ID)
    assert reading in ids and reading != ids[-1]
    await dashboard.post([record(message=f"read {word} more {i}") for i in range(30)])
    await expect(table).to_have_attribute("data-total", "150", timeout=5_000)
    await dashboard.page.wait_for_timeout(300)
    assert await dashboard.page.evaluate(TOP_ROW_ID) == reading
