"""Leak counters against real PostgreSQL: what ingest redacted is counted per service and kind
by the analyzer (never the value, a redelivery once), shows in the stats and the hourly report,
and the default rule raises an alert for the leaking service."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import orjson

from shared import analysis, ingest, leaks, params, reports, stats
from shared.access import Caller, Role
from shared.settings import Settings

JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTcifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi14eXo"
BOT_TOKEN = "7512345678:AAHkq9mZ3xY2wV1uT0sR9qP8oN7mL6kJ5iH"
PRIVATE_KEY = "0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318"


def events(records: list[dict], now: datetime) -> list[analysis.Delivery]:
    batch = ingest.build_batch(records, Caller(name="fleet", role=Role.INGEST), Settings(), now)
    assert not batch.rejected
    return [analysis.Delivery(body, "0", i, now) for i, (_, body) in enumerate(batch.events, 1)]


async def test_leaks_are_counted_by_service_and_kind_once_and_alerted(
    clean: asyncpg.Connection, settings: Settings
) -> None:
    await clean.execute("TRUNCATE secret_leaks")
    now = datetime.now(UTC)
    sent = [
        {"service": "telegram-bot", "message": f"GET https://api.telegram.org/bot{BOT_TOKEN}/x"},
        {"service": "telegram-bot", "message": "hello", "session_id": JWT},
        {"service": "portfolio-manager", "message": "m", "extra_data": {"pk": PRIVATE_KEY}},
        {"service": "trading-engine", "message": "Order filled BTCUSDT 0.5 @ 43250"},
    ]
    deliveries = events(sent, now)
    outcome = await analysis.analyze(deliveries, settings)
    assert outcome.analyzed == 4
    redelivered = await analysis.analyze(deliveries, settings)
    assert redelivered.redelivered == 4

    rows = await clean.fetch("SELECT * FROM secret_leaks")
    stored = orjson.dumps([dict(r) for r in rows], default=str).decode()
    for secret in (JWT, BOT_TOKEN, PRIVATE_KEY):
        assert secret not in stored
    hour = now - timedelta(hours=1)
    found = await leaks.counts(clean, hour, now + timedelta(minutes=1))
    assert sorted((c["service"], c["kind"], c["count"]) for c in found) == [
        ("portfolio-manager", "private_key", 1),
        ("telegram-bot", "jwt", 1),
        ("telegram-bot", "telegram_token", 1),
    ]

    alerts = await clean.fetch("SELECT service, count FROM alerts WHERE rule = 'secrets_leaked'")
    assert {r["service"]: r["count"] for r in alerts} == {
        "telegram-bot": 2,
        "portfolio-manager": 1,
    }

    admin = Caller(name="admin", role=Role.ADMIN)
    body = await stats.stats_on(clean, params.StatsQuery("1h"), admin, now + timedelta(seconds=5))
    assert {(c["service"], c["kind"]) for c in body["secrets_redacted"]} == {
        ("portfolio-manager", "private_key"),
        ("telegram-bot", "jwt"),
        ("telegram-bot", "telegram_token"),
    }
    limited = Caller(name="desk", role=Role.READER, services=("portfolio-manager",))
    body = await stats.stats_on(clean, params.StatsQuery("1h"), limited, now + timedelta(seconds=5))
    assert body["secrets_redacted"] == [
        {"service": "portfolio-manager", "kind": "private_key", "count": 1}
    ]

    report = await reports.build(clean, reports.hour_of(now))
    assert {c["kind"] for c in report["secrets_redacted"]} == {
        "jwt",
        "telegram_token",
        "private_key",
    }
    view = reports.view(report, ("telegram-bot",))
    assert {c["service"] for c in view["secrets_redacted"]} == {"telegram-bot"}


def test_counts_the_analyzer_reads_are_only_known_kinds_and_positive_numbers() -> None:
    record = {"id": "r1", "service": "s", "received_at": "2026-03-14T12:00:00+00:00"}
    record["_redacted"] = {"jwt": 2, "made_up": 3, "card": 0, "token": True, "password": "1"}
    assert leaks.counted(record) == {"jwt": 2}
    assert [r[:3] + r[4:] for r in leaks.rows([record])] == [("r1", "jwt", "s", 2)]
