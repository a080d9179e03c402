"""Analysis: each Event Hub batch through the alert rules, the alert listing, and the minute's
alert maintenance. Alert changes go to the dashboard over SignalR target `alert`."""

import logging
import typing

import azure.functions as func

from functions import consumer
from functions.http import json_errors, query_pairs, reply
from shared import access, analysis, params
from shared.access import Role
from shared.settings import get_settings

log = logging.getLogger(__name__)

bp = func.Blueprint()

SIGNALR = {"hub_name": "logs", "connection_string_setting": "AzureSignalRConnectionString"}


@bp.function_name("analyze")
@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%EVENTHUB_NAME%",
    connection="EventHubConnection",
    consumer_group="%ANALYZE_CONSUMER_GROUP%",
    cardinality=func.Cardinality.MANY,
    data_type=func.DataType.BINARY,
)
@bp.generic_output_binding(arg_name="signalr", type="signalR", **SIGNALR)
async def analyze(
    events: typing.List[func.EventHubEvent],  # noqa: UP006
    signalr: func.Out[str],
    context: func.Context,
) -> None:
    settings = get_settings()
    outcome = await analysis.analyze_or_dead_letter(
        settings, consumer.batch(events, settings.eventhub_name), consumer.attempt(context)
    )
    if messages := outcome.signalr_messages(get_settings()):
        signalr.set(analysis.encode(messages))
    if outcome.changes or outcome.resolved or outcome.redelivered:
        log.info(
            "analyzed %d records: %d alert changes, %d resolved, %d redelivered skipped",
            outcome.analyzed,
            len(outcome.changes),
            len(outcome.resolved),
            outcome.redelivered,
        )


@bp.function_name("alert_maintenance")
@bp.timer_trigger(arg_name="timer", schedule="0 * * * * *", run_on_startup=True)
@bp.generic_output_binding(arg_name="signalr", type="signalR", **SIGNALR)
async def alert_maintenance(timer: func.TimerRequest, signalr: func.Out[str]) -> None:
    outcome = await analysis.maintain(get_settings())
    if messages := outcome.signalr_messages(get_settings()):
        signalr.set(analysis.encode(messages))
    if outcome.changes or outcome.resolved:
        log.info(
            "alert maintenance: %d silent services alerted, %d alerts resolved",
            len(outcome.changes),
            len(outcome.resolved),
        )


@bp.function_name("alerts")
@bp.route(route="alerts", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def list_alerts(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.READER], settings)
    status, service, limit = params.parse_alerts(query_pairs(req))
    return reply(200, await analysis.list_alerts(settings, status, service, limit, caller.services))
