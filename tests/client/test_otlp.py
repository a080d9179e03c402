"""The real OpenTelemetry Python SDK ships logs to POST /api/v1/logs, in protobuf (its own
OTLP/HTTP exporter) and in JSON (the SDK's own encoder, written as OTLP JSON)."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import time
import uuid
from collections.abc import Sequence
from typing import Any

import aiohttp
import asyncpg
import pytest
import requests
from google.protobuf.json_format import MessageToDict
from opentelemetry.exporter.otlp.proto.common._log_encoder import encode_logs
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter
from opentelemetry.sdk._logs import LoggerProvider, LoggingHandler
from opentelemetry.sdk._logs.export import (
    LogRecordExporter,
    LogRecordExportResult,
    SimpleLogRecordProcessor,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider

AUTH = {"Authorization": "Bearer dev-ingest-key"}


class OtlpJsonExporter(LogRecordExporter):
    """OTLP/HTTP with the JSON encoding: the SDK's encoder, ids written as hex per OTLP."""

    def __init__(self, endpoint: str) -> None:
        self.endpoint = endpoint
        self.responses: list[requests.Response] = []

    def export(self, batch: Sequence[Any]) -> LogRecordExportResult:
        document = MessageToDict(encode_logs(batch))
        for rl in document.get("resourceLogs", []):
            for sl in rl.get("scopeLogs", []):
                for log in sl.get("logRecords", []):
                    for key in ("traceId", "spanId"):
                        if key in log:
                            log[key] = base64.b64decode(log[key]).hex()
        response = requests.post(
            self.endpoint,
            data=json.dumps(document),
            headers={**AUTH, "Content-Type": "application/json"},
            timeout=10,
        )
        self.responses.append(response)
        return LogRecordExportResult.SUCCESS if response.ok else LogRecordExportResult.FAILURE

    def shutdown(self) -> None:
        return None

    def force_flush(self, timeout_millis: int = 30_000) -> bool:
        return True


@pytest.fixture(autouse=True)
def _quiet_deprecations() -> None:
    import warnings

    warnings.filterwarnings(
        "ignore", message=".*LoggingHandler.*deprecated", category=DeprecationWarning
    )


def otel_logger(exporter: LogRecordExporter, service: str) -> tuple[logging.Logger, Any]:
    provider = LoggerProvider(resource=Resource.create({"service.name": service}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    logger = logging.getLogger(f"otel.{uuid.uuid4().hex[:8]}")
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    logger.addHandler(LoggingHandler(level=logging.DEBUG, logger_provider=provider))
    return logger, provider


async def find(database_url: str, marker: str, count: int, seconds: float = 15) -> list[dict]:
    conn = await asyncpg.connect(database_url)
    try:
        deadline = time.monotonic() + seconds
        while True:
            rows = await conn.fetch(
                "SELECT * FROM system_logs WHERE message LIKE $1 ORDER BY message", f"{marker}%"
            )
            if len(rows) >= count or time.monotonic() > deadline:
                return [dict(r) for r in rows]
            await asyncio.sleep(0.2)
    finally:
        await conn.close()


@pytest.mark.parametrize("encoding", ["protobuf", "json"])
async def test_the_sdk_ships_logs_that_land_with_the_right_fields(dev_host, encoding) -> None:
    endpoint = f"{dev_host.base_url}/api/v1/logs"
    exporter = (
        OTLPLogExporter(endpoint=endpoint, headers=AUTH)
        if encoding == "protobuf"
        else OtlpJsonExporter(endpoint)
    )
    logger, provider = otel_logger(exporter, "ai-processor")
    marker = f"otel-{encoding}-{uuid.uuid4().hex[:6]}"
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("decide") as span:
        trace_id = format(span.get_span_context().trace_id, "032x")
        logger.info(f"{marker} model answered", extra={"model": "gpt", "latency_ms": 812})
        try:
            raise TimeoutError("exchange timed out")
        except TimeoutError:
            logger.exception(f"{marker} failed")
    logger.warning(f"{marker} warn", extra={"user_id": "u-9"})
    provider.shutdown()
    rows = await find(dev_host.database_url, marker, 3)
    by_message = {r["message"]: r for r in rows}
    info = by_message[f"{marker} model answered"]
    assert info["service"] == "ai-processor" and info["level"] == "INFO"
    extra = json.loads(info["extra_data"])
    assert extra["model"] == "gpt" and extra["latency_ms"] == 812
    assert info["trace_id"] == trace_id and len(info["span_id"]) == 16
    assert "trace_id" not in extra
    failed = by_message[f"{marker} failed"]
    assert failed["level"] == "ERROR"
    assert failed["exception_type"] == "TimeoutError"
    assert failed["exception_message"] == "exchange timed out"
    assert "Traceback" in failed["stack_trace"]
    warn = by_message[f"{marker} warn"]
    assert warn["level"] == "WARNING" and warn["user_id"] == "u-9"


async def test_records_it_rejects_come_back_as_partial_success(dev_host) -> None:
    now = str(time.time_ns())
    document = {
        "resourceLogs": [
            {
                "resource": {
                    "attributes": [{"key": "service.name", "value": {"stringValue": "bot"}}]
                },
                "scopeLogs": [
                    {
                        "scope": {"name": "bot.main"},
                        "logRecords": [
                            {
                                "timeUnixNano": now,
                                "severityNumber": 9,
                                "body": {"stringValue": "partial ok"},
                            },
                            {
                                "timeUnixNano": now,
                                "severityNumber": 9,
                                "body": {"stringValue": "x" * 40_000},
                            },
                        ],
                    }
                ],
            }
        ]
    }
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{dev_host.base_url}/api/v1/logs",
            json=document,
            headers=AUTH,
        ) as response,
    ):
        body = await response.json()
    assert response.status == 200
    assert body["partialSuccess"]["rejectedLogRecords"] in ("1", 1)
    assert "message" in body["partialSuccess"]["errorMessage"]


@pytest.mark.parametrize(
    ("payload", "content_type"),
    [
        (b"{broken", "application/json"),
        (b'{"resourceLogs": "nope"}', "application/json"),
        (b"\xff\xff\xff\xff", "application/x-protobuf"),
    ],
)
async def test_malformed_otlp_gets_otlps_error_response(dev_host, payload, content_type) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(
            f"{dev_host.base_url}/api/v1/logs",
            data=payload,
            headers={**AUTH, "Content-Type": content_type},
        ) as response,
    ):
        body = await response.read()
    assert response.status == 400
    assert response.headers["Content-Type"] == content_type
    if content_type == "application/json":
        status = json.loads(body)
        assert status["code"] == 3 and status["message"]
    else:
        from google.rpc.status_pb2 import Status

        status = Status()
        status.ParseFromString(body)
        assert status.code == 3 and status.message


async def test_otlp_needs_an_ingest_key(dev_host) -> None:
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"{dev_host.base_url}/api/v1/logs", json={"resourceLogs": []}) as response,
    ):
        body = await response.json()
    assert response.status == 401 and body["code"] == 16
