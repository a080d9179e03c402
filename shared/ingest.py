"""POST /api/logs: a request body (JSON object, JSON array or NDJSON, optionally gzip) to a
batch of validated, normalised and redacted records and their Event Hub events."""

from __future__ import annotations

import contextlib
import gc
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from shared.access import Caller
from shared.errors import BadRequest, Forbidden, TooLarge, UnsupportedMediaType
from shared.records import (
    Context,
    RecordError,
    RecordTooLarge,
    ServiceMismatch,
    encode_unredacted,
    finish,
    needing_a_closer_look,
)
from shared.settings import Settings

JSON_TYPES = frozenset({"application/json", ""})
NDJSON_TYPES = frozenset(
    {
        "application/x-ndjson",
        "application/ndjson",
        "application/jsonl",
        "application/x-jsonl",
        "application/jsonlines",
        "application/x-jsonlines",
    }
)
GZIP_ENCODINGS = frozenset({"gzip", "x-gzip"})
IDENTITY_ENCODINGS = frozenset({"", "identity"})
UTF8_BOM = b"\xef\xbb\xbf"
"""Some clients (PowerShell, .NET) start UTF-8 bodies with it; JSON parsers refuse it."""

_MALFORMED = object()
"""Stands for an NDJSON line that is not JSON."""


@dataclass(slots=True)
class Batch:
    """The outcome of one request: accepted records, their events, and the rejections.
    `refused_service` and `only_too_large` pick the status when nothing was accepted."""

    accepted: list[dict[str, Any]] = field(default_factory=list)
    events: list[tuple[str, bytes]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    refused_service: bool = False
    only_too_large: bool = True
    coerced: int = 0
    """Accepted records that had a value moved to extra_data._coerced."""

    def summary(self) -> dict[str, Any]:
        """The answer's body; `coerced` only when a record had a value moved."""
        body: dict[str, Any] = {
            "accepted": len(self.accepted),
            "ids": [r["id"] for r in self.accepted],
            "rejected": self.rejected,
        }
        if self.coerced:
            body["coerced"] = self.coerced
        return body


def header(headers: Mapping[str, str], name: str) -> str:
    """A header's value by case-insensitive name, or ''."""
    value = headers.get(name)
    if value is None:
        lower = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lower), None)
    return value or ""


def media_type(headers: Mapping[str, str]) -> str:
    return header(headers, "Content-Type").partition(";")[0].strip().lower()


def gunzip(body: bytes, limit: int) -> bytes:
    """Decompress gzip (several members allowed) producing at most `limit` bytes.

    Raises TooLarge beyond the limit without inflating more than limit + 1 bytes, and
    BadRequest for a corrupt or truncated stream."""
    out = bytearray()
    data = body
    while True:
        inflater = zlib.decompressobj(wbits=31)
        try:
            out += inflater.decompress(data, limit + 1 - len(out))
        except zlib.error as exc:
            raise BadRequest(f"the gzip body is corrupt: {exc}") from None
        if len(out) > limit:
            raise TooLarge(f"the body is larger than {limit} bytes after decompression")
        if not inflater.eof:
            raise BadRequest("the gzip body is truncated")
        data = inflater.unused_data
        if not data.strip(b"\x00"):
            return bytes(out)


def decoded_body(body: bytes, headers: Mapping[str, str], limit: int) -> bytes:
    """The request body after Content-Encoding, within the size limit."""
    encoding = header(headers, "Content-Encoding").strip().lower()
    if encoding in GZIP_ENCODINGS:
        return gunzip(body, limit)
    if encoding not in IDENTITY_ENCODINGS:
        raise UnsupportedMediaType(
            f"Content-Encoding {encoding!r} is not supported; send gzip or no encoding"
        )
    if len(body) > limit:
        raise TooLarge(f"the body is larger than {limit} bytes")
    return body


def _too_many(limit: int) -> TooLarge:
    return TooLarge(f"more than {limit} records in one request; the limit is {limit}")


