"""Records as real loggers and shippers write them, posted unchanged, land in PostgreSQL with
the right level, time, message, logger, service and exception.

Where the library installs here, its own output is used: Python logging with
python-json-logger, structlog, loguru, ecs-logging, pino, winston and bunyan (run with node),
the OpenTelemetry SDK's own encoder. Serilog/CLEF, Fluent Bit and Vector do not run here: their
payloads are taken from their documentation, cited beside each case. Each line goes through
ingest (`parse_request`), the Event Hub body (`decode_event`) and the store (`store.write`) into
a real PostgreSQL, and the row is checked."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import orjson
import pytest

from shared import db, ingest, records, store
from shared.access import Caller, Role
from shared.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
NDJSON = {"Content-Type": "application/x-ndjson"}


@dataclass
class Case:
    name: str
    lines: Callable[[], list[str]]
    """The records as the logger wrote them, one JSON text each."""
    expected: list[dict[str, Any]]
    """Per line: columns of the stored row (a callable checks the value)."""
    times: Callable[[dict[str, Any]], datetime | None] = lambda _: None
    """The time each line says, read independently of the pipeline."""
    extra: list[dict[str, Any]] = field(default_factory=list)
    """Per line: keys expected in extra_data."""


def _tag() -> str:
    return uuid.uuid4().hex[:8]


def _contains(text: str) -> Callable[[Any], bool]:
    return lambda value: isinstance(value, str) and text in value


def _epoch(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def _iso(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


# --- Python loggers, run in process ------------------------------------------------------


def _stdlib_lines(
    formatter: logging.Formatter, emit: Callable[[logging.Logger], None]
) -> list[str]:
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter)
    logger = logging.getLogger(f"bots.trader.{_tag()}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    try:
        emit(logger)
    finally:
        logger.removeHandler(handler)
    return buffer.getvalue().splitlines()


def _emit_two(logger: logging.Logger) -> None:
    logger.warning("order slow", extra={"user_id": 4242, "symbol": "BTCUSDT"})
    try:
        raise ZeroDivisionError("division by zero")
    except ZeroDivisionError:
        logger.exception("order failed")


def python_json_logger() -> list[str]:
    from pythonjsonlogger.json import JsonFormatter

    return _stdlib_lines(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"), _emit_two)


def ecs_logging_lines() -> list[str]:
    import ecs_logging

    return _stdlib_lines(ecs_logging.StdlibFormatter(), _emit_two)


def structlog_lines() -> list[str]:
    import structlog

    buffer = io.StringIO()
    logger = structlog.wrap_logger(
        structlog.PrintLogger(buffer),
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.processors.JSONRenderer(),
        ],
    )
    logger = logger.bind(logger="bots.structlog", service="portfolio-manager")
    logger.info("rebalanced", positions=3)
    try:
        raise ValueError("bad qty")
    except ValueError:
        logger.exception("rebalance failed")
    return buffer.getvalue().splitlines()


def loguru_lines() -> list[str]:
    from loguru import logger

    buffer = io.StringIO()
    sink = logger.add(buffer, serialize=True, level="TRACE")
    try:
        logger.bind(service="ai-processor").success("model answered")
        logger.trace("token stream opened")
        try:
            raise RuntimeError("model timed out")
        except RuntimeError:
            logger.exception("decision failed")
    finally:
        logger.remove(sink)
    return buffer.getvalue().splitlines()


def seed_logger_lines() -> list[str]:
    """The seed's StructuredLogger: timestamp naive UTC + Z, user_id an int (a Telegram id),
    stack_trace the list traceback.format_exception returns, kwargs in extra_data."""
    try:
        raise ConnectionError("telegram unreachable")
    except ConnectionError as exc:
        lines = traceback.format_exception(type(exc), exc, exc.__traceback__)
        error = exc
    stamp = datetime.now(UTC).replace(tzinfo=None).isoformat() + "Z"
    base = {"timestamp": stamp, "service": "telegram-bot", "logger_name": "tg.handlers"}
    return [
        json.dumps(
            {
                **base,
                "level": "TRADE_EXECUTED",
                "message": "order sent",
                "user_id": 123456789,
                "request_id": "r-1",
                "extra_data": {"chat_id": -100123},
            }
        ),
        json.dumps(
            {
                **base,
                "level": "ERROR",
                "message": "send failed",
                "user_id": 987654321,
                "exception_type": type(error).__name__,
                "exception_message": str(error),
                "stack_trace": lines,
            }
        ),
    ]


# --- Node loggers, run with node --------------------------------------------------------

PINO = """
const pino = require('pino');
const log = pino({name: 'exchange.binance'}, pino.destination({dest: 1, sync: true}));
log.info({user_id: 42}, 'ws connected');
log.error({err: new TypeError('socket hang up')}, 'ws failed');
log.fatal('giving up');
"""
BUNYAN = """
const bunyan = require('bunyan');
const log = bunyan.createLogger({name: 'risk.limits', serializers: bunyan.stdSerializers});
log.warn('limit near');
log.error({err: new RangeError('limit exceeded')}, 'limit check failed');
"""
WINSTON = """
const winston = require('winston');
const log = winston.createLogger({
  level: 'silly',
  format: winston.format.combine(
    winston.format.errors({stack: true}), winston.format.timestamp(), winston.format.json()),
  defaultMeta: {service: 'api-gateway'},
  transports: [new winston.transports.Console()],
});
log.http('GET /health 200');
log.verbose('cache warm');
log.error(new Error('upstream 502'));
"""


def node_lines(script: str) -> Callable[[], list[str]]:
    def run() -> list[str]:
        env = {**os.environ, "NODE_PATH": str(ROOT / "node_modules")}
        out = subprocess.run(
            ["node", "-e", script], capture_output=True, text=True, env=env, timeout=60, check=True
        )
        return [line for line in out.stdout.splitlines() if line.startswith("{")]

    return run


# --- shippers, from their documentation -------------------------------------------------


def clef_lines() -> list[str]:
    # Serilog's CompactJsonFormatter (serilog-formatting-compact README): `@t`, `@mt` with the
    # properties at top level, `@l` left out for Information, `@x` the exception's ToString().
    return [
        '{"@t":"2016-06-07T03:44:57.8532799Z","@mt":"Hello, {User}","User":"nblumhardt"}',
        json.dumps(
            {
                "@t": "2016-06-07T03:44:58.1234567Z",
                "@mt": "Order {OrderId} rejected",
                "@m": "Order 17 rejected",
                "@l": "Error",
                "@x": "System.InvalidOperationException: margin too low\n"
                "   at Bot.Orders.Place() in Orders.cs:line 42",
                "OrderId": 17,
                "SourceContext": "Bot.Orders",
                "@tr": "4bf92f3577b34da6a3ce929d0e0e4736",
                "@sp": "00f067aa0ba902b7",
            }
        ),
        '{"@t":"2016-06-07T03:45:00.0000000Z","@mt":"Disk {Pct:0.0}% full","@l":"Verbose",'
        '"Pct":91.5}',
    ]


def fluent_bit_lines() -> list[str]:
    # Fluent Bit's `http` output with `format json` (docs.fluentbit.io, pipeline/outputs/http):
    # `json_date_key` defaults to `date`, `json_date_format` to `double` (epoch seconds); a
    # record read by `tail` with the docker parser keeps `log`, `stream` and `time`.
    return [
        '{"date":1599068543.123,"log":"price feed reconnected\\n","stream":"stdout",'
        '"time":"2020-09-02T17:42:23.123456789Z"}',
        '{"date":1599068544.5,"log":"heartbeat"}',
    ]


def vector_lines() -> list[str]:
    # Vector's `file` source event (vector.dev, sources/file, "Output" example) as its `http`
    # sink sends it with `encoding.codec = "json"`.
    return [
        '{"file":"/var/log/bot/engine.log","host":"my-host.local",'
        '"message":"53.126.150.246 - - order accepted","source_type":"file",'
        '"timestamp":"2020-10-10T17:07:36.452332Z"}'
    ]


# --- the cases --------------------------------------------------------------------------

CASES = [
    Case(
        "seed StructuredLogger",
        seed_logger_lines,
        [
            {"level": "TRADE_EXECUTED", "user_id": "123456789", "service": "telegram-bot"},
            {
                "level": "ERROR",
                "user_id": "987654321",
                "logger_name": "tg.handlers",
                "exception_type": "ConnectionError",
                "exception_message": "telegram unreachable",
                "stack_trace": _contains("ConnectionError: telegram unreachable"),
            },
        ],
        times=lambda r: _iso(r["timestamp"]),
        extra=[{"chat_id": -100123}, {}],
    ),
    Case(
        "python logging + python-json-logger",
        python_json_logger,
        [
            {"level": "WARNING", "message": "order slow", "user_id": "4242"},
            {
                "level": "ERROR",
                "message": "order failed",
                "logger_name": _contains("bots.trader."),
                "exception_type": "ZeroDivisionError",
                "exception_message": "division by zero",
                "stack_trace": _contains("Traceback (most recent call last)"),
            },
        ],
        times=lambda r: _iso(r["asctime"]),
        extra=[{"symbol": "BTCUSDT"}, {}],
    ),
    Case(
        "ecs-logging",
        ecs_logging_lines,
        [
            {"level": "WARNING", "message": "order slow", "logger_name": _contains("bots.trader")},
            {
                "level": "ERROR",
                "exception_type": "ZeroDivisionError",
                "exception_message": "division by zero",
                "stack_trace": _contains("raise ZeroDivisionError"),
            },
        ],
        times=lambda r: _iso(r["@timestamp"]),
        extra=[{"ecs.version": "1.6.0"}, {}],
    ),
    Case(
        "structlog JSONRenderer",
        structlog_lines,
        [
            {"level": "INFO", "message": "rebalanced", "logger_name": "bots.structlog"},
            {
                "level": "ERROR",
                "message": "rebalance failed",
                "service": "portfolio-manager",
                "exception_type": "ValueError",
                "exception_message": "bad qty",
                "stack_trace": _contains("ValueError: bad qty"),
            },
        ],
        times=lambda r: _iso(r["timestamp"]),
        extra=[{"positions": 3}, {}],
    ),
    Case(
        "loguru serialize=True",
        loguru_lines,
        [
            {"level": "INFO", "message": "model answered", "service": "ai-processor"},
            {"level": "DEBUG", "message": "token stream opened"},
            {
                "level": "ERROR",
                "exception_type": "RuntimeError",
                "exception_message": "model timed out",
                "stack_trace": _contains("RuntimeError: model timed out"),
            },
        ],
        times=lambda r: _epoch(r["record"]["time"]["timestamp"]),
    ),
    Case(
        "pino",
        node_lines(PINO),
        [
            {"level": "INFO", "message": "ws connected", "logger_name": "exchange.binance"},
            {
                "level": "ERROR",
                "exception_type": "TypeError",
                "exception_message": "socket hang up",
                "stack_trace": _contains("TypeError: socket hang up"),
            },
            {"level": "CRITICAL", "message": "giving up"},
        ],
        times=lambda r: _epoch(r["time"] / 1000),
        extra=[{"hostname": _contains("")}, {}, {}],
    ),
    Case(
        "bunyan",
        node_lines(BUNYAN),
        [
            {"level": "WARNING", "message": "limit near", "logger_name": "risk.limits"},
            {
                "level": "ERROR",
                "exception_type": "RangeError",
                "exception_message": "limit exceeded",
                "stack_trace": _contains("RangeError: limit exceeded"),
            },
        ],
        times=lambda r: _iso(r["time"]),
    ),
    Case(
        "winston json",
        node_lines(WINSTON),
        [
            {"level": "DEBUG", "message": "GET /health 200", "service": "api-gateway"},
            {"level": "DEBUG", "message": "cache warm"},
            {
                "level": "ERROR",
                "message": "upstream 502",
                "exception_type": "Error",
                "exception_message": "upstream 502",
                "stack_trace": _contains("Error: upstream 502"),
            },
        ],
        times=lambda r: _iso(r["timestamp"]),
    ),
    Case(
        "Serilog CLEF",
        clef_lines,
        [
            {"level": "INFO", "message": "Hello, nblumhardt"},
            {
                "level": "ERROR",
                "message": "Order 17 rejected",
                "logger_name": "Bot.Orders",
                "exception_type": "System.InvalidOperationException",
                "exception_message": "margin too low",
                "stack_trace": _contains("Orders.cs:line 42"),
                "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                "span_id": "00f067aa0ba902b7",
            },
            {"level": "DEBUG", "message": "Disk 91.5% full"},
        ],
        times=lambda r: _iso(r["@t"]),
        extra=[{"User": "nblumhardt", "@mt": "Hello, {User}"}, {"OrderId": 17}, {}],
    ),
    Case(
        "Fluent Bit http json",
        fluent_bit_lines,
        [
            {"level": "INFO", "message": "price feed reconnected\n"},
            {"level": "INFO", "message": "heartbeat"},
        ],
        times=lambda r: _iso(r["time"]) if "time" in r else _epoch(r["date"]),
        extra=[{"stream": "stdout", "date": 1599068543.123}, {}],
    ),
    Case(
        "Vector http json",
        vector_lines,
        [{"message": "53.126.150.246 - - order accepted", "level": "INFO"}],
        times=lambda r: _iso(r["timestamp"]),
        extra=[{"host": "my-host.local", "source_type": "file"}],
    ),
]


@pytest.fixture
async def conn(database_url: str) -> Any:
    connection = await asyncpg.connect(database_url)
    await db.init_connection(connection)
    try:
        yield connection
    finally:
        await connection.close()


async def ingest_and_store(conn: asyncpg.Connection, lines: list[str]) -> list[dict[str, Any]]:
    """The lines posted as NDJSON, through the Event Hub body into PostgreSQL: the rows, in
    the lines' order."""
    caller = Caller(name="bots", role=Role.INGEST)
    body = "\n".join(lines).encode()
    batch = ingest.parse_request(body, NDJSON, caller, Settings(), datetime.now(UTC))
    assert batch.rejected == [], batch.rejected
    decoded = [records.decode_event(event_body) for _, event_body in batch.events]
    await store.write(conn, decoded)
    ids = [r["id"] for r in batch.accepted]
    rows = await conn.fetch("SELECT * FROM system_logs WHERE id = ANY($1::text[])", ids)
    by_id = {r["id"]: dict(r) for r in rows}
    return [by_id[i] for i in ids]


