"""Dashboard speed: from POST to the record being a row in the page, in the system Chromium.

1. POST-to-page latency: 500 records posted one per request at a steady pace, each timed from
   the start of its POST to the moment its row is inserted into the live table (a
   MutationObserver in the page stamps each row). Side by side, a pysignalr client on the
   same host receives the same records: the ratio page/client is what the page itself adds.
2. Highest sustained rate the page shows without falling behind: records posted in 100 ms
   batches at rising rates; a record is shown when the page has rendered it into the live
   tail (its `dashboard:rendered` event, sent after the DOM update; the table keeps only the
   rows in view in the DOM, so a burst's older rows are reached by scrolling). A rate is kept
   up with when every record is shown, the page is less than a second behind when posting
   stops, and the step's p95 is under a second. The page's main-thread stall (the longest a
   50 ms timer was late) is printed per step.

Targets: p95 under 1 s; at least 1,000 records a second."""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from typing import Any

import aiohttp
from playwright.async_api import Page, async_playwright, expect

from bench.bench_stream import Receiver, connect, dev_host, percentile, record
from devhost.environment import DEV_KEYS

LATENCY_RECORDS = 500
LATENCY_PACE_PER_SECOND = 50
RATES = (500, 1000, 2000, 4000)
STEP_SECONDS = 5.0
TAIL = 500
EXTRA = ""
TARGET_P95_SECONDS = 1.0
TARGET_RATE = 1000
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

OBSERVER = """prefix => {
  window.__arrived = {};
  window.__rendered = {};
  window.addEventListener("dashboard:rendered", (event) => {
    const now = Date.now();
    for (const id of event.detail) if (!(id in window.__rendered)) window.__rendered[id] = now;
  });
  window.__stall = 0;
  const body = document.querySelector("[data-testid=live-table] tbody");
  new MutationObserver((mutations) => {
    const now = Date.now();
    for (const m of mutations) for (const node of m.addedNodes) {
      if (node.nodeType !== 1 || node.tagName !== "TR") continue;
      const text = node.querySelector("td.message")?.textContent ?? "";
      const at = text.indexOf(prefix);
      if (at < 0) continue;
      const index = parseInt(text.slice(at + prefix.length), 10);
      if (!(index in window.__arrived)) window.__arrived[index] = now;
    }
  }).observe(body, { childList: true });
  let last = performance.now();
  setInterval(() => {
    const now = performance.now();
    window.__stall = Math.max(window.__stall, now - last - 50);
    last = now;
  }, 50);
}"""


class PageClock:
    """Rows the page has shown, as perf_counter times (the page stamps with Date.now())."""

    def __init__(self, page: Page) -> None:
        self.page = page
        self.offset = time.time() - time.perf_counter()

    async def arrived(self) -> dict[int, float]:
        """Rows inserted into the DOM, by the record's index."""
        stamps: dict[str, float] = await self.page.evaluate("window.__arrived")
        return {int(k): v / 1000 - self.offset for k, v in stamps.items()}

    async def rendered(self) -> dict[str, float]:
        """Records rendered into the live tail, by id."""
        stamps: dict[str, float] = await self.page.evaluate("window.__rendered")
        return {k: v / 1000 - self.offset for k, v in stamps.items()}

    async def wait_for(self, indexes: range, timeout: float) -> dict[int, float]:
        deadline = time.perf_counter() + timeout
        while True:
            arrived = await self.arrived()
            if all(i in arrived for i in indexes) or time.perf_counter() > deadline:
                return arrived
            await asyncio.sleep(0.1)

    async def wait_rendered(self, ids: list[str], timeout: float) -> dict[str, float]:
        deadline = time.perf_counter() + timeout
        while True:
            rendered = await self.rendered()
            if all(i in rendered for i in ids) or time.perf_counter() > deadline:
                return rendered
            await asyncio.sleep(0.1)

    async def take_stall(self) -> float:
        return float(
            await self.page.evaluate("(() => { const s = __stall; __stall = 0; return s })()")
        )


async def open_dashboard(page: Page, base_url: str, prefix: str) -> None:
    await page.goto(f"{base_url}/api/dashboard?tail={TAIL}{EXTRA}")
    await page.fill("#api-key", DEV_KEYS["admin"])
    await page.click("form[data-testid=signin] button[type=submit]")
    await expect(page.get_by_test_id("connection")).to_have_attribute(
        "data-state", "live", timeout=20_000
    )
    await page.evaluate(OBSERVER, prefix)


async def latency(
    http: aiohttp.ClientSession, api: str, prefix: str, clock: PageClock, client: Receiver
) -> tuple[list[float], list[float]]:
    posted: dict[int, float] = {}
    interval = 1 / LATENCY_PACE_PER_SECOND
    started = time.perf_counter()
    for i in range(LATENCY_RECORDS):
        await asyncio.sleep(max(0.0, started + i * interval - time.perf_counter()))
        posted[i] = time.perf_counter()
        async with http.post(f"{api}/logs", json=record(prefix, i)) as response:
            assert response.status == 202, await response.text()
    shown = await clock.wait_for(range(LATENCY_RECORDS), 15)
    await client.wait_for(range(LATENCY_RECORDS), 5)
    page = [shown[i] - posted[i] for i in posted if i in shown]
    raw = [client.arrived[i] - posted[i] for i in posted if i in client.arrived]
    return page, raw


