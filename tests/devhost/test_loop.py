"""The dev host runs on uvloop when installed, and on asyncio's loop when asked to."""

from __future__ import annotations

import asyncio

import pytest
import uvloop

from devhost import loop


async def _loop_type() -> type:
    return type(asyncio.get_running_loop())


def test_uvloop_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DEVHOST_LOOP", raising=False)
    assert loop.run(_loop_type()) is uvloop.Loop


def test_asyncio_loop_on_request(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DEVHOST_LOOP", "asyncio")
    assert not issubclass(loop.run(_loop_type()), uvloop.Loop)
