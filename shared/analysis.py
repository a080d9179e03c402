"""The analyzer step of the pipeline: a batch of events in, alerts stored, pushed and notified.

Per partition, in one transaction: lock the partition's stored position, skip events at or
before it (a redelivery), evaluate the rules over the rest, add the hits to their alerts, move
the services' last-heard times and the position forward. One query per batch and table, never
one per event. Also the minute's alert maintenance (quiet alerts resolved, silent services
alerted) and the alert listing the HTTP API serves."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from shared import alerts, analysis_state, db, deadletter, leaks, notify, rules, sink_policy
from shared.analyzer import Analyzer
from shared.eventbatch import EventBatch
from shared.settings import Settings
from shared.sink_policy import Attempt

log = logging.getLogger(__name__)

PROCESS_STARTED = datetime.now(UTC)
"""Silence is judged only once this process has been up for the rule's minutes: right after a
start the hub may still be delivering what the services sent meanwhile."""
DEAD_LETTER_SINK = deadletter.Sink.ANALYZE


@dataclass(frozen=True, slots=True)
class Delivery:
    """One Event Hub event as the analyzer needs it."""

    body: bytes
    partition: str
    sequence_number: int | None = None
    enqueued_at: datetime | None = None


@dataclass
class Outcome:
    """What one call found: alerts opened, updated or resolved, and what was skipped."""

    analyzed: int = 0
    redelivered: int = 0
    undecodable: int = 0
    changes: list[alerts.Change] = field(default_factory=list)
    resolved: list[dict[str, Any]] = field(default_factory=list)

    def notices(self) -> list[notify.Notice]:
        found = [
            notify.Notice("opened" if c.opened else "updated", c.alert)
            for c in self.changes
            if c.notify
        ]
        found += [notify.Notice("resolved", a) for a in self.resolved]
        return found

    def alerts(self) -> list[dict[str, Any]]:
        """Every alert whose state changed, latest state last."""
        return [c.alert for c in self.changes] + self.resolved

    def signalr_messages(self, settings: Settings) -> list[dict[str, Any]]:
        """SignalR output items: target `alert`, one alert each, to every stream group that
        may see the alert's service (an alert holds no field a reader may not see)."""
        from shared.stream import to_audiences

        return [
            message
            for alert in self.alerts()
            for message in to_audiences("alert", alert, settings, alert.get("service"))
        ]


def encode(messages: Sequence[dict[str, Any]]) -> str:
    return orjson.dumps(list(messages), option=orjson.OPT_NON_STR_KEYS).decode()


_analyzer: tuple[Settings, Analyzer] | None = None


def analyzer(settings: Settings) -> Analyzer:
    """The process's analyzer for these settings; its rules are loaded and checked on first use
    (a RuleError names the rule at fault)."""
    global _analyzer
    if _analyzer is None or _analyzer[0] is not settings:
        _analyzer = (settings, Analyzer(rules.load(settings)))
    return _analyzer[1]


def _is_new(delivery: Delivery, position: analysis_state.Position | None) -> bool:
    if position is None or delivery.sequence_number is None:
        return True
    if delivery.sequence_number > position.sequence_number:
        return True
    # A lower sequence number enqueued later than the stored position: the hub was recreated.
    return bool(
        position.enqueued_at
        and delivery.enqueued_at
        and delivery.enqueued_at > position.enqueued_at
    )


def _decode(deliveries: Sequence[Delivery]) -> tuple[list[dict[str, Any]], int]:
    records: list[dict[str, Any]] = []
    bad = 0
    for d in deliveries:
        try:
            record = orjson.loads(d.body)
        except orjson.JSONDecodeError:
            bad += 1
            continue
        if isinstance(record, dict):
            records.append(record)
        else:
            bad += 1
    return records, bad


def _partitions(deliveries: Sequence[Delivery]) -> dict[str, list[Delivery]]:
    groups: dict[str, list[Delivery]] = {}
    for d in deliveries:
        groups.setdefault(d.partition, []).append(d)
    return groups


