"""Function health from Azure Monitor (Application Insights in a Log Analytics workspace):
invocations, failures and duration per function, and the store's lag behind Event Hub.

Used by the hourly report only when `APPINSIGHTS_WORKSPACE_ID` is set; one aio
`LogsQueryClient` per process, created on first use with the managed identity."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from shared.settings import Settings

if TYPE_CHECKING:
    from azure.monitor.query import LogsQueryPartialResult, LogsQueryResult

log = logging.getLogger(__name__)

FUNCTION_HEALTH_QUERY = """
AppRequests
| summarize invocations = count(),
            failures = countif(Success == false),
            avg_duration_ms = avg(DurationMs),
            p95_duration_ms = percentile(DurationMs, 95),
            max_duration_ms = max(DurationMs)
    by function = OperationName
| order by function asc
"""

STORE_LAG_QUERY = """
AppMetrics
| where Name == "store_lag_seconds"
| summarize avg_seconds = sum(Sum) / sum(ItemCount), max_seconds = max(Max)
"""
"""The store's lag behind Event Hub: how long records waited between enqueue and commit, as
the custom metric `store_lag_seconds`."""

SERVER_TIMEOUT_SECONDS = 60


class LogsClient(Protocol):
    async def query_workspace(
        self, workspace_id: str, query: str, *, timespan: Any, **kwargs: Any
    ) -> LogsQueryResult | LogsQueryPartialResult: ...


_client: Any = None


def client(settings: Settings) -> LogsClient:
    global _client
    if _client is None:
        from azure.monitor.query.aio import LogsQueryClient

        from shared.identity import credential

        _client = LogsQueryClient(credential(settings.azure_client_id))
    return _client


def _rows(result: LogsQueryResult | LogsQueryPartialResult) -> list[dict[str, Any]]:
    """The first table's rows as dicts; a partial result's error is logged, its rows kept."""
    from azure.monitor.query import LogsQueryStatus

    if result.status == LogsQueryStatus.PARTIAL:
        log.warning("Azure Monitor returned a partial result: %s", result.partial_error)
        tables = result.partial_data
    else:
        tables = result.tables
    if not tables:
        return []
    table = tables[0]
    return [{c: row[c] for c in table.columns} for row in table.rows]


def _number(value: Any) -> float | None:
    return None if value is None else round(float(value), 3)


async def function_health(
    settings: Settings, start: datetime, end: datetime, logs: LogsClient | None = None
) -> dict[str, Any] | None:
    """Health of each function over [start, end), or None when no workspace is configured.
    A query that fails is reported in the result rather than failing the report."""
    if not settings.appinsights_workspace_id:
        return None
    logs = logs or client(settings)
    workspace = settings.appinsights_workspace_id
    health: dict[str, Any] = {"functions": {}, "store_lag": None, "error": None}
    try:
        result = await logs.query_workspace(
            workspace,
            FUNCTION_HEALTH_QUERY,
            timespan=(start, end),
            server_timeout=SERVER_TIMEOUT_SECONDS,
        )
        for row in _rows(result):
            invocations = int(row.get("invocations") or 0)
            failures = int(row.get("failures") or 0)
            health["functions"][str(row.get("function"))] = {
                "invocations": invocations,
                "failures": failures,
                "failure_rate": round(failures / invocations, 4) if invocations else 0.0,
                "avg_duration_ms": _number(row.get("avg_duration_ms")),
                "p95_duration_ms": _number(row.get("p95_duration_ms")),
                "max_duration_ms": _number(row.get("max_duration_ms")),
            }
        lag = _rows(
            await logs.query_workspace(
                workspace,
                STORE_LAG_QUERY,
                timespan=(start, end),
                server_timeout=SERVER_TIMEOUT_SECONDS,
            )
        )
        if lag and lag[0].get("max_seconds") is not None:
            health["store_lag"] = {
                "avg_seconds": _number(lag[0].get("avg_seconds")),
                "max_seconds": _number(lag[0].get("max_seconds")),
            }
    except Exception as exc:
        log.warning("Azure Monitor query failed: %s", exc)
        health["error"] = f"{type(exc).__name__}: {exc}"[:500]
    return health


async def close() -> None:
    global _client
    if _client is not None:
        await _client.close()
        _client = None
