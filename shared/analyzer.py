"""The stream analyzer: every rule evaluated in one pass over a batch of records, with the
windowed rules (error rate and thresholds per service over a sliding window of per-second
buckets, sequence gaps) kept in memory per partition. Events of one service share a partition,
so each window is exact.

`scan` does not change the analyzer's state: it returns a `Scan` holding the hits and the new
window counts, and `commit` applies those once the hits are safely stored. A batch that fails to
store is retried against unchanged state, so it never counts twice."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from shared import sliding
from shared.alerts import SAMPLE_LIMIT, Hit
from shared.records import REDACTED_COUNTS
from shared.rules import Rule, RuleSet
from shared.timeparse import instant

WINDOW_HISTORY = 1
"""Whole windows per rule and service kept in memory behind the newest second seen, for
records that arrive late."""
UNKNOWN_SERVICE = "unknown"
MAX_PROCESSES = 100_000
"""Sequence numbers remembered per partition; past this the least recently seen half goes."""


@dataclass(slots=True)
class _Tally:
    """Hits of one rule for one service within a scan."""

    rule: Rule
    service: str
    count: int = 0
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    sample_ids: list[str] = field(default_factory=list)

    def add(self, record: Mapping[str, Any], count: int = 1) -> None:
        self.count += count
        moment = instant(record.get("timestamp")) or datetime.now(UTC)
        if self.first_seen is None or moment < self.first_seen:
            self.first_seen = moment
        if self.last_seen is None or moment > self.last_seen:
            self.last_seen = moment
        record_id = record.get("id")
        if record_id is not None and len(self.sample_ids) < SAMPLE_LIMIT:
            self.sample_ids.append(str(record_id))

    def hit(self) -> Hit:
        assert self.first_seen is not None and self.last_seen is not None
        return Hit(
            rule=self.rule.name,
            service=self.service,
            severity=self.rule.severity,
            description=self.rule.description,
            action=self.rule.action,
            count=self.count,
            first_seen=self.first_seen,
            last_seen=self.last_seen,
            sample_ids=tuple(self.sample_ids),
            quiet_period=self.rule.quiet_period,
        )


WindowKey = sliding.Key
"""(rule, service, second since the epoch): one per-second bucket."""
AlertKey = tuple[str, str]
"""(rule, service)."""
SequenceKey = tuple[str, str, str]
"""(rule, service, process)."""


@dataclass(slots=True)
class PartitionState:
    windows: dict[WindowKey, int] = field(default_factory=dict)
    metrics: dict[WindowKey, sliding.Metric] = field(default_factory=dict)
    over_since: dict[AlertKey, datetime] = field(default_factory=dict)
    """The last record that found a service's error count over its threshold."""
    sequences: dict[SequenceKey, int] = field(default_factory=dict)
    prune_at: int = 1024
    """Window count at which old windows are next forgotten (doubles with the live set)."""


@dataclass(slots=True)
class Scan:
    """What a batch found, not yet applied to the analyzer's state."""

    partition: str
    records: int = 0
    tallies: dict[tuple[str, str], _Tally] = field(default_factory=dict)
    windows: dict[WindowKey, int] = field(default_factory=dict)
    metrics: dict[WindowKey, sliding.Metric] = field(default_factory=dict)
    over_since: dict[AlertKey, datetime] = field(default_factory=dict)
    sequences: dict[SequenceKey, int] = field(default_factory=dict)
    heard_raw: dict[str, Any] = field(default_factory=dict)

    def hits(self) -> list[Hit]:
        return [t.hit() for t in self.tallies.values() if t.count > 0]

    def heard(self) -> dict[str, datetime]:
        """When each service in the batch was last heard from (its last record's ingest time,
        else its timestamp, else now)."""
        now = datetime.now(UTC)
        return {service: instant(raw) or now for service, raw in self.heard_raw.items()}

    def tally(self, rule: Rule, service: str) -> _Tally:
        key = (rule.name, service)
        found = self.tallies.get(key)
        if found is None:
            found = self.tallies[key] = _Tally(rule, service)
        return found


