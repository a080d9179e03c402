"""Put a time range of the archive, or the dead letters, back into the pipeline.

    python -m shared.replay --source archive|deadletter --start ... --end ...
        [--service NAME ...] [--to postgres|eventhub|origin] [--slack 24h]

It streams (one blob chunk and one batch of records in memory at a time), skips what
PostgreSQL already holds through the record ids, prints what it did, and moves each dead
letter it replayed under `replayed/`, so a second run does nothing. A progress bar goes to
stderr."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

import orjson

from shared import archive, blob, deadletter, events
from shared.eventbatch import EventBatch
from shared.progress import Progress
from shared.settings import Settings, get_settings

log = logging.getLogger(__name__)

BATCH_RECORDS = 1000
QUEUE_BATCHES = 2
EXISTING_IDS = """
SELECT id FROM system_logs
WHERE id = ANY($1::text[]) AND "timestamp" >= $2 AND "timestamp" <= $3
"""
"""Which of these ids PostgreSQL holds (read-only; `--to eventhub` sends only the others)."""

Item = tuple[bytes, dict[str, Any]]
"""A record's body as it travels on Event Hubs, and the record."""


@dataclass
class Report:
    source: str
    target: str
    blobs: int = 0
    blobs_skipped: int = 0
    records: int = 0
    new: int = 0
    already: int = 0
    failing: int = 0
    moved: int = 0
    left: int = 0
    errors: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        rows = [
            ("source", self.source),
            ("to", self.target),
            ("blobs read", self.blobs),
            ("blobs skipped (outside the range)", self.blobs_skipped),
            ("records in range", self.records),
            ("records replayed (new)", self.new),
            ("records skipped (already in PostgreSQL)", self.already),
            ("records still failing", self.failing),
        ]
        if self.source == "deadletter":
            rows += [("dead letters moved to replayed/", self.moved)]
            rows += [("dead letters left in place", self.left)]
        rows += [("errors", len(self.errors))]
        width = max(len(k) for k, _ in rows)
        return [f"{k:<{width}}  {v}" for k, v in rows] + [f"error: {e}" for e in self.errors]


def _timestamp(record: dict[str, Any]) -> datetime | None:
    value = record.get("timestamp")
    if isinstance(value, datetime):
        moment = value
    else:
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _in_range(
    record: dict[str, Any], start: datetime, end: datetime, services: Collection[str]
) -> bool:
    moment = _timestamp(record)
    if moment is None or not start <= moment < end:
        return False
    return not services or record.get("service") in services


def _overlaps(metadata: dict[str, str] | None, start: datetime, end: datetime) -> bool:
    """Whether a blob's [first, last] timestamps may hold a record in [start, end)."""
    metadata = metadata or {}
    try:
        first = datetime.fromisoformat(metadata[archive.META_FIRST])
        last = datetime.fromisoformat(metadata[archive.META_LAST])
    except (KeyError, ValueError):
        return True
    first = first if first.tzinfo else first.replace(tzinfo=UTC)
    last = last if last.tzinfo else last.replace(tzinfo=UTC)
    return first < end and last >= start


Refused = list[tuple[bytes, str]]
"""Bodies the destination still refuses, with its reason."""


async def to_postgres(settings: Settings, items: Sequence[Item]) -> tuple[int, int, Refused]:
    """(records inserted, records PostgreSQL already held, records it refuses)."""
    from shared import db, sink

    pool = await db.pool(settings)
    inserted, rejected = await sink.write_isolating(pool, items, 0)
    return inserted, len(items) - inserted - len(rejected), list(rejected)


async def _existing_ids(settings: Settings, records: Sequence[dict[str, Any]]) -> set[str]:
    if not (settings.database_url or settings.postgres_host):
        return set()
    from shared import db

    stamps = [t for t in (_timestamp(r) for r in records) if t is not None]
    if not stamps:
        return set()
    pool = await db.pool(settings)
    rows = await pool.fetch(
        EXISTING_IDS, [str(r.get("id")) for r in records], min(stamps), max(stamps)
    )
    return {row["id"] for row in rows}


async def to_eventhub(settings: Settings, items: Sequence[Item]) -> tuple[int, int, Refused]:
    """(records published, records not sent because PostgreSQL holds them, nothing)."""
    existing = await _existing_ids(settings, [r for _, r in items])
    fresh = [
        (str(r.get("service") or ""), body) for body, r in items if r.get("id") not in existing
    ]
    await events.publish(fresh, settings)
    return len(fresh), len(items) - len(fresh), []


