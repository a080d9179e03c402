"""Hourly reports against real PostgreSQL and Azurite: equal to independent counts over the
same rows, replaced when rerun, missed hours caught up."""

from __future__ import annotations

import random
import statistics
import uuid
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import orjson
import pytest

from shared import blob, db, levels, params, reports, store
from shared.errors import BadRequest
from shared.settings import Settings

SERVICES = ("trading-engine", "exchange-connector", "api-gateway")
LEVELS = ("DEBUG", "INFO", "TRADE_EXECUTED", "WARNING", "ERROR", "CRITICAL")


def hour_records(hour: datetime, n: int, seed: int) -> list[dict[str, Any]]:
    rng = random.Random(seed)
    records = []
    for i in range(n):
        level = rng.choice(LEVELS)
        extra: dict[str, Any] = {"i": i}
        if rng.random() < 0.6:
            extra["response_time"] = round(rng.uniform(1, 9000), 2)
        elif rng.random() < 0.2:
            extra["response_time"] = "slow"  # not a number: ignored
        service = rng.choice(SERVICES)
        records.append(
            {
                "id": f"rpt-{uuid.uuid4().hex}",
                "timestamp": hour + timedelta(seconds=rng.uniform(0, 3599.999)),
                "received_at": hour + timedelta(minutes=61),
                "level": level,
                "level_no": levels.number(level),
                "service": service,
                "logger_name": service,
                "message": rng.choice(["order failed", "timeout talking to exchange", "tick"]),
                "extra_data": extra,
            }
        )
    # just outside the hour on both sides: must not be counted
    for moment in (hour - timedelta(microseconds=1), hour + timedelta(hours=1)):
        records.append({**records[0], "id": f"rpt-{uuid.uuid4().hex}", "timestamp": moment})
    return records


async def insert(settings: Settings, records: list[dict[str, Any]]) -> None:
    pool = await db.pool(settings)
    await store.write(pool, records)


def random_hour() -> datetime:
    """An hour no other test writes to: tests that create partitions of fixed days use days
    before 2031."""
    base = datetime(2031, 1, 1, tzinfo=UTC)
    return base + timedelta(hours=random.randrange(0, 3 * 365 * 24))


async def test_report_equals_independent_counts(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    hour = random_hour()
    records = hour_records(hour, 3000, seed=7)
    await insert(report_settings, records)
    report = await reports.generate(report_settings, hour)

    inside = [r for r in records if hour <= r["timestamp"] < hour + timedelta(hours=1)]
    assert report["total"] == len(inside) == 3000
    assert report["by_level"] == dict(Counter(r["level"] for r in inside))
    assert report["by_service"] == dict(Counter(r["service"] for r in inside))
    for service in SERVICES:
        expected = Counter(r["level"] for r in inside if r["service"] == service)
        assert report["by_service_level"][service] == dict(expected)
        times = [
            r["extra_data"]["response_time"]
            for r in inside
            if r["service"] == service and isinstance(r["extra_data"].get("response_time"), float)
        ]
        figures = report["response_times"][service]
        assert figures["count"] == len(times)
        assert figures["max_ms"] == pytest.approx(max(times), abs=1e-3)
        assert figures["avg_ms"] == pytest.approx(statistics.fmean(times), abs=1e-3)
        p95 = statistics.quantiles(times, n=20, method="inclusive")[-1]
        assert figures["p95_ms"] == pytest.approx(p95, abs=1e-3)
    errors = Counter(
        (r["service"], r["message"]) for r in inside if r["level"] in ("ERROR", "CRITICAL")
    )
    assert report["errors"] == sum(errors.values())
    top = [(e["service"], e["message"], e["count"]) for e in report["top_errors"]]
    assert (
        top
        == sorted(((s, m, n) for (s, m), n in errors.items()), key=lambda t: (-t[2], t[0], t[1]))[
            : reports.TOP_ERRORS
        ]
    )

    # the same figures by SQL written independently of the report's
    sql_total = await clean.fetchval(
        "SELECT count(*) FROM system_logs WHERE date_trunc('hour', \"timestamp\", 'UTC') = $1",
        hour,
    )
    assert report["total"] == sql_total
    assert report["function_health"] is None  # no workspace configured


async def test_rerun_replaces_the_hour_and_writes_the_blob(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    hour = random_hour()
    await insert(report_settings, hour_records(hour, 50, seed=1))
    first = await reports.generate(report_settings, hour)
    await insert(report_settings, hour_records(hour, 25, seed=2))
    second = await reports.generate(report_settings, hour)
    assert (first["total"], second["total"]) == (50, 75)
    assert await clean.fetchval("SELECT count(*) FROM reports WHERE hour = $1", hour) == 1
    stored = await clean.fetchval("SELECT body FROM reports WHERE hour = $1", hour)
    assert orjson.loads(stored)["total"] == 75
    container = await blob.container(report_settings, report_settings.reports_container)
    data = await (await container.download_blob(reports.blob_name(hour))).readall()
    assert orjson.loads(data) == second


async def test_missed_hours_are_caught_up(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    await clean.execute("TRUNCATE reports")
    now = datetime(2026, 5, 4, 12, 5, tzinfo=UTC)
    first = await reports.run_due(report_settings, now)
    assert [r["hour"] for r in first] == ["2026-05-04T11:00:00+00:00"]
    assert await reports.run_due(report_settings, now + timedelta(minutes=20)) == []
    later = await reports.run_due(report_settings, now + timedelta(hours=3))
    assert [r["hour"][11:13] for r in later] == ["12", "13", "14"]
    capped = replace(report_settings, report_catchup_hours=2)
    after_outage = await reports.run_due(capped, now + timedelta(hours=30))
    assert [r["hour"][:13] for r in after_outage] == ["2026-05-05T16", "2026-05-05T17"]


async def test_listing_and_latest(clean: asyncpg.Connection, report_settings: Settings) -> None:
    await clean.execute("TRUNCATE reports")
    with pytest.raises(Exception, match="no report yet"):
        await reports.latest(report_settings)
    for h in (3, 1, 2):
        await reports.generate(report_settings, datetime(2026, 6, 1, h, tzinfo=UTC))
    listing = await reports.listing(report_settings, 2)
    assert [r["hour"][11:13] for r in listing["items"]] == ["03", "02"]
    assert (await reports.latest(report_settings))["hour"] == "2026-06-01T03:00:00+00:00"


@pytest.mark.parametrize("limit", ["0", "999", "ten", "1" * 30])
def test_bad_report_limit(limit: str) -> None:
    with pytest.raises(BadRequest) as refused:
        params.parse_reports([("limit", limit)])
    assert refused.value.detail["parameter"] == "limit"


async def test_a_key_limited_to_services_sees_only_their_part(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    hour = random_hour()
    records = hour_records(hour, 600, seed=3)
    await insert(report_settings, records)
    full = await reports.generate(report_settings, hour)
    scoped = reports.view(full, ("api-gateway",))
    inside = [
        r
        for r in records
        if hour <= r["timestamp"] < hour + timedelta(hours=1) and r["service"] == "api-gateway"
    ]
    assert scoped["total"] == len(inside)
    assert scoped["by_level"] == dict(Counter(r["level"] for r in inside))
    assert set(scoped["by_service"]) == set(scoped["response_times"]) == {"api-gateway"}
    assert {e["service"] for e in scoped["top_errors"]} <= {"api-gateway"}
    assert reports.view(full, None) is full
