"""The analyzer step against real PostgreSQL: deduplicated alerts, redeliveries, maintenance
and the alert listing."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from shared import analysis, params, stream
from shared.access import Caller, Role
from shared.errors import BadRequest
from shared.eventbatch import EventBatch
from shared.settings import Settings
from shared.sink_policy import Attempt

Record = dict[str, Any]


def deliveries(
    records: Sequence[Record], partition: str = "0", start: int = 0
) -> list[analysis.Delivery]:
    enqueued = datetime.now(UTC)
    return [
        analysis.Delivery(orjson.dumps(r), partition, start + i, enqueued)
        for i, r in enumerate(records)
    ]


def minute_of_errors(make: Callable[..., Record], n: int, service: str) -> list[Record]:
    base = datetime.now(UTC).replace(second=0, microsecond=0)
    return [
        make(service=service, level="ERROR", message="boom", timestamp=base + timedelta(seconds=i))
        for i in range(n)
    ]


async def active(pg: asyncpg.Connection) -> dict[tuple[str, str], int]:
    rows = await pg.fetch("SELECT rule, service, count FROM alerts WHERE status = 'active'")
    return {(r["rule"], r["service"]): r["count"] for r in rows}


async def test_repeated_matches_raise_one_alert_whose_count_rises(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    first = [make_record(service="exchange-connector", message="connection refused")] * 3
    outcome = await analysis.analyze(deliveries(first), settings)
    assert [c.opened for c in outcome.changes] == [True]
    assert [n.kind for n in outcome.notices()] == ["opened"]
    second = [make_record(service="exchange-connector", message="Connection reset by peer")]
    outcome = await analysis.analyze(deliveries(second, start=3), settings)
    assert [c.opened for c in outcome.changes] == [False]
    assert outcome.notices() == []  # within the notification interval
    assert await active(clean) == {("exchange_connection", "exchange-connector"): 4}
    row = await clean.fetchrow("SELECT * FROM alerts")
    assert row["severity"] == "critical" and row["action"]
    assert list(row["sample_ids"]) == [first[0]["id"]] * 3 + [second[0]["id"]]


async def test_redelivered_batch_is_not_counted_twice(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    batch = deliveries(minute_of_errors(make_record, 12, "trading-engine"))
    first = await analysis.analyze(batch, settings)
    again = await analysis.analyze(batch, settings)
    assert first.analyzed == 12 and again.analyzed == 0 and again.redelivered == 12
    assert await active(clean) == {("error_rate", "trading-engine"): 12}


async def test_redelivery_after_a_restart_is_not_counted_twice(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    records = minute_of_errors(make_record, 12, "trading-engine")
    batch = deliveries(records)
    await analysis.analyze(batch[:8], settings)
    analysis._analyzer = None  # a new process: windows in memory are gone
    await analysis.analyze(batch, settings)  # the host redelivers from its checkpoint
    assert (await active(clean)).get(("error_rate", "trading-engine")) is None
    assert (await clean.fetchval("SELECT sequence_number FROM analyzer_positions")) == 11


async def test_threshold_reached_across_batches(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    batch = deliveries(minute_of_errors(make_record, 11, "ai-processor"))
    await analysis.analyze(batch[:10], settings)
    assert await active(clean) == {}
    outcome = await analysis.analyze(batch[10:], settings)
    assert await active(clean) == {("error_rate", "ai-processor"): 11}
    assert [m["target"] for m in outcome.signalr_messages(settings)] == ["alert", "alert"]
    assert {m["groupName"] for m in outcome.signalr_messages(settings)} == {"readers", "admins"}
    limited = replace(
        settings,
        api_keys=(
            {"hash": "a" * 64, "role": "reader", "services": ["ai-processor"]},
            {"hash": "b" * 64, "role": "reader", "services": ["api-gateway"]},
        ),
    )
    groups = {m["groupName"] for m in outcome.signalr_messages(limited)}
    allowed = stream.group_of(Caller("k", Role.READER, None, ("ai-processor",)))
    other = stream.group_of(Caller("k", Role.READER, None, ("api-gateway",)))
    assert {"readers", "admins", allowed} <= groups and other not in groups


async def test_recreated_hub_with_lower_sequence_numbers_is_analyzed(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    await analysis.analyze(deliveries([make_record()], start=500), settings)
    later = [make_record(level="ERROR", message="connection refused")]
    outcome = await analysis.analyze(deliveries(later, start=0), settings)
    assert outcome.analyzed == 1 and outcome.redelivered == 0


async def test_undecodable_events_are_skipped_not_fatal(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    good = orjson.dumps(make_record(level="ERROR", message="insufficient funds"))
    batch = [
        analysis.Delivery(b"{not json", "0", 0),
        analysis.Delivery(b"[1, 2]", "0", 1),
        analysis.Delivery(good, "0", 2),
    ]
    outcome = await analysis.analyze(batch, settings)
    assert outcome.undecodable == 2 and outcome.analyzed == 1
    assert await active(clean) == {("insufficient_funds", "trading-engine"): 1}


async def test_quiet_alerts_resolve_after_their_rule_quiet_period(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    rules_json = orjson.dumps(
        {"rules": [{"name": "halt", "pattern": "halted", "quiet_hours": 1}]}
    ).decode()
    settings = replace(settings, alert_rules_json=rules_json)
    await analysis.analyze(deliveries([make_record(message="trading halted")]), settings)
    await analysis.analyze(
        deliveries([make_record(level="ERROR", message="deadlock")], start=1), settings
    )
    now = datetime.now(UTC)
    outcome = await analysis.maintain(settings, now + timedelta(minutes=59))
    assert outcome.resolved == []
    outcome = await analysis.maintain(settings, now + timedelta(minutes=61))
    assert [a["rule"] for a in outcome.resolved] == ["halt"]
    assert [n.kind for n in outcome.notices()] == ["resolved"]
    still_active = await active(clean)
    assert ("database_error", "trading-engine") in still_active
    assert ("halt", "trading-engine") not in still_active
    # the next hit opens a new alert rather than reviving the resolved one
    await analysis.analyze(deliveries([make_record(message="halted again")], start=2), settings)
    assert await clean.fetchval("SELECT count(*) FROM alerts WHERE rule = 'halt'") == 2


async def test_silent_service_alerted_once_and_resolved_when_it_speaks(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    await analysis.analyze(deliveries([make_record(service="telegram-bot")]), settings)
    now = datetime.now(UTC)
    assert (await analysis.maintain(settings, now + timedelta(minutes=9))).changes == []
    outcome = await analysis.maintain(settings, now + timedelta(minutes=11))
    assert [(c.alert["rule"], c.alert["service"]) for c in outcome.changes] == [
        ("service_silent", "telegram-bot")
    ]
    assert (await analysis.maintain(settings, now + timedelta(minutes=12))).changes == []
    assert await active(clean) == {("service_silent", "telegram-bot"): 1}
    outcome = await analysis.analyze(
        deliveries([make_record(service="telegram-bot")], start=1), settings
    )
    assert [a["rule"] for a in outcome.resolved] == ["service_silent"]
    assert await active(clean) == {}


async def test_service_silent_past_the_quiet_period_counts_as_retired(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    await analysis.analyze(deliveries([make_record(service="old-bot")]), settings)
    outcome = await analysis.maintain(settings, datetime.now(UTC) + timedelta(hours=25))
    assert outcome.changes == []


async def test_listing_by_status_and_service(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    records = [
        make_record(service="exchange-connector", message="connection refused"),
        make_record(service="api-gateway", message="429 too many requests"),
    ]
    await analysis.analyze(deliveries(records), settings)
    listing = await analysis.list_alerts(settings, "active", None, 100)
    assert {a["service"] for a in listing["items"]} == {"exchange-connector", "api-gateway"}
    only = await analysis.list_alerts(settings, "active", "api-gateway", 100)
    assert [a["rule"] for a in only["items"]] == ["rate_limited"]
    scoped = await analysis.list_alerts(settings, "active", None, 100, ("api-gateway",))
    assert [a["service"] for a in scoped["items"]] == ["api-gateway"]
    assert (await analysis.list_alerts(settings, "resolved", None, 100))["items"] == []


@pytest.mark.parametrize(
    ("pairs", "parameter"),
    [
        ([("status", "open")], "status"),
        ([("limit", "0")], "limit"),
        ([("limit", "x")], "limit"),
        ([("limit", "5000")], "limit"),
        ([("limit", "1" * 30)], "limit"),
        ([("service", "\x00")], "service"),
        ([("colour", "red")], "colour"),
    ],
)
def test_bad_listing_parameters(pairs: list[tuple[str, str]], parameter: str) -> None:
    with pytest.raises(BadRequest) as refused:
        params.parse_alerts(pairs)
    assert refused.value.detail["parameter"] == parameter


def test_listing_parameter_defaults() -> None:
    assert params.parse_alerts([]) == ("active", None, 100)
    assert params.parse_alerts([("status", "Resolved"), ("limit", "5")]) == ("resolved", None, 5)


async def test_refused_rules_fail_the_batch_then_dead_letter_it(
    clean: asyncpg.Connection, settings: Settings, azurite: Any, make_record
) -> None:  # type: ignore[no-untyped-def]
    from shared import blob
    from shared.rules import RuleError
    from shared.settings import Connection

    await blob.close()
    settings = replace(
        settings,
        alert_rules_json='[{"name": "broken", "pattern": "(unclosed"}]',
        storage_connection=Connection(
            "ArchiveStorage", connection_string=azurite.connection_string
        ),
        deadletter_container="deadletter-analysis",
    )
    record = make_record(message="connection refused")
    batch = EventBatch("logs", "0", [orjson.dumps(record)], [0], [datetime.now(UTC)])
    with pytest.raises(RuleError, match="'broken'"):
        await analysis.analyze_or_dead_letter(settings, batch, Attempt(0, 12))
    outcome = await analysis.analyze_or_dead_letter(settings, batch, Attempt(12, 12))
    assert outcome.analyzed == 0
    container = await blob.container(settings, settings.deadletter_container)
    names = [b.name async for b in container.list_blobs(name_starts_with="analyze/")]
    assert len(names) == 1
    letter = orjson.loads(await (await container.download_blob(names[0])).readall())
    assert "'broken'" in letter["reason"] and letter["attempts"] == 13
    assert [orjson.loads(r["raw"])["id"] for r in letter["records"]] == [record["id"]]
    assert letter["details"]["partition"] == "0"
    await blob.close()


async def test_silence_is_not_judged_right_after_a_start(
    clean: asyncpg.Connection, settings: Settings, make_record
) -> None:  # type: ignore[no-untyped-def]
    long_ago = datetime.now(UTC) - timedelta(hours=2)
    await analysis.analyze(
        deliveries([make_record(service="paused-bot", received_at=long_ago.isoformat())]),
        settings,
    )
    just_started = analysis.PROCESS_STARTED + timedelta(minutes=5)
    assert (await analysis.maintain(settings, just_started)).changes == []
    settled = analysis.PROCESS_STARTED + timedelta(minutes=10)
    outcome = await analysis.maintain(settings, max(settled, datetime.now(UTC)))
    assert [c.alert["service"] for c in outcome.changes] == ["paused-bot"]
