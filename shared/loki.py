"""The Loki push API (Promtail, Grafana Alloy, Vector's `loki` sink, Fluent Bit's `loki`
output): JSON, and snappy-compressed protobuf (`logproto.PushRequest`).

Each entry becomes one record: its nanosecond timestamp is the record's time; a line that is
itself a JSON object is read as a record, any other line is the message. The stream's labels
fill what the line leaves out: `service`, `service_name`, `app` or `job` the service;
`level`, `detected_level` or `severity` the level; `logger` the logger. The other labels go
to `extra_data.labels`, and structured metadata (trace ids, user ids...) is read as fields
of the record."""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared import shipping
from shared.access import Caller
from shared.errors import BadRequest, TooLarge
from shared.ingest import Batch, media_type
from shared.settings import Settings
from shared.shipping import Unreadable

JSON = "application/json"
PROTOBUF = "application/x-protobuf"
CONTENT_TYPES = frozenset({JSON, PROTOBUF, ""})
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


@functools.cache
def _push_request_class() -> Any:
    """`logproto.PushRequest` of Loki's push.proto, declared here field by field for the
    protobuf runtime (its C parser reads a request several times faster than Python would):

        message PushRequest { repeated StreamAdapter streams = 1; }
        message StreamAdapter { string labels = 1; repeated EntryAdapter entries = 2;
                                uint64 hash = 3; }
        message EntryAdapter { google.protobuf.Timestamp timestamp = 1; string line = 2;
                               repeated LabelPairAdapter structuredMetadata = 3; }
        message LabelPairAdapter { string name = 1; string value = 2; }
    """
    from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, timestamp_pb2

    field = descriptor_pb2.FieldDescriptorProto
    one, many = field.LABEL_OPTIONAL, field.LABEL_REPEATED
    text, message = field.TYPE_STRING, field.TYPE_MESSAGE
    file = descriptor_pb2.FileDescriptorProto(
        name="pipeline/loki_push.proto",
        package="pipeline.logproto",
        syntax="proto3",
        dependency=["google/protobuf/timestamp.proto"],
    )
    shapes: dict[str, list[tuple[str, int, int, int, str]]] = {
        "PushRequest": [("streams", 1, message, many, ".pipeline.logproto.StreamAdapter")],
        "StreamAdapter": [
            ("labels", 1, text, one, ""),
            ("entries", 2, message, many, ".pipeline.logproto.EntryAdapter"),
            ("hash", 3, field.TYPE_UINT64, one, ""),
        ],
        "EntryAdapter": [
            ("timestamp", 1, message, one, ".google.protobuf.Timestamp"),
            ("line", 2, text, one, ""),
            ("structuredMetadata", 3, message, many, ".pipeline.logproto.LabelPairAdapter"),
        ],
        "LabelPairAdapter": [("name", 1, text, one, ""), ("value", 2, text, one, "")],
    }
    for name, fields in shapes.items():
        declared = file.message_type.add(name=name)
        for field_name, number, kind, label, type_name in fields:
            declared.field.add(name=field_name, number=number, type=kind, label=label)
            if type_name:
                declared.field[-1].type_name = type_name
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(timestamp_pb2.DESCRIPTOR.serialized_pb)
    pool.Add(file)
    return message_factory.GetMessageClass(
        pool.FindMessageTypeByName("pipeline.logproto.PushRequest")
    )


def protobuf_streams(data: bytes) -> list[tuple[dict[str, str], list[list[Any]]]]:
    """A decoded (not compressed) PushRequest: each stream's labels and its entries as
    `[unix ns, line, {structured metadata}]`."""
    from google.protobuf.message import DecodeError

    request = _push_request_class()()
    try:
        request.ParseFromString(data)
    except DecodeError as exc:
        raise BadRequest(f"the protobuf body is not a Loki PushRequest: {exc}") from None
    return [
        (
            parse_labels(stream.labels),
            [
                [
                    entry.timestamp.seconds * 1_000_000_000 + entry.timestamp.nanos,
                    entry.line,
                    {pair.name: pair.value for pair in entry.structuredMetadata},
                ]
                for entry in stream.entries
            ],
        )
        for stream in request.streams
    ]


