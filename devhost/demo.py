"""Demo traffic: the trading bots' services posting realistic logs to the running pipeline.

Request flows share one request id across services (a webhook signal through the gateway, the
engine, the AI processor, the exchange, the portfolio and the Telegram bot); around them come
slow responses, AI exceptions with stack traces, risk alerts, now and then a failed exchange
connection, and bursts of trading-engine errors large enough for the analyzer's error-rate
rule. The first connection failure and the first burst come within a minute of starting."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import random
import uuid
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp

log = logging.getLogger(__name__)

SERVICES = (
    "api-gateway",
    "trading-engine",
    "ai-processor",
    "telegram-bot",
    "portfolio-manager",
    "exchange-connector",
)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT", "ADAUSDT")
PRICES = {
    "BTCUSDT": 67_000.0,
    "ETHUSDT": 3_400.0,
    "SOLUSDT": 150.0,
    "BNBUSDT": 590.0,
    "XRPUSDT": 0.52,
    "ADAUSDT": 0.45,
}
STRATEGIES = ("momentum", "mean-reversion", "breakout", "grid", "funding-arb")
EXCHANGES = ("binance", "bybit", "kraken", "okx")
MODELS = ("gpt-4o-mini", "claude-3-5-haiku", "local-xgb-v7")
USER_AGENTS = ("TelegramBot (like TwitterBot)", "python-requests/2.32", "TradingView-Webhook/1.0")

DEFAULT_RATE = 5.0
SUMMARY_SECONDS = 10.0
TRADING_LEVELS = ("SIGNAL_RECEIVED", "AI_DECISION", "TRADE_EXECUTED", "RISK_ALERT")
FIRST_EXCHANGE_FAILURE_S = 20.0
EXCHANGE_FAILURE_EVERY_S = 150.0
FIRST_ERROR_BURST_S = 40.0
ERROR_BURST_EVERY_S = 300.0
ERROR_BURST_SIZE = 14

Record = dict[str, Any]


def _traceback(frames: list[tuple[str, int, str, str]], error: str) -> str:
    lines = ["Traceback (most recent call last):"]
    for path, line, function, code in frames:
        lines.append(f'  File "{path}", line {line}, in {function}')
        lines.append(f"    {code}")
    lines.append(error)
    return "\n".join(lines)


class Fleet:
    """Generates the fleet's records; `tick(elapsed)` returns what happened since the last
    tick. Deterministic for a given seed."""

    def __init__(self, rate: float = DEFAULT_RATE, seed: int | None = None) -> None:
        self.rate = rate
        self.random = random.Random(seed)
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        self._next_exchange_failure = FIRST_EXCHANGE_FAILURE_S
        self._next_error_burst = FIRST_ERROR_BURST_S
        self._budget = 0.0
        self._positions: dict[str, float] = {}
        self._prices = dict(PRICES)
        self._users = [f"user-{self.random.randrange(10_000, 99_999)}" for _ in range(8)]

    # --- building blocks

    def _record(self, service: str, level: str, message: str, **fields: Any) -> Record:
        record: Record = {
            "timestamp": self.clock().isoformat(),
            "level": level,
            "service": service,
            "logger_name": f"{service.replace('-', '_')}.{fields.pop('logger', 'main')}",
            "message": message,
        }
        record.update({k: v for k, v in fields.items() if v is not None})
        return record

    def _price(self, symbol: str) -> float:
        drift = 1 + self.random.gauss(0, 0.002)
        self._prices[symbol] = round(self._prices[symbol] * drift, 6)
        return self._prices[symbol]

    # --- scenarios: each returns the records of one event or flow

    def signal_flow(self) -> list[Record]:
        request_id = f"req-{uuid.UUID(int=self.random.getrandbits(128)).hex[:16]}"
        symbol = self.random.choice(SYMBOLS)
        strategy = self.random.choice(STRATEGIES)
        side = self.random.choice(("BUY", "SELL"))
        price = self._price(symbol)
        confidence = round(self.random.uniform(0.35, 0.97), 2)
        user = self.random.choice(self._users)
        out = [
            self._record(
                "api-gateway",
                "INFO",
                f"POST /webhooks/tradingview 200 ({self.random.randint(8, 90)} ms)",
                logger="access",
                request_id=request_id,
                event_type="http_request",
                ip_address=f"52.89.{self.random.randint(0, 255)}.{self.random.randint(1, 254)}",
                user_agent="TradingView-Webhook/1.0",
                extra_data={"method": "POST", "path": "/webhooks/tradingview", "status": 200},
            ),
            self._record(
                "trading-engine",
                "SIGNAL_RECEIVED",
                f"{strategy} signal {side} {symbol} @ {price}",
                logger="signals",
                request_id=request_id,
                event_type="signal",
                extra_data={"symbol": symbol, "side": side, "strategy": strategy, "price": price},
            ),
            self._record(
                "ai-processor",
                "AI_DECISION",
                f"{'approve' if confidence >= 0.6 else 'reject'} {side} {symbol} "
                f"(confidence {confidence})",
                logger="decisions",
                request_id=request_id,
                event_type="ai_decision",
                extra_data={
                    "symbol": symbol,
                    "model": self.random.choice(MODELS),
                    "confidence": confidence,
                    "features": {"rsi": round(self.random.uniform(15, 85), 1), "vol_z": 1.3},
                    "latency_ms": self.random.randint(120, 2400),
                },
            ),
        ]
        if confidence < 0.6:
            return out
        quantity = round(self.random.uniform(0.01, 2.0) * (1000 / max(price, 1)), 4)
        order_id = f"ord-{self.random.getrandbits(40):010x}"
        exchange = self.random.choice(EXCHANGES)
        out += [
            self._record(
                "exchange-connector",
                "INFO",
                f"order {order_id} filled on {exchange}",
                logger=exchange,
                request_id=request_id,
                event_type="order_filled",
                extra_data={"order_id": order_id, "exchange": exchange, "fill_price": price},
            ),
            self._record(
                "trading-engine",
                "TRADE_EXECUTED",
                f"{side} {quantity} {symbol} @ {price} on {exchange}",
                logger="execution",
                request_id=request_id,
                event_type="trade",
                user_id=user,
                extra_data={
                    "order_id": order_id,
                    "symbol": symbol,
                    "side": side,
                    "quantity": quantity,
                    "price": price,
                    "notional": round(quantity * price, 2),
                    "strategy": strategy,
                },
            ),
        ]
        exposure = self._positions.get(symbol, 0.0) + (quantity if side == "BUY" else -quantity)
        self._positions[symbol] = exposure
        out.append(
            self._record(
                "portfolio-manager",
                "INFO",
                f"position {symbol} now {exposure:+.4f}",
                logger="positions",
                request_id=request_id,
                event_type="position_update",
                user_id=user,
                extra_data={"symbol": symbol, "position": exposure},
            )
        )
        out.append(
            self._record(
                "telegram-bot",
                "INFO",
                f"notified {user}: {side} {symbol} filled",
                logger="notifier",
                request_id=request_id,
                event_type="notification",
                user_id=user,
                session_id=f"tg-{user}",
            )
        )
        return out

    def telegram_command(self) -> list[Record]:
        user = self.random.choice(self._users)
        command = self.random.choice(("/status", "/balance", "/positions", "/pnl", "/stop"))
        return [
            self._record(
                "telegram-bot",
                "INFO",
                f"command {command} from {user}",
                logger="commands",
                request_id=f"tg-{self.random.getrandbits(48):012x}",
                event_type="command",
                user_id=user,
                session_id=f"tg-{user}",
                user_agent=USER_AGENTS[0],
                extra_data={"command": command, "chat_id": self.random.randint(10**8, 10**9)},
            )
        ]

    def slow_response(self) -> list[Record]:
        path = self.random.choice(("/api/portfolio", "/api/orders", "/api/signals", "/api/pnl"))
        elapsed = self.random.randint(5200, 14000)
        return [
            self._record(
                "api-gateway",
                "WARNING",
                f"slow response GET {path} ({elapsed} ms)",
                logger="access",
                request_id=f"req-{self.random.getrandbits(64):016x}",
                event_type="http_request",
                ip_address=f"10.0.{self.random.randint(0, 9)}.{self.random.randint(2, 250)}",
                user_agent=self.random.choice(USER_AGENTS),
                extra_data={"method": "GET", "path": path, "status": 200, "response_time": elapsed},
            )
        ]

    def ai_exception(self) -> list[Record]:
        error = self.random.choice(
            (
                ("TimeoutError", "model inference exceeded 30s"),
                ("ValueError", "feature vector has NaN in 'funding_rate'"),
                ("KeyError", "'orderbook_depth'"),
            )
        )
        stack = _traceback(
            [
                ("/app/ai_processor/worker.py", 88, "handle", "decision = await model.decide(x)"),
                ("/app/ai_processor/model.py", 142, "decide", "vector = self.features(x)"),
                ("/app/ai_processor/features.py", 57, "features", "return build(row)"),
            ],
            f"{error[0]}: {error[1]}",
        )
        return [
            self._record(
                "ai-processor",
                "ERROR",
                f"decision failed: {error[1]}",
                logger="worker",
                request_id=f"req-{self.random.getrandbits(64):016x}",
                event_type="exception",
                exception_type=error[0],
                exception_message=error[1],
                stack_trace=stack,
                extra_data={"model": self.random.choice(MODELS), "retry": True},
            )
        ]

    def risk_alert(self) -> list[Record]:
        drawdown = round(self.random.uniform(5.5, 14.0), 1)
        symbol = self.random.choice(SYMBOLS)
        return [
            self._record(
                "portfolio-manager",
                "RISK_ALERT",
                f"drawdown {drawdown}% on {symbol} exceeds limit 5%",
                logger="risk",
                event_type="risk_alert",
                extra_data={"symbol": symbol, "drawdown_pct": drawdown, "limit_pct": 5.0},
            )
        ]

    def debug_heartbeat(self) -> list[Record]:
        service = self.random.choice(SERVICES)
        return [
            self._record(
                service,
                "DEBUG",
                "heartbeat",
                logger="health",
                event_type="heartbeat",
                extra_data={"rss_mb": self.random.randint(90, 600)},
            )
        ]

    def exchange_failure(self) -> list[Record]:
        exchange = self.random.choice(EXCHANGES)
        stack = _traceback(
            [
                ("/app/connector/session.py", 211, "connect", "await self._ws.connect(url)"),
                ("/app/connector/transport.py", 64, "connect", "raise ConnectionError(reason)"),
            ],
            f"ConnectionError: {exchange} websocket handshake timed out",
        )
        return [
            self._record(
                "exchange-connector",
                "ERROR",
                f"Failed to connect to exchange {exchange}: handshake timed out",
                logger=exchange,
                event_type="exchange_connection",
                exception_type="ConnectionError",
                exception_message=f"{exchange} websocket handshake timed out",
                stack_trace=stack,
                extra_data={"exchange": exchange, "attempt": self.random.randint(1, 5)},
            )
        ]

    def error_burst(self) -> list[Record]:
        symbol = self.random.choice(SYMBOLS)
        return [
            self._record(
                "trading-engine",
                "ERROR",
                f"order rejected for {symbol}: insufficient margin",
                logger="execution",
                request_id=f"req-{self.random.getrandbits(64):016x}",
                event_type="order_rejected",
                exception_type="OrderRejected",
                exception_message="insufficient margin",
                stack_trace=_traceback(
                    [("/app/engine/execution.py", 301, "place", "raise OrderRejected(reply)")],
                    "OrderRejected: insufficient margin",
                ),
                extra_data={"symbol": symbol, "required": 1250.0, "available": 310.4},
            )
            for _ in range(ERROR_BURST_SIZE)
        ]

    # --- the clock

    def tick(self, elapsed: float, seconds: float) -> list[Record]:
        """The records of the `seconds` up to `elapsed` seconds after the start."""
        out: list[Record] = []
        if elapsed >= self._next_exchange_failure:
            out += self.exchange_failure()
            self._next_exchange_failure += EXCHANGE_FAILURE_EVERY_S
        if elapsed >= self._next_error_burst:
            out += self.error_burst()
            self._next_error_burst += ERROR_BURST_EVERY_S
        self._budget += self.rate * seconds
        scenarios = (
            (self.signal_flow, 0.42),
            (self.telegram_command, 0.2),
            (self.debug_heartbeat, 0.14),
            (self.slow_response, 0.1),
            (self.ai_exception, 0.07),
            (self.risk_alert, 0.07),
        )
        makers = [m for m, _ in scenarios]
        weights = [w for _, w in scenarios]
        while self._budget >= 1:
            made = self.random.choices(makers, weights)[0]()
            self._budget -= len(made)
            out += made
        return out


async def _post(session: aiohttp.ClientSession, url: str, records: list[Record]) -> bool | None:
    """True when accepted, None when refused for good (a 4xx), False when worth retrying."""
    try:
        async with session.post(url, json=records) as response:
            if response.status == 202:
                return True
            detail = (await response.text())[:300]
            log.warning("demo POST answered %s: %s", response.status, detail)
            if 400 <= response.status < 500 and response.status != 429:
                return None
    except (aiohttp.ClientError, TimeoutError) as exc:
        log.warning("demo POST failed: %s", exc)
    return False


async def run(
    base_url: str,
    api_key: str,
    stop: asyncio.Event,
    rate: float | None = None,
    interval: float = 0.5,
    seed: int | None = None,
) -> None:
    """Post the fleet's traffic to `{base_url}/api/logs` until `stop` is set. `rate` is the
    steady records per second (default: the DEMO_RATE environment variable, else 5). While
    the pipeline refuses or is unreachable, the demo backs off (up to 30 s) and keeps at most
    the latest 10,000 records."""
    rate = rate if rate is not None else float(os.environ.get("DEMO_RATE") or DEFAULT_RATE)
    fleet = Fleet(rate, seed)
    url = f"{base_url.rstrip('/')}/api/logs"
    loop = asyncio.get_running_loop()
    started = last = loop.time()
    pending: list[Record] = []
    wait = interval
    summary = Summary(loop.time())
    log.info("demo traffic: about %.1f records/s to %s", rate, url)
    headers = {"X-Api-Key": api_key}
    timeout = aiohttp.ClientTimeout(total=10)
    async with aiohttp.ClientSession(headers=headers, timeout=timeout) as session:
        while not stop.is_set():
            now = loop.time()
            pending += fleet.tick(now - started, now - last)
            last = now
            del pending[: max(0, len(pending) - 10_000)]
            batch = pending[:1000]
            outcome = await _post(session, url, batch) if pending else True
            if outcome is not False:
                summary.count(batch, accepted=outcome is True)
                del pending[:1000]
            summary.maybe_log(loop.time(), len(pending))
            wait = interval if outcome else min(wait * 2, 30.0)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), wait)


class Summary:
    """The demo's one line every `every` seconds: records sent, by trading level, refused."""

    def __init__(self, now: float, every: float = SUMMARY_SECONDS) -> None:
        self.every = every
        self.since = now
        self.levels: Counter[str] = Counter()
        self.refused = 0

    def count(self, records: list[Record], accepted: bool) -> None:
        if accepted:
            self.levels.update(r["level"] for r in records)
        else:
            self.refused += len(records)

    def line(self, seconds: float, waiting: int) -> str:
        sent = sum(self.levels.values())
        trading = ", ".join(
            f"{self.levels[lvl]} {lvl}" for lvl in TRADING_LEVELS if self.levels[lvl]
        )
        errors = self.levels["ERROR"] + self.levels["CRITICAL"]
        parts = [f"demo: {sent} records in the last {seconds:.0f} s ({sent / seconds:.1f}/s)"]
        parts += [trading] if trading else []
        parts += [f"{errors} errors", f"{self.refused} refused"]
        parts += [f"{waiting} waiting to be sent"] if waiting else []
        return ", ".join(parts)

    def maybe_log(self, now: float, waiting: int) -> None:
        if now - self.since < self.every:
            return
        log.info("%s", self.line(now - self.since, waiting))
        self.since = now
        self.levels.clear()
        self.refused = 0


def sample(seconds: float = 90.0, rate: float = DEFAULT_RATE, seed: int = 7) -> list[Record]:
    """What the fleet sends in its first `seconds`, on a simulated clock (for tests and docs)."""
    fleet = Fleet(rate, seed)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    out: list[Record] = []
    step = 0.5
    elapsed = 0.0
    while elapsed < seconds:
        elapsed += step
        fleet.clock = lambda e=elapsed: start + timedelta(seconds=e)
        out += fleet.tick(elapsed, step)
    return out
