"""The long-term record: each Event Hub batch as one gzip NDJSON blob.

A blob is named from the event hub, the partition and the batch's first and last sequence
numbers under the hour the batch was enqueued, e.g.
`logs/2026/11/27/14/p3-000120-000219.ndjson.gz`, so a retried batch rewrites its own blob.
Its metadata holds the record count, the earliest and latest record timestamps and the
SHA-256 of the stored bytes, which `shared.verify` checks."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import re
import zlib
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import orjson
import simdjson

from shared import blob, deadletter, sink_policy
from shared.eventbatch import EventBatch
from shared.settings import Settings
from shared.sink_policy import Attempt

log = logging.getLogger(__name__)

SINK = deadletter.Sink.ARCHIVE
CONTENT_TYPE = "application/x-ndjson"
CONTENT_ENCODING = "gzip"
THREAD_THRESHOLD_BYTES = 64 * 1024
"""Batches larger than this are compressed on a worker thread (zlib releases the GIL), so
concurrent invocations keep uploading while one compresses."""

ARCHIVE_TIER_PROBLEM = "in the Archive access tier: rehydrate it (az storage blob set-tier) first"
META_COUNT = "record_count"
META_FIRST = "first_timestamp"
META_LAST = "last_timestamp"
META_SHA256 = "sha256"
META_NDJSON_BYTES = "ndjson_bytes"

NAME_PATTERN = re.compile(
    r"^(?P<hub>[^/]+)/(?P<y>\d{4})/(?P<m>\d{2})/(?P<d>\d{2})/(?P<h>\d{2})/"
    r"p(?P<partition>[^-/]+)-(?P<first>\d+)-(?P<last>\d+)\.ndjson\.gz$"
)


Batch = EventBatch
"""An archive batch is the batch the trigger delivered."""


@dataclass(frozen=True, slots=True)
class Rejected:
    index: int
    body: bytes
    error: str


@dataclass(frozen=True, slots=True)
class Encoded:
    """A batch as stored: gzip NDJSON with the figures kept in blob metadata."""

    content: bytes
    ndjson_bytes: int
    count: int
    first_timestamp: str
    last_timestamp: str
    sha256: str
    rejected: list[Rejected] = field(default_factory=list)

    def metadata(self) -> dict[str, str]:
        return {
            META_COUNT: str(self.count),
            META_FIRST: self.first_timestamp,
            META_LAST: self.last_timestamp,
            META_SHA256: self.sha256,
            META_NDJSON_BYTES: str(self.ndjson_bytes),
        }


def blob_name(event_hub: str, partition: str, first: int, last: int, enqueued_at: datetime) -> str:
    when = enqueued_at.astimezone(UTC)
    return f"{event_hub}/{when:%Y/%m/%d/%H}/p{partition}-{first:06d}-{last:06d}.ndjson.gz"


def name_for(batch: Batch, encoded_sha256: str) -> str:
    """The batch's deterministic blob name. Without a partition id or sequence numbers (a host
    that does not supply them) the name falls back to the content hash, still the same for a
    retry and never colliding with another partition's batch."""
    first, last = batch.first_sequence, batch.last_sequence
    if first is None or last is None or not batch.partition:
        when = batch.enqueued_at.astimezone(UTC)
        return (
            f"{batch.event_hub}/{when:%Y/%m/%d/%H}/"
            f"p{batch.partition or '_'}-{encoded_sha256[:16]}.ndjson.gz"
        )
    return blob_name(batch.event_hub, batch.partition, first, last, batch.enqueued_at)


def hour_prefixes(event_hub: str, start: datetime, end: datetime) -> Iterator[str]:
    """The hour folders `{hub}/yyyy/mm/dd/HH/` that cover [start, end)."""
    moment = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    end = end.astimezone(UTC)
    while moment < end:
        yield f"{event_hub}/{moment:%Y/%m/%d/%H}/"
        moment = moment.fromtimestamp(moment.timestamp() + 3600, UTC)


def timestamp_key(value: object) -> tuple[float, str]:
    text = str(value)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return (float("inf"), text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.timestamp(), text)


def _check(parser: simdjson.Parser, body: bytes) -> object:
    """The body's timestamp; ValueError unless the body is a JSON object. simdjson validates
    the whole body (structure and UTF-8) at several times orjson's speed and reads one field
    without building the record."""
    try:
        document = parser.parse(body)
    except ValueError as exc:
        raise ValueError(f"event body is not JSON: {exc}") from None
    if type(document) is not simdjson.Object:
        del document
        raise ValueError("event body is JSON but not an object")
    stamp = document.get("timestamp")
    del document
    return stamp if type(stamp) is str or isinstance(stamp, int | float) else None


def _one_line(body: bytes) -> bytes:
    """A JSON body with raw line breaks between its tokens, rewritten compact."""
    return orjson.dumps(orjson.loads(body)) if b"\n" in body or b"\r" in body else body


