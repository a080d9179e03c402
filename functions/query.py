"""The read API: search, one record, statistics, export, the OpenAPI document and CORS
preflight answers."""

import azure.functions as func

from functions.http import json_errors, query_pairs, reply
from shared import access, aggregate, fields_discovery, openapi, params, search, stats
from shared.access import Role
from shared.settings import get_settings

bp = func.Blueprint()

EXPORT_TYPES = {"ndjson": "application/x-ndjson", "csv": "text/csv"}


@bp.function_name("search_logs")
@bp.route(route="logs/search", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def search_logs(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    query = params.parse_search(query_pairs(req), settings.cursor_secret)
    return reply(200, await search.search(settings, query, caller))


@bp.function_name("who_am_i")
@bp.route(route="me", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def who_am_i(req: func.HttpRequest) -> func.HttpResponse:
    caller = access.require(req.headers, [Role.READER], get_settings())
    return reply(200, caller.describe())


@bp.function_name("log_stats")
@bp.route(route="logs/stats", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def log_stats(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    query = params.parse_stats(query_pairs(req))
    return reply(200, await stats.stats(settings, query, caller))


@bp.function_name("export_logs")
@bp.route(route="logs/export", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def export_logs(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    query = params.parse_export(query_pairs(req), settings.cursor_secret)
    body, next_cursor = await search.export_body(settings, query, caller)
    headers = {"Content-Disposition": f'attachment; filename="logs.{query.format}"'}
    if next_cursor:
        headers["X-Next-Cursor"] = next_cursor
    return func.HttpResponse(
        body=body, status_code=200, headers=headers, mimetype=EXPORT_TYPES[query.format]
    )


@bp.function_name("aggregate_logs")
@bp.route(route="logs/aggregate", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def aggregate_logs(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    query = params.parse_aggregate(query_pairs(req))
    return reply(200, await aggregate.aggregate(settings, query, caller))


@bp.function_name("log_fields")
@bp.route(route="logs/fields", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def log_fields(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    filters = params.parse_fields(query_pairs(req))
    return reply(200, await fields_discovery.fields(settings, filters, caller))


@bp.function_name("get_log")
@bp.route(route="logs/{id}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def get_log(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    fields = params.parse_record(query_pairs(req))
    record_id = params.record_id(req.route_params.get("id", ""))
    return reply(200, await search.by_id(settings, record_id, caller, fields))


@bp.function_name("openapi_document")
@bp.route(route="openapi.json", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def openapi_document(req: func.HttpRequest) -> func.HttpResponse:
    params.parse_nothing(query_pairs(req))
    return reply(200, openapi.document(get_settings().public_base_url))


@bp.function_name("cors_preflight")
@bp.route(route="{*path}", methods=["OPTIONS"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def cors_preflight(req: func.HttpRequest) -> func.HttpResponse:
    return func.HttpResponse(status_code=204)
