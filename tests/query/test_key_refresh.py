"""Revocation without a restart: the keys are read again every KEYS_REFRESH_SECONDS from
KEYS_FILE, so a revoked key stops working, and a new one starts, within that bound; and
`python -m shared.keys` says how soon."""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import pytest

from devhost.process import DevHostProcess
from shared import keys
from shared.access import KeyRing, Role, authenticate
from shared.errors import Unauthorised
from shared.keysource import KeySource
from shared.settings import Settings
from tests.conftest import create_database

KEY = re.compile(r"\): (lpk_[A-Za-z0-9_-]+)")


def make_key(path: Path, name: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert keys.main(["--file", str(path), "create", "--role", "reader", "--name", name]) == 0
    out = capsys.readouterr().out
    found = KEY.search(out)
    assert found, out
    return found.group(1)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def file_source(path: Path, interval: float) -> tuple[KeySource, Clock]:
    clock = Clock()
    settings = Settings(keys_file=str(path), keys_refresh_seconds=interval)
    return KeySource(settings, KeyRing.from_entries, clock), clock


def reader(key: str, source: KeySource) -> str:
    return authenticate({"X-Api-Key": key}, [Role.READER], source.current()).name


def test_a_revoked_key_works_until_the_interval_passes_then_never(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "local.settings.json"
    key = make_key(path, "desk", capsys)
    source, clock = file_source(path, 60)
    assert reader(key, source) == "desk"
    assert keys.main(["--file", str(path), "revoke", "desk"]) == 0
    clock.now += 59
    assert reader(key, source) == "desk"
    clock.now += 1
    with pytest.raises(Unauthorised):
        reader(key, source)
    new = make_key(path, "desk-2", capsys)
    clock.now += 60
    assert reader(new, source) == "desk-2"


def test_a_broken_file_keeps_the_keys_last_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "local.settings.json"
    key = make_key(path, "desk", capsys)
    source, clock = file_source(path, 1)
    source.current()
    path.write_text('{"Values": {"API_KEYS": "[{\\"hash\\": ', encoding="utf-8")
    clock.now += 5
    assert reader(key, source) == "desk"


def test_without_a_source_the_keys_are_the_settings_own(tmp_path: Path) -> None:
    entries = [{"name": "a", "hash": "0" * 64, "role": "reader"}]
    clock = Clock()
    source = KeySource(Settings(api_keys=tuple(entries)), KeyRing.from_entries, clock)
    first = source.current()
    clock.now += 10_000
    assert source.current() is first and "0" * 64 in first.by_hash


def test_the_key_command_says_how_soon_a_change_takes_effect(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "local.settings.json"
    monkeypatch.setenv("KEYS_FILE", str(path))
    monkeypatch.setenv("KEYS_REFRESH_SECONDS", "30")
    make_key(path, "desk", capsys)
    assert keys.main(["--file", str(path), "revoke", "desk"]) == 0
    out = capsys.readouterr().out
    assert "within 30 s, without a restart" in out
    monkeypatch.delenv("KEYS_FILE")
    make_key(path, "desk", capsys)
    keys.main(["--file", str(path), "revoke", "desk"])
    assert "next restart" in capsys.readouterr().out


@pytest.fixture
def keyed_host(
    pg_server_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[tuple[DevHostProcess, Path, str]]:
    path = tmp_path / "local.settings.json"
    key = make_key(path, "probe", capsys)
    api_keys = json.loads(path.read_text())["Values"]["API_KEYS"]
    host = DevHostProcess(
        create_database(pg_server_url, "keys"),
        env={"API_KEYS": api_keys, "KEYS_FILE": str(path), "KEYS_REFRESH_SECONDS": "1"},
    )
    host.start()
    yield host, path, key
    host.remove()


async def test_a_running_dev_host_stops_a_revoked_key_within_the_interval(
    keyed_host: tuple[DevHostProcess, Path, str],
) -> None:
    host, path, key = keyed_host
    url = f"{host.base_url}/api/logs/search?limit=1"
    async with aiohttp.ClientSession(headers={"X-Api-Key": key}) as session:
        async with session.get(url) as response:
            assert response.status == 200, await response.text()
        assert keys.main(["--file", str(path), "revoke", "probe"]) == 0
        revoked = time.monotonic()
        while True:
            async with session.get(url) as response:
                if response.status == 401:
                    break
                assert response.status == 200
            assert time.monotonic() - revoked < 5, "the revoked key still works after 5 s"
            await asyncio.sleep(0.2)
    assert time.monotonic() - revoked < 1 + 2.5
