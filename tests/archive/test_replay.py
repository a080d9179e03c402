"""Replay and verify against real Azurite and PostgreSQL: a deleted time range comes back
exactly once, dead letters go back once their cause is fixed, a tampered blob is reported."""

from __future__ import annotations

import gzip
import io
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from bench.archive_data import bodies, records
from shared import archive, blob, db, deadletter, replay, sink, store, verify
from shared.eventbatch import EventBatch
from shared.settings import Settings, get_settings, reset_settings
from shared.sink_policy import Attempt
from tests.archive.conftest import blob_names


@pytest.fixture
async def pipeline(
    storage: Settings, database_url: str, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Settings]:
    monkeypatch.setenv("DATABASE_URL", database_url)
    reset_settings()
    await db.close()
    yield get_settings()
    await db.close()


async def _archive(settings: Settings, items: list[dict], partition: str, at: datetime) -> None:
    for n, first in enumerate(range(0, len(items), 100)):
        batch = archive.Batch(
            event_hub=settings.eventhub_name,
            partition=partition,
            bodies=bodies(items[first : first + 100]),
            sequence_numbers=list(range(first, min(first + 100, len(items)))),
            enqueued_times=[at + timedelta(seconds=n)],
        )
        await archive.archive_batch(settings, batch)


async def _stored_ids(pg: asyncpg.Connection, ids: list[str]) -> list[str]:
    rows = await pg.fetch("SELECT id FROM system_logs WHERE id = ANY($1::text[])", ids)
    return [r["id"] for r in rows]


async def test_replay_restores_a_deleted_range_exactly_once(
    pipeline: Settings, pg: asyncpg.Connection
) -> None:
    start = datetime(2026, 11, 20, 10, 0, tzinfo=UTC)
    items = records(400, start=start, step_ms=1000, seed=101)
    ids = [r["id"] for r in items]
    await _archive(pipeline, items, "0", start)
    await store.write(await db.pool(pipeline), items)

    lo, hi = start + timedelta(minutes=2), start + timedelta(minutes=5)
    deleted = await pg.fetch(
        'DELETE FROM system_logs WHERE id = ANY($1::text[]) AND "timestamp" >= $2 '
        'AND "timestamp" < $3 RETURNING id',
        ids,
        lo,
        hi,
    )
    assert len(deleted) == 180
    assert len(await _stored_ids(pg, ids)) == 220

    report = await replay.replay_archive(pipeline, lo, hi, progress_stream=io.StringIO())
    assert (report.records, report.new, report.already, report.errors) == (180, 180, 0, [])
    assert sorted(await _stored_ids(pg, ids)) == sorted(ids)

    again = await replay.replay_archive(pipeline, lo, hi, progress_stream=io.StringIO())
    assert (again.records, again.new, again.already) == (180, 0, 180)
    assert len(await _stored_ids(pg, ids)) == 400


async def test_replay_of_one_service_restores_only_its_records(
    pipeline: Settings, pg: asyncpg.Connection
) -> None:
    start = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
    items = records(120, start=start, step_ms=1000, seed=102)
    ids = [r["id"] for r in items]
    await _archive(pipeline, items, "1", start)
    end = start + timedelta(hours=1)
    report = await replay.replay_archive(
        pipeline, start, end, services=["trading-engine"], progress_stream=io.StringIO()
    )
    expected = {r["id"] for r in items if r["service"] == "trading-engine"}
    assert report.new == len(expected) == 20
    assert set(await _stored_ids(pg, ids)) == expected


