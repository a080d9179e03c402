"""Trade chains in the analyzer: each batch's stages into the chain tables, the
`trade_stalled` rule's alerts (one per service, counting its stalled chains) and their
resolution once every chain it counted has moved on (its missing stage arrived late)."""

from __future__ import annotations

import functools
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

import asyncpg

from shared import alerts, trade_chains, trades
from shared.rules import Rule, RuleSet
from shared.settings import Settings

PREVIOUS_STAGE = {"decision": "signal", "execution": "buy or sell decision"}


@functools.cache
def _paths(names: tuple[str, ...]) -> tuple[trades.KeyPath, ...]:
    return trades.key_paths(names)


def deadlines(settings: Settings) -> trade_chains.Deadlines:
    return trade_chains.Deadlines(
        decision=timedelta(seconds=settings.trade_decision_seconds),
        execution=timedelta(seconds=settings.trade_execution_seconds),
    )


async def record_batch(
    conn: asyncpg.Connection,
    records: Iterable[Mapping[str, Any]],
    settings: Settings,
    ruleset: RuleSet,
    now: datetime,
) -> list[dict[str, Any]]:
    """Add the batch's stages to their chains; return the trade_stalled alerts this resolves."""
    stages = trades.stages_of(records, _paths(settings.trade_key_fields))
    keys = await trade_chains.record(conn, stages, deadlines(settings))
    if not keys or not ruleset.trade_stalled:
        return []
    moved = await trade_chains.clear_stalled(conn, keys, now)
    services = {r["stalled_alert"] for r in moved}
    if not services:
        return []
    done = sorted(services - await trade_chains.services_still_stalled(conn, list(services)))
    resolved: list[dict[str, Any]] = []
    for rule in ruleset.trade_stalled:
        resolved += await alerts.resolve(conn, rule.name, done, now)
    return resolved


def _seconds(settings: Settings, waiting_for: str) -> float:
    if waiting_for == "decision":
        return settings.trade_decision_seconds
    return settings.trade_execution_seconds


def _hit(
    rule: Rule, service: str, rows: list[asyncpg.Record], settings: Settings, now: datetime
) -> alerts.Hit:
    newest = max(rows, key=lambda r: r["deadline"])
    stage = newest["waiting_for"]
    what = (
        f"trade {newest['key']} ({newest['symbol'] or 'no symbol'}): no {stage} within "
        f"{_seconds(settings, stage):g} s of its {PREVIOUS_STAGE.get(stage, 'last stage')}"
    )
    more = f" (and {len(rows) - 1} more stalled)" if len(rows) > 1 else ""
    return alerts.Hit(
        rule=rule.name,
        service=service,
        severity=rule.severity,
        description=f"{rule.description}: {what}{more}",
        action=rule.action,
        count=len(rows),
        first_seen=min(r["deadline"] for r in rows),
        last_seen=now,
        sample_ids=tuple(r["last_record_id"] for r in rows[: alerts.SAMPLE_LIMIT]),
        quiet_period=rule.quiet_period,
    )


async def stalled_hits(
    conn: asyncpg.Connection, ruleset: RuleSet, settings: Settings, now: datetime
) -> list[alerts.Hit]:
    """Hits of the (first) trade_stalled rule for chains newly past a deadline."""
    if not ruleset.trade_stalled:
        return []
    rule = ruleset.trade_stalled[0]
    by_service: dict[str, list[asyncpg.Record]] = {}
    for row in await trade_chains.mark_stalled(conn, now, rule.quiet_period):
        by_service.setdefault(row["stalled_alert"], []).append(row)
    return [
        _hit(rule, service, rows, settings, now)
        for service, rows in sorted(by_service.items())
        if rule.applies_to(service)
    ]
