"""The dashboard: the page and its built assets, anonymous (the page asks for a key and sends
it on its own data calls)."""

import azure.functions as func

from functions.http import json_errors
from shared import dashboard
from shared.settings import get_settings

bp = func.Blueprint()


async def _serve(req: func.HttpRequest, path: str) -> func.HttpResponse:
    page = await dashboard.serve(path, req.headers.get("If-None-Match"), get_settings())
    return func.HttpResponse(
        body=page.body,
        status_code=page.status,
        headers=page.headers,
        mimetype=page.content_type,
        charset="utf-8",
    )


@bp.route(route="dashboard", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def dashboard_page(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve(req, "")


@bp.route(route="dashboard/{*path}", methods=["GET"], auth_level=func.AuthLevel.ANONYMOUS)
@json_errors
async def dashboard_asset(req: func.HttpRequest) -> func.HttpResponse:
    return await _serve(req, req.route_params.get("path", ""))
