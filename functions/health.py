"""GET /api/health: readiness of each dependency, for probes and people."""

import azure.functions as func

from functions.http import json_errors, reply
from shared import health
from shared.settings import get_settings

bp = func.Blueprint()


@bp.function_name("health")
@bp.route(route="health", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def health_check(req: func.HttpRequest) -> func.HttpResponse:
    ready, body = await health.report(get_settings())
    return reply(200 if ready else 503, body)
