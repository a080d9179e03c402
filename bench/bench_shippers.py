"""The shipper protocols' cost beside POST /api/logs: the same realistic records sent as
Elasticsearch bulk, Loki push (JSON and snappy protobuf) and Seq CLEF bodies, each parsed,
mapped, normalised, redacted and serialised, measured side by side in one run against the
NDJSON body of POST /api/logs."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import cramjam
import orjson

from bench.bench_ingest import RECORDS_PER_BODY, cpu_rate, make_bodies
from shared import clef, elastic, ingest, loki
from shared.access import Caller, Role
from shared.settings import Settings
from tests.shippers.push_proto import push_request

TARGET_RATIO = 0.6
"""Each protocol keeps at least this share of POST /api/logs' rate: its own mapping may cost
something, the record's work is the same."""


def _ns(record: dict[str, Any]) -> int:
    moment = datetime.fromisoformat(record["timestamp"])
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def as_bulk(records: list[dict[str, Any]]) -> bytes:
    lines = []
    for r in records:
        doc = dict(r)
        doc["@timestamp"] = doc.pop("timestamp")
        lines += [b'{"create":{"_index":"bots"}}', orjson.dumps(doc)]
    return b"\n".join(lines) + b"\n"


def _loki_streams(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    by_service: dict[str, list[dict[str, Any]]] = {}
    for r in records:
        line = {k: v for k, v in r.items() if k not in ("timestamp", "service", "level")}
        by_service.setdefault(r["service"], []).append({**r, "line": orjson.dumps(line).decode()})
    return by_service


def as_loki_json(records: list[dict[str, Any]]) -> bytes:
    streams = [
        {
            "stream": {"service": service, "level": rs[0]["level"]},
            "values": [[str(_ns(r)), r["line"]] for r in rs],
        }
        for service, rs in _loki_streams(records).items()
    ]
    return orjson.dumps({"streams": streams})


def as_loki_protobuf(records: list[dict[str, Any]]) -> bytes:
    streams = [
        (f'{{service="{service}"}}', [(_ns(r), r["line"], {}) for r in rs])
        for service, rs in _loki_streams(records).items()
    ]
    return bytes(cramjam.snappy.compress_raw(push_request(streams)))


def as_clef(records: list[dict[str, Any]]) -> bytes:
    lines = []
    for r in records:
        event = {k: v for k, v in r.items() if k not in ("timestamp", "level", "message")}
        event.update({"@t": r["timestamp"], "@l": r["level"], "@m": r["message"]})
        lines.append(orjson.dumps(event))
    return b"\n".join(lines) + b"\n"


def interleaved_rates(
    workloads: dict[str, tuple[Callable[[bytes], Any], list[bytes]]], rounds: int = 9
) -> dict[str, float]:
    """Records per CPU second of each workload's median round, the workloads taking turns
    within every round so that a change in the machine's load touches them all alike."""
    times: dict[str, list[float]] = {name: [] for name in workloads}
    for _ in range(rounds):
        for name, (work, bodies) in workloads.items():
            started = time.process_time()
            for body in bodies:
                work(body)
            times[name].append(time.process_time() - started)
    return {
        name: len(workloads[name][1]) * RECORDS_PER_BODY / statistics.median(spent)
        for name, spent in times.items()
    }


def main() -> bool:
    now = datetime.now(UTC)
    settings = Settings()
    caller = Caller(name="bench", role=Role.INGEST)
    records = [orjson.loads(b) for b in make_bodies(now)]
    nd_headers = {"Content-Type": "application/x-ndjson"}
    workloads: dict[str, tuple[Callable[[bytes], Any], list[bytes]]] = {
        "POST /logs NDJSON": (
            lambda b: ingest.parse_request(b, nd_headers, caller, settings, now),
            [b"\n".join(orjson.dumps(r) for r in rs) for rs in records],
        ),
        "Elasticsearch bulk": (
            lambda b: elastic.parse(b, nd_headers, None, caller, settings, now),
            [as_bulk(rs) for rs in records],
        ),
        "Loki JSON": (
            lambda b: loki.parse(b, {"Content-Type": loki.JSON}, caller, settings, now),
            [as_loki_json(rs) for rs in records],
        ),
        "Loki snappy protobuf": (
            lambda b: loki.parse(b, {"Content-Type": loki.PROTOBUF}, caller, settings, now),
            [as_loki_protobuf(rs) for rs in records],
        ),
        "Seq CLEF": (
            lambda b: clef.parse(b, {"Content-Type": clef.CLEF_TYPE}, caller, settings, now),
            [as_clef(rs) for rs in records],
        ),
    }
    for name, (work, bodies) in workloads.items():
        accepted = work(bodies[0])
        accepted = accepted.batch if isinstance(accepted, elastic.BulkResult) else accepted
        assert len(accepted.accepted) == RECORDS_PER_BODY, (name, accepted.rejected[:3])
        cpu_rate(work, bodies[:2])  # warm caches and allocators
    rates = interleaved_rates(workloads)
    base = rates["POST /logs NDJSON"]
    print(f"{len(records)} bodies x {RECORDS_PER_BODY} records, the same records in each protocol")
    print(f"{'workload (CPU time)':<22} {'records/s':>12} {'µs/record':>10} {'vs POST /logs':>14}")
    for name, rate in rates.items():
        print(f"{name:<22} {rate:>12,.0f} {1e6 / rate:>10.2f} {rate / base:>13.2f}x")
    worst = min(rate / base for rate in rates.values())
    print(
        f"slowest protocol / POST /logs: {worst:.2f}; target >= {TARGET_RATIO}: "
        f"{'met' if worst >= TARGET_RATIO else 'MISSED'}"
    )
    return worst >= TARGET_RATIO


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