def _decode(body: bytes) -> dict[str, Any]:
    from shared import records

    return records.decode_event(body)


def _body(record: dict[str, Any]) -> bytes:
    return orjson.dumps(record, default=str)


# ---------------------------------------------------------------- archive source


async def _archive_batches(
    settings: Settings,
    start: datetime,
    end: datetime,
    services: Collection[str],
    slack: timedelta,
    report: Report,
    progress_stream: TextIO | None,
) -> AsyncIterator[list[Item]]:
    prefixes = list(archive.hour_prefixes(settings.eventhub_name, start - slack, end + slack))
    progress = Progress(len(prefixes), "hours", progress_stream)
    container = await blob.container(settings, settings.archive_container)
    batch: list[Item] = []
    try:
        for prefix in prefixes:
            async for props in container.list_blobs(name_starts_with=prefix, include=["metadata"]):
                if not _overlaps(props.metadata, start, end):
                    report.blobs_skipped += 1
                    continue
                if str(props.blob_tier or "").lower() == "archive":
                    report.errors.append(f"{props.name}: {archive.ARCHIVE_TIER_PROBLEM}")
                    continue
                report.blobs += 1
                downloader = await container.download_blob(props.name, decompress=False)
                async for line in archive.iter_lines(downloader.chunks()):
                    try:
                        record = orjson.loads(line)
                    except orjson.JSONDecodeError as exc:
                        report.failing += 1
                        report.errors.append(f"{props.name}: a line is not JSON ({exc})")
                        continue
                    if not isinstance(record, dict) or not _in_range(record, start, end, services):
                        continue
                    batch.append((line, record))
                    if len(batch) >= BATCH_RECORDS:
                        progress.advance(records=len(batch))
                        yield batch
                        batch = []
            progress.advance(1)
        if batch:
            progress.advance(records=len(batch))
            yield batch
    finally:
        progress.close()


async def _pipelined(batches: AsyncIterator[list[Item]]) -> AsyncIterator[list[Item]]:
    """Read ahead a bounded number of batches while the caller writes the current one."""
    queue: asyncio.Queue[list[Item] | BaseException | None] = asyncio.Queue(QUEUE_BATCHES)

    async def produce() -> None:
        try:
            async for batch in batches:
                await queue.put(batch)
            await queue.put(None)
        except BaseException as exc:
            await queue.put(exc)

    task = asyncio.create_task(produce())
    try:
        while (item := await queue.get()) is not None:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        task.cancel()


async def replay_archive(
    settings: Settings,
    start: datetime,
    end: datetime,
    services: Collection[str] = (),
    target: str = "postgres",
    slack: timedelta = timedelta(hours=24),
    progress_stream: TextIO | None = None,
) -> Report:
    """Replay the archived records whose timestamp lies in [start, end). Blobs are filed by
    enqueued hour, so the hours `slack` either side are searched too (their metadata's first
    and last timestamps rule most out without reading them)."""
    report = Report("archive", target)
    deliver = to_eventhub if target == "eventhub" else to_postgres
    batches = _archive_batches(settings, start, end, services, slack, report, progress_stream)
    async for batch in _pipelined(batches):
        report.records += len(batch)
        new, already, rejected = await deliver(settings, batch)
        report.new += new
        report.already += already
        report.failing += len(rejected)
        report.errors += [reason for _, reason in rejected[:10]]
    return report


# ---------------------------------------------------------------- dead-letter source


def _hour_of(name: str) -> datetime | None:
    match = deadletter.NAME_PATTERN.match(name)
    if not match:
        return None
    y, m, d, h = (int(match.group(k)) for k in ("y", "m", "d", "h"))
    return datetime(y, m, d, h, tzinfo=UTC)


async def _letter_names(settings: Settings, start: datetime, end: datetime) -> list[str]:
    """Dead letters filed in the hours that overlap [start, end), not yet replayed."""
    container = await blob.container(settings, settings.deadletter_container)
    names = []
    first_hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    async for props in container.list_blobs():
        if props.name.startswith(deadletter.REPLAYED_PREFIX):
            continue
        hour = _hour_of(props.name)
        if hour is not None and first_hour <= hour < end:
            names.append(props.name)
    return sorted(names)


