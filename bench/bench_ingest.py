"""Ingest throughput on one core: parse + validate + normalise + redact + serialise of
realistic 500-record request bodies, beside plain `orjson.loads` and `json.loads` of the same
bodies measured in the same run."""

from __future__ import annotations

import contextlib
import gzip
import json
import random
import statistics
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from bench import redaction_before
from shared import ingest, records, redaction
from shared.access import Caller, Role
from shared.settings import Settings

TARGET_RECORDS_PER_SECOND = 100_000
RECORDS_PER_BODY = 500
BODIES = 8
ROUNDS = 7

SERVICES = (
    "api-gateway",
    "trading-engine",
    "ai-processor",
    "telegram-bot",
    "portfolio-manager",
    "exchange-connector",
)
LEVELS = (
    ("INFO", 50),
    ("DEBUG", 15),
    ("TRADE_EXECUTED", 10),
    ("SIGNAL_RECEIVED", 8),
    ("AI_DECISION", 6),
    ("WARNING", 6),
    ("RISK_ALERT", 2),
    ("ERROR", 3),
)
SECRETS = (
    "login ok password=hunter2-{n}",
    "calling exchange with Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ{n}In0.sig{n}",
    "card on file 4111 1111 1111 1111 for user {n}",
    "connect postgres://bot:s3cret{n}@db.internal:5432/trading",
)
SYMBOLS = ("BTCUSDT", "ETHUSDT", "SOLUSDT", "BNBUSDT", "XRPUSDT")


def realistic_record(
    rng: random.Random, now: datetime, n: int, secret_share: float = 0.05
) -> dict[str, Any]:
    """About 500 bytes serialised: a bot's order, signal or status line with context."""
    level = rng.choices([name for name, _ in LEVELS], [w for _, w in LEVELS])[0]
    service = rng.choice(SERVICES)
    symbol = rng.choice(SYMBOLS)
    price = round(rng.uniform(0.5, 70_000), 2)
    qty = round(rng.uniform(0.001, 5), 4)
    message = (
        f"{rng.choice(['Order filled', 'Signal received', 'Position updated', 'Quote'])} "
        f"{symbol} {rng.choice(['BUY', 'SELL'])} {qty} @ {price} "
        f"order {rng.randrange(10**11, 10**12)} latency {rng.randint(3, 900)} ms"
    )
    if rng.random() < secret_share:
        message = rng.choice(SECRETS).format(n=n)
    record: dict[str, Any] = {
        "timestamp": (now - timedelta(milliseconds=rng.randint(0, 60_000))).isoformat(),
        "level": level,
        "service": service,
        "logger_name": f"{service.replace('-', '_')}.core",
        "message": message,
        "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
        "event_type": rng.choice(["order", "signal", "heartbeat", "fill"]),
        "extra_data": {
            "symbol": symbol,
            "price": price,
            "qty": qty,
            "exchange": rng.choice(["binance", "bybit", "kraken"]),
            "strategy": rng.choice(["momentum", "mean_reversion", "grid"]),
            "trade_hash": f"{rng.getrandbits(256):064x}",
            "fees": {"maker": 0.001, "taker": 0.0015},
        },
    }
    if rng.random() < 0.3:
        record["user_id"] = f"user-{rng.randint(1, 500)}"
        record["ip_address"] = f"10.0.{rng.randint(0, 3)}.{rng.randint(1, 254)}"
    if level == "ERROR":
        record["exception_type"] = "TimeoutError"
        record["exception_message"] = "exchange did not answer within 5 s"
    return record


PINO_LEVELS = {"DEBUG": 20, "INFO": 30, "WARNING": 40, "ERROR": 50}


def as_pino(record: dict[str, Any]) -> dict[str, Any]:
    """The same record as pino writes it: msg, time in epoch ms, a numeric level, pid and
    hostname, name for the logger, bindings at top level: every alias path of ingest runs."""
    moment = datetime.fromisoformat(record["timestamp"])
    pino: dict[str, Any] = {
        "level": PINO_LEVELS.get(record["level"], 30),
        "time": int(moment.timestamp() * 1000),
        "pid": 4242,
        "hostname": "bot-host-1",
        "name": record["logger_name"],
        "service": record["service"],
        "msg": record["message"],
        "reqId": record["request_id"],
        **record["extra_data"],
    }
    if "user_id" in record:
        pino["userId"] = record["user_id"]
    if "exception_type" in record:
        pino["err"] = {
            "type": record["exception_type"],
            "message": record["exception_message"],
            "stack": f"{record['exception_type']}: {record['exception_message']}\n    at x",
        }
    return pino


def make_pino_bodies(bodies: list[bytes]) -> list[bytes]:
    return [orjson.dumps([as_pino(r) for r in orjson.loads(b)]) for b in bodies]


def make_bodies(now: datetime, secret_share: float = 0.05) -> list[bytes]:
    rng = random.Random(7)
    return [
        orjson.dumps(
            [
                realistic_record(rng, now, b * RECORDS_PER_BODY + i, secret_share)
                for i in range(RECORDS_PER_BODY)
            ]
        )
        for b in range(BODIES)
    ]


