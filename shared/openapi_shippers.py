"""The shipper protocols' part of openapi.json: the Elasticsearch bulk API and its probes, the
Loki push API and Seq's ingestion, each with the answers its clients expect."""

from __future__ import annotations

from typing import Any

from shared import clef, elastic, loki

SEQ_SECURED = [{"apiKey": []}, {"bearer": []}, {"seqApiKey": []}, {"seqApiKeyQuery": []}]
SECURITY_SCHEMES = {
    "elasticApiKey": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "ApiKey base64(ID:KEY), as Elasticsearch clients send an API key",
    },
    "seqApiKey": {"type": "apiKey", "in": "header", "name": "X-Seq-ApiKey"},
    "seqApiKeyQuery": {"type": "apiKey", "in": "query", "name": "apiKey"},
}
_ERROR = {"$ref": "#/components/schemas/Error"}
_TEXT = {"text/plain": {"schema": {"type": "string"}}}


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, Any]:
    text = {
        400: "A malformed request (nothing was accepted)",
        401: "Missing or unknown key",
        403: "The key's role may not do this",
        404: "Not an Elasticsearch API path",
        413: "Request too large (size or count limits)",
        415: "Unsupported content type",
        503: "Event Hubs is unavailable; retry after Retry-After seconds",
    }
    return {str(s): _json(_ERROR, text[s]) for s in statuses}


def _path_parameter(name: str, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "path",
        "required": True,
        "description": description,
        "schema": {"type": "string"},
    }


_BULK_ITEM = {
    "type": "object",
    "description": 'One per action, keyed by the action ("index" or "create")',
    "additionalProperties": {
        "type": "object",
        "required": ["_index", "status"],
        "properties": {
            "_index": {"type": "string"},
            "_id": {"type": ["string", "null"], "description": "The stored record's id"},
            "status": {"type": "integer", "enum": [201, 400]},
            "result": {"type": "string", "enum": ["created"]},
            "error": {
                "type": "object",
                "properties": {"type": {"type": "string"}, "reason": {"type": "string"}},
            },
        },
    },
}
_BULK_RESPONSE = {
    "type": "object",
    "required": ["took", "errors", "items"],
    "properties": {
        "took": {"type": "integer", "description": "Milliseconds"},
        "errors": {"type": "boolean", "description": "True when any item failed"},
        "items": {"type": "array", "items": _BULK_ITEM},
    },
}


def _bulk(operation_id: str, with_index: bool) -> dict[str, Any]:
    ndjson = {"schema": {"type": "string"}}
    return {
        "operationId": operation_id,
        "summary": "Elasticsearch bulk API: NDJSON action lines (index, create) each followed "
        "by a document; the document's fields are normalised like POST /logs, `_id` becomes "
        "the record id, `@timestamp` its time (gzip allowed)",
        "security": [*elastic_security(), {"elasticApiKey": []}],
        "parameters": [_path_parameter("index", "Index name, echoed in the answer")]
        if with_index
        else [],
        "requestBody": {
            "required": True,
            "content": {t: ndjson for t in sorted(elastic.CONTENT_TYPES) if t},
        },
        "responses": {
            "200": _json(_BULK_RESPONSE, "One item per action, status 201 or 400"),
            **_errors(400, 401, 403, 413, 415, 503),
        },
    }


def elastic_security() -> list[dict[str, list[str]]]:
    return [{"apiKey": []}, {"bearer": []}]


