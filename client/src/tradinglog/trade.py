"""The trade being worked on: its `signal_id`, carried from the signal through the decision to
the order, so the pipeline joins their records into one trade chain.

    with trade_context() as signal_id:          # a new signal (or trade_context(given_id))
        log.signal_received("RSI cross", symbol="BTCUSDT", signal="buy")
        await asyncio.gather(decide(), hedge())  # tasks inherit the signal id
        pool.submit(carry(place_order), order)   # threads need carry() (a context copy)
        httpx.post(url, headers=signal_headers())  # the next service reads X-Signal-Id

Every record logged inside gets `extra_data.signal_id`. It lives in a ContextVar: asyncio
tasks copy it when created; a new thread starts with an empty context, so work handed to a
thread or an executor is wrapped with `carry`, which runs it in a copy of the caller's."""

from __future__ import annotations

import contextlib
import contextvars
import uuid
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from typing import Any, ParamSpec, TypeVar

SIGNAL_HEADER = "X-Signal-Id"
MAX_SIGNAL_ID_CHARS = 128

_signal: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "tradinglog_signal_id", default=None
)
P = ParamSpec("P")
R = TypeVar("R")


def current_signal_id() -> str | None:
    """The signal id of the trade this task or thread works on, if any."""
    return _signal.get()


def new_signal_id() -> str:
    return f"sig-{uuid.uuid4().hex}"


@contextlib.contextmanager
def trade_context(signal_id: str | None = None) -> Iterator[str]:
    """Work on one trade inside the block: the given signal id, else a new one."""
    chosen = _clean(signal_id) or new_signal_id()
    token = _signal.set(chosen)
    try:
        yield chosen
    finally:
        _signal.reset(token)


def carry(fn: Callable[P, R]) -> Callable[P, R]:
    """`fn` bound to a copy of the current context (signal id and request ids), to hand to a
    thread, an executor or a callback that would otherwise run without them."""
    context = contextvars.copy_context()

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        return context.run(fn, *args, **kwargs)

    return run


def signal_headers(headers: MutableMapping[str, str] | None = None) -> MutableMapping[str, str]:
    """Outgoing HTTP headers with `X-Signal-Id` of the current trade (added to `headers` when
    given), for the next service to carry on the same trade."""
    out: MutableMapping[str, str] = headers if headers is not None else {}
    signal_id = current_signal_id()
    if signal_id:
        out[SIGNAL_HEADER] = signal_id
    return out


def signal_from_headers(headers: Mapping[str, Any] | Any) -> str | None:
    """The signal id an incoming request carries (`X-Signal-Id`, any case; str or bytes)."""
    items = headers.items() if hasattr(headers, "items") else headers
    for name, value in items:
        key = name.decode("latin-1") if isinstance(name, bytes) else str(name)
        if key.lower() == SIGNAL_HEADER.lower():
            text = value.decode("latin-1") if isinstance(value, bytes) else str(value)
            return _clean(text)
    return None


def _clean(value: str | None) -> str | None:
    if value is None:
        return None
    text = "".join(c for c in str(value) if c.isprintable()).strip()
    return text[:MAX_SIGNAL_ID_CHARS] or None
