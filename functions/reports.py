"""Hourly reports: the timer that writes them (catching up missed hours) and the HTTP routes
that list them. New reports go to the dashboard over SignalR target `report`."""

import logging

import azure.functions as func

from functions.http import json_errors, query_pairs, reply
from shared import access, analysis, params, reports
from shared.access import Role
from shared.settings import get_settings

log = logging.getLogger(__name__)

bp = func.Blueprint()

SIGNALR = {"hub_name": "logs", "connection_string_setting": "AzureSignalRConnectionString"}


@bp.function_name("hourly_report")
@bp.timer_trigger(arg_name="timer", schedule="%REPORT_SCHEDULE%", run_on_startup=True)
@bp.generic_output_binding(arg_name="signalr", type="signalR", **SIGNALR)
async def hourly_report(timer: func.TimerRequest, signalr: func.Out[str]) -> None:
    written = await reports.run_due(get_settings())
    if written:
        signalr.set(analysis.encode(reports.signalr_messages(written)))
    for report in written:
        log.info("report for %s: %d records", report["hour"], report["total"])


@bp.function_name("list_reports")
@bp.route(route="reports", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def list_reports(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    limit = params.parse_reports(query_pairs(req))
    return reply(200, await reports.listing(settings, limit, caller.services))


@bp.function_name("latest_report")
@bp.route(route="reports/latest", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def latest_report(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    return reply(200, await reports.latest(settings, caller.services))


@bp.function_name("current_report")
@bp.route(route="reports/current", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def current_report(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    return reply(200, await reports.current(settings, caller.services))
