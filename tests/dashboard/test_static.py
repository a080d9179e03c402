"""The dashboard's file lookup and page headers, on a build directory made by the test."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from shared import dashboard
from shared.errors import NotFound, Unavailable
from shared.page_policy import content_security_policy, origins
from shared.settings import Settings
from shared.static import IMMUTABLE, REVALIDATE, AssetStore, safe_relative


@pytest.fixture
def build(tmp_path: Path) -> Path:
    root = tmp_path / "dist"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("<!doctype html><title>t</title>")
    (root / "assets" / "index-AbCdEf12.js").write_text("console.log(1)")
    (root / "assets" / "style-ZyXw9876.css").write_text("body{}")
    (root / "favicon.svg").write_text("<svg/>")
    (root / ".hidden.js").write_text("secret")
    (tmp_path / "outside.js").write_text("outside")
    return root


@pytest.mark.parametrize(
    "requested",
    [
        "../outside.js",
        "assets/../../outside.js",
        "/etc/passwd",
        "..",
        "assets/..",
        "assets\\..\\..\\outside.js",
        ".hidden.js",
        "assets/.git",
        "index.html\x00.js",
        "%2e%2e/outside.js",
        "a/b/c/d/e.js",
        "assets//index-AbCdEf12.js",
    ],
)
async def test_unsafe_paths_are_refused(build: Path, requested: str) -> None:
    assert await AssetStore(build).get(requested) is None


def test_plain_paths_are_kept() -> None:
    assert safe_relative("") == "index.html"
    assert safe_relative("/assets/index-AbCdEf12.js") == "assets/index-AbCdEf12.js"


async def test_a_symlink_out_of_the_build_is_refused(build: Path) -> None:
    (build / "assets" / "link-AbCdEf12.js").symlink_to(build.parent / "outside.js")
    assert await AssetStore(build).get("assets/link-AbCdEf12.js") is None


async def test_unknown_file_types_are_not_served(build: Path) -> None:
    (build / "notes.py").write_text("x = 1")
    assert await AssetStore(build).get("notes.py") is None


async def test_types_and_cache_policy(build: Path) -> None:
    store = AssetStore(build)
    page = await store.get("")
    script = await store.get("assets/index-AbCdEf12.js")
    style = await store.get("assets/style-ZyXw9876.css")
    icon = await store.get("favicon.svg")
    assert page and script and style and icon
    assert (page.content_type, page.cache_control) == ("text/html", REVALIDATE)
    assert script.content_type == "text/javascript"
    assert script.cache_control == IMMUTABLE and style.cache_control == IMMUTABLE
    assert style.content_type == "text/css"
    assert icon.content_type == "image/svg+xml" and icon.cache_control != IMMUTABLE


async def test_a_rebuilt_file_is_read_again(build: Path) -> None:
    store = AssetStore(build)
    first = await store.get("index.html")
    (build / "index.html").write_text("<!doctype html><title>rebuilt page</title>")
    second = await store.get("index.html")
    assert first and second and second.body != first.body and second.etag != first.etag


def test_csp_allows_no_inline_code_and_adds_signalr_origins() -> None:
    csp = content_security_policy(["https://fleet.service.signalr.net/client/?hub=logs"])
    directives = dict(d.split(" ", 1) for d in csp.split("; "))
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert "unsafe" not in csp
    assert directives["frame-ancestors"] == "'none'"
    assert directives["connect-src"] == (
        "'self' https://fleet.service.signalr.net wss://fleet.service.signalr.net"
    )


def test_origins_ignore_what_is_not_a_web_url() -> None:
    assert origins(["javascript:alert(1)", "", "not a url", "http://127.0.0.1:7071/x"]) == [
        "http://127.0.0.1:7071",
        "ws://127.0.0.1:7071",
    ]


async def test_serve_answers_with_headers_and_etags(build: Path) -> None:
    settings = replace(Settings(), dashboard_dist_dir=str(build))
    page = await dashboard.serve("", None, settings)
    assert page.status == 200 and page.body.startswith(b"<!doctype html>")
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    again = await dashboard.serve("", page.headers["ETag"], settings)
    assert again.status == 304 and again.body == b""
    script = await dashboard.serve("assets/index-AbCdEf12.js", None, settings)
    assert "Content-Security-Policy" not in script.headers
    assert script.headers["Cache-Control"] == IMMUTABLE
    with pytest.raises(NotFound):
        await dashboard.serve("../outside.js", None, settings)


async def test_an_unbuilt_dashboard_says_how_to_build_it(tmp_path: Path) -> None:
    settings = replace(Settings(), dashboard_dist_dir=str(tmp_path / "nothing"))
    with pytest.raises(Unavailable) as raised:
        await dashboard.serve("", None, settings)
    assert "build:dashboard" in str(raised.value.detail)


def test_settings_take_the_signalr_endpoint_from_its_connection_string() -> None:
    settings = Settings.from_env(
        {
            "AzureSignalRConnectionString": "Endpoint=https://fleet.service.signalr.net;"
            "AccessKey=abc;Version=1.0;",
            "DASHBOARD_CONNECT_SOURCES": "https://extra.example",
        }
    )
    assert settings.dashboard_connect_sources == (
        "https://extra.example",
        "https://fleet.service.signalr.net",
    )