async def analyze(deliveries: Sequence[Delivery], settings: Settings) -> Outcome:
    """Analyze a batch; alerts are stored before this returns, notifications are queued.
    Raises (so the batch is retried unchanged) when PostgreSQL fails."""
    engine = analyzer(settings)
    outcome = Outcome()
    if not deliveries:
        return outcome
    pool = await db.pool(settings)
    interval = timedelta(seconds=settings.notify_min_interval_seconds)
    silence_rules = [r.name for r in engine.ruleset.silence]
    for partition, items in _partitions(deliveries).items():
        key = f"{settings.eventhub_name}/{partition}"
        async with pool.acquire() as conn, conn.transaction():
            position = await analysis_state.lock_position(conn, key)
            fresh = [d for d in items if _is_new(d, position)]
            outcome.redelivered += len(items) - len(fresh)
            if not fresh:
                continue
            records, bad = _decode(fresh)
            outcome.undecodable += bad
            scan = engine.scan(key, records)
            await leaks.record(conn, records)
            now = datetime.now(UTC)
            outcome.changes += await alerts.record(conn, scan.hits(), now, interval)
            heard = scan.heard()
            if silence_rules and heard:
                for rule in silence_rules:
                    outcome.resolved += await alerts.resolve(conn, rule, list(heard), now)
            await analysis_state.record_heard(conn, heard)
            last = fresh[-1]
            if last.sequence_number is not None:
                await analysis_state.save_position(
                    conn,
                    key,
                    analysis_state.Position(last.sequence_number, last.enqueued_at),
                )
        engine.commit(scan)
        outcome.analyzed += scan.records
    notify.notifier(settings).submit(outcome.notices())
    return outcome


def deliveries(batch: EventBatch, positioned: bool = True) -> list[Delivery]:
    """The batch's events as the analyzer takes them. Without `positioned` they carry no
    sequence numbers, so the partition's stored position skips none of them (replay: the
    position moved past a dead-lettered batch long ago)."""
    return [
        Delivery(
            body=body,
            partition=batch.partition,
            sequence_number=batch.sequence_number(i) if positioned else None,
            enqueued_at=batch.enqueued_time(i) or (None if positioned else batch.enqueued_at),
        )
        for i, body in enumerate(batch.bodies)
    ]


async def analyze_or_dead_letter(
    settings: Settings, batch: EventBatch, attempt: Attempt
) -> Outcome:
    """`analyze` under the one retry and dead-letter policy (`shared.sink_policy`): a failure
    (PostgreSQL away for the whole retry window, or a rule file refused) is retried by the
    host, and on the final attempt dead-lettered with the reason, so the replay command can
    analyze the batch later rather than the runtime skipping it."""
    return await sink_policy.settle(
        settings,
        DEAD_LETTER_SINK,
        batch,
        attempt,
        lambda: analyze(deliveries(batch), settings),
        lambda _letter: Outcome(),
    )


async def maintain(settings: Settings, now: datetime | None = None) -> Outcome:
    """The minute's upkeep: resolve alerts quiet for their rule's quiet period, and alert on
    services silent for their silence rule's minutes (once per silence: the alert resolves
    when the service speaks again, or after its quiet period)."""
    engine = analyzer(settings)
    now = now or datetime.now(UTC)
    outcome = Outcome()
    pool = await db.pool(settings)
    interval = timedelta(seconds=settings.notify_min_interval_seconds)
    async with pool.acquire() as conn, conn.transaction():
        outcome.resolved += await alerts.resolve_quiet(conn, now)
        for rule in engine.ruleset.silence:
            if now - PROCESS_STARTED < timedelta(minutes=rule.minutes):
                continue
            silent = await analysis_state.silent_since(
                conn, now - timedelta(minutes=rule.minutes), now - rule.quiet_period
            )
            alerted = await alerts.active_rule_services(conn, rule.name)
            hits = [
                alerts.Hit(
                    rule=rule.name,
                    service=service,
                    severity=rule.severity,
                    description=f"{rule.description} (nothing for {rule.minutes} min)",
                    action=rule.action,
                    count=1,
                    first_seen=last_seen,
                    last_seen=now,
                    sample_ids=(),
                    quiet_period=rule.quiet_period,
                )
                for service, last_seen in sorted(silent.items())
                if service not in alerted and rule.applies_to(service)
            ]
            outcome.changes += await alerts.record(conn, hits, now, interval)
    notify.notifier(settings).submit(outcome.notices())
    return outcome


async def list_alerts(
    settings: Settings,
    status: alerts.Status,
    service: str | None,
    limit: int,
    services: tuple[str, ...] | None = None,
) -> dict[str, Any]:
    """The alerts of one status a caller may see (`services`: the services its key may read)."""
    pool = await db.pool(settings)
    async with pool.acquire() as conn:
        items = await alerts.listing(conn, status, service, limit)
    if services is not None:
        items = [a for a in items if a["service"] in services]
    return {"status": status, "items": items}


async def drain_notifications(settings: Settings, timeout: float = 30.0) -> None:
    """Wait for queued notifications (shutdown, tests)."""
    with_timeout = notify.notifier(settings).drain(timeout)
    try:
        await with_timeout
    except TimeoutError:
        log.warning("notifications still pending after %.0f s", timeout)
