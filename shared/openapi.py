"""The whole HTTP API as an OpenAPI 3.1 document, served at `GET /api/openapi.json`.

A test checks that every route registered in `function_app.py` appears here, and a schema-driven
fuzz run checks that the read API answers every generated request without a 500."""

from __future__ import annotations

from typing import Any

from shared import fields, levels, openapi_shippers, openapi_trades, params, where

LEVEL_NAMES = list(levels.LEVELS)
ERROR = {"$ref": "#/components/schemas/Error"}
SECURED = [{"apiKey": []}, {"bearer": []}, {"basic": []}]
TIME_DESCRIPTION = "ISO 8601 (UTC when no offset is given), `now`, or relative like 15m, 24h, 7d"


def _query(
    name: str, schema: dict[str, Any], description: str, *, repeat: bool = False
) -> dict[str, Any]:
    if repeat:
        schema = {"type": "array", "items": schema, "maxItems": params.MAX_VALUES}
    parameter: dict[str, Any] = {
        "name": name,
        "in": "query",
        "required": False,
        "description": description,
        "schema": schema,
    }
    if repeat:
        parameter.update(style="form", explode=True)
    return parameter


def _text(max_length: int = params.MAX_TEXT_CHARS) -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": max_length}


def _filter_parameters() -> list[dict[str, Any]]:
    level = {"type": "string", "enum": LEVEL_NAMES}
    return [
        _query(
            "q",
            _text(params.MAX_QUERY_CHARS),
            'Full text (words, "exact phrase", -excluded, or) over message, service, '
            "logger_name, event_type, exception_type and extra_data's string values; the "
            "punctuation (/ . : included) splits words, so the parts of URLs and paths are words",
        ),
        _query("level", level, "Only these levels (repeatable or comma-separated)", repeat=True),
        _query(
            "min_level",
            {"oneOf": [level, {"type": "integer", "minimum": 0, "maximum": 100}]},
            "This level and above (a name or its number)",
        ),
        _query(
            "service", _text(), "Only these services (repeatable or comma-separated)", repeat=True
        ),
        *(_query(name, _text(), f"Exact {name}") for name in params.TEXT_FILTERS),
        _query(
            "start", {"type": "string", "minLength": 1}, f"From (inclusive): {TIME_DESCRIPTION}"
        ),
        _query("end", {"type": "string", "minLength": 1}, f"Until (exclusive): {TIME_DESCRIPTION}"),
        _where_parameter(),
    ]


def _where_parameter() -> dict[str, Any]:
    parameter = _query(
        "where",
        {"type": "string", "minLength": 3, "maxLength": 512},
        "PATH OP VALUE on extra_data (repeatable, all must hold): PATH is dotted keys "
        "(order.side), OP one of =, !=, >, >=, <, <=; a number compares as a number (with JSON "
        "numbers and strings spelling one), anything "
        'else (or "quoted") as text; != also matches records without the path. '
        "Example: where=symbol=ETHUSDT&where=response_time>=300",
        repeat=True,
    )
    parameter["schema"]["maxItems"] = where.MAX_CONDITIONS
    return parameter


def _path_schema() -> dict[str, Any]:
    return {"type": "string", "minLength": 1, "maxLength": where.MAX_PATH_CHARS}


