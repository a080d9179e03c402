"""Realistic trading-bot records, normalised as ingest publishes them, for the archive's tests
and benchmark."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

SERVICES = (
    "api-gateway",
    "trading-engine",
    "ai-processor",
    "telegram-bot",
    "portfolio-manager",
    "exchange-connector",
)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT")
LEVELS = (
    ("INFO", 20, 50),
    ("DEBUG", 10, 20),
    ("SIGNAL_RECEIVED", 22, 8),
    ("AI_DECISION", 23, 6),
    ("TRADE_EXECUTED", 25, 6),
    ("WARNING", 30, 6),
    ("RISK_ALERT", 35, 1),
    ("ERROR", 40, 2),
    ("CRITICAL", 50, 1),
)


def _message(level: str, rng: random.Random, symbol: str) -> str:
    order = f"ord-{rng.randrange(10**9):09d}"
    price = f"{rng.uniform(0.2, 70000):.2f}"
    return {
        "TRADE_EXECUTED": f"Bought {rng.randrange(1, 90)} {symbol} at {price}, order {order}",
        "SIGNAL_RECEIVED": f"Signal received: BUY {symbol} strength 0.{rng.randrange(100)}",
        "AI_DECISION": f"Model decided long on {symbol} with confidence 0.{rng.randrange(100)}",
        "WARNING": f"Slow response from exchange: {rng.randrange(900, 9000)} ms for {symbol}",
        "RISK_ALERT": f"Risk limit exceeded on {symbol}: exposure {rng.randrange(10**6)} USDT",
        "ERROR": f"Trade execution failed for order {order} on {symbol}: exchange rejected",
        "CRITICAL": "Trading halted: risk engine unreachable",
        "DEBUG": f"Cache hit for ticker {symbol}",
    }.get(level, f"Order book updated for {symbol}: best bid {price}")


def record(i: int, at: datetime, rng: random.Random) -> dict[str, Any]:
    level, level_no, _ = rng.choices(LEVELS, weights=[w for *_, w in LEVELS])[0]
    service = SERVICES[i % len(SERVICES)]
    symbol = rng.choice(SYMBOLS)
    failed = level_no >= 40
    return {
        "id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "timestamp": at.isoformat(timespec="microseconds"),
        "received_at": (at + timedelta(milliseconds=40)).isoformat(timespec="microseconds"),
        "level": level,
        "level_no": level_no,
        "service": service,
        "logger_name": f"{service}.{rng.choice(('orders', 'feed', 'risk', 'model'))}",
        "message": _message(level, rng, symbol),
        "request_id": f"req-{rng.randrange(10**6)}",
        "user_id": f"user-{rng.randrange(5000)}",
        "session_id": f"sess-{rng.randrange(40000)}",
        "event_type": rng.choice(("order", "tick", "signal", "decision", "heartbeat")),
        "extra_data": {
            "symbol": symbol,
            "qty": rng.randrange(1, 500),
            "price": round(rng.uniform(0.2, 70000), 2),
            "latency_ms": rng.randrange(1, 900),
        },
        "exception_type": "ExchangeError" if failed else None,
        "exception_message": "HTTP 429 from exchange" if failed else None,
        "stack_trace": (
            'Traceback (most recent call last):\n  File "engine.py", line 88, in place\n'
            "ExchangeError: HTTP 429"
            if failed
            else None
        ),
        "ip_address": f"10.0.{rng.randrange(256)}.{rng.randrange(256)}",
        "user_agent": "trading-bot/2.4 (python-httpx)",
    }


def records(
    count: int, start: datetime | None = None, step_ms: int = 50, seed: int = 7
) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    start = start or datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    return [record(i, start + timedelta(milliseconds=i * step_ms), rng) for i in range(count)]


def bodies(items: list[dict[str, Any]]) -> list[bytes]:
    """Event bodies as ingest publishes them: one compact JSON object each."""
    return [orjson.dumps(r) for r in items]
