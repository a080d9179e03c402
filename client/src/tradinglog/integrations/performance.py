"""The seed's performance monitor: process and system metrics from psutil, logged as warnings
past the thresholds and as a periodic INFO sample."""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any

from tradinglog.logger import BotLogger, get_logger


@dataclass(frozen=True)
class Thresholds:
    cpu_percent: float = 80.0
    memory_percent: float = 85.0
    disk_percent: float = 90.0


def sample() -> dict[str, Any]:
    import psutil

    process = psutil.Process()
    return {
        "cpu_percent": psutil.cpu_percent(interval=None),
        "memory_percent": psutil.virtual_memory().percent,
        "disk_percent": psutil.disk_usage("/").percent,
        "process_rss_mb": round(process.memory_info().rss / 2**20, 1),
        "process_threads": process.num_threads(),
    }


def check(metrics: dict[str, Any], thresholds: Thresholds, log: BotLogger) -> list[str]:
    """Log a warning for each metric past its threshold; return their names."""
    breached = []
    for name in ("cpu_percent", "memory_percent", "disk_percent"):
        limit = getattr(thresholds, name)
        if metrics.get(name, 0) > limit:
            breached.append(name)
            log.warning(
                f"High {name.replace('_percent', '')} usage: {metrics[name]:.1f}%",
                event_type="performance_threshold",
                metric=name,
                value=metrics[name],
                threshold=limit,
            )
    return breached


class PerformanceMonitor:
    """Samples every `interval` seconds on a daemon thread until `stop()`."""

    def __init__(
        self, service: str, interval: float = 60.0, thresholds: Thresholds | None = None
    ) -> None:
        self.log = get_logger("performance", service)
        self.interval = interval
        self.thresholds = thresholds or Thresholds()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="tradinglog-perf", daemon=True)

    def start(self) -> PerformanceMonitor:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            metrics = sample()
            self.log.info("Performance sample", event_type="performance_sample", **metrics)
            check(metrics, self.thresholds, self.log)
