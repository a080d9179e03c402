"""The stream analyzer on its own: one pass, exact windows, state changed only on commit."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared import rules
from shared.analyzer import Analyzer
from shared.settings import Settings

MINUTE = datetime(2026, 3, 2, 14, 7, tzinfo=UTC)


def analyzer(**overrides: Any) -> Analyzer:
    return Analyzer(rules.load(replace(Settings(), **overrides)))


def counts(scan: Any) -> dict[tuple[str, str], int]:
    return {(h.rule, h.service): h.count for h in scan.hits()}


def errors(make: Callable[..., dict[str, Any]], n: int, service: str = "trading-engine"):  # type: ignore[no-untyped-def]
    return [
        make(
            service=service, level="ERROR", message="boom", timestamp=MINUTE + timedelta(seconds=i)
        )
        for i in range(n)
    ]


def test_error_rate_fires_on_more_than_the_threshold(make_record) -> None:  # type: ignore[no-untyped-def]
    scan = analyzer().scan("p0", errors(make_record, 11))
    assert counts(scan)[("error_rate", "trading-engine")] == 11


def test_error_rate_does_not_fire_at_the_threshold(make_record) -> None:  # type: ignore[no-untyped-def]
    scan = analyzer().scan("p0", errors(make_record, 10))
    assert ("error_rate", "trading-engine") not in counts(scan)


def test_error_rate_counts_each_error_past_the_threshold(make_record) -> None:  # type: ignore[no-untyped-def]
    scan = analyzer().scan("p0", errors(make_record, 14))
    assert counts(scan)[("error_rate", "trading-engine")] == 14


def test_error_rate_windows_are_a_minute_per_service(make_record) -> None:  # type: ignore[no-untyped-def]
    batch = errors(make_record, 10) + errors(make_record, 10, service="api-gateway")
    batch += [make_record(level="ERROR", message="boom", timestamp=MINUTE + timedelta(minutes=1))]
    assert "error_rate" not in {rule for rule, _ in counts(analyzer().scan("p0", batch))}


def test_error_rate_threshold_comes_from_settings(make_record) -> None:  # type: ignore[no-untyped-def]
    scan = analyzer(error_rate_threshold=3).scan("p0", errors(make_record, 4))
    assert counts(scan)[("error_rate", "trading-engine")] == 4


def test_windows_carry_across_batches_only_once_committed(make_record) -> None:  # type: ignore[no-untyped-def]
    engine = analyzer()
    first = errors(make_record, 6)
    second = errors(make_record, 11)[6:]
    uncommitted = engine.scan("p0", first)
    assert not counts(engine.scan("p0", second))  # the first scan left no trace
    engine.commit(uncommitted)
    assert counts(engine.scan("p0", second))[("error_rate", "trading-engine")] == 11


def test_partitions_keep_separate_windows(make_record) -> None:  # type: ignore[no-untyped-def]
    engine = analyzer()
    engine.commit(engine.scan("p0", errors(make_record, 10)))
    assert not counts(engine.scan("p1", errors(make_record, 1)))


def test_slow_response_is_strictly_above_the_threshold(make_record) -> None:  # type: ignore[no-untyped-def]
    batch = [
        make_record(service="api-gateway", extra_data={"response_time": 5000}),
        make_record(service="api-gateway", extra_data={"response_time": 5000.5}),
        make_record(service="api-gateway", extra_data={"response_time": "9999"}),
        make_record(service="api-gateway", extra_data={"other": 1}),
    ]
    scan = analyzer().scan("p0", batch)
    assert counts(scan) == {("slow_response", "api-gateway"): 1}
    assert scan.hits()[0].sample_ids == (batch[1]["id"],)


def test_patterns_match_in_one_pass_with_level_floor(make_record) -> None:  # type: ignore[no-untyped-def]
    batch = [
        make_record(service="exchange-connector", level="ERROR", message="Connection refused"),
        make_record(
            service="exchange-connector",
            level="ERROR",
            message="order failed",
            exception_message="rate limit exceeded",
        ),
        make_record(service="db-writer", level="INFO", message="database vacuum done"),
        make_record(service="db-writer", level="ERROR", message="deadlock detected"),
        make_record(service="portfolio-manager", level="WARNING", message="Insufficient balance"),
        make_record(service="trading-engine", level="ERROR", message="Trade execution failed"),
        make_record(
            service="exchange-connector", level="ERROR", message="Failed to connect to exchange"
        ),
    ]
    assert counts(analyzer().scan("p0", batch)) == {
        ("exchange_connection", "exchange-connector"): 2,
        ("trade_execution_failed", "exchange-connector"): 1,
        ("trade_execution_failed", "trading-engine"): 1,
        ("rate_limited", "exchange-connector"): 1,
        ("database_error", "db-writer"): 1,
        ("insufficient_funds", "portfolio-manager"): 1,
    }


def test_a_rule_matching_two_fields_of_a_record_counts_it_once(make_record) -> None:  # type: ignore[no-untyped-def]
    record = make_record(
        level="ERROR", message="connection refused", exception_message="connection reset"
    )
    assert counts(analyzer().scan("p0", [record]))[("exchange_connection", "trading-engine")] == 1


def test_service_scoped_rule(make_record) -> None:  # type: ignore[no-untyped-def]
    document = '[{"name": "engine_halt", "pattern": "halt", "services": ["trading-engine"]}]'
    engine = analyzer(alert_rules_json=document)
    batch = [make_record(message="halt"), make_record(service="api-gateway", message="halt")]
    assert counts(engine.scan("p0", batch)) == {("engine_halt", "trading-engine"): 1}


def test_sequence_gap_counts_missing_records(make_record) -> None:  # type: ignore[no-untyped-def]
    engine = analyzer(alert_rules_json='[{"name": "gap", "type": "sequence_gap"}]')
    batch = [make_record(extra_data={"seq": s, "pid": 7}) for s in (1, 2, 3, 7, 8)]
    batch.append(make_record(extra_data={"seq": 1, "pid": 8}))
    assert counts(engine.scan("p0", batch)) == {("gap", "trading-engine"): 3}


def test_hit_times_and_samples(make_record) -> None:  # type: ignore[no-untyped-def]
    batch = [
        make_record(
            level="ERROR", message="connection refused", timestamp=MINUTE + timedelta(seconds=s)
        )
        for s in (30, 5, 50)
    ] * 5
    hit = analyzer().scan("p0", batch).hits()[0]
    assert hit.first_seen == MINUTE + timedelta(seconds=5)
    assert hit.last_seen == MINUTE + timedelta(seconds=50)
    assert hit.count == 15
    assert hit.sample_ids == tuple(r["id"] for r in batch[:10])


@pytest.mark.parametrize("service", [None, ""])
def test_records_without_service_are_still_analyzed(make_record, service) -> None:  # type: ignore[no-untyped-def]
    record = make_record(level="ERROR", message="connection refused")
    record["service"] = service
    assert counts(analyzer().scan("p0", [record])) == {("exchange_connection", "unknown"): 1}


def test_remembered_processes_are_bounded(make_record, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    from shared import analyzer as module

    monkeypatch.setattr(module, "MAX_PROCESSES", 10)
    engine = analyzer(alert_rules_json='[{"name": "gap", "type": "sequence_gap"}]')
    for pid in range(25):
        engine.commit(engine.scan("p0", [make_record(extra_data={"seq": 5, "pid": pid})]))
    remembered = engine.state("p0").sequences
    assert len(remembered) <= 10
    assert ("gap", "trading-engine", "24") in remembered
