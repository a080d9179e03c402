"""The store function: each Event Hub batch into PostgreSQL, idempotently."""

import logging
import typing

import azure.functions as func

from functions import consumer
from functions.retry_policy import EVENT_HUB_RETRY
from shared import sink
from shared.settings import get_settings

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("store")
@bp.retry(**EVENT_HUB_RETRY)
@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%EVENTHUB_NAME%",
    connection="EventHubConnection",
    consumer_group="%STORE_CONSUMER_GROUP%",
    cardinality="many",
    data_type="binary",
)
async def store(
    events: typing.List[func.EventHubEvent],  # noqa: UP006 (the Python worker refuses list[...])
    context: func.Context,
) -> None:
    settings = get_settings()
    result = await sink.store_events(
        settings, consumer.batch(events, settings.eventhub_name), consumer.attempt(context)
    )
    log.info(
        "stored %d of %d records (%d already stored, %d dead-lettered)",
        result.stored,
        result.received,
        result.already_stored,
        result.dead_lettered,
    )
