"""Reports people read, against real PostgreSQL and Azurite: the hour so far, changes against
earlier hours over the same span, the Markdown blob beside the JSON, and the opt-in summary to
the notification channels."""

from __future__ import annotations

import asyncio
import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from shared import blob, notify, report_changes, report_markdown, reports
from shared.settings import Settings
from tests.analysis.test_notify import Receiver, receiver  # noqa: F401  (fixture)
from tests.analysis.test_reports import insert, random_hour


def records_at(service: str, moments: list[datetime], level: str = "INFO") -> list[dict[str, Any]]:
    from shared import levels

    return [
        {
            "id": f"chg-{uuid.uuid4().hex}",
            "timestamp": moment,
            "received_at": moment,
            "level": level,
            "level_no": levels.number(level),
            "service": service,
            "logger_name": service,
            "message": "tick",
            "extra_data": {"symbol": "ETHUSDT"},
        }
        for moment in moments
    ]


def spread(start: datetime, n: int, minutes: int = 60) -> list[datetime]:
    step = timedelta(minutes=minutes) / max(n, 1)
    return [start + step * i for i in range(n)]


async def test_changes_against_the_previous_hour_yesterday_and_the_last_24_hours(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    hour = random_hour() + timedelta(days=2)
    counts = {hour: 90, hour - timedelta(hours=1): 30, hour - timedelta(days=1): 40}
    for k in range(2, 24):
        counts[hour - timedelta(hours=k)] = 20 + k
    for start, n in counts.items():
        await insert(report_settings, records_at(service, spread(start, n)))
    await insert(report_settings, records_at(service, spread(hour, 4), level="TRADE_EXECUTED"))

    async with (await _pool(report_settings)).acquire() as conn:
        changes = await report_changes.compare(conn, hour, hour + timedelta(hours=1), [service])

    total = changes["total"]
    assert total["value"] == 94
    assert total["previous_hour"] == 30
    assert total["same_hour_yesterday"] == 40
    assert total["delta_previous_hour"] == 64
    assert total["range_24h"] == [22, 43]
    assert total["unusual"] is True
    assert changes["trades_executed"]["value"] == 4
    assert changes["trades_executed"]["previous_hour"] == 0
    assert changes["by_service"][service]["value"] == 94
    assert changes["by_level"]["INFO"]["unusual"] is True
    assert "total" in report_changes.unusual_figures(changes)

    other = f"svc-{uuid.uuid4().hex[:8]}"
    async with (await _pool(report_settings)).acquire() as conn:
        empty = await report_changes.compare(conn, hour, hour + timedelta(hours=1), [other])
    assert empty["total"]["value"] == 0
    assert empty["total"]["unusual"] is None  # no history, no verdict


async def test_the_hour_so_far_compares_the_same_span_of_earlier_hours(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    hour = random_hour() + timedelta(days=2)
    now = hour + timedelta(minutes=20)
    # this hour: 12 records in its first 20 minutes; the previous hour: 30 over the whole hour,
    # of which 10 in its first 20 minutes
    await insert(report_settings, records_at(service, spread(hour, 12, minutes=20)))
    await insert(report_settings, records_at(service, spread(hour - timedelta(hours=1), 30)))
    await insert(
        report_settings,
        records_at(service, [hour - timedelta(minutes=30)], level="ERROR"),
    )

    current = await reports.current(report_settings, (service,), now=now)
    assert current["partial"] is True
    assert current["period_end"].startswith(now.isoformat()[:19])
    assert current["total"] == 12
    assert current["by_service"] == {service: 12}
    assert current["changes"]["span_minutes"] == 20
    assert current["changes"]["total"]["previous_hour"] == 10
    assert current["changes"]["errors"]["previous_hour"] == 0


async def test_trades_per_symbol_and_the_scoped_view(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    mine, theirs = (f"svc-{uuid.uuid4().hex[:8]}" for _ in range(2))
    hour = random_hour()
    await insert(report_settings, records_at(mine, spread(hour, 3), level="TRADE_EXECUTED"))
    await insert(report_settings, records_at(mine, spread(hour, 2), level="RISK_ALERT"))
    await insert(report_settings, records_at(theirs, spread(hour, 5), level="TRADE_EXECUTED"))
    report = await reports.generate(report_settings, hour)
    rows = {(t["service"], t["symbol"]): (t["executed"], t["blocked"]) for t in report["trades"]}
    assert rows[(mine, "ETHUSDT")] == (3, 2)
    assert rows[(theirs, "ETHUSDT")] == (5, 0)
    assert [t["service"] for t in reports.view(report, (mine,))["trades"]] == [mine]


async def test_markdown_blob_beside_the_json(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    hour = random_hour()
    hostile = "boom | <script>alert(1)</script> *bold* [x](javascript:1)"
    batch = records_at(service, spread(hour, 7))
    batch += [{**r, "message": hostile} for r in records_at(service, [hour], level="ERROR")]
    await insert(report_settings, batch)
    report = await reports.generate(report_settings, hour)
    container = await blob.container(report_settings, report_settings.reports_container)
    text = (await (await container.download_blob(reports.blob_name(hour, "md"))).readall()).decode()
    assert text.startswith(f"# Hourly report {report['period_start']}")
    assert "- Records: 8" in text
    assert f"| {service.replace('_', chr(92) + '_')} |" in text
    assert "<script>" not in text and "\\<script\\>" in text
    assert "\\| " in text  # a pipe in a message cannot open a new table cell
    assert text == report_markdown.render(report)


async def test_summary_goes_to_the_channels_only_when_asked(
    clean: asyncpg.Connection,
    report_settings: Settings,
    receiver: Receiver,  # noqa: F811
) -> None:
    await clean.execute("TRUNCATE reports")
    now = datetime(2026, 7, 9, 10, 5, tzinfo=UTC)
    silent = replace(report_settings, alert_webhook_url=receiver.url)
    await reports.run_due(silent, now)
    await notify.notifier(silent).drain(5)
    assert receiver.received == []

    await clean.execute("TRUNCATE reports")
    asked = replace(silent, report_notify=True)
    written = await reports.run_due(asked, now)
    await notify.notifier(asked).drain(5)
    await asyncio.wait_for(receiver.arrived.wait(), 5)
    body = receiver.received[0]["body"]
    assert body["type"] == "report"
    assert body["report"]["hour"] == written[-1]["hour"]
    summary = report_markdown.Summary(written[-1]).text()
    assert summary.startswith("Hourly report 2026-07-09T09:00:00+00:00:")
    await notify.close()


async def _pool(settings: Settings) -> Any:
    from shared import db

    return await db.pool(settings)


@pytest.mark.parametrize(
    ("value", "history", "unusual"),
    [(5, [1, 9], False), (10, [1, 9], True), (0, [1, 9], True), (5, [3], None), (5, None, None)],
)
def test_unusual_is_outside_the_range_of_the_last_24_hours(
    value: int, history: list[int] | None, unusual: bool | None
) -> None:
    assert report_changes.change(value, 1, 2, history)["unusual"] is unusual


async def test_alerts_resolved_in_the_hour_and_p50(
    clean: asyncpg.Connection, report_settings: Settings
) -> None:
    service = f"svc-{uuid.uuid4().hex[:8]}"
    hour = random_hour()
    times = [10.0, 20.0, 30.0, 40.0, 1000.0]
    await insert(
        report_settings,
        [
            {**r, "extra_data": {"response_time": t}}
            for r, t in zip(records_at(service, spread(hour, 5)), times, strict=True)
        ],
    )
    await clean.execute(
        """
        INSERT INTO alerts (rule, service, severity, status, count, first_seen, last_seen,
                            resolved_at, description)
        VALUES ('error_rate', $1, 'high', 'resolved', 3, $2, $2, $3, 'errors')
        """,
        service,
        hour - timedelta(hours=2),
        hour + timedelta(minutes=10),
    )
    report = await reports.generate(report_settings, hour)
    assert report["response_times"][service]["p50_ms"] == 30.0
    resolved = [a for a in report["resolved_alerts"] if a["service"] == service]
    assert [a["rule"] for a in resolved] == ["error_rate"]
    assert resolved[0]["resolved_at"].startswith((hour + timedelta(minutes=10)).isoformat()[:16])
    assert "## Alerts resolved" in report_markdown.render(report)


def test_a_dead_lettered_report_summary_reads_back_for_replay() -> None:
    report = {"period_start": "2026-07-09T09:00:00+00:00", "total": 3, "errors": 1}
    document = report_markdown.Summary(report).document()
    again = notify.notice_of(document)
    assert again.document() == document
    assert again.text().startswith("Hourly report 2026-07-09T09:00:00+00:00: 3 records")
    with pytest.raises(ValueError, match="without its report"):
        notify.notice_of({"type": "report"})
