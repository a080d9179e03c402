"""The one retry and dead-letter policy (`shared.sink_policy`), once, against real Azurite:
retry before the final attempt, dead-letter with the reason on it, retry in the invocation when
the host gives no retries, and hold the batch while Blob Storage refuses the dead letter."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import pytest

from shared import blob, deadletter, sink_policy
from shared.eventbatch import EventBatch
from shared.settings import Connection, Settings
from shared.sink_policy import Attempt, gives_up
from tests.archive.conftest import blob_names
from tests.conftest import free_port

ENQUEUED = datetime(2026, 11, 27, 14, 5, 9, tzinfo=UTC)
BATCH = EventBatch("logs", "3", [b'{"id":"a"}', b"not json"], [120, 121], [ENQUEUED, ENQUEUED])


@dataclass
class Work:
    """A sink's work that fails `failures` times with `error`, then returns "done"."""

    failures: int
    error: Exception
    calls: int = 0

    async def __call__(self) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error
        return "done"


async def settle(settings: Settings, attempt: Attempt, work: Work) -> str:
    return await sink_policy.settle(
        settings, "archive", BATCH, attempt, work, lambda letter: f"dead-lettered as {letter}"
    )


@pytest.fixture(autouse=True)
def quick(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sink_policy, "FIRST_DELAY_SECONDS", 0.02)


@pytest.mark.parametrize(
    ("attempt", "final"),
    [
        (Attempt(0, 12), False),
        (Attempt(12, 12), True),
        (Attempt(13, 12), True),
        (Attempt(500, -1), False),
        (Attempt(0, 0), True),
    ],
)
def test_which_attempt_is_final_and_the_one_decision(attempt: Attempt, final: bool) -> None:
    assert attempt.final is final
    assert gives_up(attempt) is final
    assert gives_up(attempt, permanent=True) is True


@pytest.mark.parametrize("attempt", [Attempt(3, 12), Attempt(11, 12), Attempt(40, -1)])
async def test_before_the_final_attempt_the_error_goes_to_the_host(
    storage: Settings, attempt: Attempt
) -> None:
    work = Work(1, ConnectionError("database restarting"))
    with pytest.raises(ConnectionError):
        await settle(storage, attempt, work)
    assert work.calls == 1
    assert await blob_names(storage, storage.deadletter_container) == []


async def test_spent_retries_dead_letter_the_batch_once_with_the_reason(storage: Settings) -> None:
    work = Work(99, OSError("archive container unavailable"))
    first = await settle(storage, Attempt(12, 12), work)
    again = await settle(storage, Attempt(12, 12), work)
    assert work.calls == 2, "no retries in the invocation once the host's are spent"
    expected = "archive/2026/11/27/14/logs-p3-000120-000121.batch.json"
    assert first == again == f"dead-lettered as {expected}"
    assert await blob_names(storage, storage.deadletter_container) == [expected]
    letter = await deadletter.read(storage, expected)
    assert (letter.sink, letter.attempts) == ("archive", 13)
    assert (
        letter.reason == "archive failed after 13 attempts: OSError: archive container unavailable"
    )
    assert [deadletter.raw_bytes(e) for e in letter.records] == list(BATCH.bodies)
    assert letter.details == BATCH.details()


async def test_with_no_host_retries_a_transient_error_is_retried_in_the_invocation(
    storage: Settings,
) -> None:
    work = Work(2, ConnectionError("too many clients"))
    patient = replace(storage, final_attempt_hold_seconds=10)
    assert await settle(patient, Attempt(0, 0), work) == "done"
    assert work.calls == 3
    assert await blob_names(storage, storage.deadletter_container) == []


async def test_with_no_host_retries_a_lasting_error_is_dead_lettered_after_the_hold(
    storage: Settings,
) -> None:
    work = Work(99, ConnectionError("too many clients"))
    patient = replace(storage, final_attempt_hold_seconds=0.5)
    started = time.monotonic()
    outcome = await settle(patient, Attempt(0, 0), work)
    assert 0.3 <= time.monotonic() - started < 3
    assert outcome.startswith("dead-lettered as archive/")
    assert work.calls >= 3
    (name,) = await blob_names(storage, storage.deadletter_container)
    letter = await deadletter.read(storage, name)
    assert letter.reason == (
        f"archive failed {work.calls} times in this attempt: ConnectionError: too many clients"
    )


@pytest.fixture
async def blob_unreachable(storage: Settings) -> AsyncIterator[Settings]:
    """Settings whose Blob endpoint is a loopback port nobody listens on."""
    account = storage.storage_connection.connection_string.split("BlobEndpoint=")[0]
    endpoint = f"BlobEndpoint=http://127.0.0.1:{free_port()}/devstoreaccount1;"
    await blob.close()
    yield replace(
        storage,
        storage_connection=Connection("ArchiveStorage", connection_string=account + endpoint),
        final_attempt_hold_seconds=0.3,
    )
    await blob.close()


async def test_a_refused_dead_letter_holds_the_batch_then_raises(
    blob_unreachable: Settings,
) -> None:
    from azure.core.exceptions import ServiceRequestError

    work = Work(99, OSError("archive container unavailable"))
    started = time.monotonic()
    with pytest.raises(ServiceRequestError):
        await settle(blob_unreachable, Attempt(12, 12), work)
    assert time.monotonic() - started < 5
    assert work.calls >= 2, "the work is tried again while the dead letter is refused"


async def test_the_analyzer_with_no_host_retries_dead_letters_after_the_hold(
    storage: Settings,
) -> None:
    """The analyzer under the same policy: PostgreSQL unreachable for the whole hold."""
    from shared import analysis, db

    unreachable = replace(
        storage,
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/logs",
        final_attempt_hold_seconds=0.3,
    )
    await db.close()
    outcome = await analysis.analyze_or_dead_letter(unreachable, BATCH, Attempt(0, 0))
    await db.close()
    assert outcome.analyzed == 0
    (name,) = await blob_names(storage, storage.deadletter_container)
    letter = await deadletter.read(storage, name)
    assert name.startswith("analyze/2026/11/27/14/") and letter.sink == "analyze"
    assert "analyze failed" in letter.reason and "times in this attempt" in letter.reason
    assert letter.details["partition"] == "3"