def _is_canonical(stamp: object) -> bool:
    return type(stamp) is str and len(stamp) == 32 and stamp[26:] == "+00:00"


def _span(stamps: list[object]) -> tuple[str, str]:
    """Earliest and latest timestamp. Canonical UTC ISO strings (as ingest writes them:
    microseconds, +00:00) order as text; anything else is parsed."""
    if not stamps:
        return "", ""
    if all(map(_is_canonical, stamps)):
        texts: list[str] = stamps  # type: ignore[assignment]
        return min(texts), max(texts)
    keys = [timestamp_key(t) for t in stamps]
    return min(keys)[1], max(keys)[1]


def encode(bodies: Sequence[bytes], level: int = 6) -> Encoded:
    """Gzip NDJSON of the bodies, in order, one per line. Bodies that are not JSON objects
    are left out and returned in `rejected` (the caller dead-letters them)."""
    parser = simdjson.Parser()
    lines: list[bytes] = []
    stamps: list[object] = []
    rejected: list[Rejected] = []
    for index, body in enumerate(bodies):
        raw = body if type(body) is bytes else bytes(body)
        try:
            stamp = _check(parser, raw)
        except ValueError as exc:
            rejected.append(Rejected(index, raw, f"undecodable event: {exc}"))
            continue
        lines.append(raw)
        if stamp is not None:
            stamps.append(stamp)
    ndjson = b"\n".join(lines) + b"\n" if lines else b""
    if ndjson.count(b"\n") != len(lines) or b"\r" in ndjson:
        lines = [_one_line(line) for line in lines]
        ndjson = b"\n".join(lines) + b"\n"
    content = gzip.compress(ndjson, compresslevel=level, mtime=0)
    first, last = _span(stamps)
    return Encoded(
        content=content,
        ndjson_bytes=len(ndjson),
        count=len(lines),
        first_timestamp=first,
        last_timestamp=last,
        sha256=hashlib.sha256(content).hexdigest(),
        rejected=rejected,
    )


async def encode_async(bodies: Sequence[bytes], level: int) -> Encoded:
    size = sum(len(b) for b in bodies)
    if size >= THREAD_THRESHOLD_BYTES:
        return await asyncio.to_thread(encode, bodies, level)
    return encode(bodies, level)


async def iter_lines(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """The NDJSON lines of a gzip stream given in chunks, decompressed incrementally (memory
    stays at one chunk and one line whatever the blob's size)."""
    inflater = zlib.decompressobj(wbits=31)
    pending = b""
    async for chunk in chunks:
        pending += inflater.decompress(chunk)
        *lines, pending = pending.split(b"\n")
        for line in lines:
            if line.strip():
                yield line
    pending += inflater.flush()
    if pending.strip():
        yield pending


async def upload(settings: Settings, name: str, encoded: Encoded) -> None:
    from azure.storage.blob import ContentSettings

    client = await blob.container(settings, settings.archive_container)
    await client.upload_blob(
        name,
        encoded.content,
        overwrite=True,
        metadata=encoded.metadata(),
        content_settings=ContentSettings(
            content_type=CONTENT_TYPE, content_encoding=CONTENT_ENCODING
        ),
    )


@dataclass(frozen=True, slots=True)
class Outcome:
    blob: str | None
    archived: int
    rejected: int
    dead_letter: str | None = None


async def _dead_letter_rejected(settings: Settings, batch: Batch, encoded: Encoded) -> None:
    if not encoded.rejected:
        return
    details = batch.details() | {
        "indexes": [r.index for r in encoded.rejected],
        "errors": [r.error for r in encoded.rejected],
    }
    reason = "; ".join(sorted({r.error for r in encoded.rejected}))
    await deadletter.write(
        settings,
        SINK,
        reason,
        [r.body for r in encoded.rejected],
        attempts=1,
        key=f"{batch.key()}.rejected",
        at=batch.enqueued_at,
        details=details,
    )


async def archive_batch(settings: Settings, batch: Batch) -> Outcome:
    """Write the batch's blob (and a dead letter for bodies that are not records). Raises on
    any Blob Storage failure so the trigger retries the batch."""
    encoded = await encode_async(batch.bodies, settings.archive_compression_level)
    name = name_for(batch, encoded.sha256)
    await _dead_letter_rejected(settings, batch, encoded)
    if encoded.count:
        await upload(settings, name, encoded)
    return Outcome(
        blob=name if encoded.count else None,
        archived=encoded.count,
        rejected=len(encoded.rejected),
    )


async def archive_or_dead_letter(settings: Settings, batch: Batch, attempt: Attempt) -> Outcome:
    """Archive the batch under the one retry and dead-letter policy (`shared.sink_policy`)."""
    return await sink_policy.settle(
        settings,
        SINK,
        batch,
        attempt,
        lambda: archive_batch(settings, batch),
        lambda letter: Outcome(blob=None, archived=0, rejected=0, dead_letter=letter),
    )
