"""Replay sends each dead letter back to the sink that failed, one test per sink, against real
PostgreSQL, real Azurite and a real HTTP receiver: the store's to PostgreSQL, the archive's to
its own blob, the analyzer's through the analysis again, a notification to its channel."""

from __future__ import annotations

import gzip
import io
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import asyncpg
import orjson
import pytest

from bench.archive_data import bodies, records
from shared import analysis, archive, blob, db, deadletter, notify, replay, sink
from shared.eventbatch import EventBatch
from shared.settings import Settings
from shared.sink_policy import Attempt
from tests.analysis.test_notify import Receiver
from tests.archive.conftest import blob_names
from tests.conftest import free_port

SPENT = Attempt(12, 12)


def _window() -> tuple[datetime, datetime]:
    now = datetime.now(UTC)
    return now - timedelta(hours=2), now + timedelta(hours=1)


async def _replay(settings: Settings) -> replay.Report:
    return await replay.replay_deadletters(settings, *_window(), progress_stream=io.StringIO())


async def _letters(settings: Settings) -> list[deadletter.DeadLetter]:
    names = await blob_names(settings, settings.deadletter_container)
    return [await deadletter.read(settings, n) for n in names if not n.startswith("replayed/")]


async def _replayed(settings: Settings) -> list[str]:
    names = await blob_names(settings, settings.deadletter_container)
    return [n for n in names if n.startswith("replayed/")]


async def test_a_store_dead_letter_goes_back_to_postgres(
    pipeline: Settings, pg: asyncpg.Connection
) -> None:
    items = records(12, start=datetime.now(UTC) - timedelta(minutes=5), seed=301)
    batch = EventBatch("logs", "1", bodies(items), [500, 511], [datetime.now(UTC)])
    unreachable = replace(
        pipeline, database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/logs"
    )
    await db.close()
    result = await sink.store_events(unreachable, batch, SPENT)
    await db.close()
    assert result.dead_lettered == 12
    (letter,) = await _letters(pipeline)
    assert letter.sink == deadletter.Sink.STORE and letter.details["partition"] == "1"

    report = await _replay(pipeline)
    assert (report.new, report.moved, report.left, report.errors) == (12, 1, 0, [])
    ids = [r["id"] for r in items]
    rows = await pg.fetch("SELECT id FROM system_logs WHERE id = ANY($1::text[])", ids)
    assert sorted(r["id"] for r in rows) == sorted(ids)
    assert len(await _replayed(pipeline)) == 1


async def test_an_archive_dead_letter_goes_back_to_its_own_blob(pipeline: Settings) -> None:
    enqueued = datetime.now(UTC).replace(microsecond=0)
    items = records(15, start=enqueued, seed=302)
    batch = EventBatch("logs", "2", bodies(items), list(range(900, 915)), [enqueued] * 15)
    refused = replace(pipeline, archive_container="Not_A_Valid_Container")  # Azurite says 400
    outcome = await archive.archive_or_dead_letter(refused, batch, SPENT)
    assert outcome.dead_letter is not None and outcome.archived == 0
    (letter,) = await _letters(pipeline)
    assert letter.sink == deadletter.Sink.ARCHIVE

    report = await _replay(pipeline)
    assert (report.new, report.moved, report.errors) == (15, 1, [])
    expected = archive.blob_name("logs", "2", 900, 914, enqueued)
    assert await blob_names(pipeline, pipeline.archive_container) == [expected]
    client = await blob.container(pipeline, pipeline.archive_container)
    content = await (await client.download_blob(expected, decompress=False)).readall()
    assert gzip.decompress(content).splitlines() == bodies(items)


