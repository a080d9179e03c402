"""The client under structlog and python-json-logger set-ups, the ASGI middleware, the Telegram
helpers and the performance monitor, each delivering to the dev host."""

from __future__ import annotations

import json
import logging
import uuid

import httpx
import structlog
from fastapi import FastAPI
from pythonjsonlogger.json import JsonFormatter
from tradinglog import PipelineHandler, log_context
from tradinglog.integrations import performance, telegram
from tradinglog.integrations.starlette import RequestLoggingMiddleware

from tests.client.conftest import wait_rows
from tests.client.test_handler import isolated_logger


async def test_structlog_events_keep_their_fields(dev_host) -> None:
    handler = PipelineHandler(dev_host.base_url, "dev-ingest-key", "trading-engine")
    std = isolated_logger(handler)
    structlog.configure(
        processors=[structlog.stdlib.add_log_level, structlog.stdlib.render_to_log_kwargs],
        logger_factory=lambda *_: std,
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    log = structlog.get_logger()
    log.bind(symbol="SOLUSDT").warning("Slippage above limit", slippage_bps=42)
    assert handler.flush(10)
    rows = await wait_rows(dev_host.database_url, handler.process_id, 1)
    extra = json.loads(rows[0]["extra_data"])
    assert rows[0]["message"] == "Slippage above limit" and rows[0]["level"] == "WARNING"
    assert extra["symbol"] == "SOLUSDT" and extra["slippage_bps"] == 42
    structlog.reset_defaults()
    handler.close()


async def test_python_json_logger_setups_work_alongside(dev_host, capsys) -> None:
    handler = PipelineHandler(dev_host.base_url, "dev-ingest-key", "portfolio-manager")
    logger = isolated_logger(handler)
    console = logging.StreamHandler()
    console.setFormatter(JsonFormatter())
    logger.addHandler(console)
    logger.info("Rebalanced", extra={"weights": {"BTC": 0.6, "ETH": 0.4}})
    assert handler.flush(10)
    rows = await wait_rows(dev_host.database_url, handler.process_id, 1)
    assert json.loads(rows[0]["extra_data"])["weights"] == {"BTC": 0.6, "ETH": 0.4}
    assert json.loads(capsys.readouterr().err)["message"] == "Rebalanced"
    handler.close()


async def test_the_middleware_logs_requests_with_their_request_id(dev_host) -> None:
    handler = PipelineHandler(dev_host.base_url, "dev-ingest-key", "api-gateway")
    name = isolated_logger(handler).name
    app = FastAPI()
    app.add_middleware(RequestLoggingMiddleware, service="api-gateway", logger_name=name)

    @app.get("/orders/{order_id}")
    async def order(order_id: str) -> dict[str, str]:
        return {"order": order_id}

    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bot") as client:
        given = await client.get("/orders/1", headers={"X-Request-ID": "req-given"})
        made = await client.get("/orders/2")
    assert given.headers["x-request-id"] == "req-given"
    assert uuid.UUID(made.headers["x-request-id"])
    assert handler.flush(10)
    rows = await wait_rows(dev_host.database_url, handler.process_id, 4)
    completed = [r for r in rows if r["message"] == "Request completed"]
    assert {r["request_id"] for r in completed} == {"req-given", made.headers["x-request-id"]}
    assert all(json.loads(r["extra_data"])["response_time"] >= 0 for r in completed)
    handler.close()


async def test_telegram_helpers_and_performance_monitor(dev_host) -> None:
    handler = PipelineHandler(dev_host.base_url, "dev-ingest-key", "telegram-bot")
    for name in ("telegram", "performance"):
        logging.getLogger(name).addHandler(handler)
        logging.getLogger(name).setLevel(logging.INFO)
    try:
        with log_context(session_id="chat-session"):
            telegram.log_interaction(1001, 2002, "command", "/buy BTC 0.1")
            telegram.log_trading_command(1001, "buy", {"symbol": "BTCUSDT", "amount": 0.1})
            telegram.log_response(1001, 2002, "confirmation", 120.5)
        monitor = performance.PerformanceMonitor("telegram-bot", interval=3600)
        metrics = performance.sample()
        breached = performance.check(
            metrics, performance.Thresholds(cpu_percent=-1, memory_percent=101), monitor.log
        )
        assert breached == ["cpu_percent"]
        assert handler.flush(10)
        rows = await wait_rows(dev_host.database_url, handler.process_id, 4)
    finally:
        for name in ("telegram", "performance"):
            logging.getLogger(name).removeHandler(handler)
        handler.close()
    by_type = {json.loads(r["extra_data"]).get("command") or r["message"]: r for r in rows}
    assert by_type["buy"]["level"] == "SIGNAL_RECEIVED"
    assert all(r["service"] == "telegram-bot" for r in rows)
    assert any(r["message"].startswith("High cpu usage") for r in rows)