def _json_object(body: bytes) -> dict[str, Any]:
    record = orjson.loads(body)
    if not isinstance(record, dict):
        raise ValueError("event body is JSON but not an object")
    return record


def _notice_document(body: bytes) -> dict[str, Any]:
    from shared import notify

    document = orjson.loads(body)
    notify.notice_of(document)
    return document


def _service(record: dict[str, Any]) -> Any:
    """A record's service, or the service of the alert a notification is about."""
    alert = record.get("alert")
    return record.get("service") or (alert.get("service") if isinstance(alert, dict) else None)


def _split(
    letter: deadletter.DeadLetter,
    parse: Callable[[bytes], dict[str, Any]],
    services: Collection[str],
) -> tuple[list[Item], list[Any], list[str]]:
    """(replayable items, entries to keep as a dead letter, why those still fail)."""
    ready: list[Item] = []
    keep: list[Any] = []
    reasons: list[str] = []
    for entry in letter.records:
        body = deadletter.raw_bytes(entry) if deadletter.is_raw(entry) else _body(entry)
        try:
            record = parse(body)
        except ValueError as exc:
            keep.append(entry)
            reasons.append(str(exc))
            continue
        if services and _service(record) not in services:
            keep.append(entry)
            continue
        ready.append((body, record))
    return ready, keep, reasons


async def _to_archive(
    settings: Settings, letter: deadletter.DeadLetter, items: Sequence[Item]
) -> tuple[int, int, Refused]:
    """Rewrite the archive blob of the batch this dead letter came from (same name as the
    original would have had, so a blob written meanwhile is replaced, not duplicated)."""
    batch = EventBatch.from_details(
        letter.details, [body for body, _ in items], settings.eventhub_name
    )
    outcome = await archive.archive_batch(settings, batch)
    return outcome.archived, 0, []


async def _to_analyze(
    settings: Settings, letter: deadletter.DeadLetter, items: Sequence[Item]
) -> tuple[int, int, Refused]:
    """Analyze the batch again, in its partition. The partition's stored position moved past
    it long ago, so its events go without sequence numbers (none is skipped as a redelivery,
    and the position stays where it is). Notifications are sent before the command ends."""
    from shared import analysis

    batch = EventBatch.from_details(
        letter.details, [body for body, _ in items], settings.eventhub_name
    )
    outcome = await analysis.analyze(analysis.deliveries(batch, positioned=False), settings)
    return outcome.analyzed, outcome.redelivered, []


async def _to_notify(
    settings: Settings, letter: deadletter.DeadLetter, items: Sequence[Item]
) -> tuple[int, int, Refused]:
    """Send each notice again to the channel it failed on."""
    from shared import notify

    channel = str(letter.details.get("channel") or "")
    notices = [notify.notice_of(document) for _, document in items]
    outcomes = await notify.redeliver(settings, channel, notices)
    refused = [(body, why) for (body, _), why in zip(items, outcomes, strict=True) if why]
    return len(items) - len(refused), 0, refused


def _records(body: bytes) -> dict[str, Any]:
    return _decode(body)


async def _to_postgres(
    settings: Settings, letter: deadletter.DeadLetter, items: Sequence[Item]
) -> tuple[int, int, Refused]:
    return await to_postgres(settings, items)


async def _to_eventhub(
    settings: Settings, letter: deadletter.DeadLetter, items: Sequence[Item]
) -> tuple[int, int, Refused]:
    return await to_eventhub(settings, items)


Deliver = Callable[
    [Settings, deadletter.DeadLetter, Sequence[Item]], Awaitable[tuple[int, int, Refused]]
]
DESTINATIONS: dict[str, tuple[Callable[[bytes], dict[str, Any]], Deliver]] = {
    "postgres": (_records, _to_postgres),
    "eventhub": (_records, _to_eventhub),
    "archive": (_json_object, _to_archive),
    "analyze": (_json_object, _to_analyze),
    "notify": (_notice_document, _to_notify),
}
"""Where a dead letter can go: how its entries are read there, and how they are delivered."""
ORIGINS: dict[str, str] = {
    deadletter.Sink.STORE: "postgres",
    deadletter.Sink.ARCHIVE: "archive",
    deadletter.Sink.ANALYZE: "analyze",
    deadletter.Sink.NOTIFY: "notify",
}
"""The destination that is each sink: `--to origin` sends a dead letter back to its sink."""


