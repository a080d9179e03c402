"""The trades endpoints of the OpenAPI document (`GET /trades`, `/trades/stats`,
`/trades/{key}`), their parameters and answer schemas. `shared.openapi` assembles the document
and lends its helpers (used at call time, after both modules are loaded)."""

from __future__ import annotations

from typing import Any

from shared import openapi, params, trade_api, trades

NULLABLE_TEXT = {"type": ["string", "null"]}
NULLABLE_MS = {
    "type": ["number", "null"],
    "description": "milliseconds, null when a stage is missing",
}


def _window() -> list[dict[str, Any]]:
    return [
        openapi._query(
            "start",
            {"type": "string", "minLength": 1},
            f"Started at or after: {openapi.TIME_DESCRIPTION}",
        ),
        openapi._query(
            "end", {"type": "string", "minLength": 1}, f"Started before: {openapi.TIME_DESCRIPTION}"
        ),
    ]


def _filters() -> list[dict[str, Any]]:
    return [
        openapi._query(
            "service",
            openapi._text(),
            "Chains with a record of these services (repeatable or comma-separated)",
        ),
        openapi._query(
            "symbol", openapi._text(trades.MAX_VALUE_CHARS), "Only this symbol (any case)"
        ),
    ]


def _summary_schema() -> dict[str, Any]:
    stage = {
        "type": "object",
        "required": ["level", "time", "service", "id"],
        "properties": {
            "level": {"type": "string"},
            "time": {"type": "string", "format": "date-time"},
            "service": {"type": "string"},
            "id": {"type": "string", "description": "the record's id (GET /logs/{id})"},
        },
    }
    return {
        "type": "object",
        "required": ["key", "symbol", "side", "status", "started", "stages", "latency_ms"],
        "properties": {
            "key": {"type": "string", "description": "extra_data.signal_id, else request_id"},
            "symbol": NULLABLE_TEXT,
            "side": NULLABLE_TEXT,
            "decision": NULLABLE_TEXT,
            "status": {"type": "string", "enum": list(trades.STATUSES)},
            "started": {"type": "string", "format": "date-time"},
            "waiting_for": {"type": ["string", "null"], "enum": ["decision", "execution", None]},
            "deadline": {"type": ["string", "null"], "format": "date-time"},
            "stages": {"type": "array", "items": stage},
            "latency_ms": {
                "type": "object",
                "required": ["signal_to_decision", "decision_to_execution", "signal_to_execution"],
                "properties": {
                    "signal_to_decision": NULLABLE_MS,
                    "decision_to_execution": NULLABLE_MS,
                    "signal_to_execution": NULLABLE_MS,
                },
            },
        },
    }


STATUS_TEXT = (
    "executed: a TRADE_EXECUTED; blocked: a RISK_ALERT and no execution; failed: an ERROR and "
    "no execution; held: the decision was hold or skip; open: still within its deadlines "
    "(TRADE_DECISION_SECONDS after the signal, TRADE_EXECUTION_SECONDS after a buy or sell "
    "decision); stalled: past a deadline with none of the above"
)


def paths() -> dict[str, Any]:
    summary = _summary_schema()
    page = {
        "type": "object",
        "required": ["items", "next_cursor"],
        "properties": {"items": {"type": "array", "items": summary}, "next_cursor": NULLABLE_TEXT},
    }
    detail = {
        **summary,
        "required": [*summary["required"], "records"],
        "properties": {
            **summary["properties"],
            "records": {
                "type": "array",
                "items": {"$ref": "#/components/schemas/Record"},
                "description": "every record of the chain, oldest first, in the caller's view",
            },
        },
    }
    stat = {
        "type": "object",
        "required": ["stage", "service", "symbol", "count", "p50_ms", "p95_ms"],
        "properties": {
            "stage": {
                "type": "string",
                "enum": ["signal_to_decision", "decision_to_execution", "signal_to_execution"],
            },
            "service": {"type": "string", "description": "the service that closed the stage"},
            "symbol": NULLABLE_TEXT,
            "count": {"type": "integer"},
            "p50_ms": {"type": "number"},
            "p95_ms": {"type": "number"},
        },
    }
    return {
        "/trades": {
            "get": {
                "operationId": "list_trades",
                "summary": "Trade chains from signal to execution, newest started first",
                "description": f"Statuses: {STATUS_TEXT}. A key limited to some services sees "
                "only chains with a record of them, and only those stages.",
                "security": openapi.SECURED,
                "parameters": [
                    *_window(),
                    *_filters(),
                    openapi._query(
                        "status", {"type": "string", "enum": list(trades.STATUSES)}, "Status"
                    ),
                    openapi._query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": trade_api.MAX_LIMIT},
                        f"Page size (default {trade_api.DEFAULT_LIMIT})",
                    ),
                    openapi._cursor_parameter(),
                ],
                "responses": {
                    "200": openapi._json(page, "One page of chains"),
                    **openapi._errors(400, 401, 403, 503),
                },
            }
        },
        "/trades/stats": {
            "get": {
                "operationId": "trade_stats",
                "summary": "p50/p95 latency of each trade stage per service and symbol",
                "security": openapi.SECURED,
                "parameters": [
                    *_window(),
                    openapi._query(
                        "range",
                        {"type": "string", "enum": list(params.STATS_RANGES)},
                        "Window ending at end (or now) when start is not given (default 24h)",
                    ),
                    *_filters(),
                ],
                "responses": {
                    "200": openapi._json(
                        {
                            "type": "object",
                            "required": ["start", "end", "items"],
                            "properties": {
                                "start": {"type": "string", "format": "date-time"},
                                "end": {"type": "string", "format": "date-time"},
                                "items": {"type": "array", "items": stat},
                            },
                        },
                        "Percentiles",
                    ),
                    **openapi._errors(400, 401, 403, 503),
                },
            }
        },
        "/trades/{key}": {
            "get": {
                "operationId": "get_trade",
                "summary": "One trade chain with every record of it, oldest first",
                "security": openapi.SECURED,
                "parameters": [
                    {
                        "name": "key",
                        "in": "path",
                        "required": True,
                        "schema": openapi._text(trades.MAX_KEY_CHARS),
                    }
                ],
                "responses": {
                    "200": openapi._json(detail, "The chain and its records"),
                    **openapi._errors(400, 401, 403, 404, 503),
                },
            }
        },
    }
