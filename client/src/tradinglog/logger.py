"""`get_logger(name, service)`: the seed's StructuredLogger API on top of standard logging."""

from __future__ import annotations

import logging
import os
from typing import Any

from tradinglog import levels
from tradinglog.handler import PipelineHandler

_EVENT_TYPES = {
    levels.SIGNAL_RECEIVED: "signal_received",
    levels.AI_DECISION: "ai_decision",
    levels.TRADE_EXECUTED: "trade_executed",
    levels.RISK_ALERT: "risk_alert",
}


class BotLogger:
    """Keyword fields become the record's fields (`event_type`, ids, ...) or its extra_data."""

    def __init__(self, logger: logging.Logger, service: str | None = None) -> None:
        self.logger = logger
        self.service = service

    def _log(self, level: int, message: str, exc_info: Any = None, **fields: Any) -> None:
        if not self.logger.isEnabledFor(level):
            return
        if level in _EVENT_TYPES:
            fields.setdefault("event_type", _EVENT_TYPES[level])
        extra: dict[str, Any] = {"fields": fields}
        if self.service:
            fields.setdefault("service", self.service)
        self.logger.log(level, message, exc_info=exc_info, extra=extra, stacklevel=3)

    def debug(self, message: str, **fields: Any) -> None:
        self._log(logging.DEBUG, message, **fields)

    def info(self, message: str, **fields: Any) -> None:
        self._log(logging.INFO, message, **fields)

    def warning(self, message: str, **fields: Any) -> None:
        self._log(logging.WARNING, message, **fields)

    def error(self, message: str, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.ERROR, message, exc_info=exc_info, **fields)

    def critical(self, message: str, exc_info: Any = None, **fields: Any) -> None:
        self._log(logging.CRITICAL, message, exc_info=exc_info, **fields)

    def exception(self, message: str, **fields: Any) -> None:
        self._log(logging.ERROR, message, exc_info=True, **fields)

    def signal_received(self, message: str, *, symbol: str, signal: str, **fields: Any) -> None:
        self._log(
            levels.SIGNAL_RECEIVED,
            message,
            symbol=symbol,
            signal=signal,
            **fields,
        )

    def ai_decision(
        self, message: str, *, decision: str, confidence: float | None = None, **fields: Any
    ) -> None:
        self._log(
            levels.AI_DECISION,
            message,
            decision=decision,
            confidence=confidence,
            **fields,
        )

    def trade_executed(
        self,
        message: str,
        *,
        symbol: str,
        side: str,
        quantity: float,
        price: float,
        **fields: Any,
    ) -> None:
        self._log(
            levels.TRADE_EXECUTED,
            message,
            symbol=symbol,
            side=side,
            quantity=quantity,
            price=price,
            **fields,
        )

    def risk_alert(self, message: str, *, risk_type: str, **fields: Any) -> None:
        self._log(levels.RISK_ALERT, message, risk_type=risk_type, **fields)


def get_logger(name: str, service: str | None = None) -> BotLogger:
    levels.register()
    return BotLogger(logging.getLogger(name), service)


def configure(
    url: str | None = None,
    api_key: str | None = None,
    service: str | None = None,
    *,
    level: int = logging.INFO,
    logger: logging.Logger | None = None,
    **handler_options: Any,
) -> PipelineHandler:
    """Attach a PipelineHandler to the root logger (or `logger`). Arguments default to the
    environment: TRADINGLOG_URL, TRADINGLOG_API_KEY, TRADINGLOG_SERVICE."""
    levels.register()
    url = url or os.environ.get("TRADINGLOG_URL", "http://localhost:7071")
    api_key = api_key or os.environ.get("TRADINGLOG_API_KEY", "")
    service = service or os.environ.get("TRADINGLOG_SERVICE", "unknown")
    spool = handler_options.pop("spool_dir", None) or os.environ.get("TRADINGLOG_SPOOL_DIR")
    handler = PipelineHandler(url, api_key, service, spool_dir=spool, **handler_options)
    target = logger or logging.getLogger()
    target.addHandler(handler)
    if target.level == logging.NOTSET or target.level > level:
        target.setLevel(level)
    return handler
