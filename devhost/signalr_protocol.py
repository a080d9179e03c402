"""The SignalR JSON hub protocol: records separated by 0x1E, a handshake, then typed messages."""

from __future__ import annotations

from typing import Any

import orjson

RECORD_SEPARATOR = "\x1e"
INVOCATION = 1
STREAM_ITEM = 2
COMPLETION = 3
STREAM_INVOCATION = 4
CANCEL_INVOCATION = 5
PING = 6
CLOSE = 7

HANDSHAKE_OK = "{}" + RECORD_SEPARATOR
PING_FRAME = '{"type":6}' + RECORD_SEPARATOR


class ProtocolError(Exception):
    """The client sent something the JSON hub protocol does not allow."""


class FrameReader:
    """Splits incoming text into complete JSON records; a record may span WebSocket frames."""

    def __init__(self, max_buffer_chars: int = 1024 * 1024) -> None:
        self._buffer = ""
        self._max = max_buffer_chars

    def feed(self, text: str) -> list[dict[str, Any]]:
        self._buffer += text
        *complete, self._buffer = self._buffer.split(RECORD_SEPARATOR)
        if len(self._buffer) > self._max:
            raise ProtocolError("message too large")
        messages = []
        for raw in complete:
            try:
                message = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise ProtocolError("message is not JSON") from exc
            if not isinstance(message, dict):
                raise ProtocolError("message is not a JSON object")
            messages.append(message)
        return messages


def handshake_reply(request: dict[str, Any]) -> tuple[str, bool]:
    """The handshake response frame for a client's handshake request, and whether it is
    accepted (only the JSON protocol, version 1, is spoken here)."""
    protocol = request.get("protocol")
    version = request.get("version")
    if protocol != "json":
        return error_frame(f"The protocol '{protocol}' is not supported."), False
    if version != 1:
        return error_frame(f"The protocol version '{version}' is not supported."), False
    return HANDSHAKE_OK, True


def error_frame(message: str) -> str:
    return orjson.dumps({"error": message}).decode() + RECORD_SEPARATOR


def invocation_frame(target: str, arguments: list[Any]) -> str:
    """An invocation that expects no reply, as the service sends to clients."""
    body = {"type": INVOCATION, "target": target, "arguments": arguments}
    return orjson.dumps(body).decode() + RECORD_SEPARATOR


def close_frame(error: str | None = None, allow_reconnect: bool = False) -> str:
    body: dict[str, Any] = {"type": CLOSE}
    if error:
        body["error"] = error
    if allow_reconnect:
        body["allowReconnect"] = True
    return orjson.dumps(body).decode() + RECORD_SEPARATOR


def completion_error_frame(invocation_id: str, error: str) -> str:
    body = {"type": COMPLETION, "invocationId": invocation_id, "error": error}
    return orjson.dumps(body).decode() + RECORD_SEPARATOR
