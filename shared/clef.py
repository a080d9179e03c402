"""Seq's ingestion API, as Serilog's Seq sink and other Seq clients use it: CLEF (compact log
event format) lines, and the older `{"Events": [...]}` JSON body of `/api/events/raw`.

A CLEF event maps onto the record as Seq reads it: `@t` the time; `@m`, or else `@mt` with
its properties rendered, the message (the template itself is kept in
`extra_data.message_template`); `@l` the level, Information when absent; `@x` the exception
(type and message from its text, the whole as the stack trace); `@i` the event type; `@tr`
and `@sp` the trace and span ids; `SourceContext` the logger. Every other property is a field
of the record when it is one (service, user_id, request_id...), else goes to extra_data."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import orjson

from shared import shipping
from shared.access import Caller
from shared.errors import BadRequest, TooLarge
from shared.ingest import NDJSON_TYPES, Batch
from shared.settings import Settings
from shared.shipping import Unreadable

CLEF_TYPE = "application/vnd.serilog.clef"
CONTENT_TYPES = frozenset({CLEF_TYPE, "application/json", "text/plain", ""}) | NDJSON_TYPES
SERILOG_LEVELS = {
    "verbose": "DEBUG",
    "debug": "DEBUG",
    "information": "INFO",
    "warning": "WARNING",
    "error": "ERROR",
    "fatal": "CRITICAL",
}
"""Serilog's level names; any other `@l` (a pipeline level, WARN...) is read as it is."""
RENAMED = {
    "@tr": "trace_id",
    "@sp": "span_id",
    "SourceContext": "logger_name",
    "LoggerName": "logger_name",
}
"""CLEF names of record fields: Serilog's logger is `SourceContext`, Python seqlog's
`LoggerName`."""
LEGACY_FIELDS = {
    "Timestamp": "@t",
    "Level": "@l",
    "MessageTemplate": "@mt",
    "RenderedMessage": "@m",
    "Exception": "@x",
}
"""The `{"Events": [...]}` body's names for the CLEF ones."""

_HOLE = re.compile(r"\{\{|\}\}|\{([@$]?)([A-Za-z0-9_]+)(?:,-?\d+)?(?::[^}]*)?\}")
_EXCEPTION_LINE = re.compile(
    r"^([A-Za-z_][\w.`+]*(?:Exception|Error|Exit|Interrupt|Warning)\w*)(?::\s?(.*))?$"
)


def render(template: str, properties: Mapping[str, Any]) -> str:
    """A message template with its `{Name}` holes filled from the properties (a hole without
    a property stays as written; `{{` and `}}` are literal braces)."""

    def fill(match: re.Match[str]) -> str:
        token = match.group(0)
        if token in ("{{", "}}"):
            return token[0]
        name = match.group(2)
        if name not in properties:
            return token
        value = properties[name]
        return value if isinstance(value, str) else orjson.dumps(value).decode()

    return _HOLE.sub(fill, template)


def exception_fields(text: str) -> dict[str, str]:
    """stack_trace, and exception_type and exception_message when the text names them: the
    first line of a .NET exception (`Type: message`), the last of a Python traceback."""
    fields = {"stack_trace": text}
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if not lines:
        return fields
    line = lines[-1] if lines[0].startswith("Traceback") else lines[0]
    match = _EXCEPTION_LINE.match(line)
    if match:
        fields["exception_type"] = match.group(1)[:256]
        if match.group(2):
            fields["exception_message"] = match.group(2)
    return fields


def raw_record(event: Mapping[str, Any]) -> dict[str, Any]:
    """One CLEF event as a raw record."""
    properties = {
        (k[1:] if k.startswith("@@") else k): v
        for k, v in event.items()
        if not k.startswith("@") or k.startswith("@@")
    }
    record: dict[str, Any] = {}
    for name, value in properties.items():
        record[RENAMED.get(name, name)] = value
    for name in ("@tr", "@sp"):
        if event.get(name) is not None:
            record.setdefault(RENAMED[name], event[name])
    template = event.get("@mt")
    message = event.get("@m")
    if message is None and isinstance(template, str):
        message = render(template, properties)
    if message is not None:
        record["message"] = message
    if isinstance(template, str):
        record.setdefault("message_template", template)
    if event.get("@t") is not None:
        record["timestamp"] = event["@t"]
    level = event.get("@l")
    if isinstance(level, str):
        record["level"] = SERILOG_LEVELS.get(level.strip().lower(), level)
    elif level is not None:
        record["level"] = level
    if event.get("@i") is not None:
        record.setdefault("event_type", str(event["@i"]))
    exception = event.get("@x")
    if isinstance(exception, str) and exception.strip():
        for name, value in exception_fields(exception).items():
            record.setdefault(name, value)
    for name, value in event.items():
        if name.startswith("@") and not name.startswith("@@") and name not in _READ:
            record.setdefault(name, value)
    return record


_READ = frozenset({"@t", "@m", "@mt", "@l", "@x", "@i", "@tr", "@sp"})


def _events(data: bytes, kind: str, limit: int) -> list[Any]:
    """The events of a body: the `{"Events": [...]}` object, or CLEF lines."""
    if kind != CLEF_TYPE and data.lstrip().startswith(b"{"):
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError:
            document = None  # several lines, or a malformed one: read line by line
        if isinstance(document, dict) and "Events" in document:
            events = document["Events"]
            if not isinstance(events, list):
                raise BadRequest('"Events" must be an array')
            if len(events) > limit:
                raise TooLarge(f"more than {limit} events in one request; the limit is {limit}")
            return [_from_legacy(e) for e in events]
    lines = [line for line in data.split(b"\n") if line.strip()]
    if len(lines) > limit:
        raise TooLarge(f"more than {limit} events in one request; the limit is {limit}")
    out: list[Any] = []
    for number, line in enumerate(lines, start=1):
        try:
            event = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            out.append(Unreadable(f"line {number} is not valid JSON: {exc}"))
            continue
        if not isinstance(event, dict):
            out.append(Unreadable(f"line {number} is not a JSON object"))
            continue
        out.append(raw_record(event))
    return out


def _from_legacy(event: Any) -> Any:
    if not isinstance(event, dict):
        return Unreadable("an event must be a JSON object")
    clef = {LEGACY_FIELDS.get(k, k): v for k, v in event.items() if k != "Properties"}
    properties = event.get("Properties")
    if isinstance(properties, dict):
        for name, value in properties.items():
            clef.setdefault(f"@{name}" if name.startswith("@") else name, value)
    return raw_record(clef)


def parse(
    body: bytes,
    headers: Mapping[str, str],
    caller: Caller,
    settings: Settings,
    now: datetime | None = None,
) -> Batch:
    """An ingestion request to its batch; raises the error its status needs
    (400, 403, 413, 415)."""
    kind, data = shipping.request_body(body, headers, settings, CONTENT_TYPES, CLEF_TYPE)
    events = _events(data, kind, settings.max_records_per_request)
    return shipping.build(events, caller, settings, now)


def accepted_body() -> dict[str, Any]:
    """Seq's answer to an accepted batch: no level filter is asked of the client."""
    return {"MinimumLevelAccepted": None}
