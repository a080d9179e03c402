"""The sliding windows of the analyzer: the error rate is "more than N in the last
window_seconds", whatever minute boundary the burst crosses, and threshold rules judge fn(PATH)
over the same kind of window, per service."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from shared import rules
from shared.analyzer import Analyzer
from shared.settings import Settings

BOUNDARY = datetime(2026, 3, 2, 14, 8, tzinfo=UTC)
"""A minute boundary: bursts below straddle it."""


def engine(document: Any = None) -> Analyzer:
    settings = Settings()
    if document is not None:
        settings = replace(settings, alert_rules_json=orjson.dumps(document).decode())
    return Analyzer(rules.load(settings))


def counts(scan: Any) -> dict[tuple[str, str], int]:
    return {(h.rule, h.service): h.count for h in scan.hits()}


def burst(make: Callable[..., dict[str, Any]], n: int, start: datetime, step: float):  # type: ignore[no-untyped-def]
    return [
        make(level="ERROR", message="boom", timestamp=start + timedelta(seconds=step * i))
        for i in range(n)
    ]


def test_eleven_errors_across_a_minute_boundary_alert(make_record) -> None:  # type: ignore[no-untyped-def]
    records = burst(make_record, 11, BOUNDARY - timedelta(seconds=25), 5)  # 14:07:35 .. 14:08:25
    assert {r["timestamp"][14:16] for r in records} == {"07", "08"}
    scan = engine().scan("p0", records)
    assert counts(scan)[("error_rate", "trading-engine")] == 11


def test_ten_errors_across_a_minute_boundary_do_not(make_record) -> None:  # type: ignore[no-untyped-def]
    records = burst(make_record, 10, BOUNDARY - timedelta(seconds=25), 5)
    assert "error_rate" not in {rule for rule, _ in counts(engine().scan("p0", records))}


def test_eleven_errors_spread_over_more_than_a_minute_do_not(make_record) -> None:  # type: ignore[no-untyped-def]
    records = burst(make_record, 11, BOUNDARY - timedelta(seconds=30), 6.1)  # 61 s apart end to end
    assert "error_rate" not in {rule for rule, _ in counts(engine().scan("p0", records))}


def test_burst_split_over_batches_alerts_once_the_first_is_committed(make_record) -> None:  # type: ignore[no-untyped-def]
    analyzer = engine()
    records = burst(make_record, 12, BOUNDARY - timedelta(seconds=3), 0.5)
    analyzer.commit(analyzer.scan("p0", records[:6]))
    second = analyzer.scan("p0", records[6:])
    assert counts(second)[("error_rate", "trading-engine")] == 12  # 11 when it passed, then 1
    analyzer.commit(second)
    later = analyzer.scan("p0", burst(make_record, 1, BOUNDARY + timedelta(seconds=3), 1))
    assert counts(later)[("error_rate", "trading-engine")] == 1


def test_window_seconds_of_the_rule(make_record) -> None:  # type: ignore[no-untyped-def]
    document = {
        "rules": [
            {"name": "error_rate", "type": "error_rate", "threshold": 3, "window_seconds": 10}
        ]
    }
    spread = burst(make_record, 4, BOUNDARY, 3.4)  # 10.2 s end to end
    assert not counts(engine(document).scan("p0", spread))
    tight = burst(make_record, 4, BOUNDARY, 3)  # 9 s
    assert counts(engine(document).scan("p0", tight))[("error_rate", "trading-engine")] == 4


def metric(make: Callable[..., dict[str, Any]], service: str, seconds: float, **values: Any):  # type: ignore[no-untyped-def]
    return make(service=service, timestamp=BOUNDARY + timedelta(seconds=seconds), extra_data=values)


def test_default_system_metric_rules() -> None:
    ruleset = rules.load(Settings())
    got = {(r.name, r.field, r.fn, r.op, r.value, r.severity) for r in ruleset.threshold}
    assert got == {
        ("high_cpu", "cpu_percent", "avg", ">", 80, "warning"),
        ("high_memory", "memory_percent", "avg", ">", 85, "warning"),
        ("disk_full", "disk_percent", "avg", ">", 90, "critical"),
    }


def test_cpu_average_over_the_window_per_service(make_record) -> None:  # type: ignore[no-untyped-def]
    batch = [
        metric(make_record, "ai-processor", 0, cpu_percent=70),
        metric(make_record, "ai-processor", 60, cpu_percent=95),  # avg 82.5 > 80
        metric(make_record, "api-gateway", 0, cpu_percent=79),
        metric(make_record, "api-gateway", 60, cpu_percent=81),  # avg 80, not more
        metric(make_record, "telegram-bot", 0, cpu_percent=100, memory_percent=85, disk_percent=91),
    ]
    found = counts(engine().scan("p0", batch))
    assert found == {
        ("high_cpu", "ai-processor"): 1,
        ("high_cpu", "telegram-bot"): 1,
        ("disk_full", "telegram-bot"): 1,
    }


def test_old_samples_leave_the_window(make_record) -> None:  # type: ignore[no-untyped-def]
    analyzer = engine()
    analyzer.commit(analyzer.scan("p0", [metric(make_record, "ai-processor", 0, cpu_percent=10)]))
    inside = analyzer.scan("p0", [metric(make_record, "ai-processor", 299, cpu_percent=120)])
    assert not counts(inside)  # avg 65
    outside = analyzer.scan("p0", [metric(make_record, "ai-processor", 300, cpu_percent=120)])
    assert counts(outside) == {("high_cpu", "ai-processor"): 1}


def test_threshold_over_a_nested_path_with_another_function(make_record) -> None:  # type: ignore[no-untyped-def]
    document = {
        "rules": [
            {
                "name": "slippage",
                "type": "threshold",
                "field": "fill.slippage_bps",
                "fn": "max",
                "op": ">=",
                "value": 50,
                "window_seconds": 60,
                "services": ["trading-engine"],
                "severity": "high",
            }
        ],
        "defaults": False,
    }
    batch = [
        metric(make_record, "trading-engine", 0, fill={"slippage_bps": 12}),
        metric(make_record, "trading-engine", 1, fill={"slippage_bps": "50"}),  # text: ignored
        metric(make_record, "trading-engine", 2, fill={"slippage_bps": 50}),
        metric(make_record, "exchange-connector", 3, fill={"slippage_bps": 99}),
    ]
    assert counts(engine(document).scan("p0", batch)) == {("slippage", "trading-engine"): 1}


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        ({"name": "t", "type": "threshold", "value": 1}, "'field'"),
        ({"name": "t", "type": "threshold", "field": "x"}, "'value'"),
        ({"name": "t", "type": "threshold", "field": "x", "value": 1, "fn": "p95"}, "'fn'"),
        ({"name": "t", "type": "threshold", "field": "x", "value": 1, "op": "=>"}, "'op'"),
        ({"name": "t", "type": "threshold", "field": "a..b", "value": 1}, "'field'"),
        ({"name": "t", "type": "threshold", "field": "x", "value": "high"}, "'value'"),
        (
            {"name": "t", "type": "threshold", "field": "x", "value": 1, "window_seconds": 0},
            "window",
        ),
    ],
)
def test_bad_threshold_rules_are_refused_naming_the_rule(
    rule: dict[str, Any], message: str
) -> None:
    with pytest.raises(rules.RuleError, match=rf"'t'.*{message}"):
        engine([rule])
