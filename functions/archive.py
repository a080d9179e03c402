"""Archive: each Event Hub batch from the archive consumer group becomes one gzip NDJSON blob."""

import logging
import typing

import azure.functions as func

from functions import consumer
from shared import archive
from shared.settings import get_settings

log = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("archive")
@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%EVENTHUB_NAME%",
    connection="EventHubConnection",
    consumer_group="%ARCHIVE_CONSUMER_GROUP%",
    cardinality=func.Cardinality.MANY,
    data_type=func.DataType.BINARY,
)
async def archive_events(
    events: typing.List[func.EventHubEvent],  # noqa: UP006
    context: func.Context,
) -> None:
    settings = get_settings()
    outcome = await archive.archive_or_dead_letter(
        settings, consumer.batch(events, settings.eventhub_name), consumer.attempt(context)
    )
    log.info(
        "archived %d records to %s (%d rejected, dead letter %s)",
        outcome.archived,
        outcome.blob,
        outcome.rejected,
        outcome.dead_letter,
    )