def _probe(method: str) -> dict[str, Any]:
    summaries = {
        "get": f"Elasticsearch probes: `/` answers the version ({elastic.VERSION}), "
        "`_license`, `_xpack`, `_cluster/health`; `_template`, `_index_template`, "
        "`_component_template`, `_ilm`, `_ingest/pipeline` and `_data_stream` checks "
        "answer 200. Other paths: 404",
        "head": "Elasticsearch existence checks (`/` as ping, templates, policies): 200",
        "put": "Elasticsearch setup calls (templates, lifecycle policies, pipelines): "
        'acknowledged ({"acknowledged": true}) and ignored',
    }
    responses: dict[str, Any] = {
        "200": {"description": "Answered as Elasticsearch"}
        if method == "head"
        else _json({"type": "object"}, "Answered as Elasticsearch"),
        **_errors(404),
    }
    return {
        "operationId": f"elastic_probe_{method}",
        "summary": summaries[method] + " (no key needed: the answers are constants)",
        "security": [],
        "parameters": [_path_parameter("path", "An Elasticsearch API path such as _license")],
        "responses": responses,
    }


def _loki() -> dict[str, Any]:
    return {
        "operationId": "loki_push",
        "summary": "Loki push API: JSON streams, or snappy-compressed protobuf PushRequest. "
        "Each entry is a record (a JSON line is read as one); labels service, service_name, "
        "app or job give the service, level, detected_level or severity the level",
        "security": elastic_security(),
        "requestBody": {
            "required": True,
            "content": {
                loki.JSON: {"schema": {"type": "object", "required": ["streams"]}},
                loki.PROTOBUF: {"schema": {"type": "string", "format": "binary"}},
            },
        },
        "responses": {
            "204": {"description": "Every entry accepted"},
            **{
                str(s): {"description": d, "content": _TEXT}
                for s, d in (
                    (400, "Malformed request, or entries refused (the others were accepted)"),
                    (401, "Missing or unknown key"),
                    (403, "The key's role may not do this"),
                    (413, "Request too large"),
                    (415, "Unsupported content type"),
                    (503, "Event Hubs is unavailable; retry after Retry-After seconds"),
                )
            },
        },
    }


def _seq(operation_id: str, with_clef_flag: bool) -> dict[str, Any]:
    parameters = [
        {
            "name": "apiKey",
            "in": "query",
            "required": False,
            "description": "The key, for clients that cannot send a header",
            "schema": {"type": "string"},
        }
    ]
    if with_clef_flag:
        parameters.insert(
            0,
            {
                "name": "clef",
                "in": "query",
                "required": False,
                "allowEmptyValue": True,
                "description": "The body is CLEF (also told by its Content-Type)",
                "schema": {"type": "string"},
            },
        )
    text = {"schema": {"type": "string"}}
    return {
        "operationId": operation_id,
        "summary": "Seq ingestion: CLEF lines (@t, @m or @mt, @l, @x, @i, properties), or "
        'the {"Events": [...]} JSON body; key as X-Seq-ApiKey too',
        "security": SEQ_SECURED,
        "parameters": parameters,
        "requestBody": {
            "required": True,
            "content": {
                clef.CLEF_TYPE: text,
                "application/json": {"schema": {"type": "object"}},
            },
        },
        "responses": {
            "201": _json(
                {"type": "object", "properties": {"MinimumLevelAccepted": {"type": "null"}}},
                "Every event accepted",
            ),
            "400": _json(
                {"$ref": "#/components/schemas/IngestResult"},
                "Malformed or refused events (the others were accepted), or nothing valid",
            ),
            **_errors(401, 403, 413, 415, 503),
        },
    }


def paths() -> dict[str, dict[str, Any]]:
    """Path items to merge into the document (`/{path}` shares its item with OPTIONS)."""
    return {
        "/_bulk": {"post": _bulk("elastic_bulk", False), "put": _bulk("elastic_bulk_put", False)},
        "/{index}/_bulk": {
            "post": _bulk("elastic_index_bulk", True),
            "put": _bulk("elastic_index_bulk_put", True),
        },
        "/{path}": {method: _probe(method) for method in ("get", "head", "put")},
        "/loki/api/v1/push": {"post": _loki()},
        "/events/raw": {"post": _seq("seq_raw", True)},
        "/api/events/raw": {"post": _seq("seq_raw_under_server_url", True)},
        "/ingest/clef": {"post": _seq("seq_clef", False)},
    }
