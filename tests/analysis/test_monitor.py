"""Function health from Azure Monitor, with the SDK's own result types built from recorded
query responses; without a workspace the part is skipped cleanly."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from azure.monitor.query import LogsQueryPartialResult, LogsQueryResult

from shared import monitor
from shared.settings import Settings

RECORDED = Path(__file__).parent / "recorded"
START = datetime(2026, 11, 27, 14, tzinfo=UTC)
END = START + timedelta(hours=1)


def recorded(name: str) -> LogsQueryResult:
    return LogsQueryResult._from_generated(orjson.loads((RECORDED / name).read_bytes()))


@dataclass
class RecordedLogs:
    """Answers each query with a recorded response, as LogsQueryClient would."""

    answers: list[Any]
    calls: list[tuple[str, str, Any]] = field(default_factory=list)

    async def query_workspace(
        self, workspace_id: str, query: str, *, timespan: Any, **kwargs: Any
    ) -> Any:
        self.calls.append((workspace_id, query, timespan))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def with_workspace() -> Settings:
    return replace(Settings(), appinsights_workspace_id="00000000-0000-0000-0000-000000000001")


async def test_no_workspace_means_no_function_health() -> None:
    logs = RecordedLogs([])
    assert await monitor.function_health(Settings(), START, END, logs) is None
    assert logs.calls == []


async def test_function_health_from_recorded_responses() -> None:
    logs = RecordedLogs([recorded("function_health.json"), recorded("store_lag.json")])
    health = await monitor.function_health(with_workspace(), START, END, logs)
    assert health is not None
    assert health["functions"]["store"] == {
        "invocations": 3600,
        "failures": 12,
        "failure_rate": 0.0033,
        "avg_duration_ms": 95.5,
        "p95_duration_ms": 310.25,
        "max_duration_ms": 4100.0,
    }
    assert sorted(health["functions"]) == ["analyze", "ingest", "store"]
    assert health["store_lag"] == {"avg_seconds": 0.842, "max_seconds": 14.2}
    assert health["error"] is None
    assert [c[2] for c in logs.calls] == [(START, END), (START, END)]
    assert "AppRequests" in logs.calls[0][1] and "store_lag_seconds" in logs.calls[1][1]


async def test_partial_result_keeps_its_rows() -> None:
    table = recorded("function_health.json").tables
    partial = LogsQueryPartialResult(partial_data=table, partial_error="query limit reached")
    logs = RecordedLogs([partial, LogsQueryResult()])
    health = await monitor.function_health(with_workspace(), START, END, logs)
    assert health is not None and len(health["functions"]) == 3
    assert health["store_lag"] is None


async def test_failed_query_is_reported_not_raised() -> None:
    logs = RecordedLogs([PermissionError("workspace access denied")])
    health = await monitor.function_health(with_workspace(), START, END, logs)
    assert health == {
        "functions": {},
        "store_lag": None,
        "error": "PermissionError: workspace access denied",
    }


@pytest.mark.skipif(
    not os.environ.get("APPINSIGHTS_WORKSPACE_ID"),
    reason="no Application Insights workspace configured (APPINSIGHTS_WORKSPACE_ID)",
)
async def test_live_workspace_answers() -> None:
    settings = replace(Settings(), appinsights_workspace_id=os.environ["APPINSIGHTS_WORKSPACE_ID"])
    try:
        health = await monitor.function_health(settings, START, END)
    finally:
        await monitor.close()
    assert health is not None and health["error"] is None