def _analysis_paths() -> dict[str, Any]:
    """GET /logs/aggregate and GET /logs/fields."""
    point = {
        "type": "object",
        "required": ["time", "value", "count"],
        "properties": {
            "time": {"type": "string", "format": "date-time"},
            "value": {"type": "number"},
            "count": {"type": "integer"},
        },
    }
    aggregate = {
        "type": "object",
        "required": ["fn", "field", "by", "interval", "series"],
        "properties": {
            "fn": {"type": "string", "enum": list(params.AGGREGATE_FUNCTIONS)},
            "field": {"type": ["string", "null"]},
            "by": {"type": ["string", "null"]},
            "interval": {"type": ["string", "null"], "enum": [*params.INTERVALS, None]},
            "series": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["group", "points"],
                    "properties": {
                        "group": {"type": ["string", "null"]},
                        "points": {"type": "array", "items": point},
                    },
                },
            },
        },
    }
    fields = {
        "type": "object",
        "required": ["fields", "records", "sampled"],
        "properties": {
            "fields": {
                "type": "array",
                "items": {
                    "type": "object",
                    "required": ["path", "types", "count", "top"],
                    "properties": {
                        "path": {"type": "string"},
                        "types": {"type": "array", "items": {"type": "string"}},
                        "count": {"type": "integer"},
                        "top": {
                            "type": "array",
                            "maxItems": 10,
                            "items": {
                                "type": "object",
                                "required": ["value", "count"],
                                "properties": {"value": {}, "count": {"type": "integer"}},
                            },
                        },
                    },
                },
            },
            "records": {"type": "integer"},
            "sampled": {"type": "boolean"},
        },
    }
    by_description = (
        f"Group by a column ({', '.join(params.AGGREGATE_COLUMNS)}) or an extra_data PATH; "
        "the 20 largest groups are answered"
    )
    return {
        "/logs/aggregate": {
            "get": {
                "operationId": "aggregate_logs",
                "summary": "fn(field) per group and per interval over the matching records",
                "description": "A record takes part when the field is a JSON number (for count "
                "with a field: when it is present). Buckets start on multiples of the interval "
                "from 2000-01-01 UTC; only buckets holding records appear. Without interval the "
                "whole range is one point, timed at start (or the first record).",
                "security": SECURED,
                "parameters": [
                    *_filter_parameters(),
                    _query(
                        "fn",
                        {"type": "string", "enum": list(params.AGGREGATE_FUNCTIONS)},
                        "count (default), sum, avg, min, max, or a percentile",
                    ),
                    _query("field", _path_schema(), "extra_data PATH; required unless fn=count"),
                    _query("by", _path_schema(), by_description),
                    _query(
                        "interval",
                        {"type": "string", "enum": list(params.INTERVALS)},
                        "Bucket width; without it the whole range is one point",
                    ),
                ],
                "responses": {
                    "200": _json(aggregate, "The series, largest group first"),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/logs/fields": {
            "get": {
                "operationId": "log_fields",
                "summary": "The extra_data paths of the matching records, their types, counts "
                "and ten commonest values",
                "description": "Examines the newest FIELDS_SAMPLE_ROWS matching records "
                "(records: how many; sampled: true when that limit was reached).",
                "security": SECURED,
                "parameters": _filter_parameters(),
                "responses": {
                    "200": _json(fields, "The paths, most common first"),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
    }


def _fields_parameter() -> dict[str, Any]:
    return _query(
        "fields",
        {"type": "string", "enum": list(params.RECORD_FIELDS)},
        "Only these fields (repeatable or comma-separated; id and timestamp always come). "
        "Fields the key's role may not see are left out.",
        repeat=True,
    )


def _cursor_parameter() -> dict[str, Any]:
    return _query(
        "cursor",
        {"type": "string", "minLength": 1, "maxLength": 1024},
        "Opaque cursor from a previous page (next_cursor, or X-Next-Cursor of an export)",
    )


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "Invalid parameter (detail.parameter names it)",
        401: "Missing or unknown key",
        403: "The key's role may not do this",
        404: "Not found (or not readable with this key)",
        413: "Request too large",
        415: "Unsupported content type",
        503: "A dependency is unavailable; retry after Retry-After seconds",
    }
    return {str(s): _json(ERROR, text[s]) for s in statuses}


def _record_schema() -> dict[str, Any]:
    """The stored record, from the field table. Each property carries the table's facts as
    extensions, which the dashboard reads for its detail view and CSV columns: `x-reader`
    (readers see it), `x-searchable` (an exact search filter), `x-redacted`, `x-aliases`
    (other names ingest takes), `x-block` (shown as a block of its own)."""
    props: dict[str, Any] = {}
    for f in fields.FIELDS:
        schema = f.json_schema()
        if f.name == "level":
            schema["enum"] = LEVEL_NAMES
        schema.update(
            {
                "x-reader": f.reader,
                "x-searchable": f.searchable,
                "x-redacted": f.redacted,
                "x-aliases": list(f.aliases),
                "x-block": f.block,
            }
        )
        props[f.name] = schema
    hidden = ", ".join(fields.READER_HIDDEN)
    return {
        "type": "object",
        "description": f"A stored record. Reader keys never see {hidden}.",
        "required": ["id", "timestamp"],
        "properties": props,
    }


def _components() -> dict[str, Any]:
    return {
        "securitySchemes": {
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {
                "type": "http",
                "scheme": "basic",
                "description": "The API key as the password; the user name is ignored",
            },
        },
        "schemas": {
            "Error": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}, "detail": {}},
            },
            "Record": _record_schema(),
            "Page": {
                "type": "object",
                "required": ["items", "next_cursor"],
                "properties": {
                    "items": {"type": "array", "items": {"$ref": "#/components/schemas/Record"}},
                    "next_cursor": {"type": ["string", "null"]},
                },
            },
            "Stats": {
                "type": "object",
                "required": ["range", "total", "by_level", "by_service", "error_trend"],
                "properties": {
                    "range": {"type": "string", "enum": list(params.STATS_RANGES)},
                    "start": {"type": "string", "format": "date-time"},
                    "end": {"type": "string", "format": "date-time"},
                    "total": {"type": "integer"},
                    "by_level": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "by_service": {"type": "object", "additionalProperties": {"type": "integer"}},
                    "error_trend": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "hour": {"type": "string", "format": "date-time"},
                                "errors": {"type": "integer"},
                            },
                        },
                    },
                    "alerts_by_severity": {
                        "type": "object",
                        "additionalProperties": {"type": "integer"},
                    },
                    "secrets_redacted": {
                        "type": "array",
                        "description": "secrets redacted at ingest in the window, by service "
                        "and kind (never the values), most first",
                        "items": {
                            "type": "object",
                            "properties": {
                                "service": {"type": "string"},
                                "kind": {"type": "string"},
                                "count": {"type": "integer"},
                            },
                        },
                    },
                },
            },
            "IngestResult": {
                "type": "object",
                "properties": {
                    "accepted": {"type": "integer"},
                    "ids": {"type": "array", "items": {"type": "string"}},
                    "coerced": {
                        "type": "integer",
                        "description": "Records kept with a value moved to extra_data._coerced "
                        "(present only when not 0)",
                    },
                    "rejected": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "index": {"type": "integer"},
                                "error": {"type": "string"},
                            },
                        },
                    },
                },
            },
        },
    }