def _matches(expected: Any, actual: Any) -> bool:
    return expected(actual) if callable(expected) else expected == actual


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
async def test_each_logger_lands_with_the_right_fields(
    case: Case, conn: asyncpg.Connection
) -> None:
    lines = case.lines()
    assert len(lines) == len(case.expected), lines
    rows = await ingest_and_store(conn, lines)
    for line, row, expected, extra in zip(
        lines, rows, case.expected, case.extra or [{}] * len(lines), strict=True
    ):
        wrong = {k: row[k] for k, v in expected.items() if not _matches(v, row[k])}
        assert not wrong, f"{case.name}: {wrong} for {line}"
        said = case.times(orjson.loads(line))
        if said is not None:
            assert abs((row["timestamp"] - said).total_seconds()) < 0.001, (row, line)
        stored_extra = row["extra_data"] or {}
        for key, value in extra.items():
            assert key in stored_extra and _matches(value, stored_extra[key]), stored_extra
        assert "_coerced" not in stored_extra, stored_extra


async def test_the_opentelemetry_sdk_keeps_host_names_and_long_user_agents(
    conn: asyncpg.Connection,
) -> None:
    """A `client.address` host name and a 2,000-character user agent, written by the real SDK
    and encoded by its own OTLP encoder, keep the record: the values move to extra_data."""
    from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
    from opentelemetry.sdk._logs import LoggerProvider
    from opentelemetry.sdk._logs.export import (
        InMemoryLogRecordExporter,
        SimpleLogRecordProcessor,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider

    from shared import otlp

    exporter = InMemoryLogRecordExporter()
    provider = LoggerProvider(resource=Resource.create({"service.name": "api-gateway"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    otel_logger = provider.get_logger("gateway.http")
    tracer = TracerProvider().get_tracer("test")
    agent = "Mozilla/5.0 " + "x" * 2000
    from opentelemetry._logs import LogRecord, SeverityNumber

    with tracer.start_as_current_span("request") as span:
        context = span.get_span_context()
        otel_logger.emit(
            LogRecord(
                body="request served",
                severity_number=SeverityNumber.WARN,
                attributes={"client.address": "bot-7.internal", "user_agent.original": agent},
            )
        )
    provider.shutdown()
    body = encode_logs(exporter.get_finished_logs()).SerializeToString()
    caller = Caller(name="bots", role=Role.INGEST)
    batch = otlp.parse(body, {"Content-Type": otlp.PROTOBUF}, caller, Settings())
    assert (batch.accepted, batch.rejected) == (1, 0)
    await store.write(conn, [records.decode_event(b) for _, b in batch.events])
    row = await conn.fetchrow(
        "SELECT * FROM system_logs WHERE trace_id = $1", format(context.trace_id, "032x")
    )
    assert row is not None and row["message"] == "request served"
    assert row["level"] == "WARNING" and row["service"] == "api-gateway"
    assert row["span_id"] == format(context.span_id, "016x")
    assert row["ip_address"] is None and row["user_agent"] is None
    coerced = row["extra_data"]["_coerced"]
    assert coerced == {"ip_address": "bot-7.internal", "user_agent": agent}
