"""Retention: the nightly timer that keeps the database at the size the policy allows."""

import logging

import azure.functions as func

from shared import retention
from shared.settings import get_settings

log = logging.getLogger(__name__)

bp = func.Blueprint()


@bp.function_name("retention")
@bp.timer_trigger(arg_name="timer", schedule="%RETENTION_SCHEDULE%", run_on_startup=False)
async def enforce_retention(timer: func.TimerRequest) -> None:
    summary = await retention.run(get_settings())
    log.info("retention summary: %s", summary)