async def test_an_analyzer_dead_letter_is_analysed_again(
    pipeline: Settings, pg: asyncpg.Connection
) -> None:
    service = f"connector-{uuid.uuid4().hex[:8]}"
    partition = uuid.uuid4().hex[:8]
    now = datetime.now(UTC)
    failing = {
        "id": uuid.uuid4().hex,
        "timestamp": now.isoformat(),
        "received_at": now.isoformat(),
        "level": "ERROR",
        "level_no": 40,
        "service": service,
        "message": "Binance websocket: connection refused",
    }
    batch = EventBatch("logs", partition, [orjson.dumps(failing)], [10], [now])
    broken = replace(pipeline, alert_rules_json='[{"name": "broken", "pattern": "(unclosed"}]')
    outcome = await analysis.analyze_or_dead_letter(broken, batch, SPENT)
    assert outcome.analyzed == 0
    (letter,) = await _letters(pipeline)
    assert letter.sink == deadletter.Sink.ANALYZE and "'broken'" in letter.reason
    analysis._analyzer = None

    # Meanwhile the partition went on: its stored position is past the dead-lettered batch.
    later = dict(failing, id=uuid.uuid4().hex, message="tick", level="INFO", level_no=20)
    moved_on = EventBatch("logs", partition, [orjson.dumps(later)], [11], [now])
    await analysis.analyze(analysis.deliveries(moved_on), pipeline)
    assert await pg.fetchval("SELECT count(*) FROM alerts WHERE service = $1", service) == 0

    report = await _replay(pipeline)
    assert (report.new, report.moved, report.errors) == (1, 1, [])
    rules = await pg.fetch("SELECT rule FROM alerts WHERE service = $1", service)
    assert [r["rule"] for r in rules] == ["exchange_connection"]
    position = await pg.fetchval(
        "SELECT sequence_number FROM analyzer_positions WHERE partition_id = $1",
        f"logs/{partition}",
    )
    assert position == 11, "replay leaves the partition's position where it was"


ALERT = {
    "id": 7,
    "rule": "exchange_connection",
    "service": "exchange-connector",
    "severity": "critical",
    "status": "active",
    "count": 3,
}


async def test_a_notification_dead_letter_goes_back_to_its_channel(
    pipeline: Settings, receiver: Receiver
) -> None:
    receiver.script = [503, 503]
    settings = replace(pipeline, alert_webhook_url=f"{receiver.url}/hook", notify_max_attempts=2)
    sender = notify.notifier(settings)
    sender.backoff_base = 0.01
    sender.submit([notify.Notice("opened", ALERT)])
    await sender.drain(10)
    (letter,) = await _letters(settings)
    assert (letter.sink, letter.details, letter.attempts) == ("notify", {"channel": "webhook"}, 2)
    assert "503" in letter.reason and receiver.received == []

    report = await _replay(settings)
    assert (report.new, report.moved, report.errors) == (1, 1, [])
    assert receiver.answered == [503, 503, 200]
    assert receiver.received == [
        {"path": "/hook", "body": {"type": "alert", "event": "opened", "alert": ALERT}}
    ]


async def test_a_notification_dead_letter_of_the_older_naming_decodes_and_goes_back(
    pipeline: Settings, receiver: Receiver
) -> None:
    document = {"type": "alert", "event": "resolved", "alert": ALERT}
    await deadletter.write(pipeline, "notify-webhook", "webhook answered 503", [document], 6)
    unconfigured = await _replay(pipeline)
    assert (unconfigured.new, unconfigured.moved, unconfigured.left) == (0, 0, 1)
    assert "'webhook' is not configured" in unconfigured.errors[0]

    settings = replace(pipeline, alert_webhook_url=receiver.url)
    report = await _replay(settings)
    assert (report.new, report.moved, report.errors) == (1, 1, [])
    assert [r["body"] for r in receiver.received] == [document]


async def test_a_dead_letter_of_no_known_sink_stays_with_the_reason(pipeline: Settings) -> None:
    await deadletter.write(pipeline, "mystery", "test", [{"id": "x"}], 1)
    report = await _replay(pipeline)
    assert (report.moved, report.left) == (0, 1)
    assert "no sink 'mystery'" in report.errors[0]
    assert len(await _letters(pipeline)) == 1


async def test_the_command_line_drains_the_notifications_the_replay_queued(
    pipeline: Settings, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An analyzer dead letter replayed from the command line opens an alert whose
    notification reaches the webhook before the command returns."""
    now = datetime.now(UTC)
    service = f"connector-{uuid.uuid4().hex[:8]}"
    failing = {"id": uuid.uuid4().hex, "timestamp": now.isoformat(), "level": "ERROR"}
    failing |= {"service": service, "message": "exchange connection lost", "level_no": 40}
    await deadletter.write(
        pipeline, "analyze", "test", [orjson.dumps(failing)], 13, details={"partition": "0"}
    )
    settings = replace(pipeline, alert_webhook_url=receiver.url)
    args = replay.parse_args(["--source", "deadletter", "--start", "2h"])
    report = await replay.run(args, settings)
    assert (report.new, report.moved) == (1, 1)
    assert [r["body"]["alert"]["service"] for r in receiver.received] == [service]