async def test_replay_to_eventhub_sends_only_what_postgres_lacks(
    pipeline: Settings, pg: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    items = records(100, start=start, step_ms=1000, seed=103)
    await _archive(pipeline, items, "2", start)
    await store.write(await db.pool(pipeline), items[:60])
    sent: list[tuple[str, bytes]] = []

    class Recorder:
        async def publish(self, events: list[tuple[str, bytes]]) -> None:
            sent.extend(events)

        async def close(self) -> None:
            pass

    from shared import events

    monkeypatch.setattr(events, "_publisher", Recorder())
    report = await replay.replay_archive(
        pipeline,
        start,
        start + timedelta(hours=1),
        target="eventhub",
        progress_stream=io.StringIO(),
    )
    assert (report.new, report.already) == (40, 60)
    assert [orjson.loads(body)["id"] for _, body in sent] == [r["id"] for r in items[60:]]
    assert [key for key, _ in sent] == [r["service"] for r in items[60:]]


async def test_dead_letters_replay_once_their_cause_is_fixed(
    pipeline: Settings, pg: asyncpg.Connection, monkeypatch: pytest.MonkeyPatch
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=30)
    items = records(30, start=start, step_ms=1000, seed=104)
    ids = [r["id"] for r in items]
    no_id = dict(records(1, start=start, seed=105)[0])
    fixed_id = no_id.pop("id")
    batch = [*bodies(items), orjson.dumps(no_id)]

    real_write = store.write

    async def refusing(*args: object, **kwargs: object) -> int:
        raise asyncpg.TooManyConnectionsError("sorry, too many clients already")

    monkeypatch.setattr(store, "write", refusing)
    delivered = EventBatch("logs", "0", batch, [], [start])
    result = await sink.store_events(pipeline, delivered, Attempt(12, 12))
    assert result.dead_lettered == 31
    letters = await blob_names(pipeline, pipeline.deadletter_container)
    (letter,) = [await deadletter.read(pipeline, n) for n in letters]
    assert "too many clients" in letter.reason and len(letter.records) == 31

    monkeypatch.setattr(store, "write", real_write)
    window = (start - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))
    report = await replay.replay_deadletters(pipeline, *window, progress_stream=io.StringIO())
    assert (report.new, report.moved, report.left, report.failing) == (30, 1, 0, 1)
    assert sorted(await _stored_ids(pg, ids)) == sorted(ids)
    assert await _stored_ids(pg, [fixed_id]) == []

    real_decode = replay._decode

    def decoder_that_assigns_ids(body: bytes) -> dict:
        record = orjson.loads(body)
        record.setdefault("id", fixed_id)
        return real_decode(orjson.dumps(record))

    monkeypatch.setattr(replay, "_decode", decoder_that_assigns_ids)
    report = await replay.replay_deadletters(pipeline, *window, progress_stream=io.StringIO())
    assert (report.new, report.moved, report.left) == (1, 1, 0)
    assert await _stored_ids(pg, [fixed_id]) == [fixed_id]

    report = await replay.replay_deadletters(pipeline, *window, progress_stream=io.StringIO())
    assert (report.blobs, report.new, report.moved) == (0, 0, 0)
    names = await blob_names(pipeline, pipeline.deadletter_container)
    assert len(names) == 2 and all(n.startswith("replayed/") for n in names)


