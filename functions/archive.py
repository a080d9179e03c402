"""Archive: each Event Hub batch from the archive consumer group becomes one gzip NDJSON blob."""

import logging
import typing

import azure.functions as func

from functions import retries
from functions.retry_policy import EVENT_HUB_RETRY
from shared import archive
from shared.settings import get_settings

log = logging.getLogger(__name__)

bp = func.Blueprint()


def _batch(events: list[func.EventHubEvent], event_hub: str) -> archive.Batch:
    metadata = events[0].metadata if events else None
    return archive.Batch(
        event_hub=event_hub,
        partition=archive.partition_from_metadata(metadata),
        bodies=[event.get_body() for event in events],
        sequence_numbers=[
            e.sequence_number
            if e.sequence_number is not None
            else archive.metadata_array(metadata, "SequenceNumber", i)
            for i, e in enumerate(events)
        ],
        enqueued_times=[
            archive.parse_enqueued_time(
                e.enqueued_time or archive.metadata_array(metadata, "EnqueuedTimeUtc", i)
            )
            for i, e in enumerate(events)
        ],
    )


@bp.function_name("archive")
@bp.retry(**EVENT_HUB_RETRY)
@bp.event_hub_message_trigger(
    arg_name="events",
    event_hub_name="%EVENTHUB_NAME%",
    connection="EventHubConnection",
    consumer_group="%ARCHIVE_CONSUMER_GROUP%",
    cardinality=func.Cardinality.MANY,
    data_type=func.DataType.BINARY,
)
async def archive_events(
    events: typing.List[func.EventHubEvent],  # noqa: UP006 (the Python worker refuses list[...])
    context: func.Context,
) -> None:
    settings = get_settings()
    attempt, final = retries.attempt(context)
    outcome = await archive.archive_or_dead_letter(
        settings, _batch(events, settings.eventhub_name), attempt, final
    )
    log.info(
        "archived %d records to %s (%d rejected, dead letter %s)",
        outcome.archived,
        outcome.blob,
        outcome.rejected,
        outcome.dead_letter,
    )