def cpu_rate(work: Callable[[bytes], Any], bodies: list[bytes]) -> float:
    """Records per CPU second of the median round: CPU time is what one core spends, and
    unlike wall time it does not count the moments other processes on the machine hold it."""
    times = []
    for _ in range(ROUNDS):
        started = time.process_time()
        for body in bodies:
            work(body)
        times.append(time.process_time() - started)
    return len(bodies) * RECORDS_PER_BODY / statistics.median(times)


@contextlib.contextmanager
def redaction_module(module: Any) -> Iterator[None]:
    """Ingest with another redaction module (the one before the wider redaction)."""
    saved = records.redaction, records._needs_a_closer_look
    records.redaction = module
    records._needs_a_closer_look = module.screen(r"\\u0000")
    try:
        yield
    finally:
        records.redaction, records._needs_a_closer_look = saved


def main() -> bool:
    now = datetime.now(UTC)
    settings = Settings()
    caller = Caller(name="bench", role=Role.INGEST)
    bodies = make_bodies(now)
    clean_bodies = make_bodies(now, secret_share=0.0)
    gz_bodies = [gzip.compress(b, 6) for b in bodies]
    json_headers = {"Content-Type": "application/json"}
    gz_headers = {**json_headers, "Content-Encoding": "gzip"}
    ndjson_bodies = [b"\n".join(orjson.dumps(r) for r in orjson.loads(b)) for b in bodies]
    nd_headers = {"Content-Type": "application/x-ndjson"}
    pino_bodies = make_pino_bodies(bodies)

    def ingest_json(body: bytes) -> Any:
        return ingest.parse_request(body, json_headers, caller, settings, now)

    def ingest_gzip(body: bytes) -> Any:
        return ingest.parse_request(body, gz_headers, caller, settings, now)

    def ingest_ndjson(body: bytes) -> Any:
        return ingest.parse_request(body, nd_headers, caller, settings, now)

    sample = ingest_json(bodies[0])
    assert sample.summary()["accepted"] == RECORDS_PER_BODY, sample.rejected[:3]
    pino_sample = ingest_json(make_pino_bodies(bodies[:1])[0])
    assert pino_sample.summary()["accepted"] == RECORDS_PER_BODY, pino_sample.rejected[:3]
    assert pino_sample.accepted[0]["logger_name"] == sample.accepted[0]["logger_name"]
    redacted = sum(b"[REDACTED" in body for _, body in sample.events)
    event_bytes = statistics.mean(len(body) for _, body in sample.events)
    input_bytes = len(bodies[0]) / RECORDS_PER_BODY

    for work, data in ((ingest_json, bodies), (orjson.loads, bodies)):
        cpu_rate(work, data[:2])  # warm caches and allocators
    with redaction_module(redaction_before):
        before = ingest_json(bodies[0])
        before_leaks = sum(b"[REDACTED" in body for _, body in before.events)
        before_rate = cpu_rate(ingest_json, bodies)
        before_clean = cpu_rate(ingest_json, clean_bodies)
    assert records.redaction is redaction
    rates = {
        "orjson.loads": cpu_rate(orjson.loads, bodies),
        "json.loads": cpu_rate(json.loads, bodies),
        "ingest JSON": cpu_rate(ingest_json, bodies),
        "  redaction before": before_rate,
        "  no secrets": cpu_rate(ingest_json, clean_bodies),
        "  no secrets, before": before_clean,
        "ingest NDJSON": cpu_rate(ingest_ndjson, ndjson_bodies),
        "ingest JSON gzip": cpu_rate(ingest_gzip, gz_bodies),
        "ingest pino shape": cpu_rate(ingest_json, pino_bodies),
    }
    base = rates["orjson.loads"]
    print(
        f"{BODIES} bodies x {RECORDS_PER_BODY} records, {input_bytes:.0f} B/record in, "
        f"{event_bytes:.0f} B/event out, {redacted} of {RECORDS_PER_BODY} records redacted"
    )
    print(
        f"{'workload (CPU time)':<20} {'records/s':>12} {'µs/record':>10} {'vs orjson.loads':>16}"
    )
    for name, rate in rates.items():
        print(f"{name:<20} {rate:>12,.0f} {1e6 / rate:>10.2f} {rate / base:>15.3f}x")
    ingest_rate = rates["ingest JSON"]
    print(
        f"wider redaction vs before: {ingest_rate / before_rate:.3f}x with secrets, "
        f"{rates['  no secrets'] / before_clean:.3f}x without; records redacted per "
        f"{RECORDS_PER_BODY}: {redacted} now, {before_leaks} before"
    )
    print(
        f"ingest JSON vs json.loads: {ingest_rate / rates['json.loads']:.2f}x; "
        f"target {TARGET_RECORDS_PER_SECOND:,} records/s: "
        f"{'met' if ingest_rate >= TARGET_RECORDS_PER_SECOND else 'MISSED'}"
    )
    return ingest_rate >= TARGET_RECORDS_PER_SECOND


if __name__ == "__main__":
    raise SystemExit(0 if main() else 1)