async def replay_deadletters(
    settings: Settings,
    start: datetime,
    end: datetime,
    services: Collection[str] = (),
    target: str = "origin",
    progress_stream: TextIO | None = None,
) -> Report:
    """Replay the dead letters filed in [start, end). Each goes back to the sink that failed
    (`origin`: the store's to PostgreSQL, the archive's to its blob, the analyzer's through
    the analysis, a notification to its channel) or to `target`. A dead
    letter fully replayed is moved under `replayed/`; entries that still fail stay, in a new
    dead letter with the current reason when others of the same letter went through."""
    report = Report("deadletter", target)
    names = await _letter_names(settings, start, end)
    progress = Progress(len(names), "dead letters", progress_stream)
    try:
        for name in names:
            letter = await deadletter.read(settings, name)
            report.blobs += 1
            destination = ORIGINS.get(letter.sink) if target == "origin" else target
            if destination is None:
                report.left += 1
                report.errors.append(f"{name}: no sink {letter.sink!r} to send it back to")
                progress.advance(1)
                continue
            parse, deliver = DESTINATIONS[destination]
            ready, keep, reasons = _split(letter, parse, services)
            report.records += len(letter.records)
            report.failing += len(reasons)
            if not ready:
                report.left += 1
                report.errors += [f"{name}: {r}" for r in reasons[:3]]
                progress.advance(1)
                continue
            try:
                new, already, rejected = await deliver(settings, letter, ready)
            except Exception as exc:
                report.left += 1
                report.errors.append(f"{name}: {exc!r}")
                progress.advance(1)
                continue
            report.new += new
            report.already += already
            report.failing += len(rejected)
            if not new and not already:
                report.left += 1
                report.errors += [f"{name}: {r}" for _, r in rejected[:3]]
                progress.advance(1)
                continue
            still = keep + [body for body, _ in rejected]
            if still:
                why = reasons + [reason for _, reason in rejected]
                await deadletter.write(
                    settings,
                    letter.sink,
                    "; ".join(dict.fromkeys(why)) or letter.reason,
                    still,
                    letter.attempts,
                    key=f"{name.rsplit('/', 1)[-1].removesuffix('.json')}.remaining",
                    details=letter.details,
                )
            await deadletter.move_aside(settings, name)
            report.moved += 1
            progress.advance(1, records=len(ready))
    finally:
        progress.close()
    return report


# ---------------------------------------------------------------- command line


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    from shared.timeparse import parse_duration, parse_instant

    parser = argparse.ArgumentParser(
        prog="python -m shared.replay",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--source", choices=("archive", "deadletter"), required=True)
    parser.add_argument("--start", type=parse_instant, required=True, help="ISO 8601 or 24h")
    parser.add_argument("--end", type=parse_instant, default="now", help="exclusive; now")
    parser.add_argument("--service", action="append", default=[], help="repeatable")
    parser.add_argument(
        "--to",
        choices=("postgres", "eventhub", "origin"),
        help="archive: postgres (default) or eventhub; deadletter: origin (default), "
        "postgres or eventhub",
    )
    parser.add_argument(
        "--slack",
        type=parse_duration,
        default=timedelta(hours=24),
        help="archive: hours searched either side of the range (records enqueued early or "
        "late); default 24h",
    )
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error("--end must be after --start")
    if args.to is None:
        args.to = "postgres" if args.source == "archive" else "origin"
    if args.source == "archive" and args.to == "origin":
        parser.error("--to origin applies to dead letters only")
    return args


async def run(args: argparse.Namespace, settings: Settings) -> Report:
    try:
        if args.source == "archive":
            return await replay_archive(
                settings, args.start, args.end, args.service, args.to, args.slack
            )
        return await replay_deadletters(settings, args.start, args.end, args.service, args.to)
    finally:
        if args.source == "deadletter":
            from shared import analysis, notify

            await analysis.drain_notifications(settings)
            await notify.close()
        await blob.close()
        from shared import db

        await db.close()
        await events.publisher(settings).close()


def main(argv: Sequence[str] | None = None) -> int:
    import asyncpg
    from azure.core.exceptions import AzureError

    from shared import localenv

    args = parse_args(sys.argv[1:] if argv is None else argv)
    localenv.load()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = asyncio.run(run(args, get_settings()))
    except (AzureError, RuntimeError, OSError, asyncpg.PostgresError) as exc:
        print(f"replay failed: {exc!r}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 1 if report.errors else 0


if __name__ == "__main__":
    sys.exit(main())