async def sustain(
    http: aiohttp.ClientSession,
    api: str,
    prefix: str,
    clock: PageClock,
    client: Receiver,
    rate: int,
    first: int,
) -> dict[str, float]:
    per_batch = max(1, rate // 10)
    batches = int(STEP_SECONDS * 10)
    posted: dict[str, float] = {}
    index_of: dict[str, int] = {}
    await clock.take_stall()
    started = time.perf_counter()

    async def post(first_index: int) -> None:
        batch = [record(prefix, first_index + k) for k in range(per_batch)]
        sent_at = time.perf_counter()
        async with http.post(f"{api}/logs", json=batch) as response:
            body = await response.json()
            assert response.status == 202, body
        for k, record_id in enumerate(body["ids"]):
            posted[record_id] = sent_at
            index_of[record_id] = first_index + k

    posts = []
    for b in range(batches):
        await asyncio.sleep(max(0.0, started + b * 0.1 - time.perf_counter()))
        posts.append(asyncio.ensure_future(post(first + b * per_batch)))
    await asyncio.gather(*posts)
    end = first + batches * per_batch
    post_seconds = time.perf_counter() - started
    stopped = time.perf_counter()
    shown = await clock.wait_rendered(list(posted), 20)
    times = [shown[i] for i in posted if i in shown]
    lag = max(0.0, max(times) - stopped) if times else float("inf")
    latencies = [shown[i] - posted[i] for i in posted if i in shown]
    p95 = percentile(latencies, 95) if latencies else float("inf")
    complete = len(times) == len(posted)
    raw = [client.arrived[index_of[i]] - posted[i] for i in posted if index_of[i] in client.arrived]
    return {
        "rate": rate,
        "posted_rate": len(posted) / post_seconds,
        "shown": len(times) / len(posted),
        "lag": lag,
        "p95": p95,
        "stall": await clock.take_stall() / 1000,
        "client_p95": percentile(raw, 95) if raw else float("inf"),
        "kept_up": float(
            complete
            and lag < TARGET_P95_SECONDS
            and p95 < TARGET_P95_SECONDS
            and len(posted) / post_seconds >= 0.9 * rate
        ),
        "next": end,
    }


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"


async def run(base_url: str) -> bool:
    api = f"{base_url}/api"
    prefix = f"dash-{uuid.uuid4().hex[:8]}-"
    client = Receiver(prefix=prefix)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
        )
        page = await browser.new_page(viewport={"width": 1600, "height": 950})
        await open_dashboard(page, base_url, prefix)
        clock = PageClock(page)
        negotiate = {"X-Api-Key": DEV_KEYS["admin"], "X-SignalR-User-Id": uuid.uuid4().hex}
        listener = await connect(api, negotiate, client)
        try:
            async with aiohttp.ClientSession(headers={"X-Api-Key": DEV_KEYS["ingest"]}) as http:
                in_page, in_client = await latency(http, api, prefix, clock, client)
                steps: list[dict[str, Any]] = []
                first = LATENCY_RECORDS
                for rate in RATES:
                    step = await sustain(http, api, prefix, clock, client, rate, first)
                    first = int(step["next"])
                    steps.append(step)
                    if not step["kept_up"]:
                        break
                    await asyncio.sleep(1.0)
                rows = await page.locator("[data-testid=live-table] tbody tr.row").count()
        finally:
            listener.cancel()
            with contextlib.suppress(BaseException):
                await listener
            await browser.close()
    return report(in_page, in_client, steps, rows)


def report(
    in_page: list[float], in_client: list[float], steps: list[dict[str, Any]], rows: int
) -> bool:
    p50, p95 = percentile(in_page, 50), percentile(in_page, 95)
    c50, c95 = percentile(in_client, 50), percentile(in_client, 95)
    print(f"POST-to-page latency over {len(in_page)} of {LATENCY_RECORDS} records")
    print("  measure   in the page  pysignalr client  page / client")
    for name, a, b in (("p50", p50, c50), ("p95", p95, c95), ("max", max(in_page), max(in_client))):
        print(f"  {name:<8}  {ms(a):>11}  {ms(b):>16}  {a / b:>12.2f}x")
    print(f"  target: p95 < {ms(TARGET_P95_SECONDS)}")
    print(f"\nsustained rate shown in the page, {STEP_SECONDS:.0f} s per step, tail of {TAIL} rows")
    print(
        "  rate/s  posted/s  shown   lag after stop  page p95  client p95  page/client"
        "  page stall  kept up"
    )
    for s in steps:
        print(
            f"  {s['rate']:>6.0f}  {s['posted_rate']:>8.0f}  {s['shown']:>6.1%}"
            f"  {ms(s['lag']):>14}  {ms(s['p95']):>8}  {ms(s['client_p95']):>10}"
            f"  {s['p95'] / s['client_p95']:>10.2f}x  {ms(s['stall']):>10}  "
            f"{'yes' if s['kept_up'] else 'no'}"
        )
    best = int(max((s["rate"] for s in steps if s["kept_up"]), default=0))
    print(f"  highest rate kept up with: {best}/s (target >= {TARGET_RATE}/s)")
    print(f"  rows in the DOM at the end: {rows} (bound {TAIL})")
    return p95 < TARGET_P95_SECONDS and best >= TARGET_RATE and rows <= TAIL


def main() -> bool:
    with dev_host() as host:
        return asyncio.run(run(host.base_url))


if __name__ == "__main__":
    main()
