"""The record's fields, declared once.

Each field says its type, its limit, who may see it, whether it is an exact search filter,
whether its text is redacted, the other names loggers and shippers give it (aliases, read by
`shared.shapes`), the OpenTelemetry attributes that carry it (read by `shared.otlp`) and how the
dashboard shows it. Validation (`shared.records`), the store's columns (`shared.store`), the
search parameters (`shared.params`, `shared.search`), OpenAPI (`shared.openapi`, which the
dashboard reads), the reader view (`shared.access`) and the stream all derive from `FIELDS`.

Aliases are tried in order; a dotted alias (`service.name`) matches the flat key as sent or the
same path in nested objects (`{"service": {"name": ...}}`). The known name always wins over an
alias; an alias that is not used stays in extra_data under its own name."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Kind = Literal["id", "timestamp", "level", "level_no", "short", "text", "object", "ip"]

SHORT_FIELD_CHARS = 256
USER_AGENT_CHARS = 1024
STACK_TRACE_BYTES = 64 * 1024
MESSAGE_LIMIT = "MAX_MESSAGE_BYTES"
"""A `limit` naming a setting: the limit is that setting's value."""


@dataclass(frozen=True, slots=True)
class Field:
    name: str
    kind: Kind
    description: str
    limit: int | str | None = None
    """Characters for short fields, UTF-8 bytes for text; a str names the setting that holds it."""
    server: bool = False
    """Set at ingest; a client's value is ignored."""
    always: bool = False
    """Present in every normalised record (the others only with a value)."""
    reader: bool = True
    """Visible to reader keys; admins see every field."""
    searchable: bool = False
    """An exact-match filter of the search and export (`?name=value`)."""
    redacted: bool = False
    """Its text is scanned for secrets at ingest, and a secret cut out in place."""
    fingerprinted: bool = False
    """An identifier: one that holds a secret is replaced whole by a stable fingerprint, so
    correlation by it still works (`shared.redaction`)."""
    aliases: tuple[str, ...] = ()
    otel: tuple[str, ...] = ()
    """OpenTelemetry log attributes that carry this field."""
    block: bool = False
    """Shown as a block of its own in the dashboard's detail view, not in the list."""
    pattern: bool = False
    """Alert rules' patterns may match it (`fields` of a pattern rule)."""

    def json_schema(self) -> dict[str, Any]:
        """The field's JSON Schema as a stored record carries it."""
        schema: dict[str, Any] = dict(_SCHEMAS[self.kind])
        if not self.always and self.kind != "object":
            schema["type"] = [schema["type"], "null"]
        schema["description"] = self.description
        return schema


_SCHEMAS: dict[str, dict[str, Any]] = {
    "id": {"type": "string"},
    "timestamp": {"type": "string", "format": "date-time"},
    "level": {"type": "string"},
    "level_no": {"type": "integer"},
    "short": {"type": "string"},
    "text": {"type": "string"},
    "object": {"type": ["object", "null"]},
    "ip": {"type": "string"},
}

