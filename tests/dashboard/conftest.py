"""Browser fixtures: the system Chromium driven by Playwright against a dev host that serves
the freshly built dashboard. DASHBOARD_TEST_BASE_URL points the tests at a dev host that is
already running (e.g. `make dev`) instead of starting one."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from playwright.async_api import (
    Browser,
    ConsoleMessage,
    Dialog,
    Page,
    async_playwright,
    expect,
)

from tests.conftest import DevHostProcess, create_database

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = ROOT / "dashboard"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INGEST_KEY = "dev-ingest-key"
READER_KEY = "dev-reader-key"
ADMIN_KEY = "dev-admin-key"
VIEWPORT = {"width": 1600, "height": 950}


def _newest_mtime(paths: Iterable[Path]) -> float:
    return max((p.stat().st_mtime for p in paths if p.is_file()), default=0.0)


@pytest.fixture(scope="session")
def dashboard_build() -> Path:
    """dashboard/dist, rebuilt when any source is newer than the last build."""
    index = DASHBOARD / "dist" / "index.html"
    sources = [*DASHBOARD.glob("src/**/*"), DASHBOARD / "index.html", DASHBOARD / "vite.config.js"]
    if not index.exists() or index.stat().st_mtime < _newest_mtime(sources):
        result = subprocess.run(
            ["npm", "run", "--silent", "build:dashboard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=180,
        )
        if result.returncode != 0:
            pytest.fail(f"dashboard build failed:\n{result.stdout}\n{result.stderr}")
    return index.parent


DEMO_MODULES = ("test_screenshot", "test_reports_page")
"""The test modules that use the demo dev host."""


@pytest.fixture(scope="session", autouse=True)
def demo_host_starting(
    request: pytest.FixtureRequest, pg_server_url: str
) -> Iterator[Future[DevHostProcess]]:
    """A dev host playing the demo fleet (for the screenshot), started in the background as
    soon as the session reaches the dashboard tests, so its start overlaps the other tests."""
    wanted = any(item.module.__name__.endswith(DEMO_MODULES) for item in request.session.items)
    executor = ThreadPoolExecutor(max_workers=1)
    host: DevHostProcess | None = None
    future: Future[DevHostProcess] = Future()
    if wanted:
        host = DevHostProcess(create_database(pg_server_url, "demo"), env={"DEMO": "1"})

        def start() -> DevHostProcess:
            assert host is not None
            host.start()
            return host

        future = executor.submit(start)
    else:
        future.set_exception(RuntimeError("the screenshot test is not selected"))
    yield future
    executor.shutdown(wait=True)
    if host is not None:
        host.stop()
        shutil.rmtree(host.data, ignore_errors=True)


@pytest.fixture(scope="session")
def base_url(request: pytest.FixtureRequest, dashboard_build: Path) -> str:
    external = os.environ.get("DASHBOARD_TEST_BASE_URL")
    if external:
        return external.rstrip("/")
    return request.getfixturevalue("dev_host").base_url


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not Path(CHROMIUM).exists():
        pytest.fail(f"the browser tests need Chromium at {CHROMIUM} (apt-get install chromium)")
    return CHROMIUM


@pytest.fixture(scope="session")
async def browser(chromium_path: str) -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        chromium = await playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS
        )
        yield chromium
        await chromium.close()


def marker() -> str:
    """A word unique to one test, to find its records among everything else."""
    return "t" + uuid.uuid4().hex[:12]


def record(**fields: Any) -> dict[str, Any]:
    return {"level": "INFO", "service": "api-gateway", "message": "hello", **fields}


async def post_logs(base_url: str, records: list[dict[str, Any]]) -> list[str]:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{base_url}/api/logs",
            json=records,
            headers={"Authorization": f"Bearer {INGEST_KEY}"},
        ) as response,
    ):
        body = await response.json()
        assert response.status == 202, body
        assert not body["rejected"], body
        return body["ids"]


async def wait_stored(base_url: str, word: str, count: int, timeout: float = 15) -> None:
    """Wait until the search API finds `count` records with `word` (stored, so searchable)."""
    deadline = asyncio.get_running_loop().time() + timeout
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {READER_KEY}"}) as http:
        while True:
            found = 0
            cursor = None
            while True:
                params = {"q": word, "limit": "1000", **({"cursor": cursor} if cursor else {})}
                async with http.get(f"{base_url}/api/logs/search", params=params) as response:
                    page = await response.json()
                found += len(page["items"])
                cursor = page.get("next_cursor")
                if not cursor:
                    break
            if found >= count:
                return
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"only {found} of {count} records were stored")
            await asyncio.sleep(0.2)


@dataclass
class Dashboard:
    """One browser tab on the dashboard, with everything its console reported."""

    page: Page
    base_url: str
    problems: list[str] = field(default_factory=list)

    async def open(self, key: str = ADMIN_KEY, query: str = "") -> None:
        await self.page.goto(f"{self.base_url}/api/dashboard{query}")
        await self.page.fill("#api-key", key)
        await self.page.click("form[data-testid=signin] button[type=submit]")
        await self.wait_live()

    async def wait_live(self, timeout: float = 15_000) -> None:
        await expect(self.page.get_by_test_id("connection")).to_have_attribute(
            "data-state", "live", timeout=timeout
        )

    async def post(self, records: list[dict[str, Any]]) -> list[str]:
        return await post_logs(self.base_url, records)

    def row(self, record_id: str, table: str = "live-table") -> Any:
        return self.page.locator(f"[data-testid={table}] tr[data-id='{record_id}']")

    def rows(self, table: str = "live-table") -> Any:
        return self.page.locator(f"[data-testid={table}] tbody tr.row")

    async def filter_text(self, text: str, table: str = "live-table") -> None:
        """Type a text filter and wait until the page applied it (after its debounce): no row
        without the text is left in the table."""
        await self.page.get_by_test_id("filter-text").fill(text)
        deadline = asyncio.get_running_loop().time() + 5
        while asyncio.get_running_loop().time() < deadline:
            others = await self.rows(table).evaluate_all(
                "(rows, text) => rows.filter(r => !r.textContent.includes(text)).length", text
            )
            if others == 0:
                return
            await asyncio.sleep(0.05)

    async def shown_ids(self, table: str = "live-table") -> list[str]:
        return await self.rows(table).evaluate_all("rows => rows.map(r => r.dataset.id)")

    async def settled_ids(self, expected: list[str], table: str = "live-table") -> list[str]:
        """The shown ids once they equal `expected` (as a set), or after 5 s whatever they are:
        a filter typed in the page applies after its debounce, and a loaded machine delays it."""
        deadline = asyncio.get_running_loop().time() + 5
        while True:
            shown = await self.shown_ids(table)
            if sorted(shown) == sorted(expected) or asyncio.get_running_loop().time() > deadline:
                return shown
            await asyncio.sleep(0.1)


@pytest.fixture
async def dashboard(browser: Browser, base_url: str) -> AsyncIterator[Dashboard]:
    context = await browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = await context.new_page()
    tab = Dashboard(page, base_url)

    def on_console(message: ConsoleMessage) -> None:
        if message.type in ("error", "warning"):
            tab.problems.append(f"console {message.type}: {message.text} {message.location}")

    page.on("console", on_console)
    page.on("pageerror", lambda error: tab.problems.append(f"page error: {error}"))

    async def on_dialog(dialog: Dialog) -> None:
        tab.problems.append(f"dialog: {dialog.message}")
        await dialog.dismiss()

    page.on("dialog", on_dialog)
    yield tab
    await context.close()


@pytest.fixture(scope="module")
def demo_host(demo_host_starting: Future[DevHostProcess]) -> DevHostProcess:
    return demo_host_starting.result(timeout=120)
