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
import time
import zlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import simdjson

from shared import blob, deadletter
from shared.settings import Settings

log = logging.getLogger(__name__)

SINK = "archive"
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


@dataclass(frozen=True, slots=True)
class Batch:
    """One Event Hub batch as the trigger delivered it: bodies in partition order."""

    event_hub: str
    partition: str
    bodies: Sequence[bytes]
    sequence_numbers: Sequence[int | None] = ()
    enqueued_times: Sequence[datetime | None] = ()

    @property
    def first_sequence(self) -> int | None:
        known = [s for s in self.sequence_numbers if s is not None]
        return min(known) if known else None

    @property
    def last_sequence(self) -> int | None:
        known = [s for s in self.sequence_numbers if s is not None]
        return max(known) if known else None

    @property
    def enqueued_at(self) -> datetime:
        known = [t for t in self.enqueued_times if t is not None]
        moment = min(known) if known else datetime.now(UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def details(self) -> dict[str, object]:
        """Where the batch came from, as kept with its dead letter (enough to rebuild its
        blob name on replay)."""
        return {
            "event_hub": self.event_hub,
            "partition": self.partition,
            "first_sequence": self.first_sequence,
            "last_sequence": self.last_sequence,
            "enqueued_time": self.enqueued_at.isoformat(),
        }


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


def batch_key(batch: Batch) -> str:
    """A name for the batch that is the same on every retry: hub, partition and sequence
    range, or a hash of the bodies when the host gives no sequence numbers."""
    first, last = batch.first_sequence, batch.last_sequence
    if first is None or last is None or not batch.partition:
        digest = hashlib.sha256(b"\n".join(bytes(b) for b in batch.bodies)).hexdigest()[:16]
        return f"{batch.event_hub}-p{batch.partition or '_'}-{digest}"
    return f"{batch.event_hub}-p{batch.partition}-{first:06d}-{last:06d}"


def _lookup(mapping: Mapping[str, Any], name: str) -> Any:
    if name in mapping:
        return mapping[name]
    lower = name.lower()
    return next((v for k, v in mapping.items() if k.lower() == lower), None)


def partition_from_metadata(metadata: Mapping[str, Any] | None) -> str:
    """The partition id from a batch trigger's metadata: `PartitionContext.PartitionId` (an
    object, or its JSON text), as the Functions host sends it; "" when absent."""
    if not metadata:
        return ""
    context = _lookup(metadata, "PartitionContext")
    if isinstance(context, str | bytes):
        try:
            context = orjson.loads(context)
        except orjson.JSONDecodeError:
            return ""
    if isinstance(context, Mapping):
        partition = _lookup(context, "PartitionId")
        if partition is not None:
            return str(partition)
    return ""


def metadata_array(metadata: Mapping[str, Any] | None, name: str, index: int) -> Any:
    """Element `index` of a batch trigger's `{name}Array` metadata (e.g. SequenceNumberArray)."""
    values = _lookup(metadata, f"{name}Array") if metadata else None
    if isinstance(values, str | bytes):
        try:
            values = orjson.loads(values)
        except orjson.JSONDecodeError:
            return None
    if isinstance(values, list) and index < len(values):
        return values[index]
    return None


def parse_enqueued_time(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, str) and value:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            return None
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
    return None


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
        key=f"{batch_key(batch)}.rejected",
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


async def archive_or_dead_letter(
    settings: Settings, batch: Batch, attempt: int, final_attempt: bool
) -> Outcome:
    """Archive the batch. Before the final attempt a failure propagates, so the runtime retries
    the batch; on the final attempt the whole batch is dead-lettered instead. If Blob Storage
    refuses the dead letter too, both are retried here with backoff for up to
    `archive_final_hold_seconds` before the error propagates (the runtime then gives up on the
    batch: the events are still in Event Hubs for its retention period)."""
    if not final_attempt:
        return await archive_batch(settings, batch)
    deadline = time.monotonic() + settings.archive_final_hold_seconds
    delay = 1.0
    while True:
        try:
            return await archive_batch(settings, batch)
        except Exception as archive_error:
            log.warning(
                "archive of %s failed on the final attempt: %s", batch.details(), archive_error
            )
            try:
                letter = await deadletter.write(
                    settings,
                    SINK,
                    f"archive failed after {attempt} attempts: {archive_error!r}",
                    list(batch.bodies),
                    attempts=attempt,
                    key=f"{batch_key(batch)}.batch",
                    at=batch.enqueued_at,
                    details=batch.details(),
                )
                return Outcome(blob=None, archived=0, rejected=0, dead_letter=letter)
            except Exception:
                if time.monotonic() + delay > deadline:
                    log.error("archive and dead letter both failed for %s", batch.details())
                    raise
                log.warning("dead letter failed too; holding the batch %.0f s", delay)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