def snappy_decompress(body: bytes, limit: int) -> bytes:
    """A snappy block (the framing Loki uses) decompressed, refused past `limit` bytes before
    any is inflated: the block starts with its decompressed length."""
    import cramjam

    if not body:
        return b""
    length = _length_prefix(body)
    if length > limit:
        raise TooLarge(f"the body is larger than {limit} bytes after decompression")
    try:
        return bytes(cramjam.snappy.decompress_raw(body))
    except cramjam.DecompressionError as exc:
        raise BadRequest(f"the body is not snappy-compressed protobuf: {exc}") from None


def _length_prefix(body: bytes) -> int:
    """The varint a snappy block starts with: its decompressed length."""
    length = shift = 0
    for byte in body[:10]:
        length |= (byte & 0x7F) << shift
        if byte < 0x80:
            return length
        shift += 7
    raise BadRequest("the body is not snappy-compressed: no length prefix")


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
        moment = EPOCH + timedelta(microseconds=nanos // 1000)
    except OverflowError:
        raise EntryError(f"timestamp {nanos} is out of range") from None
    return moment.isoformat(timespec="microseconds")  # the form normalisation takes as is


def stream_fields(labels: Mapping[str, str]) -> dict[str, Any]:
    """What a stream's labels give each of its records: service, level and logger from the
    first label of each kind that has a value, the other labels as `labels`."""
    fields: dict[str, Any] = {}
    rest = dict(labels)
    for field, names in (
        ("service", SERVICE_LABELS),
        ("level", LEVEL_LABELS),
        ("logger_name", LOGGER_LABELS),
    ):
        name = next((n for n in names if labels.get(n)), None)
        if name is None:
            continue
        value: str | None = rest.pop(name)
        if field == "level" and value is not None:
            value = LOKI_LEVELS.get(value.lower(), value)
        if value is not None:
            fields[field] = value
    if rest:
        fields["labels"] = rest
    return fields


def raw_record(fields: Mapping[str, Any], entry: Any) -> dict[str, Any]:
    """One `[ns, line, {metadata}?]` entry of a stream as a raw record; the stream's fields
    fill what the line and its metadata leave out."""
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
    if "timestamp" not in record:
        record["timestamp"] = _timestamp(entry[0])
    if len(entry) == 3 and entry[2]:
        metadata = entry[2]
        if not isinstance(metadata, dict):
            raise EntryError("structured metadata must be an object")
        for name, value in metadata.items():
            record.setdefault(name, value)
    for name, value in fields.items():
        if name not in record:
            record[name] = value
    return record


def json_streams(document: Any) -> list[tuple[dict[str, str], list[Any]]]:
    """Each stream's labels and entries of a JSON push body."""
    if not isinstance(document, dict) or not isinstance(document.get("streams"), list):
        raise BadRequest('a push body must be an object with "streams": [...]')
    streams: list[tuple[dict[str, str], list[Any]]] = []
    for stream in document["streams"]:
        if not isinstance(stream, dict):
            raise BadRequest("each stream must be an object")
        labels = stream.get("stream") or {}
        values = stream.get("values") or []
        if not isinstance(labels, dict) or not isinstance(values, list):
            raise BadRequest('each stream needs "stream": {labels} and "values": [...]')
        streams.append(({str(k): str(v) for k, v in labels.items()}, values))
    return streams


def items(streams: list[tuple[dict[str, str], list[Any]]], limit: int) -> list[Any]:
    """The raw records of a push request's streams, `Unreadable` for each unreadable entry."""
    out: list[Any] = []
    for labels, values in streams:
        fields = stream_fields(labels)
        for entry in values:
            if len(out) >= limit:
                raise TooLarge(f"more than {limit} entries in one request; the limit is {limit}")
            try:
                out.append(raw_record(fields, entry))
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
    protobuf = media_type(headers) == PROTOBUF
    kind, data = shipping.request_body(
        body, headers, settings, CONTENT_TYPES, f"{JSON} or {PROTOBUF}", text=not protobuf
    )
    if kind == PROTOBUF:
        streams = protobuf_streams(snappy_decompress(data, settings.max_request_bytes))
    else:
        try:
            streams = json_streams(orjson.loads(data))
        except orjson.JSONDecodeError as exc:
            raise BadRequest(f"the body is not valid JSON: {exc}") from None
    raws = items(streams, settings.max_records_per_request)
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