FIELDS: tuple[Field, ...] = (
    Field("id", "id", "Idempotency key: the client's (1-128 of A-Z a-z 0-9 . _ : -) or a UUID",
          always=True, fingerprinted=True),
    Field("timestamp", "timestamp", "When it happened (UTC)", always=True,
          aliases=("@timestamp", "time", "ts", "@t", "Timestamp", "timeMillis", "instant",
                   "asctime", "date")),
    Field("received_at", "timestamp", "When ingest received it (UTC)", server=True, always=True),
    Field("level", "level", "Canonical upper-case level name", always=True,
          aliases=("severity", "lvl", "log.level", "@l", "levelname", "LogLevel",
                   "severity_text", "severityText")),
    Field("level_no", "level_no", "The level's number, for min_level", server=True, always=True),
    Field("service", "short", "The bot or service that sent it", SHORT_FIELD_CHARS, always=True,
          aliases=("service.name", "app", "service_name")),
    Field("logger_name", "short", "The logger within the service (default: the service)",
          SHORT_FIELD_CHARS, always=True, pattern=True, searchable=True,
          aliases=("logger", "name", "log.logger", "loggerName", "SourceContext", "Category",
                   "_logger_name"), redacted=True),
    Field("message", "text", "The log line (required)", MESSAGE_LIMIT, always=True, pattern=True,
          redacted=True, block=True,
          aliases=("msg", "event", "log", "@message", "@m", "@mt", "Message", "short_message")),
    Field("request_id", "short", "Request correlation id", SHORT_FIELD_CHARS, searchable=True,
          aliases=("requestId", "req_id", "http.request.id"),
          otel=("request_id", "http.request.id"), fingerprinted=True),
    Field("user_id", "short", "User id (numbers become strings)", SHORT_FIELD_CHARS,
          searchable=True, aliases=("userId", "user.id"), otel=("user_id", "enduser.id"),
          fingerprinted=True),
    Field("session_id", "short", "Session id", SHORT_FIELD_CHARS, searchable=True,
          aliases=("sessionId",), otel=("session_id", "session.id"), fingerprinted=True),
    Field("event_type", "short", "Kind of event (order, signal, ...)", SHORT_FIELD_CHARS,
          pattern=True,
          searchable=True, aliases=("eventType",), otel=("event.name", "event_type"),
          redacted=True),
    Field("extra_data", "object", "Everything else the record carried", block=True,
          redacted=True),
    Field("exception_type", "short", "Exception class", SHORT_FIELD_CHARS, pattern=True,
          otel=("exception.type",), redacted=True),
    Field("exception_message", "text", "Exception message", MESSAGE_LIMIT, reader=False,
          pattern=True,
          redacted=True, otel=("exception.message",)),
    Field("stack_trace", "text", "Stack trace (a list of lines is joined)", STACK_TRACE_BYTES,
          pattern=True,
          reader=False, redacted=True, block=True, aliases=("stacktrace",),
          otel=("exception.stacktrace",)),
    Field("ip_address", "ip", "Client IP address, canonical form", reader=False,
          aliases=("client.address", "client.ip", "remote_addr"), otel=("client.address",)),
    Field("user_agent", "short", "Client user agent", USER_AGENT_CHARS, reader=False,
          aliases=("user_agent.original", "userAgent"), otel=("user_agent.original",),
          redacted=True),
    Field("trace_id", "short", "W3C trace id (OTLP: 32 hex digits)", SHORT_FIELD_CHARS,
          searchable=True, aliases=("traceId", "trace.id", "dd.trace_id", "@tr", "TraceId"),
          fingerprinted=True),
    Field("span_id", "short", "W3C span id (OTLP: 16 hex digits)", SHORT_FIELD_CHARS,
          searchable=True, aliases=("spanId", "span.id", "dd.span_id", "@sp", "SpanId"),
          fingerprinted=True),
)  # fmt: skip

BY_NAME: dict[str, Field] = {f.name: f for f in FIELDS}
NAMES: tuple[str, ...] = tuple(f.name for f in FIELDS)
SERVER_FIELDS = frozenset(f.name for f in FIELDS if f.server)
INPUT_FIELDS = frozenset(NAMES) - SERVER_FIELDS
ALWAYS_PRESENT: tuple[str, ...] = tuple(f.name for f in FIELDS if f.always)
READER_HIDDEN: tuple[str, ...] = tuple(f.name for f in FIELDS if not f.reader)
SEARCHABLE: tuple[str, ...] = tuple(f.name for f in FIELDS if f.searchable)
REDACTED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.redacted)
FINGERPRINTED: tuple[str, ...] = tuple(f.name for f in FIELDS if f.fingerprinted)
PATTERN_FIELDS: tuple[str, ...] = tuple(f.name for f in FIELDS if f.pattern)
OPTIONAL_SHORT: tuple[tuple[str, int], ...] = tuple(
    (f.name, f.limit)
    for f in FIELDS
    if f.kind == "short" and not f.always and isinstance(f.limit, int)
)
ALIASES: tuple[tuple[str, tuple[str, ...]], ...] = tuple(
    (f.name, f.aliases) for f in FIELDS if f.aliases
)
OTEL_ATTRIBUTES: dict[str, str] = {a: f.name for f in FIELDS for a in f.otel}
ALIAS_NAMES = frozenset(a for f in FIELDS for a in f.aliases)
EXCEPTION_ALIASES: tuple[str, ...] = (
    "err",
    "error",
    "exception",
    "exc_info",
    "stack",
    "@x",
    "Exception",
    "thrown",
)
"""Where loggers put an error: an object (pino's `err` {type, message, stack}, bunyan's {name,
...}, ECS's `error` {type, message, stack_trace}, log4j's `thrown` {name, message,
extendedStackTrace}) or a formatted traceback string; read into exception_type,
exception_message and stack_trace by `shared.shapes`."""
COERCED_KEY = "_coerced"
"""The extra_data key under which a value that a field could not take is kept, by field name."""
