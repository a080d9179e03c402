"""The Loki push API (Promtail, Grafana Alloy, Vector's `loki` sink, Fluent Bit's `loki`
output): JSON, and snappy-compressed protobuf (`logproto.PushRequest`).

Each entry becomes one record: its nanosecond timestamp is the record's time; a line that is
itself a JSON object is read as a record, any other line is the message. The stream's labels
fill what the line leaves out: `service`, `service_name`, `app` or `job` the service;
`level`, `detected_level` or `severity` the level; `logger` the logger. The other labels go
to `extra_data.labels`, and structured metadata (trace ids, user ids...) is read as fields
of the record."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared import shipping
from shared.access import Caller
from shared.errors import BadRequest, TooLarge, UnsupportedMediaType
from shared.ingest import Batch, decoded_body, media_type
from shared.settings import Settings
from shared.shipping import Unreadable

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
SERVICE_LABELS = ("service", "service_name", "app", "job")
LEVEL_LABELS = ("level", "detected_level", "severity")
LOGGER_LABELS = ("logger", "logger_name")
LOKI_LEVELS = {"trace": "DEBUG", "unknown": None}
"""Loki's detected levels that are not level names of the pipeline (None: leave it out)."""
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

_LABEL = re.compile(r'\s*([A-Za-z_.][A-Za-z0-9_.]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_ESCAPE = re.compile(r"\\(.)")
_UNESCAPED = {"n": "\n", "t": "\t"}


class EntryError(ValueError):
    """One entry cannot be read; the others still can."""


# --- protobuf ----------------------------------------------------------------------------


def _varint(data: bytes, pos: int) -> tuple[int, int]:
    result = shift = 0
    while True:
        if pos >= len(data):
            raise BadRequest("the protobuf body is truncated")
        byte = data[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if not byte & 0x80:
            return result, pos
        shift += 7
        if shift > 63:
            raise BadRequest("the protobuf body has a malformed varint")


def _fields(data: bytes) -> Iterator[tuple[int, int | bytes]]:
    """(field number, value) of a protobuf message: ints for varints, bytes otherwise."""
    pos = 0
    while pos < len(data):
        key, pos = _varint(data, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = _varint(data, pos)
            yield number, value
        elif wire == 2:
            size, pos = _varint(data, pos)
            if pos + size > len(data):
                raise BadRequest("the protobuf body is truncated")
            yield number, data[pos : pos + size]
            pos += size
        elif wire in (1, 5):
            width = 8 if wire == 1 else 4
            if pos + width > len(data):
                raise BadRequest("the protobuf body is truncated")
            yield number, data[pos : pos + width]
            pos += width
        else:
            raise BadRequest(f"the protobuf body has an unsupported wire type {wire}")


def _text(value: int | bytes) -> str:
    if not isinstance(value, bytes):
        raise BadRequest("the protobuf body is not a PushRequest: a string field holds a number")
    return value.decode("utf-8", "replace")


def _entry(data: bytes) -> list[Any]:
    """An EntryAdapter as a JSON value entry: [nanoseconds, line, {metadata}]."""
    seconds = nanos = 0
    line = ""
    metadata: dict[str, str] = {}
    for number, value in _fields(data):
        if number == 1 and isinstance(value, bytes):
            for part, inner in _fields(value):
                if part == 1 and isinstance(inner, int):
                    seconds = inner - (1 << 64) if inner >= 1 << 63 else inner
                elif part == 2 and isinstance(inner, int):
                    nanos = inner
        elif number == 2:
            line = _text(value)
        elif number == 3 and isinstance(value, bytes):
            pair = {n: _text(v) for n, v in _fields(value) if n in (1, 2)}
            metadata[pair.get(1, "")] = pair.get(2, "")
    return [str(seconds * 1_000_000_000 + nanos), line, metadata]


def protobuf_document(data: bytes) -> dict[str, Any]:
    """A decoded (not compressed) PushRequest expressed as Loki's JSON push body."""
    streams: list[dict[str, Any]] = []
    for number, value in _fields(data):
        if number != 1 or not isinstance(value, bytes):
            continue
        labels = ""
        values: list[list[Any]] = []
        for part, inner in _fields(value):
            if part == 1:
                labels = _text(inner)
            elif part == 2 and isinstance(inner, bytes):
                values.append(_entry(inner))
        streams.append({"stream": parse_labels(labels), "values": values})
    return {"streams": streams}


def snappy_decompress(body: bytes, limit: int) -> bytes:
    """A snappy block (the framing Loki uses) decompressed, refused past `limit` bytes before
    any is inflated: the block starts with its decompressed length."""
    import cramjam

    if not body:
        return b""
    length, _ = _varint(body, 0)
    if length > limit:
        raise TooLarge(f"the body is larger than {limit} bytes after decompression")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise BadRequest(f"the body is not snappy-compressed protobuf: {exc}") from None


def parse_labels(text: str) -> dict[str, str]:
    """Prometheus label syntax, `{job="api", level="info"}`, as a dict."""
    inner = text.strip()
    if inner.startswith("{") and inner.endswith("}"):
        inner = inner[1:-1]
    labels: dict[str, str] = {}
    pos = 0
    while pos < len(inner) and inner[pos:].strip():
        match = _LABEL.match(inner, pos)
        if match is None:
            raise BadRequest(f"the stream labels {text[:200]!r} are not in label syntax")
        labels[match.group(1)] = _ESCAPE.sub(lambda m: _UNESCAPED.get(m[1], m[1]), match.group(2))
        pos = match.end()
    return labels


# --- entries to records ------------------------------------------------------------------


def _timestamp(value: Any) -> str:
    try:
        nanos = int(value)
    except (TypeError, ValueError):
        raise EntryError(f"timestamp {str(value)[:64]!r} is not Unix nanoseconds") from None
    try:
        return (EPOCH + timedelta(microseconds=nanos // 1000)).isoformat()
    except OverflowError:
        raise EntryError(f"timestamp {nanos} is out of range") from None


def _first(labels: Mapping[str, str], names: tuple[str, ...]) -> tuple[str, str] | None:
    """(name, value) of the first of these labels with a value."""
    return next(((n, labels[n]) for n in names if labels.get(n)), None)


def raw_record(labels: Mapping[str, str], entry: Any) -> dict[str, Any]:
    """One `[ns, line, {metadata}?]` entry of a stream as a raw record."""
    if not isinstance(entry, list) or len(entry) not in (2, 3) or not isinstance(entry[1], str):
        raise EntryError('an entry must be ["<unix ns>", "<line>"] or with {metadata} third')
    line: str = entry[1]
    record: dict[str, Any] | None = None
    if line.startswith("{"):
        try:
            parsed = orjson.loads(line)
        except orjson.JSONDecodeError:
            parsed = None
        if isinstance(parsed, dict):
            record = parsed
    if record is None:
        record = {"message": line}
    record.setdefault("timestamp", _timestamp(entry[0]))
    metadata = entry[2] if len(entry) == 3 else None
    if metadata is not None and not isinstance(metadata, dict):
        raise EntryError("structured metadata must be an object")
    for name, value in (metadata or {}).items():
        record.setdefault(name, value)
    rest = dict(labels)
    for field, names in (
        ("service", SERVICE_LABELS),
        ("level", LEVEL_LABELS),
        ("logger_name", LOGGER_LABELS),
    ):
        found = _first(labels, names)
        if found is None:
            continue
        del rest[found[0]]
        value: str | None = found[1]
        if field == "level" and value is not None:
            value = LOKI_LEVELS.get(value.lower(), value)
        if value is not None:
            record.setdefault(field, value)
    if rest:
        record.setdefault("labels", rest)
    return record


def items(document: Any, limit: int) -> list[Any]:
    """The raw records of a push body, `Unreadable` in place of each unreadable entry."""
    if not isinstance(document, dict) or not isinstance(document.get("streams"), list):
        raise BadRequest('a push body must be an object with "streams": [...]')
    out: list[Any] = []
    for stream in document["streams"]:
        if not isinstance(stream, dict):
            raise BadRequest("each stream must be an object")
        labels = stream.get("stream") or {}
        values = stream.get("values") or []
        if not isinstance(labels, dict) or not isinstance(values, list):
            raise BadRequest('each stream needs "stream": {labels} and "values": [...]')
        labels = {str(k): str(v) for k, v in labels.items()}
        for entry in values:
            if len(out) >= limit:
                raise TooLarge(f"more than {limit} entries in one request; the limit is {limit}")
            try:
                out.append(raw_record(labels, entry))
            except EntryError as exc:
                out.append(Unreadable(str(exc)))
    return out


def parse(
    body: bytes,
    headers: Mapping[str, str],
    caller: Caller,
    settings: Settings,
    now: datetime | None = None,
) -> Batch:
    """A push request to its batch; raises the error its status needs (400, 403, 413, 415)."""
    kind = media_type(headers) or JSON
    if kind not in (JSON, PROTOBUF):
        raise UnsupportedMediaType(
            f"Content-Type {kind!r} is not supported; send {JSON} or {PROTOBUF}"
        )
    data = decoded_body(body or b"", headers, settings.max_request_bytes)
    if kind == PROTOBUF:
        document: Any = protobuf_document(snappy_decompress(data, settings.max_request_bytes))
    else:
        try:
            document = orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
    raws = items(document, settings.max_records_per_request)
    if not raws:
        raise BadRequest("the push request has no entries")
    return shipping.build(raws, caller, settings, now)


def rejection_text(batch: Batch) -> str:
    """Loki's plain-text answer when entries were refused (the others were accepted)."""
    lines = [f"entry {r['index']}: {r['error']}" for r in batch.rejected[:20]]
    more = len(batch.rejected) - len(lines)
    if more > 0:
        lines.append(f"and {more} more")
    return (
        f"{len(batch.rejected)} of {len(batch.rejected) + len(batch.accepted)} entries refused, "
        "the others accepted:\n" + "\n".join(lines) + "\n"
    )
