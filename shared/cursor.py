"""Opaque keyset cursors: the (timestamp, id) of the last row of a page, signed with HMAC so a
tampered or forged cursor is refused rather than silently reinterpreted."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import orjson

VERSION = 1
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MAC_BYTES = 16
MAX_CURSOR_CHARS = 1024


class InvalidCursor(ValueError):
    """The cursor was not issued by this service (or was altered)."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where the previous page ended: pages continue with rows strictly older, by
    (timestamp, id) descending."""

    timestamp: datetime
    id: str


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _mac(secret: str, payload: bytes) -> bytes:
    return hmac.new(secret.encode(), payload, hashlib.sha256).digest()[:_MAC_BYTES]


def encode(position: Position, secret: str) -> str:
    micros = (position.timestamp - _EPOCH) // timedelta(microseconds=1)
    payload = orjson.dumps([VERSION, micros, position.id])
    return f"{_b64(payload)}.{_b64(_mac(secret, payload))}"


def decode(token: str, secret: str) -> Position:
    """The position in a cursor this service issued; InvalidCursor otherwise."""
    if len(token) > MAX_CURSOR_CHARS:
        raise InvalidCursor("cursor is too long")
    body, dot, mac = token.partition(".")
    if not dot:
        raise InvalidCursor("cursor is malformed")
    try:
        payload, signature = _unb64(body), _unb64(mac)
    except (binascii.Error, ValueError):
        raise InvalidCursor("cursor is malformed") from None
    if not hmac.compare_digest(signature, _mac(secret, payload)):
        raise InvalidCursor("cursor was altered or not issued by this service")
    try:
        version, micros, row_id = orjson.loads(payload)
        if version != VERSION or not isinstance(micros, int) or not isinstance(row_id, str):
            raise ValueError
        return Position(_EPOCH + timedelta(microseconds=micros), row_id)
    except (ValueError, TypeError, OverflowError):
        raise InvalidCursor("cursor is malformed") from None
