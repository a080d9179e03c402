"""The one retry and dead-letter policy of every sink (store, archive, analyze, notify).

A sink's work on a batch either succeeds or raises. What happens then is decided here:

- **Retry**: before the final attempt the error propagates, so the Functions host retries the
  batch under the function's retry policy (every sink is idempotent, so a retry is safe).
- **Final attempt: dead-letter with the reason.** On the final attempt the batch is written as
  one dead letter (`shared.deadletter`) with the sink, the reason, the attempt count and where
  it came from, so `shared.replay` can send it back to the same sink later. Raising there would
  only make the host checkpoint past the batch.

Which attempt is final (`Attempt.final`):

| retry context | final when |
|---|---|
| `max_retry_count > 0` | `retry_count >= max_retry_count`: the host's retries are spent |
| `max_retry_count < 0` (unlimited) | never: every failure is retried by the host |
| `max_retry_count == 0`, or no retry context | every attempt: the host will not retry |

With no retries from the host (the last row), a first transient error must not dead-letter the
batch at once: the work is retried here, in the invocation, with backoff (1 s doubling to 30 s)
for up to `FINAL_ATTEMPT_HOLD_SECONDS`, and dead-lettered only when that time is over. When the
host's retries are spent, the batch is dead-lettered at the first failure. Either way, if Blob
Storage refuses the dead letter too, work and dead letter are tried again with backoff until
`FINAL_ATTEMPT_HOLD_SECONDS` has passed; only then does the error propagate (the events are
still in Event Hubs for its retention period).

An error no retry can cure (a notification channel answering 400) is dead-lettered at once:
`gives_up(attempt, permanent=True)`."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar

from shared import deadletter
from shared.eventbatch import EventBatch
from shared.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")

FIRST_DELAY_SECONDS = 1.0
MAX_DELAY_SECONDS = 30.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """Where an invocation stands in its retry policy, as the host's retry context says."""

    retry_count: int = 0
    """Retries before this attempt (0 on the first delivery)."""
    max_retry_count: int = 0
    """The policy's maximum: -1 unlimited, 0 none (or no policy at all)."""

    @property
    def number(self) -> int:
        """This attempt, counted from 1."""
        return self.retry_count + 1

    @property
    def host_retries(self) -> bool:
        """Whether the host retries a failed invocation at all."""
        return self.max_retry_count != 0

    @property
    def final(self) -> bool:
        """Whether a failure now is the batch's last: the host will not retry it."""
        if self.max_retry_count < 0:
            return False
        return self.retry_count >= self.max_retry_count


def gives_up(attempt: Attempt, permanent: bool = False) -> bool:
    """The one decision: True to dead-letter now (the final attempt, or an error no retry can
    cure), False to retry."""
    return permanent or attempt.final


def reason_of(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def backoff(delay: float) -> float:
    """The pause after `delay`: doubled, at most MAX_DELAY_SECONDS."""
    return min(delay * 2, MAX_DELAY_SECONDS)


async def dead_letter_batch(
    settings: Settings, sink: str, batch: EventBatch, reason: str, attempts: int
) -> str:
    """The batch as one dead letter under a name fixed by the batch (a repeated write replaces
    its own letter), filed under the hour it was enqueued."""
    return await deadletter.write(
        settings,
        sink,
        reason,
        list(batch.bodies),
        attempts=attempts,
        key=f"{batch.key()}.batch",
        at=batch.enqueued_at,
        details=batch.details(),
    )


async def settle(
    settings: Settings,
    sink: str,
    batch: EventBatch,
    attempt: Attempt,
    work: Callable[[], Awaitable[T]],
    dead_lettered: Callable[[str], T],
) -> T:
    """`work()`, under the policy above. On the final attempt a batch that cannot be processed
    is dead-lettered and `dead_lettered(blob name)` is returned instead of raising."""
    if not attempt.final:
        return await work()
    deadline = time.monotonic() + settings.final_attempt_hold_seconds
    delay = FIRST_DELAY_SECONDS
    tries = 0
    while True:
        tries += 1
        try:
            return await work()
        except Exception as exc:
            error = exc
        out_of_time = time.monotonic() + delay > deadline
        if attempt.host_retries or out_of_time:
            reason = (
                f"{sink} failed after {attempt.number} attempts: {reason_of(error)}"
                if attempt.host_retries
                else f"{sink} failed {tries} times in this attempt: {reason_of(error)}"
            )
            try:
                name = await dead_letter_batch(settings, sink, batch, reason, attempt.number)
            except Exception as refused:
                if out_of_time:
                    log.error("%s: batch %s and its dead letter both failed", sink, batch.key())
                    raise
                log.warning("%s: dead letter refused too: %s", sink, reason_of(refused))
            else:
                log.error(
                    "%s dead-lettered %d events as %s: %s", sink, len(batch.bodies), name, reason
                )
                return dead_lettered(name)
        log.warning("%s: %s; trying again in %.0f s", sink, reason_of(error), delay)
        await asyncio.sleep(delay)
        delay = backoff(delay)
