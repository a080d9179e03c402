"""Turning a `logging.LogRecord` into the pipeline's record."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# The server declares the record's fields once, in shared/fields.py; the client installs without
# the server, so it keeps this short list of the fields a log call may set at the top level.
TOP_LEVEL_FIELDS = frozenset(
    {
        "request_id",
        "user_id",
        "session_id",
        "event_type",
        "ip_address",
        "user_agent",
        "exception_type",
        "exception_message",
        "stack_trace",
        "service",
        "trace_id",
        "span_id",
    }
)
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {
    "message",
    "asctime",
    "taskName",
    "fields",
}


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    if isinstance(value, datetime):
        return value.isoformat()
    return str(value)


def captured(record: logging.LogRecord, context: Mapping[str, str]) -> dict[str, Any]:
    """What must be taken on the logging thread: the formatted message, the context ids,
    the exception text, and the extra fields. Cheap when there is no exception."""
    msg = record.msg
    if isinstance(msg, Mapping):
        event = dict(msg)
        message = str(event.pop("event", "") or "")
        extra: dict[str, Any] = event
    else:
        message = record.getMessage()
        extra = {}
    for key, value in record.__dict__.items():
        if key not in _STANDARD:
            extra[key] = value
    fields = getattr(record, "fields", None)
    if fields:
        extra.update(fields)
    item: dict[str, Any] = {
        "created": record.created,
        "levelname": record.levelname,
        "levelno": record.levelno,
        "logger_name": record.name,
        "message": message,
        "context": context,
        "extra": extra,
    }
    if record.exc_info and record.exc_info[0] is not None:
        exc_type, exc, tb = record.exc_info
        item["exception_type"] = exc_type.__name__
        item["exception_message"] = str(exc)
        item["stack_trace"] = "".join(traceback.format_exception(exc_type, exc, tb))
    elif record.stack_info:
        item["stack_trace"] = record.stack_info
    return item


def to_pipeline(item: dict[str, Any], service: str, record_id: str) -> dict[str, Any]:
    """The record as POST /api/logs takes it (done on the sender thread)."""
    out: dict[str, Any] = {
        "id": record_id,
        "timestamp": datetime.fromtimestamp(item["created"], UTC).isoformat(),
        "level": item["levelno"] if item["levelname"].startswith("Level ") else item["levelname"],
        "service": service,
        "logger_name": item["logger_name"],
        "message": item["message"] or "(empty)",
    }
    out.update(item["context"])
    extra = {}
    for key, value in item["extra"].items():
        if key in TOP_LEVEL_FIELDS and value is not None:
            out[key] = str(value)
        else:
            extra[key] = _jsonable(value)
    for key in ("exception_type", "exception_message", "stack_trace"):
        if key in item:
            out[key] = item[key]
    if extra:
        out["extra_data"] = extra
    return out
