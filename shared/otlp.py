"""OTLP/HTTP logs (JSON and protobuf encodings) mapped onto the pipeline's record.

`service.name` becomes service; severity text (when it names a level) or number becomes
level; body becomes message; trace and span ids become trace_id and span_id; attributes and
resource attributes go to extra_data, except the semantic-convention attributes that have a
field of their own (`shared.fields`: exception.*, ids, client address, user agent). A value a
field cannot take (a host name as client.address, a long user agent) keeps the record and is
moved to extra_data._coerced, as for any record."""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

from shared import fields, levels, records
from shared.access import Caller
from shared.errors import BadRequest, PipelineError, TooLarge, UnsupportedMediaType
from shared.ingest import decoded_body, media_type
from shared.settings import Settings

JSON = "application/json"
PROTOBUF = "application/x-protobuf"

ATTRIBUTE_FIELDS: dict[str, str] = fields.OTEL_ATTRIBUTES
"""Semantic-convention attributes that have a field of their own (from the field table)."""


def level_of(severity_number: int, severity_text: str) -> str:
    """A pipeline level: the severity text when it names one (e.g. TRADE_EXECUTED), else the
    OTLP severity number's range (TRACE and DEBUG to DEBUG, FATAL to CRITICAL)."""
    if severity_text:
        named = levels.canonical(severity_text)
        if named:
            return named
    if severity_number <= 0:
        return "INFO"
    return levels.from_family(severity_number, "otel") or "INFO"


def _any_value(value: Mapping[str, Any] | None) -> Any:
    """An OTLP JSON AnyValue as a plain value."""
    if not value:
        return None
    if "stringValue" in value:
        return value["stringValue"]
    if "boolValue" in value:
        return bool(value["boolValue"])
    if "intValue" in value:
        return int(value["intValue"])
    if "doubleValue" in value:
        return float(value["doubleValue"])
    if "arrayValue" in value:
        return [_any_value(v) for v in value["arrayValue"].get("values", [])]
    if "kvlistValue" in value:
        return _attributes(value["kvlistValue"].get("values", []))
    if "bytesValue" in value:
        return value["bytesValue"]
    return None


def _attributes(items: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {str(kv.get("key")): _any_value(kv.get("value")) for kv in items or []}


def _hex_id(value: Any, size: int) -> str | None:
    """Trace and span ids: hex in OTLP JSON (base64 tolerated, as protobuf JSON writes it)."""
    if not value or not isinstance(value, str):
        return None
    if len(value) == size * 2:
        try:
            bytes.fromhex(value)
            return value.lower()
        except ValueError:
            pass
    try:
        raw = base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        return None
    return raw.hex() if len(raw) == size else None


_SEVERITY_BASES = {"TRACE": 1, "DEBUG": 5, "INFO": 9, "WARN": 13, "ERROR": 17, "FATAL": 21}


def _severity(value: Any) -> int:
    """A severity number given as a number or as its enum name (SEVERITY_NUMBER_WARN2)."""
    if isinstance(value, int | float):
        return int(value)
    if isinstance(value, str):
        if value.isdigit():
            return int(value)
        name = value.removeprefix("SEVERITY_NUMBER_")
        base = name.rstrip("234")
        if base in _SEVERITY_BASES:
            return _SEVERITY_BASES[base] + (int(name[len(base) :]) - 1 if name != base else 0)
    return 0


def _nanos(value: Any) -> int:
    try:
        return int(value or 0)
    except (TypeError, ValueError):
        return 0


def raw_record(
    resource: Mapping[str, Any], scope: Mapping[str, Any], log: Mapping[str, Any]
) -> dict[str, Any]:
    """One OTLP JSON logRecord (with its resource and scope) as a raw pipeline record."""
    resource_attrs = _attributes(resource.get("attributes", []))
    attrs = _attributes(log.get("attributes", []))
    nanos = _nanos(log.get("timeUnixNano")) or _nanos(log.get("observedTimeUnixNano"))
    record: dict[str, Any] = {
        "service": resource_attrs.pop("service.name", None) or "unknown",
        "level": level_of(_severity(log.get("severityNumber")), str(log.get("severityText") or "")),
        "logger_name": scope.get("name") or None,
        "message": _message(_any_value(log.get("body"))),
    }
    if nanos:
        record["timestamp"] = datetime.fromtimestamp(nanos / 1e9, UTC).isoformat()
    for attr, name in ATTRIBUTE_FIELDS.items():
        value = attrs.get(attr)
        if value is None:
            attrs.pop(attr, None)
        elif name not in record:  # the first attribute wins; another stays in extra_data
            record[name] = value if isinstance(value, str) else str(value)
            del attrs[attr]
    extra: dict[str, Any] = dict(attrs)
    trace_id = _hex_id(log.get("traceId"), 16)
    span_id = _hex_id(log.get("spanId"), 8)
    if trace_id:
        record["trace_id"] = trace_id
    if span_id:
        record["span_id"] = span_id
    if resource_attrs:
        extra["resource"] = resource_attrs
    if scope.get("version"):
        extra["scope_version"] = scope["version"]
    record["extra_data"] = extra or None
    return record


def _message(body: Any) -> str:
    if body is None or body == "":
        return "(empty)"
    if isinstance(body, str):
        return body
    return orjson.dumps(body).decode()


def iter_json(document: Any) -> Iterator[dict[str, Any] | str]:
    """Each logRecord as a raw pipeline record, or as an error message when it cannot be
    read; a document of the wrong shape raises BadRequest."""
    if not isinstance(document, dict):
        raise BadRequest("an OTLP request must be a JSON object with resourceLogs")
    resource_logs = document.get("resourceLogs", [])
    if not isinstance(resource_logs, list):
        raise BadRequest("resourceLogs must be an array")
    for rl in resource_logs:
        if not isinstance(rl, dict):
            raise BadRequest("each resourceLogs entry must be an object")
        resource = rl.get("resource") or {}
        for sl in rl.get("scopeLogs") or rl.get("instrumentationLibraryLogs") or []:
            scope = sl.get("scope") or sl.get("instrumentationLibrary") or {}
            for log in sl.get("logRecords") or []:
                if not isinstance(log, dict):
                    raise BadRequest("each logRecord must be an object")
                try:
                    yield raw_record(resource, scope, log)
                except (TypeError, ValueError, AttributeError, OverflowError) as exc:
                    yield f"unreadable logRecord: {exc}"


def protobuf_as_json(body: bytes) -> dict[str, Any]:
    """Decode an ExportLogsServiceRequest and express it as OTLP JSON (hex ids)."""
    from google.protobuf.json_format import MessageToDict
    from google.protobuf.message import DecodeError
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )

    request = ExportLogsServiceRequest()
    try:
        request.ParseFromString(body)
    except DecodeError as exc:
        raise BadRequest(f"the protobuf body is not an ExportLogsServiceRequest: {exc}") from None
    return MessageToDict(request, use_integers_for_enums=True)