async def test_archive_dead_letter_replays_into_its_own_blob(
    pipeline: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    enqueued = datetime.now(UTC).replace(microsecond=0)
    items = records(25, start=enqueued, seed=106)
    batch = archive.Batch("logs", "4", bodies(items), [700, 724], [enqueued])
    real_upload = archive.upload

    async def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("archive refused")

    monkeypatch.setattr(archive, "upload", refuse)
    outcome = await archive.archive_or_dead_letter(pipeline, batch, Attempt(12, 12))
    assert outcome.dead_letter is not None
    monkeypatch.setattr(archive, "upload", real_upload)

    window = (enqueued - timedelta(hours=1), enqueued + timedelta(hours=1))
    report = await replay.replay_deadletters(pipeline, *window, progress_stream=io.StringIO())
    assert (report.new, report.moved) == (25, 1)
    expected = archive.blob_name("logs", "4", 700, 724, enqueued)
    assert await blob_names(pipeline, pipeline.archive_container) == [expected]
    client = await blob.container(pipeline, pipeline.archive_container)
    content = await (await client.download_blob(expected, decompress=False)).readall()
    assert gzip.decompress(content).splitlines() == bodies(items)


async def test_verify_reports_a_blob_altered_by_hand(pipeline: Settings) -> None:
    start = datetime(2026, 11, 23, 10, 0, tzinfo=UTC)
    items = records(300, start=start, step_ms=1000, seed=107)
    await _archive(pipeline, items, "0", start)
    end = start + timedelta(hours=1)
    clean = await verify.verify(pipeline, start, end, io.StringIO())
    assert (clean.blobs, clean.records, clean.problems) == (3, 300, [])

    names = await blob_names(pipeline, pipeline.archive_container)
    client = await blob.container(pipeline, pipeline.archive_container)
    downloader = await client.download_blob(names[1], decompress=False)
    lines = gzip.decompress(await downloader.readall()).splitlines()
    trade = orjson.loads(lines[5])
    trade["message"] = "Sold 1 BTCUSDT at 1.00"
    lines[5] = orjson.dumps(trade)
    await client.upload_blob(
        names[1],
        gzip.compress(b"\n".join(lines) + b"\n"),
        overwrite=True,
        metadata=downloader.properties.metadata,
    )
    tampered = await verify.verify(pipeline, start, end, io.StringIO())
    assert [name for name, _ in tampered.problems] == [names[1]]
    assert "sha256" in tampered.problems[0][1]


async def test_verify_reports_a_count_that_does_not_match(pipeline: Settings) -> None:
    start = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)
    await _archive(pipeline, records(50, start=start, seed=108), "0", start)
    (name,) = await blob_names(pipeline, pipeline.archive_container)
    client = await blob.container(pipeline, pipeline.archive_container)
    properties = await client.get_blob_client(name).get_blob_properties()
    await client.get_blob_client(name).set_blob_metadata(
        dict(properties.metadata) | {"record_count": "49"}
    )
    report = await verify.verify(pipeline, start, start + timedelta(hours=1), io.StringIO())
    assert len(report.problems) == 1 and "50 records" in report.problems[0][1]


async def test_a_record_postgres_still_refuses_stays_a_dead_letter(
    pipeline: Settings, pg: asyncpg.Connection
) -> None:
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=10)
    good, bad = records(2, start=start, seed=109)
    bad["message"] = "order book\x00corrupted"
    await deadletter.write(pipeline, "postgres", "test", bodies([good, bad]), 13)
    window = (start - timedelta(hours=1), datetime.now(UTC) + timedelta(hours=1))

    report = await replay.replay_deadletters(pipeline, *window, progress_stream=io.StringIO())
    assert (report.new, report.failing, report.moved, report.left) == (1, 1, 1, 0)
    assert await _stored_ids(pg, [good["id"], bad["id"]]) == [good["id"]]
    names = await blob_names(pipeline, pipeline.deadletter_container)
    (remaining,) = [n for n in names if not n.startswith("replayed/")]
    letter = await deadletter.read(pipeline, remaining)
    assert [orjson.loads(deadletter.raw_bytes(e))["id"] for e in letter.records] == [bad["id"]]
    assert letter.reason

    again = await replay.replay_deadletters(pipeline, *window, progress_stream=io.StringIO())
    assert (again.new, again.failing, again.moved, again.left) == (0, 1, 0, 1)
    assert remaining in await blob_names(pipeline, pipeline.deadletter_container)


async def test_blobs_in_the_archive_tier_are_reported_not_read(pipeline: Settings) -> None:
    start = datetime(2026, 11, 26, 10, 0, tzinfo=UTC)
    await _archive(pipeline, records(10, start=start, seed=110), "0", start)
    (name,) = await blob_names(pipeline, pipeline.archive_container)
    client = await blob.container(pipeline, pipeline.archive_container)
    await client.get_blob_client(name).set_standard_blob_tier("Archive")
    end = start + timedelta(hours=1)
    checked = await verify.verify(pipeline, start, end, io.StringIO())
    assert checked.problems == [(name, archive.ARCHIVE_TIER_PROBLEM)]
    replayed = await replay.replay_archive(pipeline, start, end, progress_stream=io.StringIO())
    assert replayed.records == 0 and replayed.errors == [f"{name}: {archive.ARCHIVE_TIER_PROBLEM}"]
