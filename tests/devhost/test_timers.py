from datetime import UTC, datetime

import pytest

from devhost.timers import Schedule


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "now", "expected"),
    [
        ("0 5 * * * *", "2026-11-27T14:03:00", "2026-11-27T14:05:00"),
        ("0 5 * * * *", "2026-11-27T14:05:00", "2026-11-27T15:05:00"),
        ("0 30 2 * * *", "2026-11-27T14:00:00", "2026-11-28T02:30:00"),
        ("*/15 * * * * *", "2026-11-27T14:00:07", "2026-11-27T14:00:15"),
        ("0 0 0 1 1 *", "2026-11-27T00:00:00", "2027-01-01T00:00:00"),
        ("0 0 9 * * mon-fri", "2026-11-27T10:00:00", "2026-11-30T09:00:00"),
        ("0 0,30 * * * *", "2026-11-27T23:45:00", "2026-11-28T00:00:00"),
    ],
)
def test_next_fire_time(expression: str, now: str, expected: str) -> None:
    assert Schedule.parse(expression).next_after(at(now)) == at(expected)


@pytest.mark.parametrize("expression", ["* * * * *", "61 * * * * *", "0 0 25 * * *", "a b c d e f"])
def test_invalid_schedules_are_refused(expression: str) -> None:
    with pytest.raises(ValueError):
        Schedule.parse(expression)


def test_the_dev_host_runs_timers_that_fire_hourly_or_more_at_start() -> None:
    from devhost.host import runs_hourly

    now = datetime(2026, 12, 7, 13, 52, tzinfo=UTC)
    assert runs_hourly(Schedule.parse("0 * * * * *"), now)
    assert runs_hourly(Schedule.parse("0 5 * * * *"), now)
    assert not runs_hourly(Schedule.parse("0 30 2 * * *"), now)
