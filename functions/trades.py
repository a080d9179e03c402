"""The trades read API: trade chains from signal to execution, one chain with its records, and
stage latency percentiles."""

import azure.functions as func

from functions.http import json_errors, query_pairs, reply
from shared import access, params, trade_api
from shared.access import Role
from shared.settings import get_settings

bp = func.Blueprint()


@bp.function_name("list_trades")
@bp.route(route="trades", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def list_trades(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    query = trade_api.parse_list(query_pairs(req), settings.cursor_secret)
    return reply(200, await trade_api.list_trades(settings, query, caller))


@bp.function_name("trade_stats")
@bp.route(route="trades/stats", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def trade_stats(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    query = trade_api.parse_stats(query_pairs(req))
    return reply(200, await trade_api.trade_stats(settings, query, caller))


@bp.function_name("get_trade")
@bp.route(route="trades/{key}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def get_trade(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    params.parse_nothing(query_pairs(req))
    key = trade_api.trade_key(req.route_params.get("key", ""))
    return reply(200, await trade_api.get_trade(settings, key, caller))