def json_items(body: bytes, limit: int) -> list[Any]:
    """The records of a JSON body: one object or an array."""
    try:
        parsed = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body is not valid JSON: {exc}") from None
    if isinstance(parsed, dict):
        return [parsed]
    if not isinstance(parsed, list):
        raise BadRequest("the body must be a JSON object or an array of objects")
    if len(parsed) > limit:
        raise _too_many(limit)
    return parsed


def ndjson_items(body: bytes, limit: int) -> list[Any]:
    """The records of an NDJSON body, one per non-blank line; a malformed line is kept as
    `_MALFORMED` so that only it is rejected."""
    lines = [line for line in body.split(b"\n") if line.strip()]
    if len(lines) > limit:
        raise _too_many(limit)
    items: list[Any] = []
    for line in lines:
        try:
            items.append(orjson.loads(line))
        except orjson.JSONDecodeError:
            items.append(_MALFORMED)
    return items


def build_batch(
    items: Iterable[Any], caller: Caller, settings: Settings, now: datetime | None = None
) -> Batch:
    """Validate, normalise and redact each item; keep the valid ones, reject the rest by
    index. When nothing is valid, raises Forbidden if a record named a service its key is not
    bound to, TooLarge if every record was over a size limit, BadRequest otherwise."""
    ctx = Context.of(caller, settings, now or datetime.now(UTC))
    batch = Batch()
    bodies: list[bytes] = []
    accept, keep_body = batch.accepted.append, bodies.append
    coerced = ctx.coerced
    for index, item in enumerate(items):
        before = coerced[0]
        try:
            if item is _MALFORMED:
                raise RecordError("this line is not valid JSON")
            record, body = encode_unredacted(item, ctx)
        except ServiceMismatch as exc:
            batch.refused_service = True
            batch.rejected.append({"index": index, "error": str(exc)})
            continue
        except RecordError as exc:
            batch.only_too_large = batch.only_too_large and isinstance(exc, RecordTooLarge)
            batch.rejected.append({"index": index, "error": str(exc)})
            continue
        accept(record)
        keep_body(body)
        if coerced[0] != before:
            batch.coerced += 1
    for i in needing_a_closer_look(bodies):
        batch.accepted[i], bodies[i] = finish(batch.accepted[i], bodies[i], settings.redaction_salt)
    batch.events = [(r["service"], body) for r, body in zip(batch.accepted, bodies, strict=True)]
    if not batch.accepted:
        if batch.refused_service:
            raise Forbidden("no record may be ingested with this key", detail=batch.rejected)
        if batch.rejected and batch.only_too_large:
            raise TooLarge("every record is over a size limit", detail=batch.rejected)
        raise BadRequest("no valid records", detail=batch.rejected)
    return batch


def parse_request(
    body: bytes,
    headers: Mapping[str, str],
    caller: Caller,
    settings: Settings,
    now: datetime | None = None,
) -> Batch:
    """A POST /api/logs request to its batch; raises the error its status needs
    (400, 403, 413, 415)."""
    kind = media_type(headers)
    if kind not in JSON_TYPES and kind not in NDJSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {kind!r} is not supported; send application/json or application/x-ndjson"
        )
    data = decoded_body(body or b"", headers, settings.max_request_bytes)
    if data.startswith(UTF8_BOM):
        data = data[len(UTF8_BOM) :]
    if not data or data.isspace():
        raise BadRequest("the body is empty")
    limit = settings.max_records_per_request
    with cycle_collector_paused():
        items = ndjson_items(data, limit) if kind in NDJSON_TYPES else json_items(data, limit)
        return build_batch(items, caller, settings, now)


@contextlib.contextmanager
def cycle_collector_paused() -> Iterator[None]:
    """Hold off Python's cycle collector while a request's records are built.

    Parsing and normalising allocate thousands of containers, none in a cycle (reference
    counting frees them all), yet each 700 allocations start a collection that walks the young
    ones: pausing it makes ingest about 7 % faster, measured side by side. The work in between
    is synchronous, so nothing else in this thread runs while the collector waits, and the
    next allocation after it resumes collects as usual."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