class Analyzer:
    """The rules of one process, and the window state of each partition it has read."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.ruleset = ruleset
        self.partitions: dict[str, PartitionState] = {}

    def state(self, partition: str) -> PartitionState:
        found = self.partitions.get(partition)
        if found is None:
            found = self.partitions[partition] = PartitionState()
        return found

    def scan(self, partition: str, records: Iterable[Mapping[str, Any]]) -> Scan:
        """Evaluate every rule over these records, in order, without changing state."""
        rs = self.ruleset
        state = self.state(partition)
        result = Scan(partition=partition)
        field_sets = rs.field_sets
        error_rate = rs.error_rate
        slow_response = rs.slow_response
        sequence_gap = rs.sequence_gap
        threshold = rs.threshold
        secret_leak = rs.secret_leak
        heard = result.heard_raw
        count = 0
        for record in records:
            count += 1
            service = record.get("service") or UNKNOWN_SERVICE
            heard[service] = record.get("received_at") or record.get("timestamp")
            level_no = record.get("level_no") or 0
            matched: set[Rule] | None = None
            for name, matcher, members in field_sets:
                text = record.get(name)
                if text and isinstance(text, str):
                    indices = matcher.Match(text)
                    if indices:
                        if matched is None:
                            matched = set()
                        matched.update(members[i] for i in indices)
            if matched:
                for rule in matched:
                    if level_no >= rule.min_level_no and rule.applies_to(service):
                        result.tally(rule, service).add(record)
            if error_rate:
                for rule in error_rate:
                    if level_no >= rule.min_level_no and rule.applies_to(service):
                        self._count_error(rule, service, record, state, result)
            if slow_response or sequence_gap or threshold:
                extra = record.get("extra_data")
                if extra and isinstance(extra, dict):
                    for rule in slow_response:
                        value = extra.get(rule.field)
                        if (
                            isinstance(value, int | float)
                            and not isinstance(value, bool)
                            and value > rule.threshold_ms
                            and rule.applies_to(service)
                        ):
                            result.tally(rule, service).add(record)
                    for rule in sequence_gap:
                        self._check_sequence(rule, service, extra, record, state, result)
                    for rule in threshold:
                        if rule.applies_to(service):
                            self._check_threshold(rule, service, extra, record, state, result)
            if secret_leak and REDACTED_COUNTS in record:
                self._count_leaks(secret_leak, service, record, result)
        result.records = count
        return result

    @staticmethod
    def _count_leaks(
        rules: tuple[Rule, ...], service: str, record: Mapping[str, Any], result: Scan
    ) -> None:
        counts = record.get(REDACTED_COUNTS)
        if not isinstance(counts, dict):
            return
        found = sum(n for n in counts.values() if isinstance(n, int) and not isinstance(n, bool))
        if found <= 0:
            return
        for rule in rules:
            if found >= rule.threshold and rule.applies_to(service):
                result.tally(rule, service).add(record, found)

    @staticmethod
    def _count_error(
        rule: Rule,
        service: str,
        record: Mapping[str, Any],
        state: PartitionState,
        result: Scan,
    ) -> None:
        moment = instant(record.get("timestamp"))
        if moment is None:
            return
        at = sliding.second(moment)
        key = (rule.name, service, at)
        seen = result.windows.get(key)
        if seen is None:
            seen = state.windows.get(key, 0)
        result.windows[key] = seen + 1
        in_window = sliding.count_in_window(
            rule.name, service, at, rule.window_seconds, result.windows, state.windows
        )
        if in_window <= rule.threshold:
            return
        over = (rule.name, service)
        last = result.over_since.get(over) or state.over_since.get(over)
        continuing = last is not None and abs((moment - last).total_seconds()) < rule.window_seconds
        result.tally(rule, service).add(record, 1 if continuing else in_window)
        if last is None or moment > last:
            result.over_since[over] = moment

    @staticmethod
    def _check_threshold(
        rule: Rule,
        service: str,
        extra: Mapping[str, Any],
        record: Mapping[str, Any],
        state: PartitionState,
        result: Scan,
    ) -> None:
        value: Any = extra
        for key in rule.path:
            value = value.get(key) if isinstance(value, Mapping) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            return
        moment = instant(record.get("timestamp"))
        if moment is None:
            return
        at = sliding.second(moment)
        bucket = (rule.name, service, at)
        own = result.metrics.get(bucket) or state.metrics.get(bucket) or sliding.EMPTY
        result.metrics[bucket] = sliding.merge(own, float(value))
        summary = sliding.metric_in_window(
            rule.name, service, at, rule.window_seconds, result.metrics, state.metrics
        )
        if sliding.COMPARE[rule.op](sliding.value_of(summary, rule.fn), rule.value):
            result.tally(rule, service).add(record)

    @staticmethod
    def _check_sequence(
        rule: Rule,
        service: str,
        extra: Mapping[str, Any],
        record: Mapping[str, Any],
        state: PartitionState,
        result: Scan,
    ) -> None:
        seq = extra.get(rule.seq_field)
        if not isinstance(seq, int) or isinstance(seq, bool) or not rule.applies_to(service):
            return
        key = (rule.name, service, str(extra.get(rule.process_field, "")))
        last = result.sequences.get(key, state.sequences.get(key))
        if last is None or seq > last or seq <= 1:
            result.sequences[key] = seq
        if last is not None and seq > last + 1:
            result.tally(rule, service).add(record, seq - last - 1)

    def commit(self, scan: Scan) -> None:
        """Apply a stored scan's window counts, forgetting windows long past."""
        state = self.state(scan.partition)
        state.windows.update(scan.windows)
        state.metrics.update(scan.metrics)
        state.over_since.update(scan.over_since)
        for key, seq in scan.sequences.items():
            state.sequences.pop(key, None)
            state.sequences[key] = seq
        if len(state.sequences) > MAX_PROCESSES:
            for key in list(state.sequences)[: len(state.sequences) - MAX_PROCESSES // 2]:
                del state.sequences[key]
        held = len(state.windows) + len(state.metrics)
        if held >= state.prune_at:
            self._prune(state)
            state.prune_at = max(1024, 2 * (len(state.windows) + len(state.metrics)))

    def _prune(self, state: PartitionState) -> None:
        windows = {r.name: r.window_seconds for r in self.ruleset.rules}
        state.windows = sliding.keep_recent(state.windows, windows, WINDOW_HISTORY)
        state.metrics = sliding.keep_recent(state.metrics, windows, WINDOW_HISTORY)
