"""Notifications against real HTTP receivers on loopback that fail, hang or answer slowly:
the analyzer never waits for them and no notification is lost."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
import pytest
from aiohttp import web

from shared import analysis, notify
from shared.settings import Settings


@dataclass
class Receiver:
    """A webhook / Telegram stand-in. `script` lists how to answer successive requests:
    an HTTP status, "hang" (answer only when released), or ("slow", seconds)."""

    url: str = ""
    script: list[Any] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    answered: list[int] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    release: asyncio.Event = field(default_factory=asyncio.Event)

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.arrived.set()
        step = self.script.pop(0) if self.script else 200
        if step == "hang":
            await self.release.wait()
            return web.Response(status=200)
        if isinstance(step, tuple):
            await asyncio.sleep(step[1])
            step = 200
        if step == 429:
            return web.json_response({"ok": False, "parameters": {"retry_after": 0.05}}, status=429)
        if step < 300:
            self.received.append({"path": request.path, "body": body})
        self.answered.append(step)
        return web.Response(status=step, text="receiver says no" if step >= 300 else "ok")


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    recv = Receiver()
    app = web.Application()
    app.router.add_post("/{tail:.*}", recv.handle)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    await web.SockSite(runner, sock).start()
    recv.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    yield recv
    recv.release.set()
    await runner.cleanup()


@dataclass
class DeadLetters:
    items: list[tuple[str, str, notify.Notice, int]] = field(default_factory=list)

    async def __call__(self, channel: str, reason: str, notice: notify.Notice, n: int) -> None:
        self.items.append((channel, reason, notice, n))


def alert(rule: str = "exchange_connection") -> dict[str, Any]:
    now = datetime.now(UTC)
    return {
        "id": 1,
        "rule": rule,
        "service": "exchange-connector",
        "severity": "critical",
        "status": "active",
        "count": 3,
        "first_seen": now,
        "last_seen": now,
        "description": "The exchange connector cannot reach the exchange",
        "action": "Check the exchange",
        "sample_ids": ["a"],
    }


def notifier(channel: notify.Channel, dead: DeadLetters, **options: Any) -> notify.Notifier:
    options = {"timeout": 0.5, "max_attempts": 4, "backoff_base": 0.01, **options}
    return notify.Notifier([channel], dead, **options)


async def test_failing_receiver_is_retried_until_it_accepts(receiver: Receiver) -> None:
    receiver.script = [500, 503, 200]
    dead = DeadLetters()
    sender = notifier(notify.WebhookChannel(receiver.url + "/hook"), dead)
    sender.submit([notify.Notice("opened", alert())])
    assert receiver.received == []  # submit only queued it
    await sender.drain(10)
    await sender.close()
    assert receiver.answered == [500, 503, 200]
    assert len(receiver.received) == 1
    body = receiver.received[0]["body"]
    assert body["event"] == "opened" and body["alert"]["rule"] == "exchange_connection"
    assert dead.items == []


async def test_hanging_receiver_times_out_and_is_retried(receiver: Receiver) -> None:
    receiver.script = ["hang", 200]
    dead = DeadLetters()
    sender = notifier(notify.WebhookChannel(receiver.url), dead, timeout=0.3)
    sender.submit([notify.Notice("opened", alert())])
    await sender.drain(10)
    await sender.close()
    assert len(receiver.received) == 1 and sender.delivered == 1 and dead.items == []


async def test_slow_receiver_gets_every_notice(receiver: Receiver) -> None:
    receiver.script = [("slow", 0.2)] * 6
    dead = DeadLetters()
    sender = notifier(notify.WebhookChannel(receiver.url), dead, timeout=2)
    sender.submit([notify.Notice("opened", alert(f"rule_{i}")) for i in range(6)])
    await sender.drain(10)
    await sender.close()
    assert sorted(r["body"]["alert"]["rule"] for r in receiver.received) == [
        f"rule_{i}" for i in range(6)
    ]


async def test_permanent_refusal_is_dead_lettered_without_retrying(receiver: Receiver) -> None:
    receiver.script = [404]
    dead = DeadLetters()
    sender = notifier(notify.WebhookChannel(receiver.url), dead)
    sender.submit([notify.Notice("opened", alert())])
    await sender.drain(10)
    await sender.close()
    assert receiver.answered == [404]
    [(channel, reason, notice, attempts)] = dead.items
    assert channel == "webhook" and "404" in reason and attempts == 1
    assert notice.alert["rule"] == "exchange_connection"


async def test_exhausted_retries_are_dead_lettered(receiver: Receiver) -> None:
    receiver.script = [500] * 10
    dead = DeadLetters()
    sender = notifier(notify.WebhookChannel(receiver.url), dead, max_attempts=3)
    sender.submit([notify.Notice("updated", alert())])
    await sender.drain(10)
    await sender.close()
    assert receiver.answered == [500, 500, 500]
    assert [(d[0], d[3]) for d in dead.items] == [("webhook", 3)]


async def test_full_queue_dead_letters_instead_of_blocking(receiver: Receiver) -> None:
    receiver.script = ["hang"] * 20
    dead = DeadLetters()
    sender = notifier(notify.WebhookChannel(receiver.url), dead, queue_size=2, timeout=5)
    notices = [notify.Notice("opened", alert(f"r{i}")) for i in range(10)]
    sender.submit(notices)  # returns although the receiver hangs
    await asyncio.sleep(0.05)
    queue_full = [d for d in dead.items if d[1] == "notification queue full"]
    assert len(queue_full) == 8  # one synchronous submit: the workers have taken none yet
    receiver.release.set()
    await sender.drain(10)
    await sender.close()
    assert sender.delivered == 2


async def test_telegram_message_and_rate_limit(receiver: Receiver) -> None:
    receiver.script = [429, 200]
    dead = DeadLetters()
    channel = notify.TelegramChannel("123:secret", "-10042", api=receiver.url)
    sender = notifier(channel, dead)
    sender.submit([notify.Notice("opened", alert())])
    await sender.drain(10)
    await sender.close()
    [sent] = receiver.received
    assert sent["path"] == "/bot123:secret/sendMessage"
    assert sent["body"]["chat_id"] == "-10042"
    text = sent["body"]["text"]
    assert "[CRITICAL] exchange_connection on exchange-connector" in text
    assert "count 3" in text and "Action: Check the exchange" in text


def test_channels_follow_the_settings() -> None:
    assert notify.channels(Settings()) == []
    both = replace(
        Settings(), alert_webhook_url="http://x/h", telegram_bot_token="t", telegram_chat_id="c"
    )
    assert [c.name for c in notify.channels(both)] == ["webhook", "telegram"]
    token_only = replace(Settings(), telegram_bot_token="t")
    assert notify.channels(token_only) == []


async def test_analyzer_returns_while_the_webhook_hangs(
    clean: asyncpg.Connection, settings: Settings, receiver: Receiver, make_record
) -> None:  # type: ignore[no-untyped-def]
    receiver.script = ["hang", 200]
    settings = replace(settings, alert_webhook_url=receiver.url, notify_timeout_seconds=0.5)
    record = make_record(service="exchange-connector", message="connection refused")
    batch = [analysis.Delivery(orjson.dumps(record), "0", 0, datetime.now(UTC))]
    outcome = await analysis.analyze(batch, settings)
    assert [c.opened for c in outcome.changes] == [True]  # stored and returned...
    assert receiver.received == []  # ...before the webhook accepted anything
    await asyncio.wait_for(receiver.arrived.wait(), 5)
    await notify.notifier(settings).drain(10)
    assert [r["body"]["alert"]["rule"] for r in receiver.received] == ["exchange_connection"]
