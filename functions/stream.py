"""The live stream: each Event Hub batch to the dashboard over SignalR, and negotiate."""

import typing

import azure.functions as func

from functions import consumer
from functions.http import json_errors, reply
from shared import stream as live
from shared.settings import get_settings

bp = func.Blueprint()

SIGNALR = {"hub_name": "%SIGNALR_HUB%", "connection_string_setting": "AzureSignalRConnectionString"}


@bp.function_name("stream")
@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%EVENTHUB_NAME%",
    connection="EventHubConnection",
    consumer_group="%STREAM_CONSUMER_GROUP%",
    cardinality="many",
    data_type="binary",
)
@bp.generic_output_binding(arg_name="signalr", type="signalR", **SIGNALR)
async def stream(
    events: typing.List[func.EventHubEvent],  # noqa: UP006
    signalr: func.Out[str],
) -> None:
    settings = get_settings()
    messages = live.batch_messages(consumer.batch(events, settings.eventhub_name).bodies, settings)
    if messages:
        signalr.set(live.encode(messages))


@bp.function_name("negotiate")
@bp.route(route="negotiate", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@bp.generic_input_binding(
    arg_name="connection_info",
    type="signalRConnectionInfo",
    user_id=live.USER_ID_EXPRESSION,
    **SIGNALR,
)
@bp.generic_output_binding(arg_name="signalr", type="signalR", **SIGNALR)
@json_errors
async def negotiate(
    req: func.HttpRequest, connection_info: str, signalr: func.Out[str]
) -> func.HttpResponse:
    admission = live.admit(req.headers, connection_info, get_settings())
    signalr.set(live.encode(admission.group_actions))
    return reply(200, admission.connection_info)