def _read_paths() -> dict[str, Any]:
    record_ref = {"$ref": "#/components/schemas/Record"}
    return {
        "/logs/search": {
            "get": {
                "operationId": "search_logs",
                "summary": "Search records, newest first, keyset-paginated",
                "security": SECURED,
                "parameters": [
                    *_filter_parameters(),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": params.MAX_LIMIT},
                        f"Page size (default {params.DEFAULT_LIMIT})",
                    ),
                    _cursor_parameter(),
                    _fields_parameter(),
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Page"}, "One page"),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/logs/stats": {
            "get": {
                "operationId": "log_stats",
                "summary": "Totals by level and service, error trend by hour, active alerts",
                "security": SECURED,
                "parameters": [
                    _query(
                        "range",
                        {"type": "string", "enum": list(params.STATS_RANGES)},
                        "Window ending now (default 24h)",
                    )
                ],
                "responses": {
                    "200": _json({"$ref": "#/components/schemas/Stats"}, "Statistics"),
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/logs/export": {
            "get": {
                "operationId": "export_logs",
                "summary": "Every matching record, newest first, as NDJSON or CSV",
                "description": "No page-size cap. A body ends at EXPORT_MAX_BYTES at a row "
                "boundary; then X-Next-Cursor continues it.",
                "security": SECURED,
                "parameters": [
                    *_filter_parameters(),
                    _query(
                        "format",
                        {"type": "string", "enum": list(params.EXPORT_FORMATS)},
                        "ndjson (default) or csv",
                    ),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": params.MAX_EXPORT_LIMIT},
                        "At most this many records",
                    ),
                    _cursor_parameter(),
                    _fields_parameter(),
                ],
                "responses": {
                    "200": {
                        "description": "The records",
                        "headers": {
                            "X-Next-Cursor": {
                                "description": "Present when the export continues",
                                "schema": {"type": "string"},
                            }
                        },
                        "content": {
                            "application/x-ndjson": {"schema": {"type": "string"}},
                            "text/csv": {"schema": {"type": "string"}},
                        },
                    },
                    **_errors(400, 401, 403, 503),
                },
            }
        },
        "/logs/{id}": {
            "get": {
                "operationId": "get_log",
                "summary": "One record by id",
                "security": SECURED,
                "parameters": [
                    {
                        "name": "id",
                        "in": "path",
                        "required": True,
                        "schema": _text(),
                    },
                    _fields_parameter(),
                ],
                "responses": {
                    "200": _json(record_ref, "The record"),
                    **_errors(400, 401, 403, 404, 503),
                },
            }
        },
    }


def _other_paths() -> dict[str, Any]:
    ndjson_or_json = {
        "application/json": {"schema": {"oneOf": [{"type": "object"}, {"type": "array"}]}},
        "application/x-ndjson": {"schema": {"type": "string"}},
    }
    any_json = {"type": "object"}
    return {
        "/logs": {
            "post": {
                "operationId": "ingest",
                "summary": "Ship records: one JSON object, a JSON array or NDJSON (gzip allowed)",
                "description": "Records may come as other loggers write them: each field's "
                "other names are its `x-aliases` in the Record schema. A value a field cannot "
                "take is kept in extra_data._coerced, not refused.",
                "security": SECURED,
                "requestBody": {"required": True, "content": ndjson_or_json},
                "responses": {
                    "202": _json({"$ref": "#/components/schemas/IngestResult"}, "Accepted"),
                    **_errors(400, 401, 403, 413, 415, 503),
                },
            }
        },
        "/v1/logs": {
            "post": {
                "operationId": "ingest_otlp",
                "summary": "OTLP/HTTP logs (JSON encoding)",
                "security": SECURED,
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": any_json}},
                },
                "responses": {
                    "200": _json(any_json, "Export result"),
                    **_errors(400, 401, 403, 413, 415, 503),
                },
            }
        },
        "/alerts": {
            "get": {
                "operationId": "list_alerts",
                "summary": "Active alerts (or status=resolved)",
                "security": SECURED,
                "parameters": [
                    _query(
                        "status",
                        {"type": "string", "enum": ["active", "resolved"]},
                        "Which alerts (default active)",
                    ),
                    _query("service", _text(), "Only this service"),
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": params.MAX_ALERTS_LIMIT},
                        "At most this many (default 100)",
                    ),
                ],
                "responses": {"200": _json(any_json, "Alerts"), **_errors(400, 401, 403, 503)},
            }
        },
        "/reports": {
            "get": {
                "operationId": "list_reports",
                "summary": "Hourly reports",
                "security": SECURED,
                "parameters": [
                    _query(
                        "limit",
                        {"type": "integer", "minimum": 1, "maximum": params.MAX_REPORTS_LIMIT},
                        "The newest this many (default 24)",
                    )
                ],
                "responses": {"200": _json(any_json, "Reports"), **_errors(400, 401, 403, 503)},
            }
        },
        "/reports/latest": {
            "get": {
                "operationId": "latest_report",
                "summary": "The latest hourly report, with its changes against earlier hours",
                "security": SECURED,
                "responses": {
                    "200": _json(any_json, "Report"),
                    **_errors(401, 403, 404, 503),
                },
            }
        },
        "/me": {
            "get": {
                "operationId": "who_am_i",
                "summary": "The caller's role, services and the record fields withheld from it",
                "security": SECURED,
                "responses": {"200": _json(any_json, "Caller"), **_errors(401, 403)},
            }
        },
        "/reports/current": {
            "get": {
                "operationId": "current_report",
                "summary": "The report of the hour so far, with changes against the same span "
                "of the previous hour, the same hour yesterday and the last 24 hours",
                "security": SECURED,
                "responses": {"200": _json(any_json, "Report"), **_errors(401, 403, 503)},
            }
        },
        "/negotiate": {
            "post": {
                "operationId": "negotiate",
                "summary": "SignalR connection info (hub logs) for the caller's role group",
                "security": SECURED,
                "responses": {"200": _json(any_json, "Connection info"), **_errors(401, 403)},
            }
        },
        "/dashboard": {
            "get": {
                "operationId": "dashboard",
                "summary": "The web dashboard",
                "security": [],
                "responses": {"200": {"description": "HTML page"}},
            }
        },
        "/dashboard/{path}": {
            "get": {
                "operationId": "dashboard_asset",
                "summary": "The dashboard's static assets",
                "security": [],
                "parameters": [
                    {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"200": {"description": "Asset"}, "404": {"description": "None"}},
            }
        },
        "/health": {
            "get": {
                "operationId": "health",
                "summary": "Readiness of each dependency (no secrets)",
                "security": [],
                "responses": {
                    "200": _json(any_json, "Ready"),
                    "503": _json(any_json, "Not ready"),
                },
            }
        },
        "/{path}": {
            "options": {
                "operationId": "cors_preflight",
                "summary": "CORS preflight for any path (origins from CORS_ALLOWED_ORIGINS)",
                "security": [],
                "parameters": [
                    {"name": "path", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {"204": {"description": "Allowed origins get CORS headers"}},
            }
        },
        "/openapi.json": {
            "get": {
                "operationId": "openapi_document",
                "summary": "This document",
                "security": [],
                "responses": {"200": _json(any_json, "OpenAPI 3.1"), **_errors(400)},
            }
        },
    }


def document(base_url: str = "") -> dict[str, Any]:
    """The OpenAPI document; `base_url` (PUBLIC_BASE_URL) names the server when set."""
    server = f"{base_url.rstrip('/')}/api" if base_url else "/api"
    components = _components()
    components["securitySchemes"].update(openapi_shippers.SECURITY_SCHEMES)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Trading bot log pipeline",
            "version": "1.0.0",
            "description": "Ingest, search, statistics and export of trading-bot logs. Keys "
            "travel as `Authorization: Bearer KEY` or `X-Api-Key: KEY`. Every error is JSON "
            '`{"error": ..., "detail": ...}`. CORS preflight (OPTIONS) is answered on every '
            "path for the origins in CORS_ALLOWED_ORIGINS.",
        },
        "servers": [{"url": server}],
        "security": SECURED,
        "paths": _with_shipper_paths(
            {**_read_paths(), **_analysis_paths(), **_other_paths(), **openapi_trades.paths()}
        ),
        "components": components,
    }


def _with_shipper_paths(paths: dict[str, Any]) -> dict[str, Any]:
    """The shipper protocols' paths added; `/{path}` keeps its OPTIONS beside their probes."""
    for path, item in openapi_shippers.paths().items():
        paths[path] = {**paths.get(path, {}), **item}
    return paths
