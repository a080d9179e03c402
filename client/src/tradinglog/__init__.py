"""Structured logging for trading bots, shipped to the log pipeline.

from tradinglog import configure, get_logger
configure("http://localhost:7071", api_key="dev-ingest-key", service="trading-engine")
log = get_logger(__name__)
log.trade_executed("Bought", symbol="BTCUSDT", side="buy", quantity=0.5, price=97000)
"""

from tradinglog.context import bind, log_context, unbind
from tradinglog.handler import PipelineHandler
from tradinglog.levels import AI_DECISION, RISK_ALERT, SIGNAL_RECEIVED, TRADE_EXECUTED
from tradinglog.logger import BotLogger, configure, get_logger
from tradinglog.trade import (
    SIGNAL_HEADER,
    carry,
    current_signal_id,
    signal_from_headers,
    signal_headers,
    trade_context,
)

__all__ = [
    "AI_DECISION",
    "RISK_ALERT",
    "SIGNAL_HEADER",
    "SIGNAL_RECEIVED",
    "TRADE_EXECUTED",
    "BotLogger",
    "PipelineHandler",
    "bind",
    "carry",
    "configure",
    "current_signal_id",
    "get_logger",
    "log_context",
    "signal_from_headers",
    "signal_headers",
    "trade_context",
    "unbind",
]
