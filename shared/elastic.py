"""The Elasticsearch `_bulk` API, as Fluent Bit's `es` output, Vector's `elasticsearch` sink,
Logstash and Filebeat speak it, and the few probes those clients send first.

A bulk body is NDJSON: an action line (`{"index": {...}}` or `{"create": {...}}`), then the
document. Each document becomes one record through the normal normalisation; the action's
`_id` becomes the record id (the idempotency key) and `@timestamp`, where every one of these
shippers writes the event time, becomes its timestamp. The answer is Elasticsearch's: 200
with one item per action, status 201 or 400, and `errors` true when any item failed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson

from shared import shipping
from shared.access import Caller
from shared.errors import BadRequest, Forbidden, TooLarge
from shared.ingest import Batch
from shared.records import ID_PATTERN
from shared.settings import Settings
from shared.shipping import Unreadable

VERSION = "8.19.0"
"""The Elasticsearch version announced to clients that pick their protocol by it."""
CLUSTER = "log-pipeline"
PRODUCT_HEADERS = {"X-Elastic-Product": "Elasticsearch"}
"""Elasticsearch's clients refuse an answer without it."""
DEFAULT_INDEX = "logs"
CONTENT_TYPES = frozenset(
    {
        "",
        "application/json",
        "application/x-ndjson",
        "application/vnd.elasticsearch+json",
        "application/vnd.elasticsearch+x-ndjson",
    }
)
ACCEPTED_ACTIONS = frozenset({"index", "create"})
OTHER_ACTIONS = frozenset({"update", "delete"})

_MALFORMED = object()


@dataclass(slots=True)
class Operation:
    """One action of a bulk body and its document (None for a delete, `_MALFORMED` for a
    document line that is not a JSON object)."""

    action: str
    index: str
    doc_id: str | None
    source: Any


@dataclass(slots=True)
class BulkResult:
    """The operations of one request, their batch, and the error of each refused one."""

    operations: list[Operation]
    batch: Batch
    errors: dict[int, str] = field(default_factory=dict)
    """Operation position -> the reason it was refused."""

    @property
    def events(self) -> list[tuple[str, bytes]]:
        return self.batch.events

    def response(self, took_ms: int) -> dict[str, Any]:
        """Elasticsearch's bulk response."""
        ids = iter(self.batch.accepted)
        items: list[dict[str, Any]] = []
        for position, op in enumerate(self.operations):
            error = self.errors.get(position)
            if error is None:
                record = next(ids)
                items.append({op.action: _created(op.index, record["id"], position)})
                continue
            kind = (
                "document_parsing_exception"
                if op.action in ACCEPTED_ACTIONS
                else "action_request_validation_exception"
            )
            items.append(
                {
                    op.action: {
                        "_index": op.index,
                        "_id": op.doc_id,
                        "status": 400,
                        "error": {"type": kind, "reason": error, "index": op.index},
                    }
                }
            )
        return {"took": took_ms, "errors": bool(self.errors), "items": items}


def _created(index: str, record_id: str, position: int) -> dict[str, Any]:
    return {
        "_index": index,
        "_id": record_id,
        "_version": 1,
        "result": "created",
        "_shards": {"total": 1, "successful": 1, "failed": 0},
        "_seq_no": position,
        "_primary_term": 1,
        "status": 201,
    }


def _action(line: bytes, number: int, default_index: str) -> tuple[str, str, str | None]:
    """(action, index, _id) of an action line; a line that is not one fails the request, as
    it does in Elasticsearch, since the lines after it cannot be told apart."""
    try:
        parsed = orjson.loads(line)
    except orjson.JSONDecodeError:
        parsed = None
    if not isinstance(parsed, dict) or len(parsed) != 1:
        raise BadRequest(
            f"malformed action/metadata line [{number}]: expected one object such as "
            '{"index": {}} or {"create": {}}'
        )
    ((action, meta),) = parsed.items()
    if action not in ACCEPTED_ACTIONS and action not in OTHER_ACTIONS:
        raise BadRequest(f"malformed action/metadata line [{number}]: unknown action [{action}]")
    if not isinstance(meta, dict):
        raise BadRequest(f"malformed action/metadata line [{number}]: {action} must be an object")
    index = meta.get("_index")
    doc_id = meta.get("_id")
    return (
        action,
        index if isinstance(index, str) and index else default_index,
        str(doc_id) if isinstance(doc_id, str | int) and not isinstance(doc_id, bool) else None,
    )


def operations(data: bytes, default_index: str, limit: int) -> list[Operation]:
    """The operations of a bulk body, at most `limit` of them."""
    lines = [line for line in data.split(b"\n") if line.strip()]
    ops: list[Operation] = []
    i = 0
    while i < len(lines):
        action, index, doc_id = _action(lines[i], i + 1, default_index)
        i += 1
        source: Any = None
        if action != "delete":
            if i == len(lines):
                raise BadRequest(f"the {action} action on line [{i}] has no document line")
            try:
                source = orjson.loads(lines[i])
            except orjson.JSONDecodeError:
                source = _MALFORMED
            if not isinstance(source, dict):
                source = _MALFORMED
            i += 1
        ops.append(Operation(action, index, doc_id, source))
        if len(ops) > limit:
            raise TooLarge(f"more than {limit} documents in one request; the limit is {limit}")
    return ops


