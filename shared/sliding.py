"""Sliding windows in per-second buckets, for the analyzer's windowed rules.

A record at second `s` (since the epoch, of its timestamp) is judged on the window
`(s - window_seconds, s]`: the buckets of the `window_seconds` seconds ending with its own.
Counts (error rate) and metric summaries (threshold: count, sum, min, max per second) merge
across buckets, so the window slides a second at a time instead of jumping by calendar
minutes. Buckets come from two layers: a scan's own (not yet committed) over the partition's
committed ones."""

from __future__ import annotations

import math
import operator
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TypeVar

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

Key = tuple[str, str, int]
"""(rule, service, second since the epoch)."""
Metric = tuple[int, float, float, float]
"""(count, sum, min, max) of the values of one second."""
EMPTY: Metric = (0, 0.0, math.inf, -math.inf)

COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "=": operator.eq,
    "!=": operator.ne,
}

T = TypeVar("T")


def second(moment: datetime) -> int:
    return math.floor((moment - _EPOCH).total_seconds())


def _get(key: Key, own: Mapping[Key, T], committed: Mapping[Key, T], default: T) -> T:
    found = own.get(key)
    if found is None:
        found = committed.get(key, default)
    return found


def count_in_window(
    rule: str,
    service: str,
    at: int,
    window_seconds: int,
    own: Mapping[Key, int],
    committed: Mapping[Key, int],
) -> int:
    """Records counted in the seconds (at - window_seconds, at]."""
    return sum(
        _get((rule, service, s), own, committed, 0) for s in range(at - window_seconds + 1, at + 1)
    )


def merge(metric: Metric, value: float) -> Metric:
    n, total, low, high = metric
    return (n + 1, total + value, min(low, value), max(high, value))


def metric_in_window(
    rule: str,
    service: str,
    at: int,
    window_seconds: int,
    own: Mapping[Key, Metric],
    committed: Mapping[Key, Metric],
) -> Metric:
    n, total, low, high = EMPTY
    for s in range(at - window_seconds + 1, at + 1):
        bucket = _get((rule, service, s), own, committed, EMPTY)
        if bucket[0]:
            n += bucket[0]
            total += bucket[1]
            low = min(low, bucket[2])
            high = max(high, bucket[3])
    return (n, total, low, high)


def value_of(metric: Metric, fn: str) -> float:
    """fn (count, sum, avg, min, max) of a window's summary; a window holds at least one value."""
    n, total, low, high = metric
    return {"count": float(n), "sum": total, "avg": total / n, "min": low, "max": high}[fn]


def keep_recent(buckets: dict[Key, T], windows: Mapping[str, int], slack: int) -> dict[Key, T]:
    """The buckets still inside their rule's window (plus `slack` windows for records that
    arrive late) behind the newest second seen for the same rule and service."""
    newest: dict[tuple[str, str], int] = {}
    for rule, service, at in buckets:
        if at > newest.get((rule, service), -(2**62)):
            newest[(rule, service)] = at
    return {
        k: v
        for k, v in buckets.items()
        if k[2] > newest[(k[0], k[1])] - windows.get(k[0], 60) * (1 + slack)
    }
