"""Alert notifications to an optional webhook and an optional Telegram chat.

`submit` never waits: it puts the notice on each channel's bounded queue and returns. Workers
in the background deliver with a timeout per attempt and retry with exponential backoff and
jitter (honouring `Retry-After`); a notice that can never be delivered, or that finds its queue
full, is dead-lettered with the reason, never silently dropped. How often one alert may notify
is decided with the alert itself in PostgreSQL (see `shared.alerts.record`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol

import aiohttp
import orjson

from shared import sink_policy
from shared.settings import Settings

log = logging.getLogger(__name__)

Kind = Literal["opened", "updated", "resolved"]
WORKERS_PER_CHANNEL = 4
MAX_BACKOFF_SECONDS = 60.0
TELEGRAM_API = "https://api.telegram.org"


class Message(Protocol):
    """What a channel delivers: a JSON document for webhooks, a few lines for chats."""

    def document(self) -> dict[str, Any]: ...

    def text(self) -> str: ...


@dataclass(frozen=True, slots=True)
class Notice:
    kind: Kind
    alert: dict[str, Any]

    def document(self) -> dict[str, Any]:
        return {"type": "alert", "event": self.kind, "alert": self.alert}

    def text(self) -> str:
        a = self.alert
        head = "RESOLVED" if self.kind == "resolved" else str(a.get("severity", "")).upper()
        lines = [
            f"[{head}] {a.get('rule')} on {a.get('service')}: {a.get('description') or ''}".strip(),
            f"count {a.get('count')}, first seen {_when(a.get('first_seen'))}, "
            f"last seen {_when(a.get('last_seen'))}",
        ]
        if a.get("action") and self.kind != "resolved":
            lines.append(f"Action: {a['action']}")
        return "\n".join(lines)


def _when(value: Any) -> str:
    return value.isoformat(timespec="seconds") if isinstance(value, datetime) else str(value)


class DeliveryError(Exception):
    """A failed attempt; `permanent` when retrying cannot help (e.g. 400, 404)."""

    def __init__(
        self, message: str, permanent: bool = False, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.retry_after = retry_after


class Channel(Protocol):
    name: str

    async def send(self, session: aiohttp.ClientSession, notice: Message) -> None:
        """Deliver once or raise DeliveryError / aiohttp.ClientError / TimeoutError."""


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    raw = response.headers.get("Retry-After")
    try:
        return float(raw) if raw else None
    except ValueError:
        return None


async def _check(response: aiohttp.ClientResponse, channel: str) -> None:
    if response.status < 300:
        return
    body = (await response.text())[:200]
    permanent = 400 <= response.status < 500 and response.status not in (408, 409, 425, 429)
    raise DeliveryError(
        f"{channel} answered {response.status}: {body}",
        permanent=permanent,
        retry_after=_retry_after(response),
    )


def _dumps(value: Any) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)


@dataclass(frozen=True)
class WebhookChannel:
    url: str
    name: str = "webhook"

    async def send(self, session: aiohttp.ClientSession, notice: Message) -> None:
        async with session.post(
            self.url, data=_dumps(notice.document()), headers={"Content-Type": "application/json"}
        ) as response:
            await _check(response, self.name)


@dataclass(frozen=True)
class TelegramChannel:
    token: str
    chat_id: str
    api: str = TELEGRAM_API
    name: str = "telegram"

    async def send(self, session: aiohttp.ClientSession, notice: Message) -> None:
        payload = {"chat_id": self.chat_id, "text": notice.text(), "disable_web_page_preview": True}
        async with session.post(
            f"{self.api}/bot{self.token}/sendMessage",
            data=_dumps(payload),
            headers={"Content-Type": "application/json"},
        ) as response:
            if response.status == 429:
                retry_after = _retry_after(response)
                with contextlib.suppress(Exception):
                    retry_after = float((await response.json())["parameters"]["retry_after"])
                raise DeliveryError("telegram is rate limiting", retry_after=retry_after)
            await _check(response, self.name)


def channels(settings: Settings) -> list[Channel]:
    """The channels the settings configure (none, one or both)."""
    found: list[Channel] = []
    if settings.alert_webhook_url:
        found.append(WebhookChannel(settings.alert_webhook_url))
    if settings.telegram_bot_token and settings.telegram_chat_id:
        found.append(
            TelegramChannel(
                settings.telegram_bot_token,
                settings.telegram_chat_id,
                settings.telegram_api_url or TELEGRAM_API,
            )
        )
    return found


async def send_once(
    channel: Channel, session: aiohttp.ClientSession, notice: Message, timeout: float
) -> DeliveryError | None:
    """One delivery attempt: None when the channel accepted the notice, else what failed."""
    try:
        async with asyncio.timeout(timeout):
            await channel.send(session, notice)
        return None
    except DeliveryError as exc:
        return exc
    except TimeoutError:
        return DeliveryError(f"{channel.name} did not answer within {timeout} s")
    except aiohttp.ClientError as exc:
        return DeliveryError(f"{channel.name} unreachable: {exc}")


async def redeliver(
    settings: Settings, channel_name: str, notices: Sequence[Message]
) -> list[str | None]:
    """Send dead-lettered notices once more to the channel they failed on (replay). Returns,
    per notice, None when delivered, else why not."""
    channel = next((c for c in channels(settings) if c.name == channel_name), None)
    if channel is None:
        return [f"notification channel {channel_name!r} is not configured"] * len(notices)
    outcomes: list[str | None] = []
    timeout = aiohttp.ClientTimeout(total=settings.notify_timeout_seconds)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        for notice in notices:
            failure = await send_once(channel, session, notice, settings.notify_timeout_seconds)
            outcomes.append(None if failure is None else str(failure))
    return outcomes


def notice_of(document: Any) -> Message:
    """The notice a dead letter keeps (its `document()`); ValueError when it is none."""
    if isinstance(document, dict) and document.get("type") == "report":
        from shared.report_markdown import Summary

        if not isinstance(document.get("report"), dict):
            raise ValueError("a report notification without its report")
        return Summary(document["report"])
    if not isinstance(document, dict) or document.get("type") != "alert":
        raise ValueError("not an alert or report notification")
    kind, alert = document.get("event"), document.get("alert")
    if kind not in ("opened", "updated", "resolved") or not isinstance(alert, dict):
        raise ValueError("an alert notification without its event or alert")
    return Notice(kind, alert)


DeadLetter = Callable[[str, str, Message, int], Awaitable[None]]
"""(channel, reason, notice, attempts): keeps an undeliverable notice."""


class Notifier:
    """Background delivery of notices to channels, one bounded queue per channel."""

    def __init__(
        self,
        channels: Sequence[Channel],
        dead_letter: DeadLetter,
        queue_size: int = 1000,
        timeout: float = 10.0,
        max_attempts: int = 6,
        backoff_base: float = 1.0,
    ) -> None:
        self.channels = list(channels)
        self.dead_letter = dead_letter
        self.timeout = timeout
        self.max_attempts = max(1, max_attempts)
        self.backoff_base = backoff_base
        self.queue_size = queue_size
        self.delivered = 0
        self.failed = 0
        self._queues: dict[str, asyncio.Queue[Message]] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._session: aiohttp.ClientSession | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def _start(self) -> None:
        self._loop = asyncio.get_running_loop()
        for channel in self.channels:
            queue: asyncio.Queue[Message] = asyncio.Queue(maxsize=self.queue_size)
            self._queues[channel.name] = queue
            for _ in range(WORKERS_PER_CHANNEL):
                self._tasks.append(asyncio.create_task(self._work(channel, queue)))

    def submit(self, notices: Sequence[Message]) -> None:
        """Queue these notices for every channel and return at once."""
        if not self.channels or not notices:
            return
        if self._loop is None:
            self._start()
        for channel in self.channels:
            queue = self._queues[channel.name]
            for notice in notices:
                try:
                    queue.put_nowait(notice)
                except asyncio.QueueFull:
                    log.error("%s notification queue is full; dead-lettering", channel.name)
                    self._tasks.append(
                        asyncio.create_task(
                            self._give_up(channel.name, "notification queue full", notice, 0)
                        )
                    )

    async def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout))
        return self._session

    async def _work(self, channel: Channel, queue: asyncio.Queue[Message]) -> None:
        while True:
            notice = await queue.get()
            try:
                await self._deliver(channel, notice)
            except Exception:
                log.exception("notification worker of %s failed", channel.name)
            finally:
                queue.task_done()

    def _backoff(self, attempt: int, hint: float | None) -> float:
        delay = min(self.backoff_base * 2 ** (attempt - 1), MAX_BACKOFF_SECONDS)
        delay *= random.uniform(0.5, 1.0)
        return max(delay, min(hint, MAX_BACKOFF_SECONDS)) if hint else delay

    async def _deliver(self, channel: Channel, notice: Message) -> None:
        session = await self._client()
        for retry in range(self.max_attempts):
            attempt = sink_policy.Attempt(retry, self.max_attempts - 1)
            failure = await send_once(channel, session, notice, self.timeout)
            if failure is None:
                self.delivered += 1
                return
            log.warning(
                "notification to %s failed (attempt %d): %s", channel.name, attempt.number, failure
            )
            if sink_policy.gives_up(attempt, failure.permanent):
                await self._give_up(channel.name, str(failure), notice, attempt.number)
                return
            await asyncio.sleep(self._backoff(attempt.number, failure.retry_after))

    async def _give_up(self, channel: str, reason: str, notice: Message, attempts: int) -> None:
        self.failed += 1
        log.error("notification to %s given up after %d attempt(s): %s", channel, attempts, reason)
        try:
            await self.dead_letter(channel, reason, notice, attempts)
        except Exception:
            log.exception("could not dead-letter a notification to %s", channel)

    async def drain(self, timeout: float | None = None) -> None:
        """Wait until every queued notice is delivered or given up."""
        async with asyncio.timeout(timeout):
            for queue in self._queues.values():
                await queue.join()

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()
        self._queues.clear()
        self._loop = None
        if self._session is not None:
            await self._session.close()
            self._session = None


def _dead_letter_to_blob(settings: Settings) -> DeadLetter:
    async def write(channel: str, reason: str, notice: Message, attempts: int) -> None:
        from shared import deadletter

        document = orjson.loads(_dumps(notice.document()))
        await deadletter.write(
            settings,
            deadletter.Sink.NOTIFY,
            reason,
            [document],
            attempts,
            details={"channel": channel},
        )

    return write


_notifier: tuple[Settings, Notifier] | None = None


def notifier(settings: Settings) -> Notifier:
    """The process's notifier for these settings, created on first use in the running loop."""
    global _notifier
    loop = asyncio.get_running_loop()
    current = _notifier[1] if _notifier is not None else None
    stale = current is not None and current._loop not in (None, loop)
    if current is None or stale or _notifier[0] is not settings:  # type: ignore[index]
        current = Notifier(
            channels(settings),
            _dead_letter_to_blob(settings),
            queue_size=settings.notify_queue_size,
            timeout=settings.notify_timeout_seconds,
            max_attempts=settings.notify_max_attempts,
        )
        _notifier = (settings, current)
    return current


async def close() -> None:
    global _notifier
    if _notifier is not None:
        await _notifier[1].close()
        _notifier = None
