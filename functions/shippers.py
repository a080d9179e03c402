"""The shippers' own protocols, answered as their clients expect: the Elasticsearch bulk API
(and the probes its clients send first), the Loki push API and Seq's CLEF ingestion. Same
ingest keys, limits, redaction and publishing as POST /api/logs."""

from __future__ import annotations

import functools
import time
from typing import Any

import azure.functions as func

from functions.http import Handler, json_errors, reply
from shared import access, clef, elastic, events, loki
from shared.access import Role
from shared.errors import NotFound, PipelineError
from shared.settings import get_settings

bp = func.Blueprint()


def elastic_headers(handler: Handler) -> Handler:
    """JSON errors, and the product header Elasticsearch's clients check on every answer."""
    wrapped = json_errors(handler)

    @functools.wraps(handler)
    async def wrapper(req: func.HttpRequest, *args: Any, **kwargs: Any) -> func.HttpResponse:
        response = await wrapped(req, *args, **kwargs)
        for name, value in elastic.PRODUCT_HEADERS.items():
            response.headers[name] = value
        return response

    return wrapper


async def _bulk(req: func.HttpRequest, index: str | None) -> func.HttpResponse:
    started = time.perf_counter()
    settings = get_settings()
    caller = access.require(access.with_elastic_api_key(req.headers), [Role.INGEST], settings)
    result = elastic.parse(req.get_body(), req.headers, index, caller, settings)
    if result.events:
        await events.publish(result.events, settings)
    took = round((time.perf_counter() - started) * 1000)
    return reply(200, result.response(took))


@bp.function_name("elastic_bulk")
@bp.route(route="_bulk", methods=["POST", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@elastic_headers
async def elastic_bulk(req: func.HttpRequest) -> func.HttpResponse:
    return await _bulk(req, None)


@bp.function_name("elastic_index_bulk")
@bp.route(route="{index}/_bulk", methods=["POST", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@elastic_headers
async def elastic_index_bulk(req: func.HttpRequest) -> func.HttpResponse:
    return await _bulk(req, req.route_params.get("index"))


@bp.function_name("elastic_probe")
@bp.route(route="{*path}", methods=["GET", "HEAD", "PUT"], auth_level=func.AuthLevel.ANONYMOUS)
@elastic_headers
async def elastic_probe(req: func.HttpRequest) -> func.HttpResponse:
    """`GET /api/` (the version), `_license`, `_xpack`, `_cluster/health`, templates; any
    other path not served by another function is not found. No key is asked: clients send
    some of these probes without the headers they are configured with, and the answers are
    constants."""
    path = req.route_params.get("path") or ""
    if not elastic.is_elastic_path(path):
        raise NotFound(f"no route for {req.method} /api/{path}")
    status, body = elastic.probe(req.method, path)
    if req.method == "HEAD":
        return func.HttpResponse(status_code=status)
    return reply(status, body)


@bp.function_name("loki_push")
@bp.route(route="loki/api/v1/push", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def loki_push(req: func.HttpRequest) -> func.HttpResponse:
    """204 when every entry was accepted; errors, and entries refused, as Loki's plain text."""
    settings = get_settings()
    try:
        caller = access.require(req.headers, [Role.INGEST], settings)
        batch = loki.parse(req.get_body(), req.headers, caller, settings)
        await events.publish(batch.events, settings)
    except PipelineError as exc:
        return func.HttpResponse(
            exc.message + "\n", status_code=exc.status, headers=exc.headers, mimetype="text/plain"
        )
    if batch.rejected:
        return func.HttpResponse(loki.rejection_text(batch), status_code=400, mimetype="text/plain")
    return func.HttpResponse(status_code=204)


async def _seq(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    headers = access.with_seq_key(req.headers, req.params)
    caller = access.require(headers, [Role.INGEST], settings)
    batch = clef.parse(req.get_body(), req.headers, caller, settings)
    await events.publish(batch.events, settings)
    if batch.rejected:
        summary = batch.summary()
        message = f"{len(batch.rejected)} events refused; the others were accepted"
        return reply(400, {"error": message, "detail": summary["rejected"], **summary})
    return reply(201, clef.accepted_body())


@bp.function_name("seq_raw")
@bp.route(route="events/raw", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def seq_raw(req: func.HttpRequest) -> func.HttpResponse:
    return await _seq(req)


@bp.function_name("seq_raw_under_server_url")
@bp.route(route="api/events/raw", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def seq_raw_under_server_url(req: func.HttpRequest) -> func.HttpResponse:
    """Clients that append `api/events/raw` to a server URL of `http://host/api`."""
    return await _seq(req)


@bp.function_name("seq_clef")
@bp.route(route="ingest/clef", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def seq_clef(req: func.HttpRequest) -> func.HttpResponse:
    return await _seq(req)
