"""What the one consumer seam costs per record, beside what the Python worker already pays.

For each 500-event batch of realistic records, shaped as the Functions host sends it
(`collection_bytes`, `SystemPropertiesArray` with the `x-opt-*` keys and the SDK's, 7-digit
enqueued times, `PartitionContext` as JSON), one run times side by side, alternating the order,
best of 7 rounds:

1. the worker's own converter (`EventHubTriggerConverter.decode`) building the EventHubEvents:
   what every Event Hub function pays before its code runs, in Azure as in the dev host;
2. the consumer seam (`functions.consumer.batch`) turning those events into the plain batch
   every sink is handed.

The target: the seam adds at most a tenth of what the worker's converter costs."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from azure.functions import meta
from azure.functions.eventhub import EventHubTriggerConverter

from bench.archive_data import bodies, records
from functions import consumer

BATCH = 500
BATCHES = 8
ROUNDS = 7
TARGET_RATIO = 0.10


def host_data(batch: list[bytes], first: int, start: datetime) -> tuple[meta.Datum, dict]:
    system = []
    for i in range(len(batch)):
        moment = start + timedelta(microseconds=1234 * i)
        stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f") + "7Z"
        number = first + i
        system.append(
            {
                "x-opt-sequence-number": number,
                "x-opt-offset": str(number * 600),
                "x-opt-enqueued-time": stamp,
                "x-opt-partition-key": "trading-engine",
                "SequenceNumber": number,
                "Offset": str(number * 600),
                "PartitionKey": "trading-engine",
                "EnqueuedTimeUtc": stamp,
            }
        )
    context = {
        "FullyQualifiedNamespace": "ns.servicebus.windows.net",
        "EventHubName": "logs",
        "ConsumerGroup": "archive",
        "PartitionId": "3",
    }
    metadata = {
        "PartitionContext": meta.Datum(json.dumps(context), "json"),
        "SystemPropertiesArray": meta.Datum(json.dumps(system), "json"),
    }
    return meta.Datum(SimpleNamespace(bytes=batch), "collection_bytes"), metadata


def best(seconds: list[float]) -> float:
    return min(seconds)


def main() -> bool:
    start = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    items = records(BATCH * BATCHES, start=start, seed=42)
    inputs = [
        host_data(bodies(items[n * BATCH : (n + 1) * BATCH]), n * BATCH, start)
        for n in range(BATCHES)
    ]
    convert_total = seam_total = 0.0
    for data, metadata in inputs:
        convert: list[float] = []
        seam: list[float] = []
        for round_ in range(ROUNDS):
            steps = ("convert", "seam") if round_ % 2 == 0 else ("seam", "convert")
            events = EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
            for step in steps:
                if step == "convert":
                    began = time.perf_counter()
                    EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
                    convert.append(time.perf_counter() - began)
                else:
                    fresh = EventHubTriggerConverter.decode(data, trigger_metadata=metadata)
                    began = time.perf_counter()
                    batch = consumer.batch(fresh, "logs")
                    seam.append(time.perf_counter() - began)
            assert list(batch.sequence_numbers) == [e.sequence_number for e in events]
            assert batch.partition == "3"
        convert_total += best(convert)
        seam_total += best(seam)
    records_timed = BATCH * BATCHES
    ratio = seam_total / convert_total
    rows = [
        ("worker converter (EventHubEvents from host data)", convert_total, 1.0),
        ("consumer seam (EventBatch from the events)", seam_total, ratio),
    ]
    print(f"{records_timed:,} records in {BATCHES} batches of {BATCH}, best of {ROUNDS} rounds")
    print(f"{'step':<50} {'us/record':>10} {'ratio':>7}")
    for name, total, share in rows:
        print(f"{name:<50} {total / records_timed * 1e6:>10.2f} {share:>7.3f}")
    met = ratio <= TARGET_RATIO
    verdict = "met" if met else "MISSED"
    print(f"seam / converter: {ratio:.3f} (target <= {TARGET_RATIO:.2f}): {verdict}")
    return met


if __name__ == "__main__":
    main()
