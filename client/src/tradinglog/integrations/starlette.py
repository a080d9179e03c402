"""Starlette/FastAPI middleware: request started/completed logs with response time, and an
`X-Request-ID` read from the request or made, bound to the log context and returned; an
`X-Signal-Id` from the calling service carries its trade on (see `tradinglog.trade`)."""

from __future__ import annotations

import contextlib
import time
import uuid
from typing import Any

from tradinglog.context import bind, unbind
from tradinglog.logger import get_logger
from tradinglog.trade import signal_from_headers, trade_context

REQUEST_ID_HEADER = b"x-request-id"


class RequestLoggingMiddleware:
    """Pure ASGI middleware (works with Starlette and FastAPI without importing them)."""

    def __init__(self, app: Any, service: str | None = None, logger_name: str = "http") -> None:
        self.app = app
        self.log = get_logger(logger_name, service)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        request_id = headers.get(REQUEST_ID_HEADER, b"").decode("latin-1")[:128]
        request_id = request_id or str(uuid.uuid4())
        client = scope.get("client") or ("", 0)
        fields = {
            "method": scope.get("method"),
            "path": scope.get("path"),
            "ip_address": client[0] or None,
            "user_agent": headers.get(b"user-agent", b"").decode("latin-1") or None,
        }
        signal_id = signal_from_headers(headers)
        trade = trade_context(signal_id) if signal_id else contextlib.nullcontext()
        trade.__enter__()
        token = bind(request_id=request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message["headers"] = [
                    *message.get("headers", []),
                    (REQUEST_ID_HEADER, request_id.encode("latin-1")),
                ]
            await send(message)

        self.log.info("Request started", event_type="request_started", **fields)
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            elapsed = (time.perf_counter() - started) * 1000
            self.log.exception(
                "Request failed",
                event_type="request_failed",
                response_time=round(elapsed, 2),
                **fields,
            )
            raise
        else:
            elapsed = (time.perf_counter() - started) * 1000
            self.log.info(
                "Request completed",
                event_type="request_completed",
                status_code=status,
                response_time=round(elapsed, 2),
                **fields,
            )
        finally:
            unbind(token)
            trade.__exit__(None, None, None)
