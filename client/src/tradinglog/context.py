"""Request context (request_id, user_id, session_id) in a ContextVar, so concurrent requests,
threads and asyncio tasks never see each other's ids."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from types import MappingProxyType

CONTEXT_FIELDS = ("request_id", "user_id", "session_id")

_EMPTY: Mapping[str, str] = MappingProxyType({})
_context: contextvars.ContextVar[Mapping[str, str]] = contextvars.ContextVar(
    "tradinglog_context", default=_EMPTY
)


def current() -> Mapping[str, str]:
    return _context.get()


def bind(**ids: str | None) -> contextvars.Token[Mapping[str, str]]:
    """Set context ids for the current task or thread; returns a token for `unbind`."""
    unknown = set(ids) - set(CONTEXT_FIELDS)
    if unknown:
        raise TypeError(f"unknown context fields: {sorted(unknown)}")
    merged = {**_context.get(), **{k: str(v) for k, v in ids.items() if v is not None}}
    return _context.set(MappingProxyType(merged))


def unbind(token: contextvars.Token[Mapping[str, str]]) -> None:
    _context.reset(token)


@contextlib.contextmanager
def log_context(**ids: str | None) -> Iterator[None]:
    """`with log_context(request_id=...):` binds ids for the block only."""
    token = bind(**ids)
    try:
        yield
    finally:
        unbind(token)
