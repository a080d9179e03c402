"""POST /api/logs: validate, redact and publish the bots' records to Event Hubs."""

import azure.functions as func

from functions.http import json_errors, reply
from shared import access, events, ingest, otlp
from shared.access import Role
from shared.errors import PipelineError
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


@bp.function_name("ingest_otlp")
@bp.route(route="v1/logs", methods=["POST"], auth_level=func.AuthLevel.ANONYMOUS)
async def ingest_otlp(req: func.HttpRequest) -> func.HttpResponse:
    """OTLP/HTTP logs, JSON or protobuf, answered in OTLP's own response and error shapes."""
    settings = get_settings()
    try:
        caller = access.require(req.headers, [Role.INGEST], settings)
        batch = otlp.parse(req.get_body(), req.headers, caller, settings)
        await events.publish(batch.events, settings)
    except PipelineError as exc:
        body, content_type = otlp.error_response(exc, req.headers)
        return func.HttpResponse(
            body, status_code=exc.status, headers={**exc.headers, "Content-Type": content_type}
        )
    body, content_type = batch.response()
    return func.HttpResponse(body, status_code=200, headers={"Content-Type": content_type})
