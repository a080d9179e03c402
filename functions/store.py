"""The store function: each Event Hub batch into PostgreSQL, idempotently."""

import logging
import typing

import azure.functions as func

from functions import consumer
from shared import sink
from shared.settings import get_settings

bp = func.Blueprint()
log = logging.getLogger(__name__)


@bp.function_name("store")
@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%EVENTHUB_NAME%",
    connection="EventHubConnection",
    consumer_group="%STORE_CONSUMER_GROUP%",
    cardinality="many",
    data_type="binary",
)
async def store(events: typing.List[func.EventHubEvent], context: func.Context) -> None:  # noqa: UP006
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
