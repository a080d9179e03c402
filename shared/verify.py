"""Tamper evidence for the archive: re-read the blobs of a time range and check each against
the SHA-256, record count and first/last timestamps in its metadata.

    python -m shared.verify --start ... --end ...

Blobs are chosen by the hour they were enqueued (their folder). Exit status 1 when any blob
does not match, with one line per mismatch."""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import logging
import sys
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TextIO

import orjson

from shared import archive, blob
from shared.progress import Progress
from shared.settings import Settings, get_settings


@dataclass
class VerifyReport:
    blobs: int = 0
    records: int = 0
    bytes: int = 0
    problems: list[tuple[str, str]] = field(default_factory=list)

    def lines(self) -> list[str]:
        head = [
            f"blobs checked     {self.blobs}",
            f"records           {self.records}",
            f"bytes (gzip)      {self.bytes}",
            f"mismatches        {len(self.problems)}",
        ]
        return head + [f"MISMATCH {name}: {problem}" for name, problem in self.problems]


@dataclass
class _Tally:
    sha256: Any = field(default_factory=hashlib.sha256)
    size: int = 0
    count: int = 0
    bad_lines: int = 0
    first: tuple[float, str] | None = None
    last: tuple[float, str] | None = None

    def line(self, line: bytes) -> None:
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError:
            self.bad_lines += 1
            return
        if not isinstance(record, dict):
            self.bad_lines += 1
            return
        self.count += 1
        stamp = record.get("timestamp")
        if stamp is not None:
            key = archive.timestamp_key(stamp)
            self.first = key if self.first is None or key < self.first else self.first
            self.last = key if self.last is None or key > self.last else self.last


async def check_blob(
    container: Any, name: str, metadata: dict[str, str]
) -> tuple[int, int, list[str]]:
    """(records, bytes, problems) of one archive blob."""
    problems: list[str] = []
    tally = _Tally()
    inflater = zlib.decompressobj(wbits=31)
    pending = b""
    downloader = await container.download_blob(name, decompress=False)
    try:
        async for chunk in downloader.chunks():
            tally.sha256.update(chunk)
            tally.size += len(chunk)
            pending += inflater.decompress(chunk)
            *lines, pending = pending.split(b"\n")
            for line in lines:
                if line.strip():
                    tally.line(line)
        pending += inflater.flush()
        if not inflater.eof:
            problems.append("gzip stream is truncated")
    except zlib.error as exc:
        problems.append(f"not valid gzip: {exc}")
    if pending.strip():
        tally.line(pending)
    expected = metadata.get(archive.META_SHA256)
    if not expected:
        problems.append("no sha256 in metadata")
    elif expected != tally.sha256.hexdigest():
        problems.append(f"sha256 {tally.sha256.hexdigest()} differs from metadata {expected}")
    if metadata.get(archive.META_COUNT) != str(tally.count):
        problems.append(f"{tally.count} records, metadata says {metadata.get(archive.META_COUNT)}")
    if tally.bad_lines:
        problems.append(f"{tally.bad_lines} lines are not JSON objects")
    first = tally.first[1] if tally.first else ""
    last = tally.last[1] if tally.last else ""
    if metadata.get(archive.META_FIRST, "") != first or metadata.get(archive.META_LAST, "") != last:
        problems.append(
            f"timestamps {first}..{last} differ from metadata "
            f"{metadata.get(archive.META_FIRST)}..{metadata.get(archive.META_LAST)}"
        )
    return tally.count, tally.size, problems


async def verify(
    settings: Settings, start: datetime, end: datetime, progress_stream: TextIO | None = None
) -> VerifyReport:
    report = VerifyReport()
    container = await blob.container(settings, settings.archive_container)
    prefixes = list(archive.hour_prefixes(settings.eventhub_name, start, end))
    progress = Progress(len(prefixes), "hours", progress_stream)
    try:
        for prefix in prefixes:
            async for props in container.list_blobs(name_starts_with=prefix, include=["metadata"]):
                if str(props.blob_tier or "").lower() == "archive":
                    report.problems.append((props.name, archive.ARCHIVE_TIER_PROBLEM))
                    continue
                records, size, problems = await check_blob(
                    container, props.name, dict(props.metadata or {})
                )
                if not archive.NAME_PATTERN.match(props.name):
                    problems.append("name does not follow hub/yyyy/mm/dd/HH/pP-FIRST-LAST")
                report.blobs += 1
                report.records += records
                report.bytes += size
                report.problems += [(props.name, p) for p in problems]
                progress.advance(records=records)
            progress.advance(1)
    finally:
        progress.close()
    return report


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    from shared.timeparse import parse_instant

    parser = argparse.ArgumentParser(
        prog="python -m shared.verify",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--start", type=parse_instant, required=True, help="ISO 8601 or 24h")
    parser.add_argument("--end", type=parse_instant, default="now", help="exclusive; now")
    args = parser.parse_args(argv)
    if args.end <= args.start:
        parser.error("--end must be after --start")
    return args


async def run(args: argparse.Namespace, settings: Settings) -> VerifyReport:
    try:
        return await verify(settings, args.start, args.end)
    finally:
        await blob.close()


def main(argv: Sequence[str] | None = None) -> int:
    from azure.core.exceptions import AzureError

    from shared import localenv

    args = parse_args(sys.argv[1:] if argv is None else argv)
    localenv.load()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        report = asyncio.run(run(args, get_settings()))
    except (AzureError, RuntimeError, OSError) as exc:
        print(f"verify failed: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report.lines()))
    return 1 if report.problems else 0


if __name__ == "__main__":
    sys.exit(main())
