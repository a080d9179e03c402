"""A progress bar on stderr for the command-line tools (redrawn in place on a terminal, a line
every few seconds otherwise)."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    def __init__(self, total: int, unit: str, stream: TextIO | None = None) -> None:
        self.total = max(total, 0)
        self.unit = unit
        self.done = 0
        self.records = 0
        self.stream = stream or sys.stderr
        self.started = time.monotonic()
        self._drawn = 0.0
        self._tty = self.stream.isatty()

    def advance(self, units: int = 0, records: int = 0) -> None:
        self.done += units
        self.records += records
        now = time.monotonic()
        if now - self._drawn >= (0.1 if self._tty else 5.0):
            self._draw(now)

    def _line(self, now: float) -> str:
        width = 30
        share = self.done / self.total if self.total else 1.0
        filled = int(width * min(share, 1.0))
        rate = self.records / max(now - self.started, 1e-9)
        return (
            f"[{'#' * filled}{'-' * (width - filled)}] {self.done}/{self.total} {self.unit}"
            f"  {self.records:,} records  {rate:,.0f} records/s"
        )

    def _draw(self, now: float) -> None:
        self._drawn = now
        end = "\r" if self._tty else "\n"
        self.stream.write(self._line(now) + end)
        self.stream.flush()

    def close(self) -> None:
        self.stream.write(self._line(time.monotonic()) + "\n")
        self.stream.flush()