def record_id(doc_id: str) -> str:
    """A record id from an Elasticsearch `_id`: itself when it is a valid record id, else a
    digest of it, so that a resent document keeps its id."""
    if ID_PATTERN.fullmatch(doc_id):
        return doc_id
    return "es-" + hashlib.sha256(doc_id.encode()).hexdigest()[:40]


def raw_record(op: Operation) -> dict[str, Any]:
    """The document as a raw record: `_id` as id and `@timestamp` as timestamp unless the
    document names them itself."""
    doc = dict(op.source)
    if op.doc_id is not None and "id" not in doc:
        doc["id"] = record_id(op.doc_id)
    if "@timestamp" in doc and "timestamp" not in doc:
        doc["timestamp"] = doc.pop("@timestamp")
    return doc


def parse(
    body: bytes,
    headers: Mapping[str, str],
    index: str | None,
    caller: Caller,
    settings: Settings,
    now: datetime | None = None,
) -> BulkResult:
    """A bulk request to its result; raises the error a whole
    request gets (400 for a malformed action line, 413 over the limits, 415)."""
    _, data = shipping.request_body(body, headers, settings, CONTENT_TYPES, "NDJSON")
    ops = operations(data, index or DEFAULT_INDEX, settings.max_records_per_request)
    try:
        batch = shipping.build([_item(op) for op in ops], caller, settings, now)
    except (BadRequest, Forbidden, TooLarge) as exc:
        batch = Batch(rejected=list(exc.detail or []))
    return BulkResult(ops, batch, {r["index"]: r["error"] for r in batch.rejected})


def _item(op: Operation) -> dict[str, Any] | Unreadable:
    if op.action not in ACCEPTED_ACTIONS:
        return Unreadable(
            f"the {op.action} action is not supported: only index and create add records"
        )
    if op.source is _MALFORMED:
        return Unreadable("the document is not a JSON object")
    return raw_record(op)


# --- what clients ask before they send --------------------------------------------------

_BUILD = {
    "build_flavor": "default",
    "build_type": "docker",
    "build_hash": "0000000000000000000000000000000000000000",
    "build_date": "2024-12-11T12:08:05.663969764Z",
    "build_snapshot": False,
}
_LICENSE = {
    "status": "active",
    "uid": "00000000-0000-0000-0000-000000000000",
    "type": "basic",
    "mode": "basic",
    "issue_date_in_millis": 0,
}
_SETUP_PREFIXES = (
    "_template",
    "_index_template",
    "_component_template",
    "_ilm",
    "_ingest/pipeline",
    "_data_stream",
)
"""Index templates, lifecycle policies and pipelines that Filebeat and Logstash check for
and install: the pipeline has its own schema, so they are acknowledged and ignored."""


def info() -> dict[str, Any]:
    return {
        "name": CLUSTER,
        "cluster_name": CLUSTER,
        "cluster_uuid": "log-pipeline-cluster",
        "version": {
            "number": VERSION,
            **_BUILD,
            "lucene_version": "9.12.0",
            "minimum_wire_compatibility_version": "7.17.0",
            "minimum_index_compatibility_version": "7.0.0",
        },
        "tagline": "You Know, for Search",
    }


def probe(method: str, path: str) -> tuple[int, dict[str, Any]]:
    """The answer to a client's probe (`GET /`, `_license`, `_xpack`, `_cluster/health`,
    template and lifecycle checks): status and body. Other paths get 404."""
    path = path.strip("/")
    if path == "":
        return 200, info()
    if path == "_license":
        return 200, {"license": _LICENSE}
    if path == "_xpack":
        return 200, {
            "build": {"hash": _BUILD["build_hash"], "date": _BUILD["build_date"]},
            "license": _LICENSE,
            "features": {},
        }
    if path == "_cluster/health":
        return 200, {
            "cluster_name": CLUSTER,
            "status": "green",
            "timed_out": False,
            "number_of_nodes": 1,
            "number_of_data_nodes": 1,
        }
    if path.startswith(_SETUP_PREFIXES):
        return 200, {"acknowledged": True} if method == "PUT" else {}
    return 404, {
        "error": {
            "type": "resource_not_found_exception",
            "reason": f"no handler found for uri [/{path}] and method [{method}]",
        },
        "status": 404,
    }


def is_elastic_path(path: str) -> bool:
    """Paths this module answers: the root and Elasticsearch's `_`-prefixed APIs."""
    path = path.strip("/")
    return path == "" or path.startswith("_")
