"""POST /api/logs: validate, redact and publish the bots' records to Event Hubs."""

import azure.functions as func

from functions.http import json_errors, reply
from shared import access, events, ingest
from shared.access import Role
from shared.settings import get_settings

bp = func.Blueprint()


@bp.function_name("ingest")
@bp.route(route="logs", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def ingest_logs(req: func.HttpRequest) -> func.HttpResponse:
    settings = get_settings()
    caller = access.require(req.headers, [Role.INGEST], settings)
    batch = ingest.parse_request(req.get_body(), req.headers, caller, settings)
    await events.publish(batch.events, settings)
    return reply(202, batch.summary())
