"""One Event Hub batch as plain data: what every Event Hub-triggered sink is handed.

`functions/consumer.py` reads the host's batch and trigger metadata into it; the sinks, the
dead letters and replay use nothing else, so none of them knows the host's metadata shapes."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.timeparse import instant


@dataclass(frozen=True, slots=True)
class EventBatch:
    """One Event Hub batch as the trigger delivered it: bodies in partition order, with the
    sequence numbers and enqueued times the host gave (None where it gave none)."""

    event_hub: str
    partition: str
    bodies: Sequence[bytes]
    sequence_numbers: Sequence[int | None] = ()
    enqueued_times: Sequence[datetime | None] = ()
    partition_keys: Sequence[str | None] = ()

    @property
    def first_sequence(self) -> int | None:
        known = [s for s in self.sequence_numbers if s is not None]
        return min(known) if known else None

    @property
    def last_sequence(self) -> int | None:
        known = [s for s in self.sequence_numbers if s is not None]
        return max(known) if known else None

    @property
    def enqueued_at(self) -> datetime:
        """The earliest enqueued time (now when the host gave none)."""
        known = [t for t in self.enqueued_times if t is not None]
        moment = min(known) if known else datetime.now(UTC)
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def sequence_number(self, index: int) -> int | None:
        numbers = self.sequence_numbers
        return numbers[index] if index < len(numbers) else None

    def enqueued_time(self, index: int) -> datetime | None:
        times = self.enqueued_times
        return times[index] if index < len(times) else None

    def key(self) -> str:
        """A name for the batch that is the same on every retry: hub, partition and sequence
        range, or a hash of the bodies when the host gives no sequence numbers."""
        first, last = self.first_sequence, self.last_sequence
        if first is None or last is None or not self.partition:
            digest = hashlib.sha256(b"\n".join(bytes(b) for b in self.bodies)).hexdigest()[:16]
            return f"{self.event_hub}-p{self.partition or '_'}-{digest}"
        return f"{self.event_hub}-p{self.partition}-{first:06d}-{last:06d}"

    def details(self) -> dict[str, object]:
        """Where the batch came from, as kept with its dead letter (enough for replay to
        rebuild an archive blob name or the analyzer's partition)."""
        return {
            "event_hub": self.event_hub,
            "partition": self.partition,
            "first_sequence": self.first_sequence,
            "last_sequence": self.last_sequence,
            "enqueued_time": self.enqueued_at.isoformat(),
        }

    @classmethod
    def from_details(cls, details: dict[str, Any], bodies: Sequence[bytes], hub: str) -> EventBatch:
        """The batch a dead letter's `details` describe, holding `bodies`."""
        first, last = details.get("first_sequence"), details.get("last_sequence")
        return cls(
            event_hub=str(details.get("event_hub") or hub),
            partition=str(details.get("partition") or ""),
            bodies=bodies,
            sequence_numbers=[first, last],
            enqueued_times=[instant(details.get("enqueued_time"))],
        )