@dataclass
class OtlpBatch:
    events: list[tuple[str, bytes]]
    accepted: int
    rejected: int
    first_error: str
    encoding: str

    def response(self) -> tuple[bytes, str]:
        """OTLP's ExportLogsServiceResponse, with partial success when records were rejected."""
        if self.encoding == PROTOBUF:
            from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
                ExportLogsServiceResponse,
            )

            message = ExportLogsServiceResponse()
            if self.rejected:
                message.partial_success.rejected_log_records = self.rejected
                message.partial_success.error_message = self.first_error
            return message.SerializeToString(), PROTOBUF
        body: dict[str, Any] = {}
        if self.rejected:
            body["partialSuccess"] = {
                "rejectedLogRecords": str(self.rejected),
                "errorMessage": self.first_error,
            }
        return orjson.dumps(body), JSON


def parse(
    body: bytes,
    headers: Mapping[str, str],
    caller: Caller,
    settings: Settings,
    now: datetime | None = None,
) -> OtlpBatch:
    encoding = media_type(headers) or JSON
    if encoding not in (JSON, PROTOBUF):
        raise UnsupportedMediaType(f"OTLP/HTTP takes {JSON} or {PROTOBUF}, not {encoding}")
    data = decoded_body(body, headers, settings.max_request_bytes)
    if encoding == PROTOBUF:
        document: Any = protobuf_as_json(data)
    else:
        try:
            document = orjson.loads(data) if data.strip() else {}
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
    now = now or datetime.now(UTC)
    events: list[tuple[str, bytes]] = []
    rejected = 0
    first_error = ""
    for raw in iter_json(document):
        if len(events) + rejected >= settings.max_records_per_request:
            raise TooLarge(f"at most {settings.max_records_per_request} log records per request")
        try:
            if isinstance(raw, str):
                raise records.RecordError(raw)
            record = records.normalize(raw, caller, settings, now)
        except records.RecordError as exc:
            rejected += 1
            first_error = first_error or str(exc)
            continue
        events.append(records.event(record))
    return OtlpBatch(events, len(events), rejected, first_error, encoding)


GRPC_CODES = {400: 3, 401: 16, 403: 7, 413: 8, 415: 3, 503: 14}


def error_response(exc: PipelineError, headers: Mapping[str, str]) -> tuple[bytes, str]:
    """OTLP's error body, a google.rpc.Status, in the request's encoding."""
    code = GRPC_CODES.get(exc.status, 13)
    if media_type(headers) == PROTOBUF:
        message = exc.message.encode()
        return bytes([0x08, code, 0x12]) + _varint(len(message)) + message, PROTOBUF
    body = {"code": code, "message": exc.message, "details": [], "error": exc.message}
    return orjson.dumps(body), JSON


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)
