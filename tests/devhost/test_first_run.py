"""A newcomer's first minute: the ready line comes last, after what start-up prints (the
timers the dev host runs at start), so it does not scroll away."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.slow


def test_the_ready_line_comes_after_the_start_up_timers(dev_host: Any) -> None:
    lines = dev_host.log().splitlines()
    ready = [i for i, line in enumerate(lines) if line.startswith("Log pipeline ready at")]
    assert len(ready) == 1, lines[-20:]
    reported = [i for i, line in enumerate(lines) if "functions.reports: report for" in line]
    assert reported and reported[0] < ready[0], lines[: ready[0] + 5]
